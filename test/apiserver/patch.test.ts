import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { FakeApiServer } from "./index.js";
import { codeOf, createNamespaces, rejection, statusOf } from "./testutil.js";

let server: FakeApiServer;
let core: CoreV1Api;
let custom: CustomObjectsApi;
let objs: KubernetesObjectApi;

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);
const strategic = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

type Obj = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  data?: Record<string, string>;
};

before(async () => {
  server = await FakeApiServer.start();
  const kc = server.kubeConfig("p");
  core = kc.makeApiClient(CoreV1Api);
  custom = kc.makeApiClient(CustomObjectsApi);
  objs = KubernetesObjectApi.makeApiClient(kc);
  await createNamespaces(kc, "p");
});
after(() => server.stop());

const vs = (name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name, namespace: "p" },
  spec,
});

const vsArgs = (name: string) => ({
  group: "networking.istio.io",
  version: "v1",
  namespace: "p",
  plural: "virtualservices",
  name,
});

test("merge patch (RFC 7386): null deletes, objects merge, lists replace", async () => {
  await core.createNamespacedConfigMap({
    namespace: "p",
    body: { metadata: { name: "m", labels: { a: "1", b: "2" } }, data: { x: "1", y: "2" } },
  });
  const out = await core.patchNamespacedConfigMap(
    { namespace: "p", name: "m", body: { metadata: { labels: { b: null, c: "3" } }, data: { y: "22" } } },
    merge,
  );
  assert.deepEqual(out.metadata?.labels, { a: "1", c: "3" });
  assert.deepEqual(out.data, { x: "1", y: "22" });

  const stale = await rejection(
    core.patchNamespacedConfigMap(
      { namespace: "p", name: "m", body: { metadata: { resourceVersion: "1" }, data: { z: "1" } } },
      merge,
    ),
  );
  assert.equal(codeOf(stale), 409, "a patch carrying a stale resourceVersion is refused");

  const s = await core.patchNamespacedConfigMap(
    { namespace: "p", name: "m", body: { data: { s: "1" } } },
    strategic,
  );
  assert.equal(s.data?.s, "1", "strategic merge patch is applied as a merge patch");
});

test("JSON patch (RFC 6902) with a failing test op is 422 and changes nothing", async () => {
  await custom.createNamespacedCustomObject({
    ...vsArgs("j"),
    body: vs("j", { hosts: ["a"], gateways: ["g"] }),
  });
  const out = (await custom.patchNamespacedCustomObject(
    {
      ...vsArgs("j"),
      body: [
        { op: "test", path: "/spec/hosts/0", value: "a" },
        { op: "add", path: "/spec/hosts/-", value: "b" },
        { op: "remove", path: "/spec/gateways" },
        { op: "add", path: "/metadata/annotations", value: { "x/y": "1" } },
      ],
    },
    jsonPatch,
  )) as Obj;
  assert.deepEqual(out.spec, { hosts: ["a", "b"] });
  assert.deepEqual(out.metadata?.annotations, { "x/y": "1" });

  const err = await rejection(
    custom.patchNamespacedCustomObject(
      {
        ...vsArgs("j"),
        body: [
          { op: "replace", path: "/spec/hosts", value: ["zzz"] },
          { op: "test", path: "/spec/hosts/0", value: "a" },
        ],
      },
      jsonPatch,
    ),
  );
  assert.equal(codeOf(err), 422);
  const now = (await custom.getNamespacedCustomObject(vsArgs("j"))) as Obj;
  assert.deepEqual(now.spec?.hosts, ["a", "b"]);
});

