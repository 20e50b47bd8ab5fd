// Envoy's "Metrics" (docs/host.md): counter/gauge/histogram, counters need delta > 0, defining a name again
// reuses the stat; the snapshot keeps the raw (Istio tag-form) name Envoy exports as wasmcustom.<name>.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MetricStore, WasmResult, type WasmVm } from "../../controller/src/host/index.js";
import { after, loadFixture } from "./helpers.js";

const NAME = "lane=.=canary;.;meshlane_requests_total";

function request(vm: WasmVm): ReturnType<ReturnType<WasmVm["createRoot"]>["newStream"]> {
  const s = vm.roots[0].newStream();
  s.requestHeaders([[":path", "/"]]);
  s.finish();
  return s;
}

describe("metrics", () => {
  it("define returns ids; the same name again returns the same id; bad type or a type change is BadArgument", async () => {
    const vm = await loadFixture("metrics");
    vm.createRoot();
    const first = after(vm.logs, `define 0 ${NAME} -> `);
    assert.match(first, /^0 id=\d+$/);
    const all = vm.logs.filter((r) => r.msg.startsWith(`define 0 ${NAME} -> `)).map((r) => r.msg);
    assert.equal(all.length, 2);
    assert.equal(all[0], all[1]);
    assert.equal(after(vm.logs, "define 3 bad_type -> "), `${WasmResult.BadArgument} id=-`);
    assert.equal(after(vm.logs, `define 1 ${NAME} -> `), `${WasmResult.BadArgument} id=-`);
  });

  it("increment/record/get results follow Envoy", async () => {
    const vm = await loadFixture("metrics");
    vm.createRoot();
    const s = request(vm);
    const expect: [string, string][] = [
      ["inc counter 1 -> ", "0"],
      ["inc counter 0 -> ", String(WasmResult.BadArgument)],
      ["inc counter -1 -> ", String(WasmResult.BadArgument)],
      ["record counter 2 -> ", "0"],
      ["get counter -> ", "0 3"],
      ["inc gauge 5 -> ", "0"],
      ["inc gauge -2 -> ", "0"],
      ["get gauge -> ", "0 3"],
      ["record histogram 7 -> ", "0"],
      ["inc histogram -> ", String(WasmResult.BadArgument)],
      ["get histogram -> ", String(WasmResult.BadArgument)],
      ["get unknown -> ", String(WasmResult.NotFound)],
    ];
    for (const [prefix, want] of expect) assert.equal(after(s.logs, prefix), want, prefix);
  });

  it("vm.metrics() snapshots raw names with values", async () => {
    const vm = await loadFixture("metrics");
    vm.createRoot();
    request(vm);
    request(vm);
    assert.deepEqual(vm.metrics(), {
      [NAME]: { type: "counter", value: 6 },
      in_flight: { type: "gauge", value: 6 },
      latency_ms: { type: "histogram", count: 4, sum: 32, values: [7, 9, 7, 9] },
    });
  });

  it("a MetricStore shared by two VMs (workers) aggregates like Envoy's process-wide stats", async () => {
    const store = new MetricStore();
    const w1 = await loadFixture("metrics", { metrics: store });
    const w2 = await loadFixture("metrics", { metrics: store });
    w1.createRoot();
    w2.createRoot();
    request(w1);
    request(w2);
    request(w2);
    assert.deepEqual(store.snapshot()[NAME], { type: "counter", value: 9 });
  });
});
