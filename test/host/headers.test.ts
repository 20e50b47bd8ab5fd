// Envoy's "Header maps" and the header-lifetime part of "Per request" (docs/host.md), driven through the headers
// fixture: every result the module saw is logged, and the maps are checked as they stand afterwards.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FilterHeadersStatus, type HttpStream } from "../../controller/src/host/index.js";
import { after, loadFixture } from "./helpers.js";

const REQUEST: [string, string][] = [
  [":method", "GET"],
  ["Agent", "pc"],
  [":path", "/shop?x=1"],
  ["x-dup", "one"],
  ["User-Agent", "curl"],
  ["cookie", "a=1"],
  ["x-multi", "1"],
  ["x-multi", "2"],
  ["x-request-id", "abc"],
  ["X-Gone", "bye"],
  ["Host", "shop.example"],
];

const EXPECTED_AFTER_REQUEST: [string, string][] = [
  [":method", "GET"],
  [":path", "/shop?x=1"],
  [":authority", "shop.example"],
  [":custom", "p"],
  ["agent", "pc"],
  ["x-dup", "one"],
  ["user-agent", "curl,extra"],
  ["cookie", "a=1"],
  ["x-request-id", "abc"],
  ["x-dup", "two"],
  ["cookie", "b=2"],
  ["x-multi", "only"],
];

async function stream(): Promise<HttpStream> {
  const vm = await loadFixture("headers");
  return vm.createRoot().newStream();
}

function render(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join("|");
}

describe("header map operations (Envoy HeaderMapImpl semantics)", () => {
  it("codec view: lower-case keys, pseudo-headers first, host as :authority", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    assert.equal(after(s.logs, "get :path "), "0 /shop?x=1");
    assert.equal(after(s.logs, "get Agent "), "0 pc", "lookups lower-case the key");
  });

  it("get: first value; absent key NotFound", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    assert.equal(after(s.logs, "get x-dup "), "0 one");
    assert.equal(after(s.logs, "get missing "), "1");
  });

  it("add appends a duplicate (cookie too, as in a stock Envoy build), joins inline headers with ',', ignores an empty inline value", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    for (const op of [
      "add x-dup ",
      "add User-Agent ",
      "add cookie ",
      "add empty x-request-id ",
      "add :custom ",
    ]) {
      assert.equal(after(s.logs, op), "0");
    }
    assert.deepEqual(s.requestHeaderPairs(), EXPECTED_AFTER_REQUEST);
  });

  it("replace removes every entry and adds one; remove of an absent key is Ok", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    assert.equal(after(s.logs, "replace x-multi "), "0");
    assert.equal(after(s.logs, "remove x-absent "), "0");
    assert.equal(after(s.logs, "remove X-Gone "), "0");
    const pairs = s.requestHeaderPairs();
    assert.deepEqual(
      pairs.filter(([k]) => k === "x-multi"),
      [["x-multi", "only"]],
    );
    assert.equal(
      pairs.some(([k]) => k === "x-gone"),
      false,
    );
  });

  it("get_pairs serializes the map pseudo-first; size is the byte size of keys and values", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    assert.equal(after(s.logs, "req pairs "), `0 ${render(EXPECTED_AFTER_REQUEST)}`);
    const bytes = EXPECTED_AFTER_REQUEST.reduce(
      (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
      0,
    );
    assert.equal(after(s.logs, "size "), `0 ${bytes}`);
  });

  it("maps that do not exist now: BadArgument; map types above 7: BadArgument; their pairs: empty", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    assert.equal(after(s.logs, "get trailers "), "2");
    assert.equal(after(s.logs, "get grpc map "), "2");
    assert.equal(after(s.logs, "get http-call map "), "2");
    assert.equal(after(s.logs, "http-call map pairs "), "0 <empty ptr=0>");
    assert.equal(after(s.logs, "get map 8 "), "2");
    assert.equal(after(s.logs, "add response map "), "2", "response headers do not exist yet");
  });

  it("set_header_map_pairs replaces the whole map (addCopy per pair: lower-case, pseudo first)", async () => {
    const s = await stream();
    s.requestHeaders([[":path", "/"]]);
    s.responseHeaders([
      [":status", "200"],
      ["x-set-pairs", "1"],
      ["server", "envoy"],
    ]);
    assert.equal(after(s.logs, "set pairs "), "0");
    const want: [string, string][] = [
      [":status", "201"],
      ["x-b", "2"],
      ["x-upper", "v"],
      ["x-a", "1"],
      ["x-a", "again"],
    ];
    assert.deepEqual(s.responseHeaderPairs(), want);
    assert.equal(after(s.logs, "resp map pairs "), `0 ${render(want)}`);
  });
});

