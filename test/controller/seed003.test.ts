// Seed 003 end to end against the fake API server: the example's workloads and Istio objects, then its
// Lane; the controller converges on exactly what render's golden case says; deleting the Lane (and then
// the canary Deployments, as in the lane-removed golden case) puts the user's objects back byte for byte
// and removes everything meshlane created.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { fromRoot } from "../../controller/src/paths.js";
import { MANAGED_BY_LABEL, ORIGINAL_SPEC_ANNOTATION } from "../../controller/src/render/index.js";
import { LANE_FINALIZER } from "../../controller/src/reconcile/state.js";
import {
  byName,
  condition,
  eventsFor,
  eventually,
  FakeApiServer,
  lane,
  objectWrites,
  seed003,
  seedAll,
  settle,
  startController,
  wasm,
  yamlDocs,
  type Json,
  type LaneController,
} from "./helpers.js";

let server: FakeApiServer;
let controller: LaneController;

before(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
});
after(async () => {
  await controller?.stop();
  await server.stop();
});

const GOLDEN_SHA = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592";

/** The golden case's apply list, with the served module's digest in place of the golden's. */
async function goldenApply(): Promise<Json[]> {
  const [golden] = yamlDocs(fromRoot("test", "golden", "seed-003", "expected.yaml"));
  const sha = (await wasm()).sha256;
  return JSON.parse(JSON.stringify(golden.apply).split(GOLDEN_SHA).join(sha)) as Json[];
}

const RESOURCE: Record<string, string> = {
  VirtualService: "virtualservices",
  DestinationRule: "destinationrules",
  EnvoyFilter: "envoyfilters",
};

