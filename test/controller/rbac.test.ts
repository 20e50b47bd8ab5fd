// The controller with exactly manifests/rbac.yaml's permissions, enforced by the test API server for its
// ServiceAccount: seed 003's convergence (EnvoyFilter mode, then WasmPlugin mode), a Service without a
// DestinationRule (meshlane creates and later deletes its own), finalizer, status, events, the Lease,
// re-reads after 409s, Lane removal restoring the user's objects, then Gateway API routing (per-lane
// Services, HTTPRoutes, a user's HTTPRoute merged and restored), and a rollout with a command and copy
// promotion, and a rollout's analysis with the embedded metrics provider (pods listed). No request is refused, and every verb
// the manifests grant is the only grant of some request the controller made (so none is superfluous).
// Then a role missing one verb: the 403 is reported where it belongs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sampleValue } from "../../controller/src/reconcile/metrics.js";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { fromRoot } from "../../controller/src/paths.js";
import { optionsFromConfig } from "../../controller/src/render/index.js";
import { serviceAccountUser, type Grant } from "../apiserver/rbac.js";
import {
  condition,
  eventually,
  FakeApiServer,
  lane,
  laneApp,
  seed003,
  seedAll,
  seedInstall,
  settle,
  startController,
  wasm,
  yamlDocs,
  type Json,
  type LaneController,
} from "./helpers.js";

const TOKEN = "meshlane-sa-token";
const LANES = { group: "meshlane.io", version: "v1alpha1", plural: "lanes" };

function rbacObjects(): Json[] {
  return yamlDocs(fromRoot("manifests", "rbac.yaml"));
}

async function startServer(objects: Json[]): Promise<FakeApiServer> {
  const server = await FakeApiServer.start({
    bookmarkIntervalMs: 200,
    rbac: { objects, users: { [TOKEN]: serviceAccountUser("meshlane-system", "meshlane-controller") } },
  });
  seedInstall(server);
  return server;
}

async function runAs(server: FakeApiServer, extra: Json = {}): Promise<LaneController> {
  return startController(server, {
    kc: server.kubeConfig("default", TOKEN),
    identity: "rbac-test",
    leaderElection: {
      namespace: "meshlane-system",
      leaseDurationMs: 2000,
      renewDeadlineMs: 1500,
      retryPeriodMs: 200,
    },
    resyncMs: 1000,
    ...extra,
  });
}

const key = (g: Grant) => `${g.role}#${g.rule} ${g.verb} ${g.group}/${g.resource}`;

