// Seed 003 (Kruise Rollout mocka → mockb, a Lua filter dyeing "agent: pc") redone with meshlane: render
// the example in manifests/examples/seed-003, then follow requests hop by hop through the rendered
// objects, with the real filter deciding the lane at the gateway and carrying it at mocka's sidecar.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { defaultWasmPath, fromRoot } from "../../controller/src/paths.js";
import { render, type KubeObject } from "../../controller/src/render/index.js";
import { carryOut, caseInput, TEST_OPTIONS } from "./golden.js";
import { route } from "./mesh.js";

const input = caseInput("seed-003");
const result = render(input, TEST_OPTIONS);
const world = carryOut(input, result);
const find = (kind: string, name: string) =>
  result.apply.find((o) => o.kind === kind && o.metadata.name === name) as KubeObject;

test("seed 003 example: the example files are what the golden case reads", () => {
  assert.ok(existsSync(fromRoot("manifests", "examples", "seed-003", "lane.yaml")));
  assert.deepEqual(result.errors, []);
  assert.deepEqual(result.warnings, []);
});

test("seed 003: dr-mocka and dr-mockb keep ROUND_ROBIN and version-base and gain base and canary", () => {
  for (const name of ["dr-mocka", "dr-mockb"]) {
    const dr = find("DestinationRule", name);
    assert.deepEqual(dr.spec.trafficPolicy, { loadBalancer: { simple: "ROUND_ROBIN" } });
    assert.deepEqual(dr.spec.subsets, [
      { labels: { version: "base" }, name: "version-base" },
      { name: "base", labels: { "meshlane.io/lane": "base" } },
      { name: "canary", labels: { "meshlane.io/lane": "canary" } },
    ]);
    assert.ok(dr.metadata.annotations?.["meshlane.io/original-spec"]);
  }
});

test("seed 003: vs-mocka (gateway) and vs-mockb get the canary route in front, defaults unchanged", () => {
  for (const [name, host] of [
    ["vs-mocka", "mocka"],
    ["vs-mockb", "mockb"],
  ]) {
    const vs = find("VirtualService", name);
    assert.deepEqual(vs.spec.http, [
      {
        name: "meshlane-canary",
        match: [{ headers: { "x-lane": { exact: "canary" } } }],
        route: [{ destination: { host, subset: "canary" } }],
      },
      { route: [{ destination: { host, subset: "version-base" } }] },
    ]);
  }
  assert.deepEqual(find("VirtualService", "vs-mocka").spec.gateways, ["simple-gateway"]);
  // mocka had no mesh VirtualService: meshlane adds one so calls inside the mesh are lane-routed too.
  assert.equal(
    find("VirtualService", "meshlane-mocka").metadata.labels?.["app.kubernetes.io/managed-by"],
    "meshlane",
  );
});

test("seed 003 hop by hop: lane requests stay on canary, others on base, at every hop", () => {
  const gw = "e2e/simple-gateway";
  const at = (lane: string | undefined): Record<string, string> => (lane ? { "x-lane": lane } : {});
  for (const [lane, suffix] of [
    ["canary", "canary"],
    [undefined, "base"],
    ["nosuchlane", "base"],
  ] as const) {
    const edge = route(world, { gateway: gw, authority: "shop.example.com", path: "/", headers: at(lane) });
    assert.deepEqual(edge.workloads, [`mocka-${suffix}`], `gateway → mocka with lane ${lane}`);
    const inner = route(world, { from: "e2e", authority: "mockb:8000", path: "/", headers: at(lane) });
    assert.deepEqual(inner.workloads, [`mockb-${suffix}`], `mocka → mockb with lane ${lane}`);
    const direct = route(world, { from: "e2e", authority: "mocka:8000", path: "/", headers: at(lane) });
    assert.deepEqual(direct.workloads, [`mocka-${suffix}`], `mesh → mocka with lane ${lane}`);
  }
});