test("status subresource: main endpoint ignores status, /status ignores the rest; generation on spec only", async () => {
  const created = (await custom.createNamespacedCustomObject({
    ...vsArgs("st"),
    body: { ...vs("st", { hosts: ["a"] }), status: { observedGeneration: 99 } },
  })) as Obj;
  assert.equal(created.status, undefined, "status is dropped on create");
  assert.equal(created.metadata?.generation, 1);

  const withStatus = (await custom.patchNamespacedCustomObjectStatus(
    { ...vsArgs("st"), body: { status: { observedGeneration: 1 }, spec: { hosts: ["ignored"] } } },
    merge,
  )) as Obj;
  assert.deepEqual(withStatus.status, { observedGeneration: 1 });
  assert.deepEqual(withStatus.spec?.hosts, ["a"], "/status ignores spec");
  assert.equal(withStatus.metadata?.generation, 1, "a status change does not bump generation");

  const labelled = (await custom.patchNamespacedCustomObject(
    { ...vsArgs("st"), body: { metadata: { labels: { x: "1" } }, status: { observedGeneration: 7 } } },
    merge,
  )) as Obj;
  assert.equal(labelled.metadata?.generation, 1, "a metadata change does not bump generation");
  assert.deepEqual(labelled.status, { observedGeneration: 1 }, "the main endpoint ignores status");

  const specChanged = (await custom.patchNamespacedCustomObject(
    { ...vsArgs("st"), body: { spec: { hosts: ["b"] } } },
    merge,
  )) as Obj;
  assert.equal(specChanged.metadata?.generation, 2);

  const replaced = (await custom.replaceNamespacedCustomObjectStatus({
    ...vsArgs("st"),
    body: { ...specChanged, status: { observedGeneration: 2 } },
  })) as Obj;
  assert.deepEqual(replaced.status, { observedGeneration: 2 });
});

test("finalizers: delete marks deletionTimestamp, removing the last finalizer deletes", async () => {
  await custom.createNamespacedCustomObject({
    ...vsArgs("fin"),
    body: { ...vs("fin", { hosts: ["a"] }), metadata: { name: "fin", finalizers: ["meshlane.io/restore"] } },
  });
  await custom.deleteNamespacedCustomObject(vsArgs("fin"));
  const marked = (await custom.getNamespacedCustomObject(vsArgs("fin"))) as Obj;
  assert.ok(marked.metadata?.deletionTimestamp, "still there, marked for deletion");
  assert.equal(marked.metadata?.generation, 2);

  const add = await rejection(
    custom.patchNamespacedCustomObject(
      { ...vsArgs("fin"), body: { metadata: { finalizers: ["meshlane.io/restore", "other"] } } },
      merge,
    ),
  );
  assert.equal(codeOf(add), 422, "no new finalizers on an object being deleted");

  await custom.patchNamespacedCustomObject(
    { ...vsArgs("fin"), body: { metadata: { finalizers: null } } },
    merge,
  );
  const gone = await rejection(custom.getNamespacedCustomObject(vsArgs("fin")));
  assert.equal(codeOf(gone), 404);
});

