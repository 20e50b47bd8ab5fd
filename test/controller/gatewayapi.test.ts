// The controller with --routing gateway-api against the test API server (HTTPRoute CRD schema and CEL
// rules, Service defaulting and validation): it converges on what render says, writes nothing on a
// no-op resync, keeps a user's edit of a merged HTTPRoute, reports an HTTPRoute it cannot merge into on
// the Lane and leaves it untouched, restores everything when the lane goes, and moves every object over
// when it restarts with the other routing mode.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import {
  MANAGED_BY_LABEL,
  optionsFromConfig,
  ORIGINAL_SPEC_ANNOTATION,
  render,
  type KubeObject,
} from "../../controller/src/render/index.js";
import {
  byName,
  captureLogs,
  condition,
  eventually,
  FakeApiServer,
  lane,
  seed003,
  seedAll,
  settle,
  startController,
  wasm,
  type Captured,
  type Json,
  type LaneController,
} from "./helpers.js";

let server: FakeApiServer | undefined;
let controller: LaneController | undefined;
afterEach(async () => {
  await controller?.stop();
  await server?.stop();
  controller = undefined;
  server = undefined;
});

const ROUTES = { group: "gateway.networking.k8s.io", version: "v1", plural: "httproutes" };
const LANES = { group: "meshlane.io", version: "v1alpha1", plural: "lanes" };

async function start(
  s: FakeApiServer,
  routing: "istio" | "gateway-api",
  logs?: Captured,
): Promise<LaneController> {
  const module = await wasm();
  return startController(s, {
    render: optionsFromConfig({ routing }, module.sha256),
    resyncMs: 0,
    ...(logs ? { logger: logs.logger } : {}),
  });
}

/** The user's HTTPRoute on the ingress Gateway: "/" to mocka. */
function ingressRoute(extraRule?: Json): Json {
  const rules: Json[] = [{ backendRefs: [{ name: "mocka", port: 8000 }] }];
  if (extraRule) rules.unshift(extraRule);
  return {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "ingress", namespace: "e2e" },
    spec: {
      parentRefs: [{ name: "ingress", namespace: "istio-ingress" }],
      hostnames: ["shop.example.com"],
      rules,
    },
  };
}

