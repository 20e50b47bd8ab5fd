// The demo mesh end to end, in process: real HTTP on loopback, the real filter in every proxy.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  DEMO_EDGE_CONFIG,
  MeshConfigError,
  startMesh,
  type CounterRow,
  type Mesh,
} from "../../controller/src/demo/mesh.js";
import { filterModule } from "../support/filter.js";

const CANARY = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: canary)";
const BASE = "-> mocka(version: base) -> mockb(version: base) -> mockc(version: base)";

/** Sum of the counters matching every given tag. */
function count(rows: CounterRow[], where: Partial<CounterRow>): number {
  return rows
    .filter((r) => Object.entries(where).every(([k, v]) => r[k as keyof CounterRow] === v))
    .reduce((n, r) => n + r.value, 0);
}

/** Counters gained between two snapshots. */
function delta(before: CounterRow[], afterRows: CounterRow[]): CounterRow[] {
  const key = (r: CounterRow) => `${r.component}|${r.lane}|${r.role}|${r.direction}|${r.source}`;
  const old = new Map(before.map((r) => [key(r), r.value]));
  return afterRows.map((r) => ({ ...r, value: r.value - (old.get(key(r)) ?? 0) })).filter((r) => r.value > 0);
}

// Requests reaching a mockc instance are counted, and while `hold` is set they wait for its release.
let hold: { arrived: number; target: number; release: () => void; gate: Promise<void> } | null = null;
let mesh: Mesh;

before(async () => {
  mesh = await startMesh({
    wasm: await filterModule(),
    timeoutMs: 180_000, // requests wait at mockc until all 250 arrived: generous for a loaded machine
    onAppRequest: async (instance) => {
      const h = hold;
      if (h === null || !instance.startsWith("mockc-")) return;
      h.arrived++;
      if (h.arrived >= h.target) h.release();
      await h.gate;
    },
  });
});

after(async () => {
  await mesh.close();
});

test("a dyed request (agent: pc) takes the canary lane, through mockb's base and back to canary", async () => {
  const r = await mesh.request({ agent: "pc" });
  assert.equal(r.status, 200);
  assert.equal(r.body, CANARY);
});

test("undyed traffic stays on base at every hop", async () => {
  for (const headers of [{ agent: "mobile" }, {}] as Record<string, string>[]) {
    const r = await mesh.request(headers);
    assert.equal(r.status, 200);
    assert.equal(r.body, BASE);
  }
});

test("a lane header or baggage member sent by the client is stripped at the edge (untrusted)", async () => {
  const r = await mesh.request({ agent: "mobile", "x-lane": "canary", baggage: "lane=canary,user=u1" });
  assert.equal(r.body, BASE);
  const pc = await mesh.request({ agent: "pc", "x-lane": "base" });
  assert.equal(pc.body, CANARY);
});

test("the client's own x-request-id is kept and still carries the lane", async () => {
  const r = await mesh.request({ agent: "pc", "x-request-id": "client-chosen-id-1" });
  assert.equal(r.body, CANARY);
});

test("fallback and return through mockb: its base serves canary, its outbound restores canary from memory", async () => {
  const start = mesh.counters();
  const r = await mesh.request({ agent: "pc" });
  assert.equal(r.body, CANARY);
  const d = delta(start, mesh.counters());
  assert.equal(count(d, { component: "edge", lane: "canary", source: "rule" }), 1);
  assert.equal(
    count(d, { component: "mocka-canary", direction: "inbound", lane: "canary", source: "header" }),
    1,
  );
  assert.equal(
    count(d, { component: "mocka-canary", direction: "outbound", lane: "canary", source: "memory" }),
    1,
  );
  // mockb has no canary: the canary request is served by base, which remembers its lane ...
  assert.equal(
    count(d, { component: "mockb-base", direction: "inbound", lane: "canary", source: "header" }),
    1,
  );
  // ... and puts it back on the app's upstream call, which carried only x-request-id.
  assert.equal(
    count(d, { component: "mockb-base", direction: "outbound", lane: "canary", source: "memory" }),
    1,
  );
  assert.equal(
    count(d, { component: "mockc-canary", direction: "inbound", lane: "canary", source: "header" }),
    1,
  );
  assert.equal(count(d, { component: "mockc-base" }), 0);
  assert.equal(count(d, { component: "mocka-base" }), 0);
  assert.equal(count(d, { lane: "base" }), 0);
  assert.equal(mesh.laneHeadersFromApps(), 0, "the apps forward no lane header and no baggage");
});

