// Envoy's "Properties" and "JWT" (docs/host.md): NUL-joined paths, native encodings, maps and lists as pairs,
// walking into caller-given JSON (the jwt_authn payload), NotFound for unknown paths, and the
// values Envoy derives itself (request.id, plugin_*).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { HttpStream, PropertyInput, WasmVm } from "../../controller/src/host/index.js";
import { after, doubleHex, int64Hex, loadFixture, pairsHex, strHex } from "./helpers.js";

const JWT = "metadata/filter_metadata/envoy.filters.http.jwt_authn/payload";

const STREAM_PROPS: PropertyInput[] = [
  { path: ["xds", "listener_direction"], int: 2 },
  { path: ["source", "address"], string: "203.0.113.7:51000" },
  { path: ["source", "port"], int: 51000 },
  { path: ["connection", "mtls"], bool: true },
  { path: ["upstream", "weight"], uint: "18446744073709551615" },
  { path: ["ratio"], double: 0.25 },
  {
    path: ["metadata", "filter_metadata", "envoy.filters.http.jwt_authn", "payload"],
    json: { sub: "u1", groups: ["beta", "ops"], exp: 1700000000, admin: false, nested: { a: "b" } },
  },
  { path: ["raw"], bytes: "AAEC" },
  { path: ["nothing"], json: null },
];

let vm: WasmVm;

async function probe(paths: string[], props: PropertyInput[] = STREAM_PROPS): Promise<HttpStream> {
  vm = await loadFixture("properties", {
    vmId: "lanes",
    properties: [
      { path: ["node", "id"], string: "sidecar~10.0.0.1~shop-1.shop~shop.svc.cluster.local" },
      { path: ["xds", "listener_direction"], int: 1 },
    ],
  });
  const s = vm.createRoot("", { rootId: "meshlane-root", name: "meshlane" }).newStream({ properties: props });
  s.requestHeaders([
    [":method", "GET"],
    [":path", "/p?q=1"],
    ["x-request-id", "req-42"],
    ["x-props", paths.join(",")],
  ]);
  return s;
}

describe("property encodings", () => {
  it("strings raw, int/uint/double 8 bytes little-endian, bool 1 byte, bytes as given", async () => {
    const s = await probe([
      "source/address",
      "source/port",
      "upstream/weight",
      "ratio",
      "connection/mtls",
      "raw",
    ]);
    assert.equal(after(s.logs, "prop source/address "), `0 ${strHex("203.0.113.7:51000")}`);
    assert.equal(after(s.logs, "prop source/port "), `0 ${int64Hex(51000n)}`);
    assert.equal(after(s.logs, "prop upstream/weight "), "0 ffffffffffffffff");
    assert.equal(after(s.logs, "prop ratio "), `0 ${doubleHex(0.25)}`);
    assert.equal(after(s.logs, "prop connection/mtls "), "0 01");
    assert.equal(after(s.logs, "prop raw "), "0 000102");
  });

  it("a stream's property overrides the VM-wide default; other defaults remain visible", async () => {
    const s = await probe(["xds/listener_direction", "node/id"]);
    assert.equal(after(s.logs, "prop xds/listener_direction "), `0 ${int64Hex(2n)}`);
    assert.equal(
      after(s.logs, "prop node/id "),
      `0 ${strHex("sidecar~10.0.0.1~shop-1.shop~shop.svc.cluster.local")}`,
    );
  });

  it("a map is proxy-wasm pairs of key and encoded value", async () => {
    const s = await probe(["source"]);
    assert.equal(
      after(s.logs, "prop source "),
      `0 ${pairsHex([
        [strHex("address"), strHex("203.0.113.7:51000")],
        [strHex("port"), int64Hex(51000n)],
      ])}`,
    );
  });

  it("unknown paths are NotFound; segments are NUL-separated, so a dotted name is one segment", async () => {
    const s = await probe(["missing", "source/nope", "source/port/deeper", "xds.listener_direction"]);
    assert.equal(after(s.logs, "prop missing "), "1 ");
    assert.equal(after(s.logs, "prop source/nope "), "1 ");
    assert.equal(after(s.logs, "prop source/port/deeper "), "1 ");
    assert.equal(after(s.logs, "prop xds.listener_direction "), "1 ");
  });

  it("a JSON null has no encoding (SerializationFailure)", async () => {
    const s = await probe(["nothing"]);
    assert.equal(after(s.logs, "prop nothing "), "3 ");
  });
});

