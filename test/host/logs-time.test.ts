// Envoy's "Logs" (docs/host.md: levels 0..5, WASI fd 1 → info, fd 2 → error) and the host services the filter
// uses for time and randomness, which tests control through the injectable clock and random source.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LogLevel, ManualClock, WasmResult, type HttpStream } from "../../controller/src/host/index.js";
import { after, loadFixture, messages } from "./helpers.js";

async function lifecycleStream(
  headers: [string, string][],
  options: Parameters<typeof loadFixture>[1] = {},
): Promise<HttpStream> {
  const vm = await loadFixture("lifecycle", options);
  const s = vm.createRoot().newStream();
  s.requestHeaders(headers);
  return s;
}

describe("proxy_log levels", () => {
  it("default level info: get_log_level says 2; trace and debug are dropped; bad level is BadArgument", async () => {
    const s = await lifecycleStream([["x-loglevel", "1"]]);
    assert.equal(after(s.logs, "log_level "), "2");
    const lines = s.logs.filter((r) => r.msg.startsWith("a "));
    assert.deepEqual(
      lines.map((r) => [r.levelName, r.msg]),
      [
        ["warn", "a warn line"],
        ["critical", "a critical line"],
      ],
    );
    assert.equal(after(s.logs, "log level 6 -> "), String(WasmResult.BadArgument));
  });

  it("logLevel trace keeps everything and is what the module reads", async () => {
    const s = await lifecycleStream([["x-loglevel", "1"]], { logLevel: "trace" });
    assert.equal(after(s.logs, "log_level "), String(LogLevel.trace));
    assert.deepEqual(
      s.logs.filter((r) => r.msg.startsWith("a ")).map((r) => r.level),
      [0, 1, 3, 5],
    );
  });
});

describe("WASI output", () => {
  it("fd 1 is info, fd 2 is error, the trailing newline is dropped, other fds are EBADF", async () => {
    const s = await lifecycleStream([["x-wasi", "1"]]);
    assert.deepEqual(
      s.logs.filter((r) => r.source !== "proxy_log").map((r) => [r.source, r.levelName, r.msg]),
      [
        ["stdout", "info", "to stdout"],
        ["stderr", "error", "to stderr"],
      ],
    );
    assert.equal(after(s.logs, "fd1 "), "0");
    assert.equal(after(s.logs, "fd3 "), "8");
  });

  it("the older wasi_unstable module is served the same way", async () => {
    const vm = await loadFixture("wasi-unstable");
    const s = vm.createRoot().newStream();
    s.requestHeaders([[":path", "/"]]);
    assert.deepEqual(
      s.logs.filter((r) => r.source === "stderr").map((r) => [r.levelName, r.msg]),
      [["error", "unstable stderr"]],
    );
    assert.equal(after(s.logs, "fd_write -> "), "0 nwritten=16");
  });
});

describe("attribution", () => {
  it("records carry the context they were logged for; streams and roots keep their own", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot("cfg");
    const a = root.newStream();
    const b = root.newStream();
    a.requestHeaders([[":path", "/a"]]);
    b.requestHeaders([[":path", "/b"]]);
    assert.deepEqual(messages(a.logs), [`create ${a.id} ${root.id}`, `request_headers ${a.id} n=1 eos=0`]);
    assert.ok(messages(root.logs).some((m) => m.startsWith(`configure ${root.id}`)));
    assert.ok(b.logs.every((r) => r.contextId === b.id));
  });

  it("proxy_set_effective_context moves attribution to another live context; unknown ids are BadArgument", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot();
    const a = root.newStream();
    const b = root.newStream();
    b.requestHeaders([["x-effective", String(a.id)]]);
    // Everything after the switch is attributed to a, including the line reporting the result.
    assert.deepEqual(messages(a.logs).slice(-2), ["set_effective 0", "logged as effective"]);
    assert.ok(a.logs.slice(-2).every((r) => r.contextId === a.id));
    assert.deepEqual(messages(b.logs), [`create ${b.id} ${root.id}`, `request_headers ${b.id} n=1 eos=0`]);
    const c = root.newStream();
    c.requestHeaders([["x-effective", "9999"]]);
    assert.equal(after(c.logs, "set_effective "), String(WasmResult.BadArgument));
  });
});

describe("time and randomness", () => {
  it("proxy_get_current_time_nanoseconds and WASI realtime clock read the injected clock; monotonic is ENOTSUP", async () => {
    const clock = new ManualClock(1_700_000_000_000_000_000n);
    const vm = await loadFixture("lifecycle", {
      clock: clock.now,
      random: (b) => b.set([1, 2, 3, 4, 5, 6, 7, 8]),
    });
    const root = vm.createRoot();
    const s1 = root.newStream();
    s1.requestHeaders([["x-clock", "1"]]);
    assert.equal(after(s1.logs, "now "), "1700000000000000000");
    assert.equal(after(s1.logs, "wasi_clock "), "0 1700000000000000000");
    assert.equal(after(s1.logs, "monotonic "), "58");
    assert.equal(after(s1.logs, "random "), `0 ${0x0807060504030201n}`);
    clock.advanceMs(1500);
    const s2 = root.newStream();
    s2.requestHeaders([["x-clock", "1"]]);
    assert.equal(after(s2.logs, "now "), "1700000001500000000");
  });

  it("the default clock is real time", async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const s = await lifecycleStream([["x-clock", "1"]]);
    const now = BigInt(after(s.logs, "now "));
    assert.ok(now >= before - 1_000_000_000n && now <= BigInt(Date.now()) * 1_000_000n + 1_000_000_000n);
  });
});

describe("stream control", () => {
  it("proxy_continue_stream is recorded; a stream type above 3 is BadArgument", async () => {
    const s = await lifecycleStream([["x-continue", "1"]]);
    assert.equal(after(s.logs, "continue "), `0 ${WasmResult.BadArgument}`);
    assert.deepEqual(s.streamCalls, [{ op: "continue", streamType: 0 }]);
  });
});
