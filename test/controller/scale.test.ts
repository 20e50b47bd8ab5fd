// 1,000 Services × 5 Lanes from empty: the controller converges, writes each object that must change
// once, reports every Service in each Lane's status, and a resync of the converged cluster writes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  condition,
  FakeApiServer,
  laneApp,
  laneObject,
  objectWrites,
  seedAll,
  seedNamespace,
  settle,
  startController,
  type Json,
} from "./helpers.js";

const SERVICES = 1000;
const LANES = ["l0", "l1", "l2", "l3", "l4"];

test("1,000 Services × 5 Lanes converge with one write per object; a resync then writes nothing", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 300, historyLimit: 20_000 });
  seedNamespace(server, "big");
  for (const l of LANES) seedAll(server, [laneObject("big", l)]);
  for (let i = 0; i < SERVICES; i++)
    seedAll(server, laneApp("big", `svc-${i}`, ["base", LANES[i % LANES.length]]));
  server.resetCounters();
  const controller = await startController(server, { resyncMs: 0 });
  try {
    await settle(controller, server, "1,000 Services to converge", 240_000);
    const vss = server.listObjects("virtualservices", "big") as Json[];
    const drs = server.listObjects("destinationrules", "big") as Json[];
    assert.equal(vss.length, SERVICES);
    assert.equal(drs.length, SERVICES);
    const vs7 = vss.find((v) => v.metadata.name === "meshlane-svc-7");
    assert.deepEqual(
      vs7.spec.http.map((r: Json) => [r.name ?? "default", r.route[0].destination.subset]),
      // Only l2 has pods behind svc-7; the other lanes fall back to base, which the default route serves.
      [
        ["meshlane-l2", "l2"],
        ["default", "base"],
      ],
    );
    assert.equal(server.listObjects("envoyfilters", "istio-system").length, 1, "the edge filter");
    assert.equal(server.listObjects("envoyfilters", "big").length, 1, "the namespace's sidecar filter");
    for (const l of LANES) {
      const lane = server.getObject("lanes", "big", l) as Json;
      assert.equal(lane.status.serviceCount, SERVICES);
      assert.equal(condition(lane, "Ready").status, "True");
    }
    // Objects: 1,000 VirtualServices, 1,000 DestinationRules, 2 EnvoyFilters; Lanes: finalizer and status.
    assert.equal(objectWrites(server), 2 * SERVICES + 2 + 2 * LANES.length, "one write per object to change");

    server.resetCounters();
    controller.resyncNow();
    await settle(controller, server, "the resync", 120_000);
    assert.equal(server.writes(), 0);
  } finally {
    await controller.stop();
    await server.stop();
  }
});