describe("JSON properties (metadata from jwt_authn)", () => {
  it("lookups walk into the payload map; numbers are doubles as in a protobuf Struct", async () => {
    const s = await probe([`${JWT}/sub`, `${JWT}/exp`, `${JWT}/admin`, `${JWT}/missing`]);
    assert.equal(after(s.logs, `prop ${JWT}/sub `), `0 ${strHex("u1")}`);
    assert.equal(after(s.logs, `prop ${JWT}/exp `), `0 ${doubleHex(1700000000)}`);
    assert.equal(after(s.logs, `prop ${JWT}/admin `), "0 00");
    assert.equal(after(s.logs, `prop ${JWT}/missing `), "1 ");
  });

  it("a list is pairs of (element, empty); an index walks into it", async () => {
    const s = await probe([`${JWT}/groups`, `${JWT}/groups/1`, `${JWT}/groups/2`]);
    assert.equal(
      after(s.logs, `prop ${JWT}/groups `),
      `0 ${pairsHex([
        [strHex("beta"), ""],
        [strHex("ops"), ""],
      ])}`,
    );
    assert.equal(after(s.logs, `prop ${JWT}/groups/1 `), `0 ${strHex("ops")}`);
    assert.equal(after(s.logs, `prop ${JWT}/groups/2 `), "1 ");
  });

  it("the whole payload nests encoded values inside the pairs", async () => {
    const s = await probe([JWT]);
    const groups = pairsHex([
      [strHex("beta"), ""],
      [strHex("ops"), ""],
    ]);
    assert.equal(
      after(s.logs, `prop ${JWT} `),
      `0 ${pairsHex([
        [strHex("sub"), strHex("u1")],
        [strHex("groups"), groups],
        [strHex("exp"), doubleHex(1700000000)],
        [strHex("admin"), "00"],
        [strHex("nested"), pairsHex([[strHex("a"), strHex("b")]])],
      ])}`,
    );
  });
});

describe("values Envoy derives", () => {
  it("request.* from the request headers, plugin_* from the plugin and VM", async () => {
    const s = await probe([
      "request/id",
      "request/path",
      "request/url_path",
      "request/method",
      "plugin_root_id",
      "plugin_vm_id",
    ]);
    assert.equal(after(s.logs, "prop request/id "), `0 ${strHex("req-42")}`);
    assert.equal(after(s.logs, "prop request/path "), `0 ${strHex("/p?q=1")}`);
    assert.equal(after(s.logs, "prop request/url_path "), `0 ${strHex("/p")}`);
    assert.equal(after(s.logs, "prop request/method "), `0 ${strHex("GET")}`);
    assert.equal(after(s.logs, "prop plugin_root_id "), `0 ${strHex("meshlane-root")}`);
    assert.equal(after(s.logs, "prop plugin_vm_id "), `0 ${strHex("lanes")}`);
  });

  it("root contexts see plugin_* but cannot set properties (NotFound: no stream info)", async () => {
    await probe([]);
    assert.equal(after(vm.logs, "root prop plugin_root_id "), `0 ${strHex("meshlane-root")}`);
    assert.equal(after(vm.logs, "root prop plugin_name "), `0 ${strHex("meshlane")}`);
    assert.equal(after(vm.logs, "root set_property "), "1");
  });

  it("in on_response_headers: request.path is gone with the request headers; request.id and response.code remain", async () => {
    const s = await probe([]);
    s.responseHeaders([[":status", "200"]]);
    assert.equal(after(s.logs, "resp prop request/path "), "1 ");
    assert.equal(after(s.logs, "resp prop request/id "), `0 ${strHex("req-42")}`);
    assert.equal(after(s.logs, "resp prop response/code "), `0 ${int64Hex(200n)}`);
  });

  it("proxy_set_property on a stream is readable back by its name", async () => {
    vm = await loadFixture("properties");
    const s = vm.createRoot().newStream();
    s.requestHeaders([["x-set-prop", "lane_hint=canary"]]);
    assert.equal(after(s.logs, "set_property "), `0 then 0 ${strHex("canary")}`);
  });
});
