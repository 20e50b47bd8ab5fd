// Envoy's "Shared data" (docs/host.md): one store per vm_id shared by every VM using it (workers, inbound and
// outbound listeners); cas 0 writes unconditionally, a stale cas is CasMismatch, a missing key is
// created whatever the cas; no delete. Shared queues deliver proxy_on_queue_ready to the registrant.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SharedData, WasmResult, type WasmVm } from "../../controller/src/host/index.js";
import { after, loadFixture } from "./helpers.js";

function ops(vm: WasmVm, list: string[]): string[] {
  const s = vm.createRoot().newStream();
  s.requestHeaders([["x-ops", list.join(";")]]);
  s.finish();
  // One "<op> -> <result>" line per operation, in order.
  const results = s.logs.filter((r) => r.msg.includes(" -> ")).map((r) => r.msg.split(" -> ")[1]);
  assert.equal(results.length, list.length);
  return results;
}

describe("shared data", () => {
  it("two VMs with the same vm_id share keys; cas rules; another vm_id is isolated", async () => {
    const store = new SharedData();
    const inbound = await loadFixture("shared", { vmId: "lanes", sharedData: store });
    const outbound = await loadFixture("shared", { vmId: "lanes", sharedData: store });
    const other = await loadFixture("shared", { vmId: "other", sharedData: store });

    assert.deepEqual(ops(inbound, ["get trace-1", "set trace-1 canary 0", "get trace-1"]), [
      String(WasmResult.NotFound),
      "0",
      "0 canary 1",
    ]);
    assert.deepEqual(
      ops(outbound, [
        "get trace-1",
        "set trace-1 feature-x 1",
        "set trace-1 stale 1",
        "get trace-1",
        "set trace-2 fresh 99",
        "set trace-1 base 0",
        "get trace-1",
      ]),
      ["0 canary 1", "0", String(WasmResult.CasMismatch), "0 feature-x 2", "0", "0", "0 base 4"],
    );
    assert.deepEqual(ops(other, ["get trace-1"]), [String(WasmResult.NotFound)]);
    assert.deepEqual(store.keys("lanes").sort(), ["trace-1", "trace-2"]);
    assert.equal(Buffer.from(store.get("lanes", "trace-2")?.value ?? []).toString(), "fresh");
  });

  it("a private store per VM by default", async () => {
    const a = await loadFixture("shared");
    const b = await loadFixture("shared");
    ops(a, ["set k v 0"]);
    assert.deepEqual(ops(b, ["get k"]), [String(WasmResult.NotFound)]);
  });
});

describe("shared queues", () => {
  it("register, resolve, enqueue → proxy_on_queue_ready on the registering root; dequeue Empty after", async () => {
    const store = new SharedData();
    const consumer = await loadFixture("shared", { vmId: "lanes", sharedData: store });
    const producer = await loadFixture("shared", { vmId: "lanes", sharedData: store });
    const consumerRoot = consumer.createRoot();
    const cs = consumerRoot.newStream();
    cs.requestHeaders([["x-ops", "reg lane-events"]]);
    const token = after(cs.logs, "reg lane-events -> ").split(" ")[1];
    assert.equal(after(cs.logs, "reg lane-events -> "), `0 ${token}`);

    assert.deepEqual(
      ops(producer, [
        "resolve - lane-events",
        "resolve lanes lane-events",
        "resolve other lane-events",
        `enq ${token} canary-started`,
        "enq 999 lost",
        "deq 999",
      ]),
      [`0 ${token}`, `0 ${token}`, "1 0", "0", String(WasmResult.NotFound), String(WasmResult.NotFound)],
    );
    // Delivered to the consumer VM's root (not the stream that registered), which drained it.
    assert.equal(
      after(consumer.logs, "queue_ready "),
      `root=${consumerRoot.id} token=${token} deq 0 canary-started`,
    );
    assert.deepEqual(ops(producer, [`deq ${token}`]), [String(WasmResult.Empty)]);
  });
});
