import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { LeaderElector, type LeaderElectorOptions } from "../../controller/src/reconcile/leader.js";
import { createLogger } from "../../controller/src/reconcile/log.js";
import { FakeApiServer } from "../apiserver/index.js";
import { createNamespaces, eventually } from "../apiserver/testutil.js";

let server: FakeApiServer;

before(async () => {
  server = await FakeApiServer.start();
  await createNamespaces(server.kubeConfig(), "l1", "l2", "l3", "l4", "l5");
});
after(() => server.stop());

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
  acquireTime?: string;
  leaseTransitions?: number;
  leaseDurationSeconds?: number;
}
const leaseSpec = (ns: string, name = "meshlane") =>
  (server.getObject("leases", ns, name) as { spec: LeaseSpec } | undefined)?.spec;

function elector(ns: string, identity: string, extra: Partial<LeaderElectorOptions> = {}) {
  const log: string[] = [];
  const e = new LeaderElector({
    kc: server.kubeConfig(),
    namespace: ns,
    name: "meshlane",
    identity,
    leaseDurationMs: 2000,
    renewDeadlineMs: 1500,
    retryPeriodMs: 200,
    onStartedLeading: (signal) => {
      log.push("start");
      signal.addEventListener("abort", () => log.push("signal-aborted"));
    },
    onStoppedLeading: () => log.push("stop"),
    ...extra,
  });
  return { e, log };
}

test("two electors: exactly one leads, the other stands by and sees who leads", async () => {
  const a = elector("l1", "a");
  const b = elector("l1", "b");
  a.e.start();
  b.e.start();
  await eventually(() => a.e.isLeader || b.e.isLeader, "a leader");
  const [leader, standby] = a.e.isLeader ? [a, b] : [b, a];
  for (let i = 0; i < 10; i++) {
    assert.equal(Number(a.e.isLeader) + Number(b.e.isLeader), 1, "never two leaders");
    await sleep(100);
  }
  const id = leader === a ? "a" : "b";
  await eventually(() => standby.e.leader === id, "the standby to observe the leader");
  assert.equal(leaseSpec("l1")?.holderIdentity, id);
  assert.match(leaseSpec("l1")?.renewTime ?? "", /\.\d{6}Z$/, "MicroTime with six digits");
  assert.ok(leader.e.healthy() && standby.e.healthy());
  await standby.e.stop();
  await leader.e.stop();
});

test("when the leader stops renewing, the standby takes over once the lease has expired", async () => {
  const a = elector("l2", "a");
  a.e.start();
  await eventually(() => a.e.isLeader, "a leads");
  const b = elector("l2", "b");
  b.e.start();
  await sleep(300);
  assert.equal(b.e.isLeader, false);

  await a.e.stop({ release: false }); // a crash: the lease is left as it was
  const last = leaseSpec("l2") as LeaseSpec;
  assert.equal(last.holderIdentity, "a");
  await eventually(() => b.e.isLeader, "b takes over", 20_000);
  const now = leaseSpec("l2") as LeaseSpec;
  assert.equal(now.holderIdentity, "b");
  assert.equal(now.leaseTransitions, (last.leaseTransitions ?? 0) + 1);
  const expiredAt = Date.parse(last.renewTime ?? "") + (last.leaseDurationSeconds ?? 0) * 1000;
  assert.ok(Date.parse(now.acquireTime ?? "") >= expiredAt, "b did not take the lease before it expired");
  assert.deepEqual(b.log, ["start"]);
  await b.e.stop();
});

test("a graceful stop releases the lease and the standby takes over without waiting for expiry", async () => {
  const slow = { leaseDurationMs: 30_000, renewDeadlineMs: 20_000, retryPeriodMs: 100 };
  const a = elector("l3", "a", slow);
  a.e.start();
  await eventually(() => a.e.isLeader, "a leads");
  const b = elector("l3", "b", slow);
  b.e.start();
  await eventually(() => b.e.leader === "a", "b sees a");

  const renewedByA = Date.parse(leaseSpec("l3")?.renewTime ?? "");
  await a.e.stop();
  assert.deepEqual(a.log, ["start", "signal-aborted", "stop"]);
  await eventually(() => b.e.isLeader, "b takes over", 20_000);
  const acquired = Date.parse(leaseSpec("l3")?.acquireTime ?? "");
  assert.ok(acquired < renewedByA + 30_000, "taken over before a's lease would have expired");
  await b.e.stop();
  assert.equal(leaseSpec("l3")?.holderIdentity, "", "b released it too");
});

test("a leader that cannot renew within renewDeadline steps down", async () => {
  const a = elector("l4", "a");
  a.e.start();
  await eventually(() => a.e.isLeader, "a leads");
  const fail = server.injectFailures({
    verb: "update",
    resource: "leases",
    namespace: "l4",
    status: 500,
    count: Infinity,
  });
  await eventually(() => !a.e.isLeader, "a steps down", 20_000);
  assert.deepEqual(a.log, ["start", "signal-aborted", "stop"]);
  assert.ok(fail.hits >= 2, "it kept trying to renew until the deadline");
  fail.cancel();
  await eventually(() => a.e.isLeader, "a leads again once the API recovers", 20_000);
  await a.e.stop();
});

test("racing candidates for a missing lease: one create wins, the other gets 409 and stands by", async () => {
  const electors = ["x", "y", "z"].map((id) => elector("l5", id));
  for (const { e } of electors) e.start();
  await eventually(() => electors.some(({ e }) => e.isLeader), "a leader");
  await sleep(500);
  assert.equal(electors.filter(({ e }) => e.isLeader).length, 1);
  assert.equal(server.count({ verb: "create", resource: "leases", namespace: "l5", code: 201 }), 1);
  for (const { e } of electors) await e.stop();
});

test("a lease it may not use (403) is reported once, readiness says why, and it leads once allowed", async () => {
  await createNamespaces(server.kubeConfig(), "l6");
  const records: { level: string; msg: string }[] = [];
  const logger = createLogger({ level: "debug", sink: (line) => records.push(JSON.parse(line)) });
  const denied = server.injectFailures({
    resource: "leases",
    namespace: "l6",
    status: 403,
    count: Infinity,
    message: 'leases.coordination.k8s.io "meshlane" is forbidden: User "x" cannot get resource "leases"',
  });
  const a = elector("l6", "a", { logger });
  a.e.start();
  await eventually(() => denied.hits >= 3, "three refused tries");
  const loud = records.filter((r) => r.level === "error" || r.level === "warn");
  assert.equal(loud.length, 1, JSON.stringify(loud));
  assert.match(loud[0].msg, /not allowed to use the Lease l6\/meshlane .*bind manifests\/rbac\.yaml's Role/);
  const r = a.e.readiness();
  assert.equal(r.ok, false);
  assert.equal(r.reason, loud[0].msg);
  denied.cancel();
  await eventually(() => a.e.isLeader, "leads once allowed", 20_000);
  assert.equal(a.e.readiness().ok, true);
  assert.ok(records.some((x) => x.msg === "the lease is reachable again"));
  await a.e.stop();
});
