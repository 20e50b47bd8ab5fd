// Unit-level contracts of render: purity, the original-spec annotation, merge refusals, naming, options.
// (The full contract for users' objects is in usermerge.test.ts.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, ORIGINAL_SPEC_ANNOTATION, type KubeObject } from "../../controller/src/render/index.js";
import { hostCovers, resolveHost } from "../../controller/src/render/hosts.js";
import { wasmCluster } from "../../controller/src/render/install.js";
import { caseInput, TEST_OPTIONS } from "./golden.js";

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const seed = () => caseInput("seed-003");
const byName = (objs: KubeObject[], kind: string, name: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === name)!;

test("render does not modify its input and gives the same result twice", () => {
  const input = deepFreeze(seed());
  const a = render(input, TEST_OPTIONS);
  const b = render(input, TEST_OPTIONS);
  assert.deepEqual(a, b);
});

test("host names resolve as Istio does", () => {
  assert.equal(resolveHost("mockb", "e2e", "cluster.local"), "mockb.e2e.svc.cluster.local");
  assert.equal(
    resolveHost("mockb.e2e", "x", "cluster.local"),
    "mockb.e2e",
    "a name with a dot is taken as written",
  );
  assert.equal(resolveHost("*", "x", "cluster.local"), "*");
  assert.ok(hostCovers("*.e2e.svc.cluster.local", "mockb.e2e.svc.cluster.local"));
  assert.ok(!hostCovers("*.e2e.svc.cluster.local", "mockb.other.svc.cluster.local"));
  assert.equal(
    wasmCluster("http://meshlane-controller.meshlane-system.svc:8080/m.wasm", "cluster.local"),
    "outbound|8080||meshlane-controller.meshlane-system.svc.cluster.local",
  );
  assert.equal(wasmCluster("https://example.com/m.wasm", "cluster.local"), "meshlane-wasm");
});

test("an edit behind meshlane's back is the user's: kept, and saved as the new original", () => {
  const first = render(seed(), TEST_OPTIONS);
  const vs = structuredClone(byName(first.apply, "VirtualService", "vs-mockb"));
  vs.spec.http = [{ route: [{ destination: { host: "mockb", subset: "version-base" } }], timeout: "1s" }];
  const world = seed().map((o) => (o.kind === "VirtualService" && o.metadata.name === "vs-mockb" ? vs : o));
  const again = byName(render(world, TEST_OPTIONS).apply, "VirtualService", "vs-mockb");
  assert.deepEqual(JSON.parse(again.metadata.annotations![ORIGINAL_SPEC_ANNOTATION]), vs.spec);
  assert.deepEqual(
    again.spec.http.map((h: { name?: string; timeout?: string }) => [h.name, h.timeout]),
    [
      ["meshlane-canary", "1s"],
      [undefined, "1s"],
    ],
  );
});

test("an unreadable saved original is an error and the object is left alone", () => {
  const world = seed().map((o) =>
    o.metadata.name === "dr-mockb"
      ? { ...o, metadata: { ...o.metadata, annotations: { [ORIGINAL_SPEC_ANNOTATION]: "{not json" } } }
      : o,
  );
  const r = render(world, TEST_OPTIONS);
  assert.deepEqual(
    r.errors.map((e) => e.object),
    ["DestinationRule e2e/dr-mockb"],
  );
  assert.ok(!r.apply.some((o) => o.metadata.name === "dr-mockb"));
  assert.ok(!r.restore.some((o) => o.metadata.name === "dr-mockb"));
});

test("restore puts the original back and drops the annotation, keeping other metadata", () => {
  const first = render(seed(), TEST_OPTIONS);
  const dr = structuredClone(byName(first.apply, "DestinationRule", "dr-mocka"));
  dr.metadata.annotations!["team"] = "a";
  const world = [dr, ...seed().filter((o) => o.kind === "Service" || o.metadata.name === "mocka-base")];
  const r = render(world, TEST_OPTIONS);
  assert.equal(r.restore.length, 1);
  assert.deepEqual(r.restore[0].metadata.annotations, { team: "a" });
  assert.deepEqual(r.restore[0].spec, byName(seed(), "DestinationRule", "dr-mocka").spec);
});

test("a route that already matches the lane header, also through withoutHeaders, is refused", () => {
  const world = seed().map((o) =>
    o.metadata.name === "vs-mockb"
      ? {
          ...o,
          spec: {
            hosts: ["mockb"],
            http: [
              {
                match: [{ withoutHeaders: { "x-lane": { exact: "canary" } } }],
                route: [{ destination: { host: "mockb" } }],
              },
            ],
          },
        }
      : o,
  );
  const r = render(world, TEST_OPTIONS);
  assert.deepEqual(
    r.errors.map((e) => e.object),
    ["VirtualService e2e/vs-mockb"],
  );
  assert.ok(!r.apply.some((o) => o.metadata.name === "vs-mockb"));
});

test("meshlane does not take over objects it does not manage", () => {
  const mine: KubeObject = {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: "meshlane-edge", namespace: "istio-system" },
    spec: {},
  };
  const r = render([...seed(), mine], TEST_OPTIONS);
  assert.deepEqual(
    r.errors.map((e) => e.object),
    ["EnvoyFilter istio-system/meshlane-edge"],
  );
  assert.ok(!r.apply.some((o) => o.kind === "EnvoyFilter" && o.metadata.name === "meshlane-edge"));
  assert.ok(!r.delete.some((d) => d.name === "meshlane-edge"));
});

test("options: lane header, gateway selector and namespaces reach the objects", () => {
  const r = render(seed(), {
    ...TEST_OPTIONS,
    laneHeader: "My-Request-Id",
    gatewaySelector: { app: "gw" },
    gatewayNamespace: "gw-ns",
    rootNamespace: "mesh-root",
    baggageKey: "",
  });
  const vs = byName(r.apply, "VirtualService", "vs-mocka");
  assert.deepEqual(vs.spec.http[0].match, [{ headers: { "my-request-id": { exact: "canary" } } }]);
  const edge = byName(r.apply, "EnvoyFilter", "meshlane-edge");
  assert.equal(edge.metadata.namespace, "gw-ns");
  assert.deepEqual(edge.spec.workloadSelector, { labels: { app: "gw" } });
  const config = JSON.parse(edge.spec.configPatches[0].patch.value.typed_config.config.configuration.value);
  assert.equal(config.laneHeader, "my-request-id");
  assert.equal(config.baggageKey, "");
  // The sidecar filter stays in the Lane's namespace whatever the root namespace is.
  assert.equal(byName(r.apply, "EnvoyFilter", "meshlane-sidecar").metadata.namespace, "e2e");
});

test("objects without a namespace get the default namespace, as kubectl would", () => {
  const input = seed().map((o) => {
    const { namespace: _ns, ...metadata } = o.metadata;
    return o.kind === "Namespace" ? o : { ...o, metadata };
  });
  const r = render(input, { ...TEST_OPTIONS, defaultNamespace: "e2e" });
  assert.deepEqual(r.errors, []);
  assert.equal(byName(r.apply, "VirtualService", "meshlane-mocka").metadata.namespace, "e2e");
});

test("no Lanes, no lane workloads: nothing to render", () => {
  const r = render(
    seed().filter((o) => o.kind !== "Lane" && !o.metadata.name.endsWith("-canary")),
    TEST_OPTIONS,
  );
  assert.deepEqual([r.apply, r.restore, r.delete, r.errors, r.lanes], [[], [], [], [], []]);
});
