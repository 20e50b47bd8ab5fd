import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api, CustomObjectsApi, type KubernetesObject } from "@kubernetes/client-node";
import { FakeApiServer, type Schema } from "./index.js";
import { validate, pruneAndDefault } from "./schema.js";
import { codeOf, createNamespaces, rejection, statusOf } from "./testutil.js";

// A Lane schema of the shape docs/contracts.md describes (the project's CRD replaces it once it exists).
const laneSchema: Schema = {
  type: "object",
  properties: {
    apiVersion: { type: "string" },
    kind: { type: "string" },
    metadata: { type: "object" },
    spec: {
      type: "object",
      properties: {
        fallback: { type: "string", default: "base", pattern: "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$" },
        priority: { type: "integer", minimum: 0 },
        dye: {
          type: "array",
          maxItems: 3,
          items: {
            type: "object",
            properties: {
              percent: { type: "number", minimum: 0, maximum: 100 },
              when: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
            },
          },
        },
        mode: { type: "string", enum: ["EnvoyFilter", "WasmPlugin"] },
      },
      required: ["dye"],
    },
    status: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  },
};

let server: FakeApiServer;
let custom: CustomObjectsApi;
const lanes = { group: "meshlane.io", version: "v1alpha1", namespace: "v", plural: "lanes" };
const lane = (name: string, spec: unknown) => ({
  apiVersion: "meshlane.io/v1alpha1",
  kind: "Lane",
  metadata: { name },
  spec,
});

before(async () => {
  server = await FakeApiServer.start({ laneSchema, laneCrdFile: "/nonexistent" });
  custom = server.kubeConfig().makeApiClient(CustomObjectsApi);
  await createNamespaces(server.kubeConfig(), "v");
});
after(() => server.stop());

test("a Lane failing the CRD schema is 422 Invalid with one cause per field", async () => {
  const err = await rejection(
    custom.createNamespacedCustomObject({
      ...lanes,
      body: lane("bad", { priority: "high", fallback: "Not_A_Lane", mode: "Lua", dye: [{ percent: 140 }] }),
    }),
  );
  assert.equal(codeOf(err), 422);
  const st = statusOf(err);
  assert.equal(st.reason, "Invalid");
  const fields = (st.details?.causes ?? []).map((c) => `${c.field}:${c.reason}`).sort();
  assert.deepEqual(fields, [
    "spec.dye[0].percent:FieldValueInvalid",
    "spec.fallback:FieldValueInvalid",
    "spec.mode:FieldValueNotSupported",
    "spec.priority:FieldValueTypeInvalid",
  ]);
  const missing = await rejection(custom.createNamespacedCustomObject({ ...lanes, body: lane("bad2", {}) }));
  assert.deepEqual(
    statusOf(missing).details?.causes?.map((c) => [c.field, c.reason]),
    [["spec.dye", "FieldValueRequired"]],
  );
});

test("a valid Lane is pruned of unknown fields and defaulted, as the real server does", async () => {
  const created = (await custom.createNamespacedCustomObject({
    ...lanes,
    body: lane("canary", { dye: [{ when: { headers: { agent: { exact: "pc" } } }, bogus: 1 }], extra: true }),
  })) as KubernetesObject & { spec: Record<string, unknown> };
  assert.deepEqual(created.spec, {
    dye: [{ when: { headers: { agent: { exact: "pc" } } } }],
    fallback: "base",
  });
});

test("Istio objects are validated with @kubernetes-models/istio schemas", async () => {
  const vsErr = await rejection(
    custom.createNamespacedCustomObject({
      group: "networking.istio.io",
      version: "v1",
      namespace: "v",
      plural: "virtualservices",
      body: {
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: "shop" },
        spec: { hosts: "shop" },
      },
    }),
  );
  assert.equal(codeOf(vsErr), 422);
  assert.equal(statusOf(vsErr).details?.causes?.[0].field, "spec.hosts");

  const wpErr = await rejection(
    custom.createNamespacedCustomObject({
      group: "extensions.istio.io",
      version: "v1alpha1",
      namespace: "v",
      plural: "wasmplugins",
      body: {
        apiVersion: "extensions.istio.io/v1alpha1",
        kind: "WasmPlugin",
        metadata: { name: "dye" },
        spec: { url: "oci://x", phase: "NOT_A_PHASE" },
      },
    }),
  );
  assert.equal(codeOf(wpErr), 422);
  assert.equal(statusOf(wpErr).details?.causes?.[0].field, "spec.phase");
});

test("object names must be DNS-1123", async () => {
  const core = server.kubeConfig().makeApiClient(CoreV1Api);
  const err = await rejection(
    core.createNamespacedConfigMap({ namespace: "v", body: { metadata: { name: "Bad_Name" } } }),
  );
  assert.equal(codeOf(err), 422);
  assert.equal(statusOf(err).details?.causes?.[0].field, "metadata.name");
});

