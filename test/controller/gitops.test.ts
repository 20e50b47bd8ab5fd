// GitOps-safe merging, over HTTP against the test API server: a user (or a GitOps tool acting for
// them) edits a VirtualService and a DestinationRule meshlane merged into: a `kubectl edit`, a
// server-side apply of the manifest by another field manager (as Flux does), a `kubectl replace` that
// drops our annotations. Each time the controller keeps the user's change as the new original, puts
// its own lane routes and subsets back, and then stops writing (the server's mutation count settles).
// Removing the lane (Lane and workloads) restores the latest user spec. `meshlane.io/ignore: "true"` leaves an object alone
// and the Lane says so.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { sampleValue } from "../../controller/src/reconcile/metrics.js";
import {
  APPLIED_HASH_ANNOTATION,
  IGNORE_ANNOTATION,
  ORIGINAL_SPEC_ANNOTATION,
} from "../../controller/src/render/index.js";
import {
  condition,
  eventsFor,
  eventually,
  FakeApiServer,
  lane,
  laneApi,
  laneApp,
  laneObject,
  seedAll,
  seedNamespace,
  settle,
  startController,
  type Json,
  type LaneController,
} from "./helpers.js";

let server: FakeApiServer;
let controller: LaneController;

before(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200, requireNamespace: true });
  seedNamespace(server, "istio-system", {}); // where the filter's EnvoyFilters go
  controller = await startController(server, { resyncMs: 300 });
});
after(async () => {
  await controller.stop();
  await server.stop();
});

const ISTIO = "/apis/networking.istio.io/v1/namespaces";

