// Requests that share a trace key in the demo mesh: a client reusing (or forging) x-request-id.
// Ten requests of both lanes with one id are all inside mockb (the service without a canary, whose
// sidecar carries the lane by trace id) at once. mockb's sidecar sees the id with two lanes, so it
// restores no lane for it: no request may reach another lane's instance (a canary request may only
// fall back to base), and the conflict is counted.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startMesh, type Mesh } from "../../controller/src/demo/mesh.js";
import { filterModule } from "../support/filter.js";

const CANARY = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: canary)";
const BASE = "-> mocka(version: base) -> mockb(version: base) -> mockc(version: base)";
const FELL_BACK = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: base)";

// While `hold` is set, requests reaching mockb wait there until `target` have arrived; each arrival
// resolves the next `arrived` promise, so requests are sent one after the other's arrival (a fixed
// order of inbound records, whatever the machine's speed).
let hold: {
  arrived: number;
  target: number;
  next: () => void;
  gate: Promise<void>;
  open: () => void;
} | null = null;
let mesh: Mesh;

before(async () => {
  mesh = await startMesh({
    wasm: await filterModule(),
    timeoutMs: 180_000,
    onAppRequest: async (instance) => {
      const h = hold;
      if (h === null || instance !== "mockb-base") return;
      h.arrived++;
      h.next();
      if (h.arrived >= h.target) h.open();
      await h.gate;
    },
  });
});

after(async () => {
  await mesh.close();
});

test("10 requests of both lanes sharing one x-request-id, all inside mockb at once: none crosses lanes", async () => {
  const agents = ["mobile", "pc", "mobile", "pc", "pc", "mobile", "mobile", "pc", "mobile", "pc"];
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  hold = { arrived: 0, target: agents.length, next: () => {}, gate, open };
  try {
    const pending: Promise<{ status: number; body: string }>[] = [];
    for (const agent of agents) {
      const arrivedAtMockb = new Promise<void>((resolve) => (hold!.next = resolve));
      pending.push(mesh.request({ agent, "x-request-id": "shared-by-ten" }));
      await arrivedAtMockb;
    }
    const responses = await Promise.all(pending);
    let crossed = 0;
    let fellBack = 0;
    responses.forEach((r, i) => {
      assert.equal(r.status, 200);
      const own = agents[i] === "pc" ? CANARY : BASE;
      if (r.body === own) return;
      if (agents[i] === "pc" && r.body === FELL_BACK) fellBack++;
      else crossed++;
    });
    // Before trace conflicts were detected, every request restored the lane of the last one to
    // arrive (a pc request): all 5 mobile requests crossed into mockc's canary.
    assert.equal(crossed, 0, "requests served by another lane's instance");
    assert.equal(fellBack, 5, "canary requests whose shared id made mockb restore no lane");
    const atMockb = mesh.conflicts().filter((c) => c.component === "mockb-base");
    const by = (direction: string) => atMockb.find((c) => c.direction === direction)?.value ?? 0;
    assert.equal(by("inbound"), agents.length - 1, "each arrival after the first found another lane live");
    assert.equal(by("outbound"), agents.length, "each call of the shared id was refused a lane");
    // Where the id only ever had one lane (each mocka instance sees one agent), nothing is refused.
    assert.deepEqual(
      mesh.conflicts().filter((c) => c.component !== "mockb-base"),
      [],
    );
  } finally {
    open();
    hold = null;
  }
});

test("after a shared id, a request with a fresh id keeps its lane end to end", async () => {
  assert.equal((await mesh.request({ agent: "pc" })).body, CANARY);
  assert.equal((await mesh.request({ agent: "mobile" })).body, BASE);
});
