// Envoy's "Per request" and root retirement (docs/host.md): a stream is on_context_create, headers callbacks,
// then on_log → on_done → on_delete; a replaced plugin's root gets on_done → on_delete (or waits for
// proxy_done when on_done returns false).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { after, loadFixture, messages } from "./helpers.js";

describe("stream lifecycle", () => {
  it("create, request headers, response headers, then log → done → delete", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot("cfg");
    vm.clearLogs();
    const s = root.newStream();
    s.requestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        ["host", "shop"],
      ],
      true,
    );
    s.responseHeaders([[":status", "200"]], false);
    s.finish();
    assert.deepEqual(messages(vm.logs), [
      `create ${s.id} ${root.id}`,
      `request_headers ${s.id} n=3 eos=1`,
      `response_headers ${s.id} n=1 eos=0 status=200`,
      `log ${s.id}`,
      `done ${s.id}`,
      `delete ${s.id}`,
    ]);
    assert.deepEqual(messages(s.logs), messages(vm.logs));
    s.finish();
    assert.equal(vm.logs.length, 6, "finish is idempotent");
    assert.throws(() => s.requestBody("x"), /finished/);
  });

  it("context ids are unique per VM across roots and streams", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot();
    const ids = new Set<number>([root.id]);
    for (let i = 0; i < 5; i++) {
      const s = root.newStream();
      ids.add(s.id);
      s.finish();
    }
    ids.add(vm.createRoot().id);
    assert.equal(ids.size, 7);
  });

  it("streams in flight interleave; each ends with its own log → done → delete", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot();
    const a = root.newStream();
    const b = root.newStream();
    a.requestHeaders([[":path", "/a"]]);
    b.requestHeaders([[":path", "/b"]]);
    b.finish();
    a.finish();
    const tail = messages(vm.logs).slice(-6);
    assert.deepEqual(tail, [
      `log ${b.id}`,
      `done ${b.id}`,
      `delete ${b.id}`,
      `log ${a.id}`,
      `done ${a.id}`,
      `delete ${a.id}`,
    ]);
  });
});

describe("root retirement", () => {
  it("retire: on_done then on_delete for the old root; the new root keeps serving", async () => {
    const vm = await loadFixture("lifecycle");
    const old = vm.createRoot("v1");
    const next = vm.createRoot("v2");
    vm.clearLogs();
    assert.equal(old.retire(), "deleted");
    assert.deepEqual(messages(vm.logs), [`done ${old.id}`, `delete ${old.id}`]);
    assert.deepEqual(
      vm.roots.map((r) => r.id),
      [next.id],
    );
    const s = next.newStream();
    s.requestHeaders([[":path", "/"]]);
    s.finish();
    assert.equal(vm.failed, false);
    assert.throws(() => old.newStream(), /deleted/);
    assert.throws(() => old.retire(), /already deleted/);
  });

  it("on_done returning false defers on_delete until the root calls proxy_done", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot("defer-done");
    vm.clearLogs();
    assert.equal(root.retire(), "done-pending");
    assert.deepEqual(messages(vm.logs), [`done ${root.id}`]);
    root.tick();
    // proxy_done succeeded inside on_tick; on_delete ran after the callback returned.
    assert.deepEqual(messages(vm.logs), [
      `done ${root.id}`,
      `tick ${root.id}`,
      "proxy_done 0",
      `delete ${root.id}`,
    ]);
    assert.equal(root.state, "deleted");
  });

  it("proxy_done from a stream, or from a root that is not pending, is NotFound", async () => {
    const vm = await loadFixture("lifecycle");
    const s = vm.createRoot().newStream();
    s.requestHeaders([["x-done", "1"]]);
    assert.equal(after(s.logs, "stream proxy_done "), "1");
  });

  it("proxy_set_tick_period_milliseconds is recorded on the root", async () => {
    const vm = await loadFixture("lifecycle");
    assert.equal(vm.createRoot("tick").tickPeriodMs, 250);
    assert.equal(vm.createRoot("no").tickPeriodMs, 0);
  });
});