/** Everything render would still change on the cluster as it stands (empty when converged). */
async function pending(s: FakeApiServer, routing: "istio" | "gateway-api") {
  const module = await wasm();
  // The store's built-in objects carry no apiVersion/kind (as list items): put them back.
  const kinds: [string, string, string][] = [
    ["services", "v1", "Service"],
    ["deployments", "apps/v1", "Deployment"],
    ["lanes", "meshlane.io/v1alpha1", "Lane"],
    ["virtualservices", "networking.istio.io/v1", "VirtualService"],
    ["destinationrules", "networking.istio.io/v1", "DestinationRule"],
    ["httproutes", "gateway.networking.k8s.io/v1", "HTTPRoute"],
    ["envoyfilters", "networking.istio.io/v1alpha3", "EnvoyFilter"],
  ];
  const objects = kinds.flatMap(([r, apiVersion, kind]) =>
    s.listObjects(r).map((o) => ({ ...(o as Json), apiVersion, kind })),
  ) as KubeObject[];
  const r = render(objects, { ...optionsFromConfig({ routing }, module.sha256), sidecarNamespaces: ["e2e"] });
  const byKey = new Map(objects.map((o) => [`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, o]));
  const changed = [...r.apply, ...r.restore].filter(
    (o) => byKey.get(`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`) !== o,
  );
  if (process.env.MESHLANE_TEST_LOGS === "1")
    for (const c of changed)
      console.error(
        JSON.stringify(c),
        JSON.stringify(byKey.get(`${c.kind}/${c.metadata.namespace}/${c.metadata.name}`)),
      );
  return { changed: changed.map((o) => `${o.kind} ${o.metadata.name}`), deletes: r.delete, result: r };
}

async function seedCluster(s: FakeApiServer, withIstio: boolean): Promise<CustomObjectsApi> {
  const { app, istio } = seed003();
  seedAll(s, withIstio ? [...app, ...istio] : app);
  const api = s.kubeConfig().makeApiClient(CustomObjectsApi);
  return api;
}

/** Creates the user's route (returned as stored, defaults filled in), then the Lane. */
async function addLaneAndRoute(api: CustomObjectsApi, route: Json): Promise<Json> {
  const stored = await api.createNamespacedCustomObject({ ...ROUTES, namespace: "e2e", body: route });
  await api.createNamespacedCustomObject({ ...LANES, namespace: "e2e", body: seed003().lane });
  return stored;
}

test("gateway-api: converges, 0 writes on resync, keeps a user's edit, restores on removal", async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const api = await seedCluster(server, false);
  const logs = captureLogs();
  controller = await start(server, "gateway-api", logs);
  const stored = await addLaneAndRoute(api, ingressRoute());
  const userSpec = JSON.stringify(stored.spec);
  await eventually(() => condition(lane(server!, "e2e", "canary"), "Ready")?.status === "True", "Lane Ready");
  await settle(controller, server);

  // Per-lane Services (with the server's cluster IPs), meshlane's mesh routes, the merged user route.
  const services = byName(server, "services", "e2e");
  for (const n of ["mocka-base", "mocka-canary", "mockb-base", "mockb-canary"]) {
    const svc = services.get(n);
    assert.ok(svc, `Service ${n}`);
    assert.equal(svc.metadata.labels[MANAGED_BY_LABEL], "meshlane");
    assert.match(svc.spec.clusterIP, /^10\.96\./);
    assert.equal(svc.spec.selector["meshlane.io/lane"], n.split("-")[1]);
  }
  const routes = byName(server, "httproutes", "e2e");
  assert.deepEqual([...routes.keys()].sort(), ["ingress", "meshlane-mocka", "meshlane-mockb"]);
  const ingress = routes.get("ingress");
  assert.equal(ingress.metadata.annotations[ORIGINAL_SPEC_ANNOTATION], userSpec);
  assert.deepEqual(
    ingress.spec.rules.map((r: Json) => [r.matches[0].headers?.[0]?.value ?? "*", r.backendRefs[0].name]),
    [
      ["canary", "mocka-canary"],
      ["*", "mocka-base"],
    ],
  );
  assert.deepEqual(await pending(server, "gateway-api").then((p) => [p.changed, p.deletes]), [[], []]);
  // The cluster IPs the server assigned on create are defaults, not a change the controller holds back.
  assert.deepEqual(
    logs.lines.filter((l) => l.level === "warn").map((l) => `${l.object}: ${l.msg}`),
    [],
  );
  const l = lane(server, "e2e", "canary");
  assert.deepEqual(l.status.services, [
    { service: "mocka", target: "canary" },
    { service: "mockb", target: "canary" },
  ]);

  // A converged cluster: resyncs write nothing.
  server.resetCounters();
  for (let i = 0; i < 2; i++) {
    controller.resyncNow();
    await settle(controller, server);
  }
  assert.equal(server.writes(), 0, "no-op resync makes no writes");

  // A GitOps tool re-applies the user's route with a new hostname (meshlane's rule gone with it).
  const live = (await api.getNamespacedCustomObject({
    ...ROUTES,
    namespace: "e2e",
    name: "ingress",
  })) as Json;
  await api.replaceNamespacedCustomObject({
    ...ROUTES,
    namespace: "e2e",
    name: "ingress",
    body: { ...live, spec: { ...JSON.parse(userSpec), hostnames: ["shop.example.com", "www.example.com"] } },
  });
  await eventually(
    () => (server!.getObject("httproutes", "e2e", "ingress") as Json).spec.rules.length === 2,
    "the lane rule back",
  );
  await settle(controller, server);
  const edited = server.getObject("httproutes", "e2e", "ingress") as Json;
  assert.deepEqual(edited.spec.hostnames, ["shop.example.com", "www.example.com"]);
  assert.deepEqual(JSON.parse(edited.metadata.annotations[ORIGINAL_SPEC_ANNOTATION]).hostnames, [
    "shop.example.com",
    "www.example.com",
  ]);

  // The Lane goes, then the canary workloads: the user's route is back as they last wrote it, meshlane's
  // objects are gone.
  await api.deleteNamespacedCustomObject({ ...LANES, namespace: "e2e", name: "canary" });
  await eventually(() => lane(server!, "e2e", "canary") === undefined, "the Lane finalized");
  for (const n of ["mocka-canary", "mockb-canary"]) server.removeObject("deployments", "e2e", n);
  await eventually(() => !server!.getObject("services", "e2e", "mocka-canary"), "per-lane Services deleted");
  await settle(controller, server);
  const restored = server.getObject("httproutes", "e2e", "ingress") as Json;
  assert.equal(restored.metadata.annotations, undefined);
  assert.deepEqual(restored.spec, {
    ...JSON.parse(userSpec),
    hostnames: ["shop.example.com", "www.example.com"],
  });
  assert.deepEqual([...byName(server, "httproutes", "e2e").keys()], ["ingress"]);
  assert.deepEqual([...byName(server, "services", "e2e").keys()].sort(), ["mocka", "mockb"]);
});

test("gateway-api: an HTTPRoute meshlane cannot merge into is reported on the Lane and left untouched", async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const api = await seedCluster(server, false);
  controller = await start(server, "gateway-api");
  const bad = ingressRoute({
    matches: [{ headers: [{ name: "X-Lane", value: "canary" }] }],
    backendRefs: [{ name: "mockb", port: 8000 }],
  });
  bad.spec.rules[1].backendRefs[0].name = "mockb";
  await addLaneAndRoute(api, bad);
  const before = JSON.stringify(server.getObject("httproutes", "e2e", "ingress"));
  await eventually(
    () => condition(lane(server!, "e2e", "canary"), "Degraded")?.status === "True",
    "the Lane degraded by the route",
  );
  await settle(controller, server);
  const l = lane(server, "e2e", "canary");
  assert.match(JSON.stringify(l.status), /HTTPRoute e2e\/ingress.*already matches on header x-lane/);
  assert.equal(JSON.stringify(server.getObject("httproutes", "e2e", "ingress")), before, "untouched");
  assert.ok(
    server
      .listObjects("events", "e2e")
      .some((e: Json) => e.reason === "MergeFailed" && e.involvedObject.name === "ingress"),
  );
  // The rest is routed: meshlane's own mesh routes and per-lane Services.
  assert.ok(server.getObject("httproutes", "e2e", "meshlane-mockb"));
  assert.ok(server.getObject("services", "e2e", "mockb-canary"));
});

test("restarting with the other routing mode moves every object over, both ways", async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const api = await seedCluster(server, true);
  const userObjects = () =>
    ["virtualservices", "destinationrules", "httproutes"].flatMap((r) =>
      server!
        .listObjects(r, "e2e")
        .filter((o: Json) => o.metadata.labels?.[MANAGED_BY_LABEL] !== "meshlane")
        .map((o: Json) => [o.kind, o.metadata.name, JSON.stringify(o.spec), o.metadata.annotations ?? null]),
    );
  const ours = () =>
    ["virtualservices", "destinationrules", "httproutes", "services"]
      .flatMap((r) => server!.listObjects(r, "e2e"))
      .filter((o: Json) => o.metadata.labels?.[MANAGED_BY_LABEL] === "meshlane")
      .map((o: Json) => `${o.kind} ${o.metadata.name}`)
      .sort();

  await api.createNamespacedCustomObject({ ...ROUTES, namespace: "e2e", body: ingressRoute() });
  const untouched = userObjects(); // before meshlane ever ran
  controller = await start(server, "istio");
  await api.createNamespacedCustomObject({ ...LANES, namespace: "e2e", body: seed003().lane });
  await eventually(() => condition(lane(server!, "e2e", "canary"), "Ready")?.status === "True", "Lane Ready");
  await settle(controller, server);
  assert.deepEqual(ours(), ["VirtualService meshlane-mocka"]);
  const istioState = userObjects();

  for (const [mode, expected] of [
    [
      "gateway-api",
      [
        "HTTPRoute meshlane-mocka",
        "HTTPRoute meshlane-mockb",
        "Service mocka-base",
        "Service mocka-canary",
        "Service mockb-base",
        "Service mockb-canary",
      ],
    ],
    ["istio", ["VirtualService meshlane-mocka"]],
  ] as const) {
    await controller.stop();
    controller = await start(server, mode);
    await eventually(async () => {
      const p = await pending(server!, mode);
      if (process.env.MESHLANE_TEST_LOGS === "1") console.error(mode, p.changed, p.deletes, p.result.errors);
      return p.changed.length === 0 && p.deletes.length === 0;
    }, `converged in ${mode}`);
    await settle(controller, server);
    assert.deepEqual(ours(), [...expected].sort(), `meshlane's objects in ${mode} mode`);
    const p = await pending(server, mode);
    assert.deepEqual([p.changed, p.deletes], [[], []]);
    // The other API's user objects carry nothing of meshlane's.
    for (const [kind, name, spec, annotations] of userObjects()) {
      const other = mode === "istio" ? kind === "HTTPRoute" : kind !== "HTTPRoute";
      if (!other) continue;
      const was = untouched.find((u) => u[0] === kind && u[1] === name)!;
      assert.deepEqual([spec, annotations], [was[2], was[3]], `${kind} ${name} restored in ${mode} mode`);
    }
  }
  // Back in istio mode: exactly the state it had before the round trip.
  assert.deepEqual(userObjects(), istioState);
});
