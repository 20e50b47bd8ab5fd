// Running well when the API server misbehaves: restarted mid-watch with its history compacted (resume,
// 410 Gone, relist), a storm of 409 Conflicts, throttling with Retry-After and server errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  condition,
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
} from "./helpers.js";

function hasLaneRoute(server: FakeApiServer, ns: string, vs: string, laneName: string): boolean {
  const o = server.getObject("virtualservices", ns, vs) as Json;
  return !!o?.spec?.http?.some((r: Json) => r.name === `meshlane-${laneName}`);
}

test("API server restarted mid-watch (history compacted meanwhile): the controller relists and converges", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const controller = await startController(server, { resyncMs: 1000 });
  try {
    seedNamespace(server, "r1");
    seedAll(server, laneApp("r1", "web"));
    await laneApi(server).create(laneObject("r1", "canary"));
    await eventually(() => hasLaneRoute(server, "r1", "meshlane-web", "canary"), "first convergence");
    await settle(controller, server);
    const watchesBefore = controller.state.informers.reduce((n, i) => n + i.stats.watches, 0);

    // Down for a while; a new Service appears meanwhile and the watch history is forgotten.
    await server.restart({
      downtimeMs: 400,
      whileDown: () => {
        seedAll(server, laneApp("r1", "late"));
        server.compactHistory();
      },
    });
    await eventually(
      () => hasLaneRoute(server, "r1", "meshlane-late", "canary"),
      "the change made while down",
    );
    const expired = controller.state.informers.reduce((n, i) => n + i.stats.expired, 0);
    const watchesAfter = controller.state.informers.reduce((n, i) => n + i.stats.watches, 0);
    assert.ok(watchesAfter > watchesBefore, "watches were restarted");
    assert.ok(expired > 0, "a resume from a compacted resourceVersion got 410 Gone and relisted");

    // And a change after the restart is still seen through.
    await laneApi(server).create(
      laneObject("r1", "blue", { dye: [{ when: { headers: { "x-blue": { present: true } } } }] }),
    );
    seedAll(server, laneApp("r1", "api", ["base", "blue"]));
    await eventually(() => hasLaneRoute(server, "r1", "meshlane-api", "blue"), "a change after the restart");
    await settle(controller, server);
    assert.equal(condition(lane(server, "r1", "blue"), "Ready")?.status, "True");
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("409 storm, 429 with Retry-After and 503s: retried with backoff until converged", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const controller = await startController(server, { resyncMs: 1000 });
  try {
    seedNamespace(server, "storm");
    seedAll(server, [...laneApp("storm", "a"), ...laneApp("storm", "b"), ...laneApp("storm", "c")]);
    seedAll(server, [
      {
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: "a", namespace: "storm" },
        spec: { host: "a", trafficPolicy: { loadBalancer: { simple: "LEAST_REQUEST" } } },
      },
    ]);
    const conflicts = server.injectFailures({ verb: "patch", status: 409, count: 40 });
    const throttled = server.injectFailures({ verb: "patch", status: 429, retryAfterSeconds: 0, count: 3 });
    const unavailable = server.injectFailures({ verb: ["patch", "delete"], status: 503, count: 4 });
    await laneApi(server).create(laneObject("storm", "canary"));
    await eventually(
      () => ["a", "b", "c"].every((s) => hasLaneRoute(server, "storm", `meshlane-${s}`, "canary")),
      "routes for every Service despite the storm",
      90_000,
    );
    await eventually(
      () => condition(lane(server, "storm", "canary"), "Ready")?.status === "True",
      "Lane Ready",
      90_000,
    );
    await settle(controller, server, "convergence after the storm", 90_000);
    assert.equal(conflicts.remaining, 0, "every injected 409 was hit");
    assert.equal(throttled.remaining + unavailable.remaining, 0);
    const dr = server.getObject("destinationrules", "storm", "a") as Json;
    assert.deepEqual(
      dr.spec.trafficPolicy,
      { loadBalancer: { simple: "LEAST_REQUEST" } },
      "user's policy kept",
    );
    assert.deepEqual(
      dr.spec.subsets.map((s: Json) => s.name),
      ["base", "canary"],
    );
    assert.ok(server.count({ code: 409 }) >= 40, "the 409s were answered");
    // Converged: a resync writes nothing.
    server.resetCounters();
    controller.resyncNow();
    await settle(controller, server);
    assert.equal(server.writes(), 0);
  } finally {
    await controller.stop();
    await server.stop();
  }
});