test("seed 003: converges on render's golden output, keeps it, and restores the originals on removal", async () => {
  const { app, istio, lane: laneObj } = seed003();
  seedAll(server, [...app, ...istio]);
  const original = new Map<string, string>();
  for (const [resource, names] of [
    ["virtualservices", ["vs-mocka", "vs-mockb"]],
    ["destinationrules", ["dr-mocka", "dr-mockb"]],
  ] as const) {
    for (const n of names)
      original.set(n, JSON.stringify((server.getObject(resource, "e2e", n) as Json).spec));
  }

  controller = await startController(server, { resyncMs: 500 });
  // The Lane arrives through the API (CRD defaulting and schema), as `kubectl apply -f lane.yaml` would.
  const api = server.kubeConfig().makeApiClient(CustomObjectsApi);
  await api.createNamespacedCustomObject({
    group: "meshlane.io",
    version: "v1alpha1",
    namespace: "e2e",
    plural: "lanes",
    body: laneObj,
  });
  await eventually(() => condition(lane(server, "e2e", "canary"), "Ready")?.status === "True", "Lane Ready");
  await settle(controller, server);

  // Every object of the golden case is in the cluster with exactly that spec and meshlane's metadata.
  for (const want of await goldenApply()) {
    const got = server.getObject(RESOURCE[want.kind], want.metadata.namespace, want.metadata.name) as Json;
    assert.ok(got, `${want.kind} ${want.metadata.name} exists`);
    assert.deepEqual(got.spec, want.spec, `${want.kind} ${want.metadata.name}: spec`);
    assert.equal(
      got.metadata.annotations?.[ORIGINAL_SPEC_ANNOTATION],
      want.metadata.annotations?.[ORIGINAL_SPEC_ANNOTATION],
      `${want.kind} ${want.metadata.name}: saved original`,
    );
    assert.equal(got.metadata.labels?.[MANAGED_BY_LABEL], want.metadata.labels?.[MANAGED_BY_LABEL]);
  }
  // Nothing else was created.
  assert.deepEqual([...byName(server, "virtualservices", "e2e").keys()].sort(), [
    "meshlane-mocka",
    "vs-mocka",
    "vs-mockb",
  ]);
  assert.deepEqual([...byName(server, "destinationrules", "e2e").keys()].sort(), ["dr-mocka", "dr-mockb"]);

  // Make-before-break: the DestinationRules got their subsets before any VirtualService routed to them.
  const writes = server.requests.filter((r) => r.verb === "patch" && r.code === 200);
  const lastDr = writes.map((r) => r.resource).lastIndexOf("destinationrules");
  const firstVs = writes.findIndex((r) => r.resource === "virtualservices");
  assert.ok(lastDr >= 0 && firstVs > lastDr, "DestinationRules first");

  // Our own objects are server-side applied as "meshlane"; the user's are patched, never applied.
  assert.ok(server.count({ verb: "patch", resource: "virtualservices", name: "meshlane-mocka" }) >= 1);
  const managed = server.getObject("virtualservices", "e2e", "meshlane-mocka") as Json;
  assert.ok(
    managed.metadata.managedFields.some((m: Json) => m.manager === "meshlane" && m.operation === "Apply"),
  );
  const vsm = server.getObject("virtualservices", "e2e", "vs-mocka") as Json;
  assert.ok(
    !vsm.metadata.managedFields?.some((m: Json) => m.operation === "Apply" && m.manager === "meshlane"),
  );

  // Lane: finalizer, status, observedGeneration, an event.
  const l = lane(server, "e2e", "canary");
  assert.deepEqual(l.metadata.finalizers, [LANE_FINALIZER]);
  assert.equal(l.status.observedGeneration, l.metadata.generation);
  assert.equal(l.status.serviceCount, 2);
  assert.deepEqual(l.status.services, [
    { service: "mocka", target: "canary" },
    { service: "mockb", target: "canary" },
  ]);
  assert.equal(condition(l, "Degraded").status, "False");
  assert.ok(eventsFor(server, "e2e", "canary").some((e) => e.reason === "Synced"));

  // Resyncs of a converged cluster write nothing.
  server.resetCounters();
  controller.resyncNow();
  await settle(controller, server);
  await new Promise((r) => setTimeout(r, 1200)); // two more periodic resyncs
  await settle(controller, server);
  assert.equal(server.writes(), 0, "no-op resync makes no writes");

  // Delete the Lane: its routes and the filter go, the finalizer is released, the Lane is gone.
  await api.deleteNamespacedCustomObject({
    group: "meshlane.io",
    version: "v1alpha1",
    namespace: "e2e",
    plural: "lanes",
    name: "canary",
  });
  await eventually(() => lane(server, "e2e", "canary") === undefined, "the Lane to be finalized and removed");
  await settle(controller, server);
  const vsAfter = server.getObject("virtualservices", "e2e", "vs-mocka") as Json;
  assert.ok(!JSON.stringify(vsAfter.spec).includes("meshlane-canary"), "canary route removed");
  assert.equal(server.listObjects("envoyfilters").length, 0, "filter objects deleted");

  // With the canary Deployments gone too, nothing needs lanes: originals back byte for byte.
  for (const n of ["mocka-canary", "mockb-canary"]) server.removeObject("deployments", "e2e", n);
  await eventually(
    () => !server.getObject("virtualservices", "e2e", "meshlane-mocka"),
    "meshlane-mocka to be deleted",
  );
  await settle(controller, server);
  for (const [resource, names] of [
    ["virtualservices", ["vs-mocka", "vs-mockb"]],
    ["destinationrules", ["dr-mocka", "dr-mockb"]],
  ] as const) {
    for (const n of names) {
      const o = server.getObject(resource, "e2e", n) as Json;
      assert.equal(JSON.stringify(o.spec), original.get(n), `${n} restored byte for byte`);
      assert.equal(o.metadata.annotations, undefined, `${n}: annotation removed`);
    }
  }
  assert.deepEqual([...byName(server, "virtualservices", "e2e").keys()].sort(), ["vs-mocka", "vs-mockb"]);
  assert.ok(objectWrites(server) > 0);
});
