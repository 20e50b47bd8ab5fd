// The fake API server refuses what kube-apiserver 1.28 refuses, in the same words. Every expected
// answer below was recorded from a real kube-apiserver v1.28.7 (with Istio's CRDs and the project's
// Lane CRD installed): status code, reason, message and details, byte for byte where the field is ours
// to compare (uids and times aside).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { FakeApiServer } from "./index.js";
import { serviceAccountUser } from "./rbac.js";

let server: FakeApiServer;

before(async () => {
  server = await FakeApiServer.start();
});
after(() => server.stop());

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = "application/json",
  token = "t",
): Promise<{ code: number; body: Json }> {
  const res = await fetch(server.url + path, {
    method,
    headers: { "content-type": contentType, authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { code: res.status, body: await res.json() };
}

const failure = (code: number, reason: string, message: string, details?: Json) => ({
  kind: "Status",
  apiVersion: "v1",
  metadata: {},
  status: "Failure",
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

const VS = "/apis/networking.istio.io/v1/namespaces";
const vs = (name: string, extra: Json = {}) => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name, ...extra },
  spec: { hosts: ["a"] },
});
const cm = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
const ns = (name: string) => call("POST", "/api/v1/namespaces", { metadata: { name } });

test("a namespaced create in a namespace that does not exist is 404 NotFound for the namespace", async () => {
  const want = failure(404, "NotFound", 'namespaces "nope" not found', { name: "nope", kind: "namespaces" });
  assert.deepEqual(await call("POST", "/api/v1/namespaces/nope/configmaps", cm("x")), {
    code: 404,
    body: want,
  });
  const lease = { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: "x" } };
  assert.deepEqual(await call("POST", "/apis/coordination.k8s.io/v1/namespaces/nope/leases", lease), {
    code: 404,
    body: want,
  });
  // Server-side apply that would create the object: the same answer.
  const applied = await call(
    "PATCH",
    `${VS}/nope/virtualservices/x?fieldManager=m`,
    vs("x"),
    "application/apply-patch+yaml",
  );
  assert.deepEqual(applied, { code: 404, body: want });
  // Reading is 404 for the object; listing an absent namespace is an empty list.
  const got = await call("GET", "/apis/coordination.k8s.io/v1/namespaces/nope/leases/x");
  assert.deepEqual(got.body.details, { name: "x", group: "coordination.k8s.io", kind: "leases" });
  assert.equal(got.body.message, 'leases.coordination.k8s.io "x" not found');
  const list = await call("GET", "/apis/coordination.k8s.io/v1/namespaces/nope/leases");
  assert.equal(list.code, 200);
  assert.deepEqual(list.body.items, []);
});

test("a new Namespace gets its name label, the kubernetes finalizer and phase Active", async () => {
  const { code, body } = await ns("fresh");
  assert.equal(code, 201);
  assert.equal(body.metadata.labels["kubernetes.io/metadata.name"], "fresh");
  assert.deepEqual(body.spec, { finalizers: ["kubernetes"] });
  assert.deepEqual(body.status, { phase: "Active" });
});

test("a terminating namespace refuses new content (403) and goes once what it held is finalized", async () => {
  await ns("term");
  await call("POST", `${VS}/term/virtualservices`, vs("held", { finalizers: ["example.com/hold"] }));
  await call("POST", "/api/v1/namespaces/term/configmaps", cm("plain"));
  const del = await call("DELETE", "/api/v1/namespaces/term");
  assert.equal(del.code, 200);
  assert.equal(del.body.status.phase, "Terminating");
  assert.ok(del.body.metadata.deletionTimestamp);

  assert.deepEqual(await call("POST", "/api/v1/namespaces/term/configmaps", cm("x")), {
    code: 403,
    body: failure(
      403,
      "Forbidden",
      'configmaps "x" is forbidden: unable to create new content in namespace term because it is being terminated',
      {
        name: "x",
        kind: "configmaps",
        causes: [
          {
            reason: "NamespaceTerminating",
            message: "namespace term is being terminated",
            field: "metadata.namespace",
          },
        ],
      },
    ),
  });
  const applied = await call(
    "PATCH",
    `${VS}/term/virtualservices/y?fieldManager=m`,
    vs("y"),
    "application/apply-patch+yaml",
  );
  assert.equal(applied.code, 403);
  assert.equal(
    applied.body.message,
    'virtualservices.networking.istio.io "y" is forbidden: unable to create new content in namespace term because it is being terminated',
  );
  assert.deepEqual(
    { name: applied.body.details.name, group: applied.body.details.group, kind: applied.body.details.kind },
    { name: "y", group: "networking.istio.io", kind: "virtualservices" },
  );

  // The namespace controller's part: content deleted (the finalizer holds one object), then the namespace.
  const { eventually } = await import("./testutil.js");
  await eventually(() => server.getObject("configmaps", "term", "plain") === undefined, "content deleted");
  const held = server.getObject("virtualservices", "term", "held") as Json;
  assert.ok(held.metadata.deletionTimestamp, "the finalized object is being deleted");
  assert.ok(server.getObject("namespaces", "", "term"), "the namespace waits for it");
  await call(
    "PATCH",
    `${VS}/term/virtualservices/held`,
    { metadata: { finalizers: null } },
    "application/merge-patch+json",
  );
  await eventually(() => server.getObject("namespaces", "", "term") === undefined, "namespace removed");
});

test("finalizers and deletionTimestamp: set by delete only, no new finalizers while deleting", async () => {
  await ns("fin");
  await call("POST", `${VS}/fin/virtualservices`, vs("f", { finalizers: ["a/b"] }));
  const del = await call("DELETE", `${VS}/fin/virtualservices/f`);
  assert.equal(del.code, 200);
  assert.ok(del.body.metadata.deletionTimestamp);
  assert.equal(del.body.metadata.deletionGracePeriodSeconds, 0);
  assert.equal(del.body.metadata.generation, 2);
  assert.equal((await call("GET", `${VS}/fin/virtualservices/f`)).code, 200, "stays while finalized");

  const added = await call(
    "PATCH",
    `${VS}/fin/virtualservices/f`,
    { metadata: { finalizers: ["a/b", "c/d"] } },
    "application/merge-patch+json",
  );
  const message =
    'Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"c/d"}';
  assert.equal(added.code, 422);
  assert.equal(added.body.reason, "Invalid");
  assert.equal(
    added.body.message,
    `VirtualService.networking.istio.io "f" is invalid: metadata.finalizers: ${message}`,
  );
  assert.deepEqual(added.body.details.causes[0], {
    reason: "FieldValueForbidden",
    message,
    field: "metadata.finalizers",
  });
  assert.equal(added.body.details.kind, "VirtualService");

  // A client's deletionTimestamp: dropped on create, refused on update.
  const g = await call(
    "POST",
    `${VS}/fin/virtualservices`,
    vs("g", { deletionTimestamp: "2020-01-01T00:00:00Z" }),
  );
  assert.equal(g.code, 201);
  assert.equal(g.body.metadata.deletionTimestamp, undefined);
  const set = await call(
    "PATCH",
    `${VS}/fin/virtualservices/g`,
    { metadata: { deletionTimestamp: "2020-01-01T00:00:00Z" } },
    "application/merge-patch+json",
  );
  assert.equal(set.code, 422);
  assert.equal(
    set.body.message,
    'VirtualService.networking.istio.io "g" is invalid: metadata.deletionTimestamp: Invalid value: 2020-01-01 00:00:00 +0000 UTC: field is immutable',
  );
  assert.equal(set.body.details.causes[0].field, "metadata.deletionTimestamp");

  // An object deleted at once is answered with a Status (no group for core kinds).
  const gone = await call("DELETE", `${VS}/fin/virtualservices/g`);
  assert.deepEqual(gone.body, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { name: "g", group: "networking.istio.io", kind: "virtualservices", uid: g.body.metadata.uid },
  });
  const c = await call("POST", "/api/v1/namespaces/fin/configmaps", cm("x"));
  const cgone = await call("DELETE", "/api/v1/namespaces/fin/configmaps/x");
  assert.deepEqual(cgone.body.details, { name: "x", kind: "configmaps", uid: c.body.metadata.uid });

  // Removing the last finalizer deletes it.
  const released = await call(
    "PATCH",
    `${VS}/fin/virtualservices/f`,
    { metadata: { finalizers: null } },
    "application/merge-patch+json",
  );
  assert.equal(released.code, 200);
  assert.equal((await call("GET", `${VS}/fin/virtualservices/f`)).code, 404);
});