test("the controller's flows work with exactly manifests/rbac.yaml, and each granted verb is needed", async () => {
  const server = await startServer(rbacObjects());
  const admin = server.kubeConfig().makeApiClient(CustomObjectsApi);
  let controller: LaneController | undefined;
  try {
    const { app, istio, lane: laneObj } = seed003();
    seedAll(server, [...app, ...istio, ...laneApp("e2e", "web")]);
    // One 409 on the first finalizer patch and on the first patch of a user's VirtualService and
    // DestinationRule: the controller re-reads them (get) before trying again.
    server.injectFailures({ verb: "patch", resource: "lanes", subresource: "", status: 409, count: 1 });
    server.injectFailures({ verb: "patch", resource: "virtualservices", name: "vs-mocka", status: 409 });
    server.injectFailures({ verb: "patch", resource: "destinationrules", name: "dr-mocka", status: 409 });
    controller = await runAs(server);
    await admin.createNamespacedCustomObject({ ...LANES, namespace: "e2e", body: laneObj });
    await eventually(
      () => condition(lane(server, "e2e", "canary"), "Ready")?.status === "True",
      "Lane Ready",
      60_000,
    );
    await eventually(() => server.getObject("destinationrules", "e2e", "meshlane-web"), "meshlane's own DR");
    await eventually(
      () => server.count({ verb: "update", resource: "leases", code: 200 }) > 0,
      "the Lease renewed",
      30_000,
    );
    await settle(controller, server);
    assert.ok(server.getObject("envoyfilters", "e2e", "meshlane-sidecar"), "EnvoyFilter applied");

    // Lane removal: routes and filter go, the user's objects are restored, meshlane's own deleted.
    await admin.deleteNamespacedCustomObject({ ...LANES, namespace: "e2e", name: "canary" });
    await eventually(() => lane(server, "e2e", "canary") === undefined, "the Lane finalized", 60_000);
    for (const n of ["mocka-canary", "mockb-canary", "web-canary"])
      server.removeObject("deployments", "e2e", n);
    await eventually(
      () => !server.getObject("destinationrules", "e2e", "meshlane-web"),
      "meshlane's own objects deleted",
      60_000,
    );
    await settle(controller, server);
    await controller.stop();
    controller = undefined;

    // WasmPlugin mode: the other install kind, created and deleted.
    const module = await wasm();
    controller = await runAs(server, { render: optionsFromConfig({ install: "wasmplugin" }, module.sha256) });
    seedAll(server, [...app.filter((o: Json) => o.kind === "Deployment")]);
    await admin.createNamespacedCustomObject({ ...LANES, namespace: "e2e", body: laneObj });
    await eventually(
      () => server.listObjects("wasmplugins", "istio-system").length > 0,
      "WasmPlugins",
      60_000,
    );
    await admin.deleteNamespacedCustomObject({ ...LANES, namespace: "e2e", name: "canary" });
    await eventually(
      () => server.listObjects("wasmplugins", "istio-system").length === 0,
      "WasmPlugins gone",
      60_000,
    );
    await eventually(() => lane(server, "e2e", "canary") === undefined, "the Lane finalized", 60_000);

    // A rollout with copy promotion and a command: the annotation is removed (patch of the Lane), the
    // lane's and base's Deployments read (get) and base's pod template patched.
    const canaryDeployment = server.getObject("deployments", "e2e", "mocka-canary") as Json;
    canaryDeployment.spec.template.spec.containers[0].image = "example/mocka:2";
    server.seed(canaryDeployment);
    await admin.createNamespacedCustomObject({
      ...LANES,
      namespace: "e2e",
      body: {
        ...laneObj,
        metadata: { ...laneObj.metadata, annotations: { "meshlane.io/rollout-command": "pause" } },
        spec: { ...laneObj.spec, rollout: { steps: [{ percent: 100, pause: "0s" }], promotion: "copy" } },
      },
    });
    await eventually(
      () =>
        (server.getObject("deployments", "e2e", "mocka-base") as Json)?.spec?.template?.spec?.containers?.[0]
          ?.image === "example/mocka:2",
      "base's pod template copied",
      60_000,
    );
    await eventually(() => {
      const m = String(lane(server, "e2e", "canary")?.status?.rollout?.message);
      return /waiting until rolled out/.test(m) && !/rolling out the lane's/.test(m);
    }, "every base template written");
    // Every base Deployment rolls out (a cluster's Deployment controller would write this status).
    for (const d of server.listObjects("deployments", "e2e") as Json[]) {
      if (!String(d.metadata.name).endsWith("-base")) continue;
      d.status = {
        observedGeneration: d.metadata.generation,
        replicas: 1,
        updatedReplicas: 1,
        availableReplicas: 1,
      };
      server.seed(d);
    }
    await eventually(
      () => lane(server, "e2e", "canary")?.status?.rollout?.phase === "Succeeded",
      "the rollout Succeeded",
      60_000,
    );
    assert.equal(
      lane(server, "e2e", "canary").metadata.annotations?.["meshlane.io/rollout-command"],
      undefined,
    );
    await admin.deleteNamespacedCustomObject({ ...LANES, namespace: "e2e", name: "canary" });
    await eventually(() => lane(server, "e2e", "canary") === undefined, "the Lane finalized", 60_000);
    await settle(controller, server);
    await controller.stop();
    controller = undefined;

    // Gateway API routing: per-lane Services and HTTPRoutes created, a user's HTTPRoute merged (one 409:
    // re-read), then all of it deleted and restored when the lane goes.
    controller = await runAs(server, {
      render: optionsFromConfig({ routing: "gateway-api" }, module.sha256),
    });
    seedAll(server, [...app.filter((o: Json) => o.kind === "Deployment")]);
    await admin.createNamespacedCustomObject({
      group: "gateway.networking.k8s.io",
      version: "v1",
      plural: "httproutes",
      namespace: "e2e",
      body: {
        apiVersion: "gateway.networking.k8s.io/v1",
        kind: "HTTPRoute",
        metadata: { name: "ingress", namespace: "e2e" },
        spec: {
          parentRefs: [{ name: "ingress" }],
          rules: [{ backendRefs: [{ name: "mocka", port: 8000 }] }],
        },
      },
    });
    server.injectFailures({ verb: "patch", resource: "httproutes", name: "ingress", status: 409 });
    await admin.createNamespacedCustomObject({ ...LANES, namespace: "e2e", body: laneObj });
    await eventually(
      () => (server.getObject("httproutes", "e2e", "ingress") as Json)?.metadata.annotations !== undefined,
      "the user's HTTPRoute merged",
      60_000,
    );
    await eventually(() => server.getObject("services", "e2e", "mocka-canary"), "per-lane Services", 60_000);
    await admin.deleteNamespacedCustomObject({ ...LANES, namespace: "e2e", name: "canary" });
    await eventually(() => lane(server, "e2e", "canary") === undefined, "the Lane finalized", 60_000);
    for (const n of ["mocka-canary", "mockb-canary"]) server.removeObject("deployments", "e2e", n);
    await eventually(
      () =>
        !server.getObject("services", "e2e", "mocka-canary") &&
        !server.getObject("httproutes", "e2e", "meshlane-mocka") &&
        (server.getObject("httproutes", "e2e", "ingress") as Json).metadata.annotations === undefined,
      "per-lane Services and meshlane's HTTPRoutes deleted, the user's restored",
      60_000,
    );
    await settle(controller, server);
    await controller.stop();
    controller = undefined;

    // The embedded metrics provider: an analysis round lists the pods behind the lane's Services.
    controller = await runAs(server, { metricsProvider: "embedded" });
    seedAll(server, [...app.filter((o: Json) => o.kind === "Deployment")]);
    await admin.createNamespacedCustomObject({
      ...LANES,
      namespace: "e2e",
      body: {
        ...laneObj,
        spec: {
          ...laneObj.spec,
          rollout: {
            steps: [{ percent: 10 }],
            analysis: {
              interval: "1s",
              progressDeadline: "1h",
              metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
            },
          },
        },
      },
    });
    await eventually(
      () =>
        (lane(server, "e2e", "canary")?.status?.rollout?.checks ?? []).some((c: Json) =>
          /no Running, Ready pod behind/.test(c.reason),
        ),
      "an analysis round of the embedded provider",
      60_000,
    );
    await admin.deleteNamespacedCustomObject({ ...LANES, namespace: "e2e", name: "canary" });
    await eventually(() => lane(server, "e2e", "canary") === undefined, "the Lane finalized", 60_000);
    await settle(controller, server);

    const checked = server.requests.filter((r) => r.user !== undefined);
    const refused = checked
      .filter((r) => r.code === 403)
      .map((r) => `${r.verb} ${r.resource} ${r.namespace}`);
    assert.deepEqual(refused, [], "no request refused");
    assert.ok(checked.length > 50, `the controller's requests were checked (${checked.length})`);
    const needed = new Set<string>();
    for (const r of checked) {
      const byVerb = new Map<string, Grant[]>();
      for (const g of r.grants ?? []) byVerb.set(g.verb, [...(byVerb.get(g.verb) ?? []), g]);
      for (const gs of byVerb.values()) if (gs.length === 1) needed.add(key(gs[0]));
    }
    const unused = server
      .rbacGrants()
      .map(key)
      .filter((k) => !needed.has(k));
    assert.deepEqual(unused, [], "every verb manifests/rbac.yaml grants is the only grant of some request");
  } finally {
    await controller?.stop();
    await server.stop();
  }
});

