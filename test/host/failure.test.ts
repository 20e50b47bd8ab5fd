// Envoy's "Failure" (docs/host.md): a trap marks the VM failed and is never hidden; afterwards fail-closed answers
// 503 `wasm_fail_stream` and fail-open skips the filter, without entering the VM again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  FilterHeadersStatus,
  WasmTrap,
  type HttpStream,
  type WasmVm,
} from "../../controller/src/host/index.js";
import { after, loadFixture, messages } from "./helpers.js";

function trapOn(s: HttpStream, how: string): WasmTrap {
  try {
    s.requestHeaders([
      [":path", "/"],
      ["x-trap", how],
    ]);
  } catch (e) {
    assert.ok(e instanceof WasmTrap, `expected WasmTrap, got ${String(e)}`);
    return e;
  }
  assert.fail("no trap");
}

async function trapVm(failOpen = false): Promise<WasmVm> {
  return loadFixture("trap", { failOpen });
}

describe("traps", () => {
  it("unreachable: WasmTrap names the export; the VM is failed; the trap is logged", async () => {
    const vm = await trapVm();
    const s = vm.createRoot().newStream();
    const trap = trapOn(s, "unreachable");
    assert.equal(trap.message, "Function: proxy_on_request_headers failed: unreachable");
    assert.equal(trap.functionName, "proxy_on_request_headers");
    assert.equal(trap.contextId, s.id);
    assert.equal(vm.failed, true);
    assert.equal(vm.trap, trap.message);
    assert.equal(s.trap, trap);
    const rec = vm.logs.find((r) => r.source === "host" && r.msg === trap.message);
    assert.equal(rec?.levelName, "critical");
  });

  it("an out-of-bounds load traps", async () => {
    const vm = await trapVm();
    const trap = trapOn(vm.createRoot().newStream(), "oob");
    assert.match(trap.message, /^Function: proxy_on_request_headers failed: memory access out of bounds/);
  });

  it("an assertion goes through the module's own abort: its message is logged, then it traps", async () => {
    const vm = await trapVm();
    const trap = trapOn(vm.createRoot().newStream(), "abort");
    assert.match(
      after(vm.logs, "abort: "),
      /^lane rules corrupted at test\/fixtures\/wasm\/trap\.ts:\d+:\d+$/,
    );
    assert.equal(trap.message, "Function: proxy_on_request_headers failed: unreachable");
  });

  it("a bad pointer handed to the host is InvalidMemoryAccess, not a trap", async () => {
    const vm = await trapVm();
    const s = vm.createRoot().newStream();
    assert.equal(s.requestHeaders([["x-trap", "host-oob"]]), FilterHeadersStatus.Continue);
    assert.equal(after(s.logs, "proxy_log with bad pointer -> "), "6");
    assert.equal(vm.failed, false);
  });

  it("a trap in on_configure fails the VM; no plugin starts on it afterwards", async () => {
    const vm = await trapVm();
    assert.throws(
      () => vm.createRoot("trap"),
      (e: unknown) => e instanceof WasmTrap && e.functionName === "proxy_on_configure",
    );
    assert.throws(
      () => vm.createRoot("ok"),
      /wasm VM has failed \(Function: proxy_on_configure failed: unreachable\)/,
    );
  });

  it("throwOnTrap: false records the trap and returns the failure-policy action", async () => {
    const vm = await loadFixture("trap", { throwOnTrap: false });
    const s = vm.createRoot().newStream();
    assert.equal(
      s.requestHeaders([["x-trap", "unreachable"]]),
      FilterHeadersStatus.StopAllIterationAndWatermark,
    );
    assert.equal(s.trap?.message, "Function: proxy_on_request_headers failed: unreachable");
    assert.equal(s.localReply?.details, "wasm_fail_stream");
  });
});

describe("failure policy", () => {
  it("fail-closed (Envoy's default): 503 wasm_fail_stream for the trapping stream and every later one", async () => {
    const vm = await trapVm(false);
    const root = vm.createRoot();
    const first = root.newStream();
    trapOn(first, "unreachable");
    assert.equal(first.requestHeadersAction, FilterHeadersStatus.StopAllIterationAndWatermark);
    const failReply = {
      status: 503,
      body: "",
      details: "wasm_fail_stream",
      headers: [],
      grpcStatus: 14,
      source: "wasm_fail_stream",
    };
    assert.deepEqual(first.localReply, failReply);

    const later = root.newStream();
    assert.equal(
      later.requestHeaders([[":path", "/next"]]),
      FilterHeadersStatus.StopAllIterationAndWatermark,
    );
    assert.deepEqual(later.localReply, failReply);
    assert.equal(later.status, 503);
    assert.deepEqual(later.requestHeaderPairs(), [[":path", "/next"]], "the filter did not run");
    later.finish();
    assert.equal(
      messages(vm.logs).some((m) => m.startsWith("log ")),
      false,
      "on_log is not called on a failed VM",
    );
  });

  it("fail-open: the trapping stream continues; later streams skip the filter, headers untouched", async () => {
    const vm = await trapVm(true);
    const root = vm.createRoot();
    const first = root.newStream();
    trapOn(first, "unreachable");
    assert.equal(first.requestHeadersAction, FilterHeadersStatus.Continue);
    assert.equal(first.localReply, null);

    const later = root.newStream();
    assert.equal(later.requestHeaders([[":path", "/next"]]), FilterHeadersStatus.Continue);
    assert.equal(later.skipped, true);
    assert.equal(later.localReply, null);
    assert.deepEqual(later.requestHeaderPairs(), [[":path", "/next"]]);
    assert.match(after(later.logs, "wasm VM failed ("), /fail-open, filter skipped$/);
    assert.equal(later.responseHeaders([[":status", "200"]]), FilterHeadersStatus.Continue);
    assert.equal(later.status, 200);
  });
});