/** One request as a user's tool would send it; fails the test on an error status. */
async function call(method: string, path: string, body: unknown, contentType = "application/json") {
  const res = await fetch(server.url + path, {
    method,
    headers: { "content-type": contentType, accept: "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Json;
}

/** Server-side apply by another field manager, with force (Flux's kustomize-controller does this). */
const fluxApply = (ns: string, plural: string, obj: Json) =>
  call(
    "PATCH",
    `${ISTIO}/${ns}/${plural}/${obj.metadata.name}?fieldManager=kustomize-controller&force=true`,
    obj,
    "application/apply-patch+yaml",
  );

function vsManifest(ns: string, spec: Json, annotations?: Record<string, string>): Json {
  const metadata: Json = { name: "web", namespace: ns };
  if (annotations) metadata.annotations = annotations;
  return { apiVersion: "networking.istio.io/v1", kind: "VirtualService", metadata, spec };
}

const mainRoute = (timeout: string) => ({
  name: "main",
  route: [{ destination: { host: "web", port: { number: 8000 } } }],
  timeout,
});

const get = (plural: string, ns: string, name = "web") => server.getObject(plural, ns, name) as Json;
const saved = (o: Json) => JSON.parse(o?.metadata?.annotations?.[ORIGINAL_SPEC_ANNOTATION] ?? "null");
const routeNames = (vs: Json) => (vs.spec.http ?? []).map((h: Json) => h.name ?? "-");
const istioWrites = () => server.writes((r) => r.group === "networking.istio.io");

/**
 * Waits for several more reconciles of everything (periodic resyncs) and checks they changed nothing:
 * no mutation at all on the server, so the controller and the user's tool are not taking turns.
 */
async function assertSettled(what: string) {
  await settle(controller, server, what);
  const mutations = server.mutations;
  const writes = istioWrites();
  const done = () => sampleValue(controller.metrics.reconcileTotal, { result: "success" });
  const target = (await done()) + 6;
  controller.resyncNow();
  await eventually(async () => (await done()) >= target, `${what}: more reconciles`, 60_000);
  await settle(controller, server, what);
  assert.equal(istioWrites(), writes, `${what}: no more Istio writes`);
  assert.equal(server.mutations, mutations, `${what}: the server's mutation count stopped growing`);
}

test("a user's edits to merged objects are kept, lane routes stay, writes settle; removing the Lane restores the latest", async () => {
  const ns = "gitops";
  seedNamespace(server, ns);
  seedAll(server, laneApp(ns, "web"));
  const drSpec = {
    host: "web",
    trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } },
    subsets: [{ name: "stable", labels: { version: "base" } }],
  };
  await fluxApply(ns, "destinationrules", {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: "web", namespace: ns },
    spec: drSpec,
  });
  await fluxApply(ns, "virtualservices", vsManifest(ns, { hosts: ["web"], http: [mainRoute("2s")] }));
  await laneApi(server).create(laneObject(ns, "canary"));
  await eventually(() => condition(lane(server, ns, "canary"), "Ready")?.status === "True", "Lane Ready");
  await eventually(() => routeNames(get("virtualservices", ns)).includes("main-meshlane-canary"), "merged");
  await assertSettled("first merge");

  // 1. kubectl edit: a new route in front, another timeout; and a merge patch of the DestinationRule.
  server.resetCounters();
  const live = get("virtualservices", ns);
  const edited = structuredClone(live);
  edited.spec.http = edited.spec.http.map((h: Json) => (h.name === "main" ? { ...h, timeout: "5s" } : h));
  edited.spec.http.unshift({
    name: "admin",
    match: [{ uri: { prefix: "/admin" } }],
    route: [{ destination: { host: "web" } }],
  });
  await call("PUT", `${ISTIO}/${ns}/virtualservices/web`, edited);
  await call(
    "PATCH",
    `${ISTIO}/${ns}/destinationrules/web`,
    { spec: { trafficPolicy: { loadBalancer: { simple: "LEAST_REQUEST" } } } },
    "application/merge-patch+json",
  );
  const userVs = {
    hosts: ["web"],
    http: [
      { name: "admin", match: [{ uri: { prefix: "/admin" } }], route: [{ destination: { host: "web" } }] },
      mainRoute("5s"),
    ],
  };
  await eventually(
    () =>
      JSON.stringify(saved(get("virtualservices", ns))) === JSON.stringify(userVs) &&
      routeNames(get("virtualservices", ns)).includes("admin-meshlane-canary"),
    "the edit kept as the new original, lane routes added for the new route",
  );
  await assertSettled("after kubectl edit");
  const vs1 = get("virtualservices", ns);
  assert.deepEqual(routeNames(vs1), ["admin-meshlane-canary", "admin", "main-meshlane-canary", "main"]);
  assert.equal(vs1.spec.http[2].timeout, "5s", "the lane route follows the user's timeout");
  assert.equal(
    server.writes({ resource: "virtualservices", name: "web", verb: "patch" }),
    1,
    "one write by meshlane per user edit",
  );
  const dr1 = get("destinationrules", ns);
  assert.deepEqual(saved(dr1), { ...drSpec, trafficPolicy: { loadBalancer: { simple: "LEAST_REQUEST" } } });
  assert.deepEqual(
    dr1.spec.subsets.map((s: Json) => s.name),
    ["stable", "base", "canary"],
  );

  // 2. The GitOps tool re-applies its manifest (the route list is atomic: lane routes and the admin
  //    route go); our annotations are not its fields and stay.
  const manifest = { hosts: ["web"], http: [mainRoute("3s")] };
  await fluxApply(ns, "virtualservices", vsManifest(ns, manifest));
  await eventually(
    () =>
      JSON.stringify(saved(get("virtualservices", ns))) === JSON.stringify(manifest) &&
      routeNames(get("virtualservices", ns)).includes("main-meshlane-canary"),
    "the re-applied manifest kept, lane routes back",
  );
  await assertSettled("after a server-side apply");
  // Re-applying the very same manifest again: lane routes come back, the original does not change.
  const before3 = get("virtualservices", ns).metadata.annotations[ORIGINAL_SPEC_ANNOTATION];
  await fluxApply(ns, "virtualservices", vsManifest(ns, manifest));
  await eventually(
    () => routeNames(get("virtualservices", ns)).includes("main-meshlane-canary"),
    "lane routes back",
  );
  await assertSettled("after the same manifest again");
  assert.equal(get("virtualservices", ns).metadata.annotations[ORIGINAL_SPEC_ANNOTATION], before3);

  // 3. kubectl replace of the manifest: no resourceVersion, no annotations at all.
  const replaced = { hosts: ["web"], http: [mainRoute("4s")] };
  await call("PUT", `${ISTIO}/${ns}/virtualservices/web`, vsManifest(ns, replaced));
  await eventually(
    () =>
      JSON.stringify(saved(get("virtualservices", ns))) === JSON.stringify(replaced) &&
      routeNames(get("virtualservices", ns)).includes("main-meshlane-canary"),
    "the replaced spec kept, lane routes back",
  );
  await assertSettled("after kubectl replace");
  assert.match(get("virtualservices", ns).metadata.annotations[APPLIED_HASH_ANNOTATION], /^sha256:/);

  // 4. The lane goes: first the Lane (its routes go; the lane's pods still exist, so the user's routes
  //    stay pinned to base), then its workload: the latest user specs come back as they were written.
  await laneApi(server).delete(ns, "canary");
  await eventually(() => lane(server, ns, "canary") === undefined, "Lane finalized");
  await settle(controller, server);
  assert.deepEqual(routeNames(get("virtualservices", ns)), ["main"]);
  assert.deepEqual(saved(get("virtualservices", ns)), replaced);
  server.removeObject("deployments", ns, "web-canary");
  await eventually(
    () => get("virtualservices", ns).metadata.annotations === undefined,
    "the VirtualService handed back",
  );
  await settle(controller, server);
  const vs4 = get("virtualservices", ns);
  assert.deepEqual(vs4.spec, replaced);
  assert.equal(vs4.metadata.annotations, undefined);
  const dr4 = get("destinationrules", ns);
  assert.deepEqual(dr4.spec, { ...drSpec, trafficPolicy: { loadBalancer: { simple: "LEAST_REQUEST" } } });
  assert.equal(dr4.metadata.annotations, undefined);
});

