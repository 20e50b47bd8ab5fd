// Two controller replicas on one Lease: one leads and writes, the other keeps warm caches and writes
// nothing; when the leader dies without releasing the Lease, the standby takes over once the lease
// expires (never before, and never two leaders at once) and carries on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sampleValue } from "../../controller/src/reconcile/metrics.js";
import {
  eventually,
  FakeApiServer,
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

const LEASE_MS = 2000;

test("two replicas: only the leader writes; the standby takes over within the lease duration", async (t) => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const election = {
    namespace: "meshlane-system",
    leaseDurationMs: LEASE_MS,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
  };
  const replicas: LaneController[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    for (const identity of ["replica-a", "replica-b"]) {
      replicas.push(await startController(server, { identity, leaderElection: election, resyncMs: 1000 }));
    }
    // Both replicas share this process's event loop, so sampling sees every leadership change in order:
    // at no sample may both lead (safety), whatever the machine's load.
    let overlaps = 0;
    sampler = setInterval(() => {
      if (replicas.filter((r) => r.isLeader).length > 1) overlaps++;
    }, 5);
    let leader = (await eventually(() => replicas.find((r) => r.isLeader), "a leader")) as LaneController;
    const holder = () =>
      (server.getObject("leases", "meshlane-system", "meshlane-controller") as Json).spec as {
        holderIdentity: string;
        leaseTransitions?: number;
      };
    const transitionsAtStart = holder().leaseTransitions ?? 0;

    seedNamespace(server, "ha");
    seedAll(server, laneApp("ha", "web"));
    await laneApi(server).create(laneObject("ha", "canary"));
    await eventually(() => server.getObject("virtualservices", "ha", "meshlane-web"), "the leader's writes");
    await settle(leader, server);
    // On a starved event loop (a loaded machine) the leader may miss its renew deadline and rightly
    // hand the Lease over; the Lease's transitions tell. A replica that never held the Lease must not
    // have written or reconciled anything.
    const handedOver = (holder().leaseTransitions ?? 0) !== transitionsAtStart;
    if (handedOver) {
      t.diagnostic("the Lease changed hands under load before the failover step");
      leader = (await eventually(() => replicas.find((r) => r.isLeader), "a leader")) as LaneController;
    }
    const standby = replicas.find((r) => r !== leader) as LaneController;
    assert.ok(leader.writeCount > 0);
    if (!handedOver) {
      assert.equal(standby.writeCount, 0, "the standby wrote nothing");
      assert.equal(
        await sampleValue(standby.metrics.reconcileTotal, { result: "success" }),
        0,
        "nor reconciled",
      );
    }
    assert.equal(holder().holderIdentity, leader === replicas[0] ? "replica-a" : "replica-b");

    // The leader dies (no release): the standby takes the Lease once it expires, never before.
    await leader.stop({ releaseLease: false });
    const renewed = Date.parse(
      (server.getObject("leases", "meshlane-system", "meshlane-controller") as Json).spec.renewTime,
    );
    await eventually(() => standby.isLeader, "the standby to take over", 20_000, 20);
    const takeoverMs = Date.now() - renewed;
    assert.ok(
      takeoverMs >= LEASE_MS,
      `took over ${takeoverMs} ms after the last renewal (lease ${LEASE_MS} ms)`,
    );
    clearInterval(sampler);
    assert.equal(overlaps, 0, "two replicas led at once");

    seedAll(server, laneApp("ha", "api"));
    await eventually(
      () => server.getObject("virtualservices", "ha", "meshlane-api"),
      "the new leader's writes",
    );
    await settle(standby, server);
    assert.ok(standby.writeCount > 0);
  } finally {
    clearInterval(sampler);
    for (const r of replicas) await r.stop();
    await server.stop();
  }
});
