// The benchmark's reference modules run through the host: the no-SDK floor and an empty filter on
// the stock SDK, whose dispatch traps when Envoy retires a root context (README.md, "Why the filter owns its dispatch").
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterHeadersStatus, WasmTrap } from "../../controller/src/host/index.js";
import { perRequestNs, TYPICAL_REQUEST_HEADERS } from "../../bench/host-lifecycle.js";
import { loadFixture } from "./helpers.js";

describe("bench fixtures", () => {
  for (const name of ["noop", "stock-sdk-empty"]) {
    it(`${name}: full lifecycles through the host, headers untouched, no trap`, async () => {
      const vm = await loadFixture(name);
      const root = vm.createRoot("");
      assert.equal(root.ok, true);
      const s = root.newStream();
      assert.equal(s.requestHeaders(TYPICAL_REQUEST_HEADERS, true), FilterHeadersStatus.Continue);
      assert.deepEqual(s.requestHeaderPairs(), TYPICAL_REQUEST_HEADERS);
      s.responseHeaders([[":status", "200"]], true);
      s.finish();
      const ns = await perRequestNs(root, { requests: 300, inFlight: 8, warmup: 50 });
      assert.ok(Number.isFinite(ns) && ns > 0);
      assert.equal(vm.failed, false);
    });
  }

  it("stock SDK: retiring a root context traps (its on_done looks roots up in the stream map)", async () => {
    const vm = await loadFixture("stock-sdk-empty");
    const old = vm.createRoot("v1");
    vm.createRoot("v2");
    assert.throws(
      () => old.retire(),
      (e: unknown) => e instanceof WasmTrap && e.functionName === "proxy_on_done",
    );
    assert.equal(vm.failed, true);
  });
});