test(`${IGNORE_ANNOTATION}: "true" leaves a VirtualService alone, and the Lane says its traffic there is unmanaged`, async () => {
  const ns = "gitops-ignore";
  seedNamespace(server, ns);
  seedAll(server, laneApp(ns, "web"));
  const manifest = { hosts: ["web"], http: [mainRoute("2s")] };
  await fluxApply(ns, "virtualservices", vsManifest(ns, manifest));
  await laneApi(server).create(laneObject(ns, "canary"));
  await eventually(() => routeNames(get("virtualservices", ns)).includes("main-meshlane-canary"), "merged");
  await settle(controller, server);

  // The tool re-applies the manifest, now marked: meshlane neither merges again nor restores.
  await fluxApply(ns, "virtualservices", vsManifest(ns, manifest, { [IGNORE_ANNOTATION]: "true" }));
  await eventually(
    () => condition(lane(server, ns, "canary"), "Degraded")?.status === "True",
    "the Lane reports the unmanaged routing",
  );
  await assertSettled("ignored");
  const vs = get("virtualservices", ns);
  assert.deepEqual(vs.spec, manifest, "no lane routes put back");
  assert.match(condition(lane(server, ns, "canary"), "Degraded").message, /meshlane\.io\/ignore/);
  assert.ok(
    eventsFor(server, ns, "web").some((e) => e.type === "Warning" && e.message.includes(IGNORE_ANNOTATION)),
    "a Warning Event on the VirtualService",
  );

  // Unmarked again: merged again, and the Lane recovers.
  await fluxApply(ns, "virtualservices", vsManifest(ns, manifest));
  assert.equal(get("virtualservices", ns).metadata.annotations?.[IGNORE_ANNOTATION], undefined);
  await eventually(
    () => routeNames(get("virtualservices", ns)).includes("main-meshlane-canary"),
    "merged again",
  );
  await eventually(
    () => condition(lane(server, ns, "canary"), "Degraded")?.status === "False",
    "the Lane recovers",
  );
  await assertSettled("unmarked");
});