test("250 concurrent requests of both lanes, all inside the mesh at once: none crosses lanes", async () => {
  const n = 250;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  // Hold every request at mockc until all of them got there (or 90 s passed: then the count fails).
  const timer = setTimeout(release, 90_000);
  hold = { arrived: 0, target: n, release, gate };
  const start = mesh.counters();
  try {
    const agents = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "mobile" : "pc"));
    const responses = await Promise.all(agents.map((agent) => mesh.request({ agent })));
    assert.equal(hold.arrived, n);
    let crossed = 0;
    responses.forEach((r, i) => {
      assert.equal(r.status, 200);
      if (r.body !== (agents[i] === "pc" ? CANARY : BASE)) crossed++;
    });
    assert.equal(crossed, 0, "requests that left their lane");
    const pcs = agents.filter((a) => a === "pc").length;
    const d = delta(start, mesh.counters());
    assert.equal(
      count(d, { component: "mockb-base", direction: "outbound", lane: "canary", source: "memory" }),
      pcs,
    );
    assert.equal(
      count(d, { component: "mockb-base", direction: "outbound", lane: "base", source: "memory" }),
      n - pcs,
    );
    assert.equal(count(d, { component: "mockc-canary" }), pcs);
    assert.equal(count(d, { component: "mockc-base" }), n - pcs);
    assert.equal(mesh.laneHeadersFromApps(), 0);
  } finally {
    clearTimeout(timer);
    hold = null;
    release();
  }
});

test("without a default lane, unmatched traffic is undyed and routed to base everywhere", async () => {
  const m = await startMesh({
    wasm: await filterModule(),
    edgeConfig: { ...DEMO_EDGE_CONFIG, defaultLane: "" },
  });
  try {
    assert.equal((await m.request({ agent: "mobile" })).body, BASE);
    assert.equal((await m.request({ agent: "pc" })).body, CANARY);
    const rows = m.counters();
    assert.equal(count(rows, { component: "edge", lane: "none", source: "none" }), 1);
    assert.equal(
      count(rows, { component: "mockb-base", direction: "outbound", lane: "none", source: "none" }),
      1,
    );
  } finally {
    await m.close();
  }
});

test("a custom lane header and a dye rule on another header work the same way", async () => {
  const m = await startMesh({
    wasm: await filterModule(),
    edgeConfig: {
      role: "edge",
      laneHeader: "x-env",
      lanes: ["base", "canary"],
      defaultLane: "base",
      rules: [{ lane: "canary", when: { headers: { "x-canary": { exact: "true" } } } }],
    },
  });
  try {
    assert.equal((await m.request({ "x-canary": "true" })).body, CANARY);
    assert.equal((await m.request({ agent: "pc" })).body, BASE);
  } finally {
    await m.close();
  }
});

test("with the filter off, the same mesh routes everything to base (the benchmark's baseline)", async () => {
  const m = await startMesh({ withFilter: false });
  try {
    assert.equal(m.edgeVm, null);
    assert.equal((await m.request({ agent: "pc" })).body, BASE);
    assert.deepEqual(m.counters(), []);
  } finally {
    await m.close();
  }
});

test("a config the filter rejects fails the start with the filter's reason, leaving nothing open", async () => {
  await assert.rejects(
    startMesh({
      wasm: await filterModule(),
      edgeConfig: { role: "edge", rules: [{ lane: "canary", when: { headers: { agent: {} } } }] },
    }),
    (e: unknown) =>
      e instanceof MeshConfigError && /edge: .*rules\[0\]\.when\.headers\.agent/.test(e.message),
  );
});

test("an undyed request reusing a dyed request's x-request-id stays on base", async () => {
  const m = await startMesh({
    wasm: await filterModule(),
    edgeConfig: { ...DEMO_EDGE_CONFIG, defaultLane: "" },
  });
  try {
    assert.equal((await m.request({ agent: "pc", "x-request-id": "reused-id" })).body, CANARY);
    assert.equal((await m.request({ agent: "mobile", "x-request-id": "reused-id" })).body, BASE);
  } finally {
    await m.close();
  }
});