test("the Lane schema is read from a CRD file when one exists", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "crd-"));
  const file = path.join(dir, "lanes.yaml");
  writeFileSync(
    file,
    [
      "apiVersion: apiextensions.k8s.io/v1",
      "kind: CustomResourceDefinition",
      "metadata: {name: lanes.meshlane.io}",
      "spec:",
      "  group: meshlane.io",
      "  versions:",
      "  - name: v1alpha1",
      "    served: true",
      "    storage: true",
      "    schema:",
      "      openAPIV3Schema:",
      "        type: object",
      "        properties:",
      "          spec: {type: object, properties: {priority: {type: integer}}}",
    ].join("\n"),
  );
  const s2 = await FakeApiServer.start({ laneCrdFile: file });
  try {
    const c2 = s2.kubeConfig().makeApiClient(CustomObjectsApi);
    await createNamespaces(s2.kubeConfig(), "v");
    const err = await rejection(
      c2.createNamespacedCustomObject({ ...lanes, body: lane("x", { priority: "1" }) }),
    );
    assert.equal(codeOf(err), 422);
    await c2.createNamespacedCustomObject({ ...lanes, body: lane("y", { priority: 1 }) });
  } finally {
    await s2.stop();
  }
});

test("structural validator: oneOf, int-or-string, nullable, additionalProperties", () => {
  const s: Schema = {
    type: "object",
    properties: {
      port: { "x-kubernetes-int-or-string": true },
      match: {
        type: "object",
        oneOf: [{ required: ["exact"] }, { required: ["prefix"] }],
        properties: { exact: { type: "string" }, prefix: { type: "string" } },
      },
      labels: { type: "object", additionalProperties: { type: "string" } },
      opt: { type: "string", nullable: true },
    },
  };
  assert.deepEqual(validate(s, { port: "http", match: { exact: "a" }, labels: { a: "b" }, opt: null }), []);
  assert.deepEqual(
    validate(s, { port: 1.5, match: { exact: "a", prefix: "b" }, labels: { a: 1 } })
      .map((c) => c.field)
      .sort(),
    ["labels.a", "match", "port"],
  );
  assert.deepEqual(pruneAndDefault(s, { labels: { keep: "x" }, gone: 1 }), { labels: { keep: "x" } });
});

test("the project's Lane CRD is loaded by default: a typical Lane is defaulted, a bad one refused", async () => {
  const s3 = await FakeApiServer.start();
  try {
    const c3 = s3.kubeConfig().makeApiClient(CustomObjectsApi);
    await createNamespaces(s3.kubeConfig(), "v");
    const ok = (await c3.createNamespacedCustomObject({
      ...lanes,
      body: lane("canary", { dye: [{ when: { headers: { agent: { exact: "pc" } } } }] }),
    })) as KubernetesObject & { spec: { fallback?: string } };
    assert.equal(ok.spec.fallback, "base");
    const err = await rejection(
      c3.createNamespacedCustomObject({ ...lanes, body: lane("bad", { priority: "high" }) }),
    );
    assert.equal(codeOf(err), 422);
    assert.equal(statusOf(err).details?.causes?.[0].field, "spec.priority");
  } finally {
    await s3.stop();
  }
});

test("the project's Lane CRD takes spec.rollout: defaults applied, a bad step refused with its path", async () => {
  const s4 = await FakeApiServer.start();
  try {
    const c4 = s4.kubeConfig().makeApiClient(CustomObjectsApi);
    await createNamespaces(s4.kubeConfig(), "v");
    const rollout = {
      stickyBy: { cookie: "session" },
      steps: [{ percent: 10, pause: "5m" }, { percent: 50 }],
      analysis: { metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }] },
    };
    const ok = (await c4.createNamespacedCustomObject({
      ...lanes,
      body: lane("canary", { rollout }),
    })) as KubernetesObject & { spec: { rollout: Record<string, unknown> } };
    assert.deepEqual(ok.spec.rollout, {
      ...rollout,
      promotion: "manual",
      analysis: {
        ...rollout.analysis,
        interval: "1m",
        failureLimit: 3,
        minRequests: 10,
        progressDeadline: "10m",
      },
    });
    const bad = async (r: unknown) => {
      const err = await rejection(
        c4.createNamespacedCustomObject({ ...lanes, body: lane("bad", { rollout: r }) }),
      );
      assert.equal(codeOf(err), 422);
      return statusOf(err).details?.causes?.[0].field;
    };
    assert.equal(await bad({ steps: [{ percent: 10 }, { percent: 140 }] }), "spec.rollout.steps[1].percent");
    assert.equal(await bad({ steps: [{ percent: 10, pause: "5 minutes" }] }), "spec.rollout.steps[0].pause");
    assert.equal(await bad({ steps: [{ percent: 10 }], promotion: "auto" }), "spec.rollout.promotion");
    assert.equal(await bad({ steps: [] }), "spec.rollout.steps");
  } finally {
    await s4.stop();
  }
});
