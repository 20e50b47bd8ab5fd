// The controller under faults, as seen on a real API server: a failover during a rejected edit (the last
// valid spec is read back from the cluster), writes the server refuses (reported on the Lanes, counted,
// retried with backoff), a namespace that leaves the selection, an API server outage (/readyz), and
// kinds that cannot be listed (only what depends on them waits).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  captureLogs,
  condition,
  eventually,
  FakeApiServer,
  lane,
  laneApi,
  laneApp,
  laneObject,
  LaneController,
  newController,
  seedAll,
  seedNamespace,
  settle,
  startController,
  type Json,
} from "./helpers.js";
import type { Logger } from "../../controller/src/reconcile/log.js";

function laneRoute(server: FakeApiServer, ns: string, service: string, laneName: string): boolean {
  const vs = server.getObject("virtualservices", ns, `meshlane-${service}`) as Json;
  return !!vs?.spec?.http?.some((r: Json) => r.name === `meshlane-${laneName}`);
}

const filterObjects = (server: FakeApiServer) =>
  server
    .listObjects("envoyfilters", "istio-system")
    .map((o) => (o as Json).metadata.name as string)
    .sort();

/** The ops server's answer to a path. */
async function ops(c: LaneController, path: string): Promise<{ code: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${c.port}${path}`);
  return { code: res.status, body: await res.text() };
}

/** One sample of /metrics (0 when absent), matched by name and labels. */
async function metric(c: LaneController, name: string, labels: Record<string, string> = {}): Promise<number> {
  const { body } = await ops(c, "/metrics");
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of body.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (want.every((w) => (m[2] ?? "").includes(w))) return Number(m[3]);
  }
  return 0;
}

const OPS = { ops: { port: 0, host: "127.0.0.1" } } as const;

/**
 * A controller with the ops server, started but not awaited: where a failure used to keep start() from
 * ever returning, the test then fails on what it waits for instead of hanging. Stop it, then await
 * `started`.
 */
async function launch(server: FakeApiServer, logger?: Logger) {
  const controller = await newController(server, {
    ops: { port: 0, host: "127.0.0.1" },
    informer: { backoff: { base: 50, max: 500 }, watchTimeoutSeconds: 60 },
    retry: { retries: 3, base: 20, max: 200 },
    queue: { baseDelayMs: 50, maxDelayMs: 1000 },
    logger,
  });
  const started = controller.start().catch(() => undefined);
  return { controller, started };
}

test("failover during a rejected edit: the new leader routes the last valid spec read from the Lane's status", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  let controller = await startController(server);
  try {
    seedNamespace(server, "fo");
    seedAll(server, laneApp("fo", "web"));
    // The only Lane: without it, the filter's EnvoyFilters go away.
    const valid = laneObject("fo", "canary");
    await laneApi(server).create(valid);
    await eventually(() => laneRoute(server, "fo", "web", "canary"), "routes of the valid Lane");
    await settle(controller, server);
    const filters = filterObjects(server);
    assert.ok(filters.length > 0, "the filter's EnvoyFilters are in place");
    const stored = lane(server, "fo", "canary").status;
    assert.equal(stored.lastValidGeneration, 1);
    assert.deepEqual(stored.lastValidSpec, lane(server, "fo", "canary").spec);

    // A rejected edit: the leader keeps routing generation 1.
    await laneApi(server).setSpec("fo", "canary", {
      fallback: "base",
      dye: [{ when: { path: { regex: "[z-a]" } } }],
    });
    await eventually(
      () => condition(lane(server, "fo", "canary"), "Degraded")?.status === "True",
      "Degraded",
    );
    await settle(controller, server);
    assert.ok(laneRoute(server, "fo", "web", "canary"));

    // Failover: the leader dies without a word; a new one starts with nothing in memory.
    await controller.stop({ releaseLease: false });
    server.resetCounters();
    controller = await startController(server, { identity: "replica-b" });
    await settle(controller, server, "the new leader to converge");
    assert.equal(server.count({ verb: "delete" }), 0, "nothing deleted");
    assert.equal(
      server.writes((r) => r.resource !== "events"),
      0,
      "nothing written: not an Istio object, not a status",
    );
    assert.ok(laneRoute(server, "fo", "web", "canary"), "the lane's routes stay");
    assert.deepEqual(filterObjects(server), filters, "the filter's EnvoyFilters stay");
    const l = lane(server, "fo", "canary");
    assert.equal(condition(l, "Degraded").status, "True");
    assert.match(
      condition(l, "Degraded").message,
      /rules\[0\]\.when\.path\.regex: .*invalid character class range/,
    );
    assert.equal(condition(l, "Ready").reason, "LastValidSpec");
    assert.match(condition(l, "Ready").message, /generation 2 is not applied; still routing generation 1/);
    assert.equal(l.status.lastValidGeneration, 1);

    // Fixed again (with another rule): routed as written, stored as the new last valid spec.
    const fixed = { fallback: "base", dye: [{ when: { headers: { "x-fixed": { exact: "yes" } } } }] };
    await laneApi(server).setSpec("fo", "canary", fixed);
    await eventually(
      () => lane(server, "fo", "canary").status?.lastValidGeneration === 3,
      "generation 3 stored",
    );
    await settle(controller, server);
    assert.equal(condition(lane(server, "fo", "canary"), "Ready").reason, "Routed");
    assert.match(JSON.stringify(server.listObjects("envoyfilters", "istio-system")), /x-fixed/);

    // Broken again, and another failover: generation 3 is what stays, not the first replica's memory.
    await laneApi(server).setSpec("fo", "canary", {
      fallback: "base",
      dye: [{ when: { path: { regex: "(" } } }],
    });
    await eventually(
      () => condition(lane(server, "fo", "canary"), "Degraded")?.status === "True",
      "Degraded",
    );
    await settle(controller, server);
    await controller.stop({ releaseLease: false });
    server.resetCounters();
    controller = await startController(server, { identity: "replica-c" });
    await settle(controller, server, "the third leader to converge");
    assert.equal(server.count({ verb: "delete" }), 0);
    assert.equal(
      server.writes((r) => r.resource !== "events"),
      0,
      "nothing written",
    );
    assert.match(condition(lane(server, "fo", "canary"), "Ready").message, /still routing generation 3/);
    assert.match(JSON.stringify(server.listObjects("envoyfilters", "istio-system")), /x-fixed/);
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("a refused EnvoyFilter write: Lanes not Ready with the object and error, counted, retried with backoff until it passes", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const refused = server.injectFailures({
    verb: "patch",
    resource: "envoyfilters",
    status: 403,
    count: Infinity,
    message: 'envoyfilters.networking.istio.io "meshlane-edge" is forbidden: the role does not allow it',
  });
  const controller = await startController(server, OPS);
  try {
    seedNamespace(server, "wf");
    seedAll(server, laneApp("wf", "shop"));
    await laneApi(server).create(laneObject("wf", "canary"));
    await eventually(
      () => condition(lane(server, "wf", "canary"), "Ready")?.reason === "ApplyFailed",
      "the Lane to say its filter could not be written",
    );
    const l = lane(server, "wf", "canary");
    assert.equal(condition(l, "Ready").status, "False");
    assert.match(condition(l, "Ready").message, /EnvoyFilter istio-system\/meshlane-\w+: .*forbidden/);
    assert.equal(condition(l, "Degraded").status, "True");
    assert.ok(laneRoute(server, "wf", "shop", "canary"), "the namespace's own routes are in place");
    assert.ok(
      (await metric(controller, "meshlane_reconcile_errors_total", { namespace: "istio-system" })) > 0,
    );
    assert.ok((await metric(controller, "meshlane_failed_writes", { kind: "EnvoyFilter" })) > 0);
    // Retried by the queue's backoff (no resync in these tests), not once per resync.
    const first = refused.hits;
    await eventually(() => refused.hits > first + 2, "the write to be retried");

    refused.cancel();
    await eventually(
      () => condition(lane(server, "wf", "canary"), "Ready")?.reason === "Routed",
      "the Lane Ready once the write passes",
    );
    await settle(controller, server);
    assert.ok(filterObjects(server).length > 0, "the filter's EnvoyFilters written");
    assert.equal(condition(lane(server, "wf", "canary"), "Degraded").status, "False");
    assert.equal(await metric(controller, "meshlane_failed_writes", { kind: "EnvoyFilter" }), 0);
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("a namespace that loses the enabled label: its Lanes say so, also after a restart, and recover when it is back", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  let controller = await startController(server);
  try {
    seedNamespace(server, "off");
    seedAll(server, laneApp("off", "cart"));
    await laneApi(server).create(laneObject("off", "canary"));
    await eventually(() => laneRoute(server, "off", "cart", "canary"), "lane routing");
    await settle(controller, server);

    seedNamespace(server, "off", {});
    await eventually(
      () => condition(lane(server, "off", "canary"), "Ready")?.reason === "NamespaceNotEnabled",
      "the Lane to say its namespace is not enabled",
    );
    await settle(controller, server);
    const check = () => {
      const l = lane(server, "off", "canary");
      assert.equal(condition(l, "Ready").status, "False");
      assert.match(condition(l, "Ready").message, /meshlane\.io\/enabled=true/);
      assert.equal(l.status.serviceCount, 0);
      assert.equal(server.getObject("virtualservices", "off", "meshlane-cart"), undefined);
    };
    check();

    await controller.stop();
    controller = await startController(server, { identity: "restarted" });
    await settle(controller, server);
    check();

    seedNamespace(server, "off");
    await eventually(
      () => condition(lane(server, "off", "canary"), "Ready")?.reason === "Routed",
      "the Lane routed again",
    );
    assert.ok(laneRoute(server, "off", "cart", "canary"));
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("a Lane created in a namespace that was never enabled says so", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const controller = await startController(server);
  try {
    seedNamespace(server, "never", {});
    await laneApi(server).create(laneObject("never", "canary"));
    await eventually(
      () => condition(lane(server, "never", "canary"), "Ready")?.reason === "NamespaceNotEnabled",
      "the Lane to say its namespace is not enabled",
    );
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("/readyz fails while the watches are down (API server outage) and recovers when they resume", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const controller = await startController(server, OPS);
  try {
    seedNamespace(server, "rz");
    await settle(controller, server);
    assert.equal((await ops(controller, "/readyz")).code, 200);
    let during: { code: number; body: string } | undefined;
    let watchUp = -1;
    await server.restart({
      whileDown: async () => {
        during = await eventually(async () => {
          const r = await ops(controller, "/readyz");
          return r.code === 503 ? r : undefined;
        }, "/readyz to fail while the API server is down");
        watchUp = await metric(controller, "meshlane_watch_up", { resource: "lanes", namespace: "" });
      },
    });
    assert.match(during?.body ?? "", /watches/);
    assert.equal(watchUp, 0);
    await eventually(async () => (await ops(controller, "/readyz")).code === 200, "/readyz ok again");
    assert.equal(await metric(controller, "meshlane_watch_up", { resource: "lanes", namespace: "" }), 1);
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("EnvoyFilters that cannot be listed hold nothing else back: routes reconciled, the filter applied blind, reported on the Lanes", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const refused = server.injectFailures({
    verb: "list",
    resource: "envoyfilters",
    status: 403,
    count: Infinity,
    message:
      'envoyfilters.networking.istio.io is forbidden: User "system:serviceaccount:meshlane-system:meshlane" cannot list resource "envoyfilters" in API group "networking.istio.io" at the cluster scope',
  });
  seedNamespace(server, "iso");
  seedAll(server, laneApp("iso", "shop"));
  await laneApi(server).create(laneObject("iso", "canary"));
  const logs = captureLogs();
  const { controller, started } = await launch(server, logs.logger);
  try {
    await eventually(
      () => laneRoute(server, "iso", "shop", "canary"),
      "the app namespace reconciled",
      30_000,
    );
    await eventually(
      () => condition(lane(server, "iso", "canary"), "Degraded")?.reason === "ReadFailed",
      "the Lane to report what cannot be read",
      30_000,
    );
    const l = lane(server, "iso", "canary");
    assert.equal(condition(l, "Ready").status, "Unknown");
    assert.match(
      condition(l, "Degraded").message,
      /cannot list envoyfilters cluster-wide: HTTP 403: .*forbidden/,
    );
    // Applied without knowing what exists (server-side apply is idempotent); never deleted blind.
    await eventually(() => filterObjects(server).length > 0, "the filter applied blind", 30_000);
    assert.equal(server.count({ verb: "delete", resource: "envoyfilters" }), 0, "nothing deleted blind");
    assert.equal((await ops(controller, "/readyz")).code, 200, "the controller serves");
    assert.equal(
      await metric(controller, "meshlane_watch_up", { resource: "envoyfilters", namespace: "" }),
      0,
    );
    assert.equal(await metric(controller, "meshlane_watch_up", { resource: "lanes", namespace: "" }), 1);
    assert.ok(
      logs.lines.some((r) => r.level === "warn" && r.resource === "envoyfilters"),
      "logged",
    );

    refused.cancel();
    await eventually(
      () => condition(lane(server, "iso", "canary"), "Ready")?.reason === "Routed",
      "the Lane Ready",
      30_000,
    );
  } finally {
    await controller.stop();
    await started;
    await server.stop();
  }
});

test("an optional kind the server refuses to list cluster-wide (StatefulSets) is done without, and the Lanes say so", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const refused = server.injectFailures({
    verb: "list",
    resource: "statefulsets",
    status: 403,
    count: Infinity,
  });
  seedNamespace(server, "opt");
  seedAll(server, laneApp("opt", "shop"));
  await laneApi(server).create(laneObject("opt", "canary"));
  const { controller, started } = await launch(server);
  try {
    await eventually(() => laneRoute(server, "opt", "shop", "canary"), "Deployments' Services routed");
    await eventually(
      () => condition(lane(server, "opt", "canary"), "Degraded")?.reason === "ReadFailed",
      "the Lane to report what cannot be read",
    );
    assert.match(
      condition(lane(server, "opt", "canary"), "Degraded").message,
      /cannot list statefulsets cluster-wide: HTTP 403/,
    );
    assert.equal((await ops(controller, "/readyz")).code, 200);
    assert.equal(
      await metric(controller, "meshlane_watch_up", { resource: "statefulsets", namespace: "" }),
      0,
    );
    refused.cancel();
    await eventually(
      () => condition(lane(server, "opt", "canary"), "Ready")?.reason === "Routed",
      "the Lane Ready once StatefulSets can be listed",
    );
  } finally {
    await controller.stop();
    await started;
    await server.stop();
  }
});

test("WasmPlugins the server refuses to list: the EnvoyFilters are still written", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  server.injectFailures({
    verb: "list",
    resource: "wasmplugins",
    status: 403,
    count: Infinity,
  });
  seedNamespace(server, "wp");
  seedAll(server, laneApp("wp", "shop"));
  await laneApi(server).create(laneObject("wp", "canary"));
  const { controller, started } = await launch(server);
  try {
    await eventually(() => filterObjects(server).length > 0, "the filter's EnvoyFilters");
    await eventually(
      () => condition(lane(server, "wp", "canary"), "Degraded")?.reason === "ReadFailed",
      "the Lane to report what cannot be read",
    );
    assert.match(
      condition(lane(server, "wp", "canary"), "Degraded").message,
      /cannot list wasmplugins cluster-wide: HTTP 403/,
    );
    assert.equal((await ops(controller, "/readyz")).code, 200);
  } finally {
    await controller.stop();
    await started;
    await server.stop();
  }
});

test("an EnvoyFilter write that keeps failing with 503 (after its own retries) is reported the same way and retried", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const failing = server.injectFailures({
    verb: "patch",
    resource: "envoyfilters",
    status: 503,
    count: Infinity,
  });
  const controller = await startController(server, OPS);
  try {
    seedNamespace(server, "wf5");
    seedAll(server, laneApp("wf5", "shop"));
    await laneApi(server).create(laneObject("wf5", "canary"));
    await eventually(
      () => condition(lane(server, "wf5", "canary"), "Ready")?.reason === "ApplyFailed",
      "the Lane to say its filter could not be written",
      30_000,
    );
    assert.match(
      condition(lane(server, "wf5", "canary"), "Ready").message,
      /EnvoyFilter (istio-system|wf5)\/meshlane-/,
    );
    assert.ok((await metric(controller, "meshlane_failed_writes", { kind: "EnvoyFilter" })) > 0);
    failing.cancel();
    await eventually(
      () => condition(lane(server, "wf5", "canary"), "Ready")?.reason === "Routed",
      "the Lane Ready once the write passes",
      30_000,
    );
  } finally {
    await controller.stop();
    await server.stop();
  }
});
