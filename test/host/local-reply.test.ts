// proxy_send_local_response as Envoy handles it: the reply is recorded (details with whitespace
// replaced, extra headers, no gRPC status for -1), the callback's result becomes a Stop, and the
// reply goes back through the filter's own on_response_headers like any local reply.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterHeadersStatus } from "../../controller/src/host/index.js";
import { after, loadFixture, messages } from "./helpers.js";

describe("local replies", () => {
  it("records status, body, details, headers and gRPC status; the action becomes StopAllIterationAndWatermark", async () => {
    const vm = await loadFixture("lifecycle");
    const s = vm.createRoot().newStream();
    const action = s.requestHeaders([
      [":path", "/"],
      ["x-reply", "403"],
    ]);
    assert.equal(after(s.logs, "local_response "), "0");
    assert.equal(action, FilterHeadersStatus.StopAllIterationAndWatermark, "the module returned Continue");
    assert.deepEqual(s.localReply, {
      status: 403,
      body: "no entry",
      details: "denied_by_lane",
      headers: [
        ["x-reason", "test"],
        ["x-lane", "none"],
      ],
      grpcStatus: null,
      source: "filter",
    });
    assert.equal(s.status, 403);
  });

  it("the reply is encoded through on_response_headers; the upstream response never reaches the filter", async () => {
    const vm = await loadFixture("lifecycle");
    const s = vm.createRoot().newStream();
    s.requestHeaders([["x-reply", "429"]]);
    assert.equal(after(s.logs, `response_headers ${s.id} `), "n=5 eos=0 status=429");
    assert.deepEqual(s.responseHeaderPairs(), [
      [":status", "429"],
      ["content-length", "8"],
      ["content-type", "text/plain"],
      ["x-reason", "test"],
      ["x-lane", "none"],
    ]);
    assert.equal(s.responseHeaders([[":status", "200"]]), FilterHeadersStatus.Continue);
    assert.equal(messages(s.logs).filter((m) => m.startsWith("response_headers")).length, 1);
    s.finish();
    assert.deepEqual(messages(s.logs).slice(-3), [`log ${s.id}`, `done ${s.id}`, `delete ${s.id}`]);
  });
});
