// The test API server's HTTPRoutes (the Gateway API v1.2.1 CRD: structural schema, defaults, CEL rules)
// and core Services (defaulting, cluster IP, validation): it refuses what kube-apiserver refuses.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { FakeApiServer } from "./index.js";
import { codeOf, createNamespaces, rejection, statusOf } from "./testutil.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

let server: FakeApiServer;
let core: CoreV1Api;
let custom: CustomObjectsApi;

before(async () => {
  server = await FakeApiServer.start();
  const kc = server.kubeConfig("default");
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await createNamespaces(kc, "gw");
});
after(() => server.stop());

const route = (name: string, rules: Json[]) => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace: "gw" },
  spec: { parentRefs: [{ group: "", kind: "Service", name: "a" }], rules },
});
const create = (body: Json) =>
  custom.createNamespacedCustomObject({
    group: "gateway.networking.k8s.io",
    version: "v1",
    namespace: "gw",
    plural: "httproutes",
    body,
  });

test("an HTTPRoute is stored with the CRD's defaults filled in", async () => {
  const made = (await create(route("ok", [{ backendRefs: [{ name: "a", port: 80 }] }]))) as Json;
  assert.deepEqual(made.spec.rules, [
    {
      matches: [{ path: { type: "PathPrefix", value: "/" } }],
      backendRefs: [{ group: "", kind: "Service", name: "a", port: 80, weight: 1 }],
    },
  ]);
  assert.deepEqual(made.spec.parentRefs, [{ group: "", kind: "Service", name: "a" }]);
});

test("an HTTPRoute the CRD refuses is refused: a Service backend without port, 17 rules, a bad path", async () => {
  const noPort = await rejection(create(route("no-port", [{ backendRefs: [{ name: "a" }] }])));
  assert.equal(codeOf(noPort), 422);
  assert.match(statusOf(noPort).message ?? "", /Must have port for Service reference/);
  assert.equal(statusOf(noPort).details?.causes?.[0].field, "spec.rules[0].backendRefs[0]");

  const rule = { backendRefs: [{ name: "a", port: 80 }] };
  const many = await rejection(
    create(
      route(
        "many",
        Array.from({ length: 17 }, () => rule),
      ),
    ),
  );
  assert.equal(codeOf(many), 422);
  assert.match(statusOf(many).message ?? "", /spec\.rules/);

  const badPath = await rejection(
    create(route("bad-path", [{ ...rule, matches: [{ path: { type: "PathPrefix", value: "api" } }] }])),
  );
  assert.equal(codeOf(badPath), 422);
  assert.match(statusOf(badPath).message ?? "", /must be an absolute path/);
});

test("a Service gets the server's defaults and a cluster IP, kept when a later apply leaves it out", async () => {
  const made = await core.createNamespacedService({
    namespace: "gw",
    body: {
      metadata: { name: "web" },
      spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80 }] },
    },
  });
  const spec = JSON.parse(JSON.stringify(made.spec)) as Json;
  assert.equal(spec.type, "ClusterIP");
  assert.equal(spec.sessionAffinity, "None");
  assert.deepEqual(spec.ports, [{ name: "http", port: 80, protocol: "TCP", targetPort: 80 }]);
  assert.match(spec.clusterIP, /^10\.96\.\d+\.\d+$/);
  assert.deepEqual(spec.clusterIPs, [spec.clusterIP]);
  assert.deepEqual(spec.ipFamilies, ["IPv4"]);

  const applied = await core.patchNamespacedService(
    {
      name: "web",
      namespace: "gw",
      fieldManager: "meshlane",
      force: true,
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { selector: { app: "web", x: "y" }, ports: [{ name: "http", port: 80 }] },
      },
    },
    setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
  );
  assert.equal((applied.spec as Json).clusterIP, spec.clusterIP);
  assert.deepEqual((applied.spec as Json).selector, { app: "web", x: "y" });
});

test("a Service the real server refuses is refused, with its field paths", async () => {
  const err = await rejection(
    core.createNamespacedService({
      namespace: "gw",
      body: {
        metadata: { name: "bad" },
        spec: {
          ports: [
            { name: "http", port: 0 },
            { name: "http", port: 81, protocol: "HTTP" as Json },
            { port: 82 },
          ],
        },
      },
    }),
  );
  assert.equal(codeOf(err), 422);
  const fields = (statusOf(err).details?.causes ?? []).map((c) => c.field).sort();
  // targetPort defaults to the port, so port 0 makes both invalid (as on a real server).
  assert.deepEqual(fields, [
    "spec.ports[0].port",
    "spec.ports[0].targetPort",
    "spec.ports[1].name",
    "spec.ports[1].protocol",
    "spec.ports[2].name",
  ]);
  const noPorts = await rejection(
    core.createNamespacedService({ namespace: "gw", body: { metadata: { name: "empty" }, spec: {} } }),
  );
  assert.equal(statusOf(noPorts).details?.causes?.[0].field, "spec.ports");
});