test("without patch on lanes/status, the 403 is counted and logged, and the routes still go in", async () => {
  const objects = rbacObjects().map((o: Json) =>
    o.kind !== "ClusterRole"
      ? o
      : { ...o, rules: o.rules.filter((r: Json) => !r.resources.includes("lanes/status")) },
  );
  const server = await startServer(objects);
  let controller: LaneController | undefined;
  try {
    const { app, istio, lane: laneObj } = seed003();
    seedAll(server, [...app, ...istio]);
    controller = await runAs(server);
    await server
      .kubeConfig()
      .makeApiClient(CustomObjectsApi)
      .createNamespacedCustomObject({
        ...LANES,
        namespace: "e2e",
        body: laneObj,
      });
    await eventually(() => server.getObject("virtualservices", "e2e", "meshlane-mocka"), "routes", 60_000);
    const c = controller;
    await eventually(
      async () => (await sampleValue(c.metrics.writeErrors, { op: "status", kind: "Lane", code: "403" })) > 0,
      "the refused status write counted",
      60_000,
    );
    assert.ok(server.count({ resource: "lanes", subresource: "status", code: 403 }) > 0);
    assert.equal(lane(server, "e2e", "canary").status, undefined, "no status was written");
  } finally {
    await controller?.stop();
    await server.stop();
  }
});