describe("header lifetime", () => {
  it("after on_request_headers returned Continue: get BadArgument, pairs empty, changes BadArgument", async () => {
    const s = await stream();
    assert.equal(s.requestHeaders(REQUEST), FilterHeadersStatus.Continue);
    s.responseHeaders([[":status", "200"]]);
    assert.equal(after(s.logs, "resp get req :path "), "2 ");
    assert.equal(after(s.logs, "resp pairs req "), "0 <empty ptr=0>");
    assert.equal(after(s.logs, "resp add req "), "2");
    assert.equal(after(s.logs, "resp size req "), "2 ");
    assert.equal(
      s.requestHeaderPairs().some(([k]) => k === "x-late"),
      false,
    );
    assert.equal(after(s.logs, "add resp "), "0");
    assert.deepEqual(s.responseHeaderPairs(), [
      [":status", "200"],
      ["x-resp", "yes"],
    ]);
  });

  it("StopIteration is reported as StopAllIterationAndWatermark and keeps the request map open", async () => {
    const s = await stream();
    const action = s.requestHeaders([
      [":path", "/p"],
      ["x-action", "1"],
    ]);
    assert.equal(action, FilterHeadersStatus.StopAllIterationAndWatermark);
    assert.equal(s.requestHeadersAction, 4);
    s.responseHeaders([[":status", "200"]]);
    assert.equal(after(s.logs, "resp get req :path "), "0 /p");
    assert.equal(after(s.logs, "resp add req "), "0");
    assert.deepEqual(s.requestHeaderPairs().at(-1), ["x-late", "1"]);
  });

  it("out-of-range actions become StopAllIterationAndWatermark; other actions pass through", async () => {
    const s7 = await stream();
    assert.equal(s7.requestHeaders([["x-action", "7"]]), 4);
    const s2 = await stream();
    assert.equal(s2.requestHeaders([["x-action", "2"]]), FilterHeadersStatus.ContinueAndEndStream);
  });

  it("on_log reads the final request and response maps, but cannot change them", async () => {
    const s = await stream();
    s.requestHeaders(REQUEST);
    s.responseHeaders([[":status", "200"]]);
    s.finish();
    assert.equal(after(s.logs, "log get req :path "), "0 /shop?x=1");
    assert.equal(after(s.logs, "log add req "), "2");
    assert.equal(after(s.logs, "log get resp :status "), "0 200");
    assert.equal(after(s.logs, "log get req trailers "), "1", "an absent map is NotFound in on_log");
    assert.equal(after(s.logs, "log pairs resp "), "0 :status=200|x-resp=yes");
  });
});

describe("guest memory growth", () => {
  it("memory.grow inside the module: host calls keep working on the new buffer", async () => {
    const vm = await loadFixture("headers");
    const s = vm.createRoot().newStream();
    const before = vm.memoryBytes();
    s.requestHeaders([...REQUEST, ["x-grow", "16"]]);
    assert.ok(vm.memoryBytes() >= before + 16 * 65536);
    assert.equal(after(s.logs, "get :path "), "0 /shop?x=1");
    assert.equal(after(s.logs, "req pairs ").startsWith("0 :method=GET"), true);
  });

  it("the host's own malloc call grows memory while it copies a 3 MiB value out", async () => {
    const vm = await loadFixture("headers");
    const s = vm.createRoot().newStream();
    const before = vm.memoryBytes();
    s.requestHeaders([["x-big", "v".repeat(3 * 1024 * 1024)]]);
    assert.equal(after(s.logs, "big "), String(3 * 1024 * 1024));
    assert.ok(vm.memoryBytes() > before + 3 * 1024 * 1024);
  });
});
