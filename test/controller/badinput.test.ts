// Drift and bad input: hand edits of meshlane's own objects are reverted (fields others added stay), a
// user's edit of their merged object is kept (gitops.test.ts has the whole contract); an
// invalid Lane is reported and changes nothing; objects meshlane cannot merge into, or whose saved
// original is garbage, are reported and left untouched; a converged cluster costs no writes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { sampleValue } from "../../controller/src/reconcile/metrics.js";
import { ORIGINAL_SPEC_ANNOTATION } from "../../controller/src/render/index.js";
import {
  captureLogs,
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
const logs = captureLogs();

before(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  controller = await startController(server, { resyncMs: 300, logger: logs.logger });
});
after(async () => {
  await controller.stop();
  await server.stop();
});

const istioWrites = () =>
  server.writes((r) => r.group === "networking.istio.io" || r.group === "extensions.istio.io");

test("drift: hand edits of meshlane's objects are reverted, others' fields stay; a user's edit of their object is kept", async () => {
  seedNamespace(server, "drift");
  seedAll(server, laneApp("drift", "web"));
  seedAll(server, [
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "web-user", namespace: "drift" },
      spec: {
        hosts: ["web.example.com"],
        gateways: ["gw"],
        http: [{ route: [{ destination: { host: "web" } }] }],
      },
    },
  ]);
  await laneApi(server).create(laneObject("drift", "canary"));
  await eventually(
    () => condition(lane(server, "drift", "canary"), "Ready")?.status === "True",
    "Lane Ready",
  );
  await settle(controller, server);
  const managed = server.getObject("virtualservices", "drift", "meshlane-web") as Json;
  const user = server.getObject("virtualservices", "drift", "web-user") as Json;

  // Someone edits meshlane's VirtualService (spec and a label of their own) and the user's merged one.
  server.seed({
    ...managed,
    metadata: { ...managed.metadata, labels: { ...managed.metadata.labels, team: "web" } },
    spec: { ...managed.spec, http: [{ route: [{ destination: { host: "elsewhere" } }] }] },
  });
  server.seed({ ...user, spec: { ...user.spec, http: [] } });
  await eventually(() => {
    const m = server.getObject("virtualservices", "drift", "meshlane-web") as Json;
    return JSON.stringify(m.spec) === JSON.stringify(managed.spec);
  }, "meshlane's VirtualService reverted");
  const m = server.getObject("virtualservices", "drift", "meshlane-web") as Json;
  assert.equal(m.metadata.labels.team, "web", "a label someone else added is not ours to remove");
  // The user's object now routes nowhere lane-enabled: their spec stays, our annotations go.
  await eventually(
    () =>
      (server.getObject("virtualservices", "drift", "web-user") as Json).metadata.annotations === undefined,
    "the user's VirtualService handed back",
  );
  await settle(controller, server);
  const u = server.getObject("virtualservices", "drift", "web-user") as Json;
  assert.deepEqual(u.spec, { ...user.spec, http: [] });
});

test("no-op resync: a converged cluster costs no writes, however many resyncs", async () => {
  await settle(controller, server);
  server.resetCounters();
  controller.resyncNow();
  await new Promise((r) => setTimeout(r, 1000)); // ≈3 periodic resyncs
  await settle(controller, server);
  assert.equal(server.writes(), 0);
  assert.ok((await sampleValue(controller.metrics.reconcileTotal, { result: "success" })) > 0);
});

test("a Lane the filter refuses gets Degraded (RejectedByFilter) and changes nothing", async () => {
  seedNamespace(server, "bad");
  seedAll(server, laneApp("bad", "api"));
  await settle(controller, server);
  server.resetCounters();
  // Render's own checks accept this regex; the filter's configure refuses it.
  await laneApi(server).create(
    laneObject("bad", "broken", { dye: [{ when: { path: { regex: "a{2,1}" } } }] }),
  );
  await eventually(() => condition(lane(server, "bad", "broken"), "Degraded")?.status === "True", "Degraded");
  await settle(controller, server);
  const l = lane(server, "bad", "broken");
  assert.equal(condition(l, "Degraded").reason, "RejectedByFilter");
  assert.match(condition(l, "Degraded").message, /invalid repetition range/);
  assert.equal(condition(l, "Ready").status, "False");
  assert.equal(l.status.serviceCount, 0);
  assert.equal(istioWrites(), 0, "no Istio object written");
  assert.ok(
    eventsFor(server, "bad", "broken").some((e) => e.type === "Warning" && e.reason === "RejectedByFilter"),
  );
});

test("a Lane failing render's validation gets Degraded (InvalidSpec) and changes nothing", async () => {
  server.resetCounters();
  await laneApi(server).create(
    laneObject("bad", "spaced", { dye: [{ when: { headers: { "bad header": { exact: "x" } } } }] }),
  );
  await eventually(() => condition(lane(server, "bad", "spaced"), "Degraded")?.status === "True", "Degraded");
  await settle(controller, server);
  assert.equal(condition(lane(server, "bad", "spaced"), "Degraded").reason, "InvalidSpec");
  assert.equal(istioWrites(), 0);
});

