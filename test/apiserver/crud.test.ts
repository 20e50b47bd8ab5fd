import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  V1MicroTime,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { FakeApiServer } from "./index.js";
import { codeOf, createNamespaces, rejection, statusOf } from "./testutil.js";

let server: FakeApiServer;
let core: CoreV1Api;
let custom: CustomObjectsApi;

before(async () => {
  server = await FakeApiServer.start();
  const kc = server.kubeConfig();
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  await createNamespaces(kc, "crud");
});
after(() => server.stop());

test("create, get, list, replace and delete a Service with client-node", async () => {
  const created = await core.createNamespacedService({
    namespace: "crud",
    body: { metadata: { name: "shop", labels: { app: "shop" } }, spec: { ports: [{ port: 80 }] } },
  });
  assert.equal(created.metadata?.namespace, "crud");
  assert.match(created.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
  assert.equal(created.metadata?.generation, 1);
  assert.ok(created.metadata?.creationTimestamp instanceof Date);
  const rv1 = Number(created.metadata?.resourceVersion);

  const got = await core.readNamespacedService({ namespace: "crud", name: "shop" });
  assert.equal(got.spec?.ports?.[0].port, 80);

  got.spec!.ports![0].port = 8080;
  const replaced = await core.replaceNamespacedService({ namespace: "crud", name: "shop", body: got });
  assert.equal(replaced.spec?.ports?.[0].port, 8080);
  assert.ok(Number(replaced.metadata?.resourceVersion) > rv1, "resourceVersion grows on every write");
  assert.equal(replaced.metadata?.generation, 2, "a spec change bumps generation");

  const list = await core.listNamespacedService({ namespace: "crud" });
  assert.equal(list.items.length, 1);
  assert.equal(list.metadata?.resourceVersion, server.resourceVersion);

  await core.deleteNamespacedService({ namespace: "crud", name: "shop" });
  const err = await rejection(core.readNamespacedService({ namespace: "crud", name: "shop" }));
  assert.equal(codeOf(err), 404);
  assert.equal(statusOf(err).reason, "NotFound");
});

test("a stale resourceVersion on update is 409 Conflict; a duplicate create is 409 AlreadyExists", async () => {
  const cm = await core.createNamespacedConfigMap({
    namespace: "crud",
    body: { metadata: { name: "cfg" }, data: { a: "1" } },
  });
  const stale = structuredClone(cm);
  cm.data = { a: "2" };
  await core.replaceNamespacedConfigMap({ namespace: "crud", name: "cfg", body: cm });
  stale.data = { a: "3" };
  const err = await rejection(
    core.replaceNamespacedConfigMap({ namespace: "crud", name: "cfg", body: stale }),
  );
  assert.equal(codeOf(err), 409);
  assert.equal(statusOf(err).reason, "Conflict");
  const now = await core.readNamespacedConfigMap({ namespace: "crud", name: "cfg" });
  assert.deepEqual(now.data, { a: "2" }, "the conflicting write changed nothing");

  const dup = await rejection(
    core.createNamespacedConfigMap({ namespace: "crud", body: { metadata: { name: "cfg" }, data: {} } }),
  );
  assert.equal(codeOf(dup), 409);
  assert.equal(statusOf(dup).reason, "AlreadyExists");
});

test("a no-op update keeps the resourceVersion and counts as a request but not a mutation", async () => {
  const cm = await core.createNamespacedConfigMap({
    namespace: "crud",
    body: { metadata: { name: "same" }, data: { a: "1" } },
  });
  const mutations = server.mutations;
  const again = await core.replaceNamespacedConfigMap({ namespace: "crud", name: "same", body: cm });
  assert.equal(again.metadata?.resourceVersion, cm.metadata?.resourceVersion);
  assert.equal(server.mutations, mutations);
  assert.equal(server.writes({ resource: "configmaps", name: "same", verb: "update" }), 1);
});

test("cluster-scoped namespaces, generateName, label and field selectors, limit/continue", async () => {
  await core.createNamespace({ body: { metadata: { name: "sel", labels: { team: "a" } } } });
  for (const [name, lane] of [
    ["p1", "base"],
    ["p2", "canary"],
    ["p3", "canary"],
  ]) {
    await core.createNamespacedPod({
      namespace: "sel",
      body: {
        metadata: { name, labels: { "meshlane.io/lane": lane, app: "shop" } },
        spec: { containers: [] },
      },
    });
  }
  const gen = await core.createNamespacedPod({
    namespace: "sel",
    body: { metadata: { generateName: "web-", labels: { app: "web" } }, spec: { containers: [] } },
  });
  assert.match(gen.metadata?.name ?? "", /^web-[0-9a-f]{5}$/);

  const names = async (q: { labelSelector?: string; fieldSelector?: string }) =>
    (await core.listNamespacedPod({ namespace: "sel", ...q })).items.map((p) => p.metadata?.name).sort();
  assert.deepEqual(await names({ labelSelector: "meshlane.io/lane=canary" }), ["p2", "p3"]);
  assert.deepEqual(await names({ labelSelector: "meshlane.io/lane in (base,canary),app!=web" }), [
    "p1",
    "p2",
    "p3",
  ]);
  assert.deepEqual(await names({ labelSelector: "!meshlane.io/lane" }), [gen.metadata?.name]);
  assert.deepEqual(await names({ fieldSelector: "metadata.name=p3" }), ["p3"]);
  const all = await core.listPodForAllNamespaces({ fieldSelector: "metadata.namespace=sel" });
  assert.equal(all.items.length, 4);

  const page1 = await core.listNamespacedPod({ namespace: "sel", limit: 3 });
  assert.equal(page1.items.length, 3);
  assert.ok(page1.metadata?._continue);
  const page2 = await core.listNamespacedPod({
    namespace: "sel",
    limit: 3,
    _continue: page1.metadata?._continue,
  });
  assert.equal(page2.items.length, 1);

  const nsList = await core.listNamespace({ labelSelector: "team=a" });
  assert.deepEqual(
    nsList.items.map((n) => n.metadata?.name),
    ["sel"],
  );
});

test("Lease CRUD through CoordinationV1Api; MicroTime must have six fractional digits", async () => {
  const coord = server.kubeConfig().makeApiClient(CoordinationV1Api);
  const lease = await coord.createNamespacedLease({
    namespace: "crud",
    body: {
      metadata: { name: "leader" },
      spec: { holderIdentity: "a", leaseDurationSeconds: 15, renewTime: new V1MicroTime() },
    },
  });
  assert.equal(lease.spec?.holderIdentity, "a");
  const raw = server.getObject("leases", "crud", "leader") as { spec: { renewTime: string } };
  assert.match(raw.spec.renewTime, /\.\d{6}Z$/);

  const bad = await rejection(
    coord.createNamespacedLease({
      namespace: "crud",
      body: { metadata: { name: "bad" }, spec: { holderIdentity: "a", renewTime: new Date() } },
    }),
  );
  assert.equal(codeOf(bad), 400, "a plain Date serializes with milliseconds, which a real server refuses");
});

test("custom resources: Lane create/get/list with CustomObjectsApi, served in any Istio version", async () => {
  const lane = (await custom.createNamespacedCustomObject({
    group: "meshlane.io",
    version: "v1alpha1",
    namespace: "crud",
    plural: "lanes",
    body: { apiVersion: "meshlane.io/v1alpha1", kind: "Lane", metadata: { name: "canary" }, spec: {} },
  })) as KubernetesObject;
  assert.equal(lane.kind, "Lane");

  await custom.createNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1",
    namespace: "crud",
    plural: "virtualservices",
    body: {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "shop" },
      spec: { hosts: ["shop"] },
    },
  });
  const asBeta = (await custom.getNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1beta1",
    namespace: "crud",
    plural: "virtualservices",
    name: "shop",
  })) as KubernetesObject;
  assert.equal(asBeta.apiVersion, "networking.istio.io/v1beta1");
  const list = (await custom.listNamespacedCustomObject({
    group: "networking.istio.io",
    version: "v1alpha3",
    namespace: "crud",
    plural: "virtualservices",
  })) as { items: KubernetesObject[] };
  assert.equal(list.items[0].apiVersion, "networking.istio.io/v1alpha3");
});

test("KubernetesObjectApi resolves kinds through discovery", async () => {
  const objs = KubernetesObjectApi.makeApiClient(server.kubeConfig());
  const created = await objs.create({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "crud" },
    spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } } } },
  } as KubernetesObject);
  assert.equal(created.metadata?.name, "web");
  const read = await objs.read({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "crud" },
  });
  assert.equal(read.metadata?.uid, created.metadata?.uid);
  const wasm = await objs.list("extensions.istio.io/v1alpha1", "WasmPlugin", "crud");
  assert.deepEqual(wasm.items, []);
});

test("events are accepted and stored", async () => {
  await core.createNamespacedEvent({
    namespace: "crud",
    body: {
      metadata: { name: "lane.canary.1" },
      involvedObject: { kind: "Lane", name: "canary", namespace: "crud" },
      reason: "Applied",
      message: "3 services routed",
      type: "Normal",
    },
  });
  const evs = await core.listNamespacedEvent({
    namespace: "crud",
    fieldSelector: "involvedObject.name=canary",
  });
  assert.equal(evs.items.length, 1);
  assert.equal(evs.items[0].reason, "Applied");
});