test("server-side apply: create, managedFields, removal of dropped fields, conflicts and force", async () => {
  const applied = (await objs.patch(
    vs("ssa", { hosts: ["shop"], http: [{ route: [{ destination: { host: "shop", subset: "base" } }] }] }),
    undefined,
    undefined,
    "meshlane",
    true,
    PatchStrategy.ServerSideApply,
  )) as Obj;
  assert.equal(applied.metadata?.generation, 1);
  const mf = applied.metadata?.managedFields ?? [];
  assert.equal(mf.length, 1);
  assert.equal(mf[0].manager, "meshlane");
  assert.equal(mf[0].operation, "Apply");
  assert.deepEqual(Object.keys((mf[0].fieldsV1 as Record<string, object>)["f:spec"]).sort(), [
    "f:hosts",
    "f:http",
  ]);

  // Another writer adds a field the applier never set: kept on the next apply.
  await custom.patchNamespacedCustomObject(
    { ...vsArgs("ssa"), body: { spec: { gateways: ["mesh"] } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  // The applier drops `http`: removed, since only it owned it; `gateways` stays.
  const second = (await objs.patch(
    vs("ssa", { hosts: ["shop"] }),
    undefined,
    undefined,
    "meshlane",
    true,
    PatchStrategy.ServerSideApply,
  )) as Obj;
  assert.deepEqual(second.spec, { hosts: ["shop"], gateways: ["mesh"] });

  // A user changes a field the applier owns: the next apply without force conflicts.
  await custom.patchNamespacedCustomObject(
    { ...vsArgs("ssa"), body: { spec: { hosts: ["hijacked"] } } },
    setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
  );
  const conflict = await rejection(
    objs.patch(
      vs("ssa", { hosts: ["shop"] }),
      undefined,
      undefined,
      "meshlane",
      false,
      PatchStrategy.ServerSideApply,
    ),
  );
  assert.equal(codeOf(conflict), 409);
  const st = statusOf(conflict);
  assert.equal(st.reason, "Conflict");
  assert.equal(st.details?.causes?.[0].field, ".spec.hosts");

  const forced = (await objs.patch(
    vs("ssa", { hosts: ["shop"] }),
    undefined,
    undefined,
    "meshlane",
    true,
    PatchStrategy.ServerSideApply,
  )) as Obj;
  assert.deepEqual(forced.spec?.hosts, ["shop"], "force takes the field back");

  const before = server.mutations;
  await objs.patch(
    vs("ssa", { hosts: ["shop"] }),
    undefined,
    undefined,
    "meshlane",
    true,
    PatchStrategy.ServerSideApply,
  );
  assert.equal(server.mutations, before, "re-applying the same configuration changes nothing");

  const noManager = await rejection(
    objs.patch(
      vs("ssa", { hosts: ["x"] }),
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.ServerSideApply,
    ),
  );
  assert.equal(codeOf(noManager), 400, "apply requires fieldManager");
});

test("server-side apply of a body in YAML, and a dry run that stores nothing", async () => {
  const yaml = [
    "apiVersion: v1",
    "kind: ConfigMap",
    "metadata:",
    "  name: from-yaml",
    "  namespace: p",
    "data:",
    '  k: "v"',
  ].join("\n");
  const res = await fetch(`${server.url}/api/v1/namespaces/p/configmaps/from-yaml?fieldManager=t`, {
    method: "PATCH",
    headers: { "content-type": "application/apply-patch+yaml" },
    body: yaml,
  });
  assert.equal(res.status, 201);
  assert.deepEqual(((await res.json()) as Obj).data, { k: "v" });

  const dry = await fetch(`${server.url}/api/v1/namespaces/p/configmaps?dryRun=All`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ metadata: { name: "dry" }, data: {} }),
  });
  assert.equal(dry.status, 201);
  assert.equal(server.getObject("configmaps", "p", "dry"), undefined);
});

test("server-side apply to /status owns status fields separately from the main resource", async () => {
  const url = `${server.url}/apis/meshlane.io/v1alpha1/namespaces/p/lanes/st`;
  const lane = { apiVersion: "meshlane.io/v1alpha1", kind: "Lane", metadata: { name: "st" }, spec: {} };
  const apply = async (path: string, body: object) => {
    const res = await fetch(`${url}${path}?fieldManager=meshlane`, {
      method: "PATCH",
      headers: { "content-type": "application/apply-patch+yaml" },
      body: JSON.stringify(body),
    });
    return { code: res.status, obj: (await res.json()) as Obj };
  };
  assert.equal((await apply("", { ...lane, spec: { priority: 1 } })).code, 201);
  const first = await apply("/status", { ...lane, status: { observedGeneration: 1, conditions: [] } });
  assert.equal(first.code, 200);
  assert.deepEqual(first.obj.status, { observedGeneration: 1, conditions: [] });
  assert.equal(first.obj.spec?.priority, 1, "a status apply leaves spec alone");
  const entries = (first.obj.metadata?.managedFields ?? []).map(
    (m) => `${m.operation}:${m.subresource ?? ""}`,
  );
  assert.deepEqual(entries.sort(), ["Apply:", "Apply:status"]);
  const second = await apply("/status", { ...lane, status: { conditions: [] } });
  assert.deepEqual(
    second.obj.status,
    { conditions: [] },
    "a status field the manager no longer applies is removed",
  );
});