test("a valid Lane edited into an invalid one keeps routing its last valid spec", async () => {
  await laneApi(server).create(laneObject("bad", "good"));
  await eventually(() => condition(lane(server, "bad", "good"), "Ready")?.status === "True", "Ready");
  await settle(controller, server);
  server.resetCounters();
  await laneApi(server).setSpec("bad", "good", {
    fallback: "base",
    dye: [{ when: { path: { regex: "[z-a]" } } }],
  });
  await eventually(() => condition(lane(server, "bad", "good"), "Degraded")?.status === "True", "Degraded");
  await settle(controller, server);
  const l = lane(server, "bad", "good");
  assert.equal(condition(l, "Ready").status, "True");
  assert.equal(condition(l, "Ready").reason, "LastValidSpec");
  assert.equal(l.status.observedGeneration, l.metadata.generation);
  assert.equal(istioWrites(), 0, "the routes of the last valid spec stay as they were");
});

test("garbage in meshlane.io/original-spec is reported and never applied", async () => {
  seedNamespace(server, "garbled");
  seedAll(server, laneApp("garbled", "shop"));
  seedAll(server, [
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: {
        name: "shop",
        namespace: "garbled",
        annotations: { [ORIGINAL_SPEC_ANNOTATION]: '{"hosts": ["shop"], "http": [' },
      },
      spec: { hosts: ["shop"], http: [{ route: [{ destination: { host: "shop" } }] }] },
    },
  ]);
  await laneApi(server).create(laneObject("garbled", "canary"));
  await eventually(
    () => eventsFor(server, "garbled", "shop").some((e) => e.reason === "MergeFailed"),
    "a MergeFailed event",
  );
  await settle(controller, server);
  const vs = server.getObject("virtualservices", "garbled", "shop") as Json;
  assert.equal(
    server.writes({ resource: "virtualservices", namespace: "garbled", name: "shop" }),
    0,
    "never written",
  );
  assert.deepEqual(vs.spec, { hosts: ["shop"], http: [{ route: [{ destination: { host: "shop" } }] }] });
  const ev = eventsFor(server, "garbled", "shop").find((e) => e.reason === "MergeFailed");
  assert.equal(ev.type, "Warning");
  assert.match(ev.message, /not valid JSON/);
  assert.ok(logs.lines.some((l) => l.level === "warn" && l.object === "VirtualService garbled/shop"));
  const l = lane(server, "garbled", "canary");
  assert.equal(condition(l, "Degraded").reason, "MergeFailed");
});

test("a delegate VirtualService routing to a lane-enabled Service is reported and left untouched", async () => {
  seedNamespace(server, "deleg");
  seedAll(server, laneApp("deleg", "orders"));
  const delegate = {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "orders-routes", namespace: "deleg" },
    spec: {
      http: [{ match: [{ uri: { prefix: "/orders" } }], route: [{ destination: { host: "orders" } }] }],
    },
  };
  const root = {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "front", namespace: "deleg" },
    spec: {
      hosts: ["shop.example.com"],
      gateways: ["gw"],
      http: [{ delegate: { name: "orders-routes", namespace: "deleg" } }],
    },
  };
  seedAll(server, [delegate, root]);
  await laneApi(server).create(laneObject("deleg", "canary"));
  await eventually(
    () => eventsFor(server, "deleg", "orders-routes").some((e) => e.reason === "MergeFailed"),
    "a MergeFailed event on the delegate",
  );
  await settle(controller, server);
  assert.equal(server.writes({ resource: "virtualservices", name: "orders-routes" }), 0);
  assert.deepEqual(
    (server.getObject("virtualservices", "deleg", "orders-routes") as Json).spec,
    delegate.spec,
  );
  assert.match(eventsFor(server, "deleg", "orders-routes")[0].message, /delegate VirtualService/);
});

test("a namespace that loses the enabled label gets its objects restored; its Lanes can still go", async () => {
  seedNamespace(server, "leaving");
  seedAll(server, laneApp("leaving", "cart"));
  const dr = {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: "cart", namespace: "leaving" },
    spec: { host: "cart", trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } } },
  };
  seedAll(server, [dr]);
  await laneApi(server).create(laneObject("leaving", "canary"));
  await eventually(() => server.getObject("virtualservices", "leaving", "meshlane-cart"), "lane routing");
  await settle(controller, server);
  assert.ok((server.getObject("destinationrules", "leaving", "cart") as Json).metadata.annotations);

  seedNamespace(server, "leaving", {});
  await eventually(
    () => !server.getObject("virtualservices", "leaving", "meshlane-cart"),
    "meshlane's VirtualService to be deleted",
  );
  await settle(controller, server);
  const restored = server.getObject("destinationrules", "leaving", "cart") as Json;
  assert.deepEqual(restored.spec, dr.spec);
  assert.equal(restored.metadata.annotations, undefined);

  await laneApi(server).delete("leaving", "canary");
  await eventually(() => lane(server, "leaving", "canary") === undefined, "the Lane to be finalized");
});