test("seed 003 before meshlane: without the rendered objects, canary pods would share unlabelled traffic", () => {
  const before = route(input, { from: "e2e", authority: "mockb:8000", path: "/", headers: {} });
  assert.deepEqual(before.workloads, ["mockb-base"], "version-base already excluded canary pods in the seed");
  const bare = input.filter((o) => o.kind !== "VirtualService");
  assert.deepEqual(route(bare, { from: "e2e", authority: "mocka:8000", path: "/", headers: {} }).workloads, [
    "mocka-base",
    "mocka-canary",
  ]);
});

function pluginConfig(name: string): string {
  const ef = find("EnvoyFilter", name);
  return ef.spec.configPatches[0].patch.value.typed_config.config.configuration.value;
}

test("seed 003 with the real filter: the gateway dyes agent: pc canary, the sidecar carries it to mockb", async () => {
  const { explain } = await import("../../controller/src/explain/run.js");
  const laneOf = (line: unknown) => (line as { lane: string | null }).lane;
  const client = { path: ["source", "address"], string: "203.0.113.7:51000" };
  const edge = await explain(
    pluginConfig("meshlane-edge"),
    {
      properties: [{ path: ["xds", "listener_direction"], int: 2 }, client],
      requests: [
        {
          name: "pc",
          requestHeaders: [
            [":method", "GET"],
            [":path", "/"],
            [":authority", "shop"],
            ["agent", "pc"],
          ],
          responseHeaders: [[":status", "200"]],
          properties: [],
          advanceSeconds: 0,
        },
        {
          name: "mobile",
          requestHeaders: [
            [":method", "GET"],
            [":path", "/"],
            [":authority", "shop"],
            ["agent", "mobile"],
          ],
          responseHeaders: [[":status", "200"]],
          properties: [],
          advanceSeconds: 0,
        },
        {
          name: "spoofed",
          requestHeaders: [
            [":method", "GET"],
            [":path", "/"],
            [":authority", "shop"],
            ["x-lane", "canary"],
          ],
          responseHeaders: [[":status", "200"]],
          properties: [],
          advanceSeconds: 0,
        },
      ],
    },
    { wasmPath: defaultWasmPath, logLevel: 2 },
  );
  assert.equal(edge.rejected, undefined, edge.rejected);
  assert.deepEqual(edge.lines.slice(0, 3).map(laneOf), ["canary", null, null]);

  // Gateway → mocka with the lane the edge set.
  const hop1 = route(world, {
    gateway: "e2e/simple-gateway",
    authority: "shop",
    path: "/",
    headers: { "x-lane": "canary" },
  });
  assert.deepEqual(hop1.workloads, ["mocka-canary"]);

  // mocka's sidecar: inbound sees the lane with the trace id; the app calls mockb forwarding only the
  // trace id; outbound puts the lane back, and mockb's route sends it to mockb-canary.
  const sidecar = await explain(
    pluginConfig("meshlane-sidecar"),
    {
      properties: [],
      requests: [
        {
          name: "inbound",
          requestHeaders: [
            [":method", "GET"],
            [":path", "/"],
            [":authority", "mocka:8000"],
            ["x-lane", "canary"],
            ["x-request-id", "r-1"],
          ],
          responseHeaders: [[":status", "200"]],
          properties: [{ path: ["xds", "listener_direction"], int: 1 }],
          advanceSeconds: 0,
        },
        {
          name: "outbound",
          requestHeaders: [
            [":method", "GET"],
            [":path", "/"],
            [":authority", "mockb:8000"],
            ["x-request-id", "r-1"],
          ],
          responseHeaders: [[":status", "200"]],
          properties: [{ path: ["xds", "listener_direction"], int: 2 }],
          advanceSeconds: 0,
        },
      ],
    },
    { wasmPath: defaultWasmPath, logLevel: 2 },
  );
  assert.equal(sidecar.rejected, undefined, sidecar.rejected);
  assert.deepEqual(sidecar.lines.slice(0, 2).map(laneOf), ["canary", "canary"]);
  const hop2 = route(world, {
    from: "e2e",
    authority: "mockb:8000",
    path: "/",
    headers: { "x-lane": laneOf(sidecar.lines[1])! },
  });
  assert.deepEqual(hop2.workloads, ["mockb-canary"]);
});