test("status subresource: each endpoint ignores the other's fields; /status is pruned and validated", async () => {
  await ns("st");
  const L = "/apis/meshlane.io/v1alpha1/namespaces/st/lanes";
  const created = await call("POST", L, {
    apiVersion: "meshlane.io/v1alpha1",
    kind: "Lane",
    metadata: { name: "c" },
    spec: { fallback: "base" },
    status: { serviceCount: 3 },
  });
  assert.equal(created.code, 201);
  assert.equal(created.body.status, undefined, "status dropped on create");
  const st = await call(
    "PATCH",
    `${L}/c/status`,
    { spec: { fallback: "zzz" }, status: { serviceCount: 2, lastApplied: { x: 1 } } },
    "application/merge-patch+json",
  );
  assert.equal(st.code, 200);
  assert.equal(st.body.spec.fallback, "base", "/status ignores spec");
  assert.deepEqual(st.body.status, { serviceCount: 2 }, "a status field the CRD does not declare is pruned");
  assert.equal(st.body.metadata.generation, 1);
  const main = await call(
    "PATCH",
    `${L}/c`,
    { status: { serviceCount: 9 }, metadata: { labels: { a: "b" } } },
    "application/merge-patch+json",
  );
  assert.equal(main.body.status.serviceCount, 2, "the main endpoint ignores status");
  assert.equal(main.body.metadata.labels.a, "b");

  const bad = await call(
    "PATCH",
    `${L}/c/status`,
    { status: { conditions: [{ type: "Ready", status: "Maybe" }] } },
    "application/merge-patch+json",
  );
  assert.equal(bad.code, 422);
  assert.equal(bad.body.reason, "Invalid");
  assert.match(bad.body.message, /^Lane\.meshlane\.io "c" is invalid: \[/);
  assert.ok(
    bad.body.message.includes(
      'conditions[0].status: Unsupported value: "Maybe": supported values: "True", "False", "Unknown"',
    ),
  );
  const causes = bad.body.details.causes.map((x: Json) => `${x.field} ${x.reason}`);
  for (const want of [
    "conditions[0].status FieldValueNotSupported",
    "conditions[0].lastTransitionTime FieldValueRequired",
    "conditions[0].reason FieldValueRequired",
    "conditions[0].message FieldValueRequired",
  ])
    assert.ok(causes.includes(want), `cause ${want} in ${causes.join("; ")}`);
  assert.deepEqual(
    { name: bad.body.details.name, group: bad.body.details.group, kind: bad.body.details.kind },
    { name: "c", group: "meshlane.io", kind: "Lane" },
  );
});

test("409: AlreadyExists and a stale resourceVersion, with the real server's details", async () => {
  await ns("c409");
  const L = "/apis/meshlane.io/v1alpha1/namespaces/c409/lanes";
  const lane = { apiVersion: "meshlane.io/v1alpha1", kind: "Lane", metadata: { name: "c" }, spec: {} };
  await call("POST", L, lane);
  assert.deepEqual(await call("POST", L, lane), {
    code: 409,
    body: failure(409, "AlreadyExists", 'lanes.meshlane.io "c" already exists', {
      name: "c",
      group: "meshlane.io",
      kind: "lanes",
    }),
  });
  assert.deepEqual(
    await call("PATCH", `${L}/c`, { metadata: { resourceVersion: "1" } }, "application/merge-patch+json"),
    {
      code: 409,
      body: failure(
        409,
        "Conflict",
        'Operation cannot be fulfilled on lanes.meshlane.io "c": the object has been modified; please apply your changes to the latest version and try again',
        { name: "c", group: "meshlane.io", kind: "lanes" },
      ),
    },
  );
  const ev = { apiVersion: "v1", kind: "Event", metadata: { name: "e1" }, involvedObject: { name: "c" } };
  await call("POST", "/api/v1/namespaces/c409/events", ev);
  assert.deepEqual((await call("POST", "/api/v1/namespaces/c409/events", ev)).body, {
    ...failure(409, "AlreadyExists", 'events "e1" already exists', { name: "e1", kind: "events" }),
  });
});

test("server-side apply conflicts: grouped by manager, an Update manager named with its apiVersion", async () => {
  await ns("ssa");
  const path = (m: string) => `${VS}/ssa/virtualservices/s?fieldManager=${m}`;
  const apply = (m: string, spec: Json) =>
    call("PATCH", path(m), { ...vs("s"), spec }, "application/apply-patch+yaml");
  assert.equal((await apply("alice", { hosts: ["a"], gateways: ["g1"] })).code, 201);
  const two = await apply("bob", { hosts: ["b"], gateways: ["g2"] });
  assert.deepEqual(two, {
    code: 409,
    body: failure(
      409,
      "Conflict",
      'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.gateways\n- .spec.hosts',
      {
        causes: [
          { reason: "FieldManagerConflict", message: 'conflict with "alice"', field: ".spec.gateways" },
          { reason: "FieldManagerConflict", message: 'conflict with "alice"', field: ".spec.hosts" },
        ],
      },
    ),
  });
  const one = await apply("bob", { hosts: ["b"] });
  assert.equal(one.body.message, 'Apply failed with 1 conflict: conflict with "alice": .spec.hosts');
  await call("PATCH", path("carol"), { spec: { exportTo: ["."] } }, "application/merge-patch+json");
  const mixed = await apply("bob", { hosts: ["b"], exportTo: ["*"] });
  const lines = mixed.body.message.split("\n");
  assert.equal(lines[0].startsWith("Apply failed with 2 conflicts: conflicts with "), true);
  assert.ok(
    mixed.body.message.includes('conflicts with "carol" using networking.istio.io/v1:\n- .spec.exportTo'),
    mixed.body.message,
  );
  assert.ok(mixed.body.message.includes('conflicts with "alice":\n- .spec.hosts'));
});

test("RBAC, when enforced: 403 in the real server's words; apply that creates needs create too", async () => {
  const sa = serviceAccountUser("meshlane-system", "ctl");
  const rbac = await FakeApiServer.start({
    rbac: {
      users: { "sa-token": sa },
      objects: [
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "r", namespace: "shop" },
          rules: [{ apiGroups: ["networking.istio.io"], resources: ["virtualservices"], verbs: ["patch"] }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "r", namespace: "shop" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" },
          subjects: [{ kind: "ServiceAccount", name: "ctl", namespace: "meshlane-system" }],
        },
      ],
    },
  });
  try {
    const as = async (method: string, path: string, body?: unknown, type = "application/json") => {
      const res = await fetch(rbac.url + path, {
        method,
        headers: { "content-type": type, authorization: "Bearer sa-token" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { code: res.status, body: (await res.json()) as Json };
    };
    const user = 'User "system:serviceaccount:meshlane-system:ctl"';
    assert.deepEqual(await as("POST", "/api/v1/namespaces/shop/configmaps", cm("x")), {
      code: 403,
      body: failure(
        403,
        "Forbidden",
        `configmaps is forbidden: ${user} cannot create resource "configmaps" in API group "" in the namespace "shop"`,
        { kind: "configmaps" },
      ),
    });
    assert.deepEqual(
      (await as("POST", "/api/v1/namespaces", { metadata: { name: "n" } })).body.message,
      `namespaces is forbidden: ${user} cannot create resource "namespaces" in API group "" at the cluster scope`,
    );
    const named = await as("PUT", "/apis/meshlane.io/v1alpha1/namespaces/shop/lanes/c/status", {});
    assert.equal(
      named.body.message,
      `lanes.meshlane.io "c" is forbidden: ${user} cannot update resource "lanes/status" in API group "meshlane.io" in the namespace "shop"`,
    );
    assert.deepEqual(named.body.details, { name: "c", group: "meshlane.io", kind: "lanes" });
    // The admin (any other token) may; then the Role's patch is enough for an existing object but not
    // for an apply that creates one.
    await rbac
      .kubeConfig()
      .makeApiClient((await import("@kubernetes/client-node")).CoreV1Api)
      .createNamespace({
        body: { metadata: { name: "shop" } },
      });
    const created = await as(
      "PATCH",
      `${VS}/shop/virtualservices/ssa1?fieldManager=meshlane&force=true`,
      vs("ssa1"),
      "application/apply-patch+yaml",
    );
    assert.deepEqual(created, {
      code: 403,
      body: failure(403, "Forbidden", 'virtualservices.networking.istio.io "ssa1" is forbidden: ', {
        name: "ssa1",
        group: "networking.istio.io",
        kind: "virtualservices",
      }),
    });
    assert.equal((await as("GET", "/api/v1")).code, 200, "discovery is open");
    assert.equal(rbac.count({ code: 403 }), 4);
  } finally {
    await rbac.stop();
  }
});
