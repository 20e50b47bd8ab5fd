// Bodies and trailers, which the lane filter does not need but a faithful host must not get wrong:
// buffer types 0/1 and Envoy's Buffer::copyFrom rules, trailer maps while their callback runs.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterTrailersStatus, WasmResult, type HttpStream } from "../../controller/src/host/index.js";
import { after, loadFixture } from "./helpers.js";

async function stream(): Promise<HttpStream> {
  const vm = await loadFixture("lifecycle");
  const s = vm.createRoot().newStream();
  s.requestHeaders([[":method", "POST"]]);
  return s;
}

describe("request body (buffer type 0)", () => {
  it("status and bytes are readable during on_request_body", async () => {
    const s = await stream();
    s.requestBody("hello", true);
    assert.equal(after(s.logs, `request_body ${s.id} `), "size=5 eos=1 status_len=5 body=0 hello");
  });

  it("set_buffer_bytes at 0 with the whole length replaces the body", async () => {
    const s = await stream();
    s.requestBody("replace-me");
    assert.equal(after(s.logs, "set_buffer "), "0");
    assert.equal(Buffer.from(s.requestBodyBytes()).toString(), "replaced");
  });

  it("set_buffer_bytes at the end appends", async () => {
    const s = await stream();
    s.requestBody("append");
    assert.equal(Buffer.from(s.requestBodyBytes()).toString(), "append+tail");
  });

  it("set_buffer_bytes in the middle is BadArgument and changes nothing", async () => {
    const s = await stream();
    s.requestBody("middle");
    assert.equal(after(s.logs, "set_buffer "), String(WasmResult.BadArgument));
    assert.equal(Buffer.from(s.requestBodyBytes()).toString(), "middle");
  });
});

describe("request trailers (map type 1)", () => {
  it("readable and writable in on_request_trailers; a non-zero result is StopIteration", async () => {
    const s = await stream();
    assert.equal(s.requestTrailers([["grpc-status", "0"]]), FilterTrailersStatus.StopIteration);
    assert.equal(after(s.logs, "request_trailers "), `${s.id} n=1 grpc-status=0 0`);
    assert.equal(after(s.logs, "add trailer "), "0");
    assert.deepEqual(s.requestTrailerPairs(), [
      ["grpc-status", "0"],
      ["x-trailer", "t"],
    ]);
  });
});
