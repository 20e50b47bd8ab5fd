// Where the sidecar filter is installed: one object per namespace whose sidecars need it (namespaces of
// valid Lanes, namespaces the controller manages, input Namespaces labelled meshlane.io/enabled), all
// sidecars of that namespace, never the root namespace, whose EnvoyFilters and WasmPlugins reach every
// proxy of the mesh (each loading a Wasm VM), namespaces that never opted in included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, type KubeObject, type RenderResult } from "../../controller/src/render/index.js";
import { caseInput, TEST_OPTIONS } from "./golden.js";

const FILTER_KINDS = new Set(["EnvoyFilter", "WasmPlugin"]);
const sidecars = (r: RenderResult) =>
  r.apply
    .filter((o) => FILTER_KINDS.has(o.kind) && o.metadata.name === "meshlane-sidecar")
    .map((o) => o.metadata.namespace);

/** A namespace with a plain Service and Deployment, no lanes. */
function bystander(ns: string, enabled = false): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns, labels: enabled ? { "meshlane.io/enabled": "true" } : {} },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: ns },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: { template: { metadata: { labels: { app: "web" } }, spec: { containers: [] } } },
    },
  ];
}

test("the sidecar filter goes to each namespace with a Lane, not to the root namespace", () => {
  const r = render([...caseInput("two-lanes"), ...bystander("other")], TEST_OPTIONS);
  assert.deepEqual(sidecars(r), ["two", "two-b"]);
  assert.ok(!r.apply.some((o) => FILTER_KINDS.has(o.kind) && o.metadata.namespace === "other"));
  for (const ef of r.apply.filter((o) => o.metadata.name === "meshlane-sidecar")) {
    // All sidecars of the namespace (no selector), and only sidecars: gateways are left to the edge filter.
    assert.equal(ef.spec.workloadSelector, undefined);
    const contexts = ef.spec.configPatches.map((p: { match?: { context: string } }) => p.match?.context);
    assert.deepEqual(contexts, [undefined, "SIDECAR_INBOUND", "SIDECAR_OUTBOUND"]);
  }
  assert.ok(
    !r.apply.some((o) => o.metadata.namespace === "istio-system" && o.metadata.name === "meshlane-sidecar"),
  );
});

test("enabled namespaces without Lanes get it too: their workloads carry lanes on to the Services they call", () => {
  const input = [...caseInput("two-lanes"), ...bystander("front", true), ...bystander("quiet")];
  assert.deepEqual(sidecars(render(input, TEST_OPTIONS)), ["front", "two", "two-b"]);
  // The controller names the namespaces it manages.
  const r = render(input, { ...TEST_OPTIONS, sidecarNamespaces: ["quiet"] });
  assert.deepEqual(sidecars(r), ["front", "quiet", "two", "two-b"]);
});

test("the root namespace never gets the sidecar filter, even when enabled: a warning says why", () => {
  const r = render([...caseInput("two-lanes"), ...bystander("istio-system", true)], {
    ...TEST_OPTIONS,
    sidecarNamespaces: ["istio-system"],
  });
  assert.deepEqual(sidecars(r), ["two", "two-b"]);
  assert.ok(
    r.warnings.some(
      (w) => w.object === "Namespace istio-system" && /every proxy of the mesh/.test(w.message),
    ),
  );
});

test("WasmPlugins: one per namespace, no selector, none in the root namespace", () => {
  const r = render(caseInput("two-lanes"), { ...TEST_OPTIONS, install: "wasmplugin" });
  assert.deepEqual(sidecars(r), ["two", "two-b"]);
  for (const wp of r.apply.filter((o) => o.kind === "WasmPlugin" && o.metadata.name === "meshlane-sidecar")) {
    assert.equal(wp.spec.selector, undefined);
  }
});

test("a namespace that no longer needs it has its filter deleted; so has one left in the root namespace", () => {
  const first = render([...caseInput("two-lanes"), ...bystander("front", true)], TEST_OPTIONS);
  const installed = first.apply.filter((o) => FILTER_KINDS.has(o.kind));
  const legacy: KubeObject = {
    ...installed.find((o) => o.metadata.name === "meshlane-sidecar")!,
    metadata: {
      name: "meshlane-sidecar",
      namespace: "istio-system",
      labels: { "app.kubernetes.io/managed-by": "meshlane" },
    },
  };
  // "front" is no longer enabled, and Lane two-b/canary is gone.
  const input = [
    ...caseInput("two-lanes").filter((o) => !(o.kind === "Lane" && o.metadata.namespace === "two-b")),
    ...bystander("front"),
    ...installed,
    legacy,
  ];
  const r = render(input, TEST_OPTIONS);
  assert.deepEqual(sidecars(r), ["two"]);
  assert.deepEqual(
    r.delete.filter((d) => d.name === "meshlane-sidecar").map((d) => d.namespace),
    ["front", "istio-system", "two-b"],
  );
  // No valid Lane left anywhere: every filter object goes.
  const none = render(
    input.filter((o) => o.kind !== "Lane"),
    TEST_OPTIONS,
  );
  assert.deepEqual(
    none.delete.filter((d) => FILTER_KINDS.has(d.kind)).map((d) => `${d.namespace}/${d.name}`),
    [
      "front/meshlane-sidecar",
      "istio-system/meshlane-edge",
      "istio-system/meshlane-sidecar",
      "two/meshlane-sidecar",
      "two-b/meshlane-sidecar",
    ],
  );
});
