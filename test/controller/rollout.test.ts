// The controller drives Lane rollouts (issue 10), over HTTP against the test API server, with a
// scripted MetricsProvider and a clock moved by hand: Pending → Progressing → Succeeded (manual and copy
// promotion), RolledBack on failing analysis, commands consumed once, a restart resuming mid-rollout,
// deleting the Lane, a metrics source that is down, an invalid rollout, and one write per gateway object
// at a step change. After moving the clock a test asks for a resync (what the requeue timer would do).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KubeClient, RESOURCES } from "../../controller/src/reconcile/kube.js";
import { meshlane } from "../cli/run.js";
import { ManualClock, ScriptedProvider, DOWN, FAIL, PASS } from "../support/metrics.js";
import {
  condition,
  eventually,
  eventsFor,
  FakeApiServer,
  lane,
  laneApi,
  laneApp,
  laneObject,
  seedAll,
  seedNamespace,
  startController,
  type Json,
  type LaneController,
} from "./helpers.js";

const NS = "shop";
const MIN = 60_000;
const ANNOTATION = "meshlane.io/rollout-command";

/** The edge plugin config's rules in the gateway's EnvoyFilter. */
function edgeRules(server: FakeApiServer): Json[] {
  const ef = server.getObject("envoyfilters", "istio-system", "meshlane-edge");
  if (!ef) return [];
  const found: Json[] = [];
  const walk = (v: unknown) => {
    if (typeof v === "string" && v.startsWith("{")) {
      try {
        const c = JSON.parse(v) as Json;
        if (c.role === "edge") found.push(c);
      } catch {
        // not a config
      }
    } else if (typeof v === "object" && v !== null) for (const x of Object.values(v)) walk(x);
  };
  walk(ef);
  return found[0]?.rules ?? [];
}

const shareRule = (server: FakeApiServer) => edgeRules(server).find((r) => r.percent !== undefined);

function rollout(server: FakeApiServer, name = "canary"): Json {
  return lane(server, NS, name)?.status?.rollout;
}

function reasons(server: FakeApiServer, name = "canary"): string[] {
  return eventsFor(server, NS, name)
    .map((e) => e.reason as string)
    .filter((r) => r.startsWith("Rollout") || r === "UnknownCommand" || r === "PromotionCopied");
}

const ANALYSIS = {
  interval: "1m",
  failureLimit: 2,
  minRequests: 10,
  progressDeadline: "2m",
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
};

interface Setup {
  server: FakeApiServer;
  clock: ManualClock;
  provider: ScriptedProvider;
  controller: LaneController;
  stop: () => Promise<void>;
}

async function setup(
  o: { provider?: ScriptedProvider | null; lanes?: string[]; clock?: ManualClock } = {},
): Promise<Setup> {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedNamespace(server, NS);
  const lanes = o.lanes ?? ["base", "canary"];
  seedAll(server, [...laneApp(NS, "web", lanes), ...laneApp(NS, "api", lanes)]);
  const clock = o.clock ?? new ManualClock();
  const provider = o.provider === undefined ? new ScriptedProvider() : o.provider;
  const controller = await startController(server, {
    now: clock.now,
    ...(provider ? { metricsProvider: provider } : {}),
  });
  const s: Setup = {
    server,
    clock,
    provider: provider ?? new ScriptedProvider(),
    controller,
    stop: async () => {
      await s.controller.stop();
      await server.stop();
    },
  };
  return s;
}

/** Moves the clock and has the controller look again (as its requeue timer would). */
function tick(s: Setup, ms: number): void {
  s.clock.advance(ms);
  s.controller.resyncNow();
}

async function command(server: FakeApiServer, verb: string, name = "canary"): Promise<void> {
  const client = new KubeClient(server.kubeConfig());
  await client.patch(RESOURCES["meshlane.io|Lane"], NS, name, "merge", {
    metadata: { annotations: { [ANNOTATION]: verb } },
  });
  client.close();
}

const annotationGone = (server: FakeApiServer, name = "canary") =>
  lane(server, NS, name)?.metadata?.annotations?.[ANNOTATION] === undefined;

test("manual promotion: Pending until the lane has a workload, then each step's share at the gateway after the dye rules, resume to Succeeded", async () => {
  const s = await setup({ lanes: ["base"] });
  const { server } = s;
  try {
    const spec = {
      rollout: {
        stickyBy: { cookie: "session" },
        steps: [{ percent: 10, pause: "1m" }, { percent: 50 }],
        analysis: ANALYSIS,
      },
    };
    await laneApi(server).create(laneObject(NS, "canary", spec));
    await eventually(() => rollout(server)?.phase === "Pending", "Pending without a canary workload", 60_000);
    assert.equal(rollout(server).percent, 0);
    assert.match(rollout(server).message, /waiting for a workload of the lane/);
    assert.equal(shareRule(server), undefined, "no share routed while Pending");

    // The canary workload appears: the rollout starts at step 1.
    seedAll(server, [...laneApp(NS, "web", ["canary"]).slice(1), ...laneApp(NS, "api", ["canary"]).slice(1)]);
    await eventually(() => shareRule(server)?.percent === 10, "the 10 % share at the gateway", 60_000);
    let r = rollout(server);
    assert.equal(r.phase, "Progressing");
    assert.equal(r.step, 0);
    assert.equal(r.percent, 10);
    assert.equal(r.stepStartedAt, new Date(s.clock.now()).toISOString());
    const rules = edgeRules(server);
    assert.deepEqual(rules.at(-1), { lane: "canary", percent: 10, stickyBy: { cookie: "session" } });
    assert.deepEqual(rules.slice(0, -1), [
      { lane: "canary", when: { headers: { "x-user": { exact: "canary" } } } },
    ]);
    await eventually(() => reasons(server).length === 2, "the start's events");
    assert.deepEqual(reasons(server), ["RolloutStarted", "RolloutStep"]);
    await eventually(
      () => condition(lane(server, NS, "canary"), "Rollout")?.reason === "Progressing",
      "the Rollout condition",
    );
    assert.equal(condition(lane(server, NS, "canary"), "Rollout").status, "True");
    assert.equal(s.provider.calls.length, 0, "no analysis before an interval has passed");

    // One interval later: a passing round, the pause is over: step 2 (no pause: waits for resume).
    // Every EnvoyFilter write anywhere (the gateway's, the sidecar ones): a step change is one write of
    // the gateway's config and nothing else.
    const efWrites = () => server.writes({ resource: "envoyfilters" });
    const edgeWrites = () =>
      server.writes({ resource: "envoyfilters", namespace: "istio-system", name: "meshlane-edge" });
    const before = efWrites();
    const edgeBefore = edgeWrites();
    tick(s, MIN);
    await eventually(() => rollout(server)?.percent === 50, "step 2", 60_000);
    r = rollout(server);
    assert.equal(r.phase, "Paused");
    assert.equal(r.pausedBy, "step");
    assert.equal(r.step, 1);
    assert.equal(r.lastRound, undefined, "a new step starts without a verdict");
    assert.equal(s.provider.calls.length, 1);
    assert.deepEqual(s.provider.calls[0], {
      namespace: NS,
      lane: "canary",
      services: ["api", "web"],
      metrics: ANALYSIS.metrics,
      window: "1m",
      minRequests: 10,
    });
    const checks = r.checks.map((c: Json) => `${c.metric}/${c.service ?? "lane"}=${c.verdict}:${c.value}`);
    assert.deepEqual(checks.sort(), [
      "request-success-rate/api=pass:100",
      "request-success-rate/lane=pass:100",
      "request-success-rate/web=pass:100",
    ]);
    await eventually(() => shareRule(server)?.percent === 50, "the 50 % share at the gateway", 60_000);
    await s.controller.idle();
    assert.equal(edgeWrites() - edgeBefore, 1, "one write of the gateway's EnvoyFilter for the step change");
    assert.equal(efWrites() - before, 1, "and no other EnvoyFilter written");

    // resume: the last step is done; manual promotion ends Succeeded at the last share.
    await command(server, "resume");
    await eventually(() => rollout(server)?.phase === "Succeeded", "Succeeded", 60_000);
    assert.ok(annotationGone(server), "the command annotation is removed");
    assert.equal(rollout(server).percent, 50);
    assert.match(rollout(server).message, /promotion is manual: update base/);
    await eventually(() => reasons(server).length === 5, "the events");
    assert.deepEqual(reasons(server), [
      "RolloutStarted",
      "RolloutStep",
      "RolloutStep",
      "RolloutResumed",
      "RolloutSucceeded",
    ]);
    await eventually(
      () => condition(lane(server, NS, "canary"), "Rollout")?.status === "False",
      "Rollout condition False once done",
    );
    assert.equal(condition(lane(server, NS, "canary"), "Rollout").reason, "Succeeded");
    assert.equal(shareRule(server)?.percent, 50, "the share stays until the Lane is deleted");
  } finally {
    await s.stop();
  }
});

test("copy promotion: base gets the lane's pod template, keeps its lane label and selector, and the share returns to 0 once base is ready", async () => {
  const s = await setup({ provider: null });
  const { server } = s;
  try {
    for (const svc of ["web", "api"]) {
      const d = server.getObject("deployments", NS, `${svc}-canary`) as Json;
      d.spec.template.spec.containers[0].image = "example/app:2";
      d.spec.template.metadata.annotations = { "example.com/build": "2" };
      server.seed(d);
    }
    await laneApi(server).create(
      laneObject(NS, "canary", { rollout: { steps: [{ percent: 20, pause: "30s" }], promotion: "copy" } }),
    );
    await eventually(() => shareRule(server)?.percent === 20, "20 %", 60_000);
    tick(s, 30_000);
    await eventually(
      () =>
        ["web", "api"].every(
          (svc) =>
            (server.getObject("deployments", NS, `${svc}-base`) as Json)?.spec?.template?.spec
              ?.containers?.[0]?.image === "example/app:2",
        ),
      "base's template copied",
      60_000,
    );
    for (const svc of ["web", "api"]) {
      const base = server.getObject("deployments", NS, `${svc}-base`) as Json;
      const from = server.getObject("deployments", NS, `${svc}-canary`) as Json;
      assert.deepEqual(base.spec.selector, { matchLabels: { app: svc, version: "base" } }, "selector kept");
      assert.deepEqual(base.spec.template.spec, from.spec.template.spec, "the lane's pod spec");
      // The lane's labels, base's selector labels over them, the base lane label.
      assert.deepEqual(base.spec.template.metadata.labels, {
        app: svc,
        version: "base",
        "meshlane.io/lane": "base",
      });
    }
    let r = rollout(server);
    assert.equal(r.phase, "Progressing");
    assert.deepEqual(r.promotion, { state: "Copying" });
    assert.equal(r.percent, 20, "the share stays while base rolls out");
    await eventually(
      () => /waiting until rolled out and ready/.test(rollout(server)?.message),
      "waiting for base",
    );

    // Base rolls out (a cluster's Deployment controller would write this status).
    for (const svc of ["web", "api"]) {
      const d = server.getObject("deployments", NS, `${svc}-base`) as Json;
      d.status = {
        observedGeneration: d.metadata.generation,
        replicas: 1,
        updatedReplicas: 1,
        availableReplicas: 1,
        readyReplicas: 1,
      };
      server.seed(d);
    }
    await eventually(() => rollout(server)?.phase === "Succeeded", "Succeeded", 60_000);
    r = rollout(server);
    assert.equal(r.percent, 0);
    assert.deepEqual(r.promotion, { state: "Done" });
    await eventually(() => shareRule(server) === undefined, "the share rule gone", 60_000);
    await eventually(() => reasons(server).includes("RolloutSucceeded"), "the events");
    assert.deepEqual(
      reasons(server).filter((x) => x !== "PromotionCopied"),
      ["RolloutStarted", "RolloutStep", "RolloutPromoting", "RolloutSucceeded"],
    );
    assert.equal(reasons(server).filter((x) => x === "PromotionCopied").length, 2, "one per base Deployment");
    assert.equal(server.writes({ resource: "deployments" }), 2, "each base template written once");
  } finally {
    await s.stop();
  }
});

test("failing analysis rolls back to 0 at once; retry, pause, an unknown verb and abort are each consumed once", async () => {
  const s = await setup({ provider: new ScriptedProvider(FAIL) });
  const { server } = s;
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", {
        rollout: {
          steps: [
            { percent: 10, pause: "1m" },
            { percent: 50, pause: "1m" },
          ],
          analysis: ANALYSIS,
        },
      }),
    );
    await eventually(() => shareRule(server)?.percent === 10, "10 %", 60_000);
    tick(s, MIN);
    await eventually(() => rollout(server)?.failures === 1, "one failed round", 60_000);
    assert.equal(rollout(server).phase, "Progressing");
    assert.equal(rollout(server).lastRound, "fail");
    assert.equal(rollout(server).step, 0, "a failed round does not advance");
    tick(s, MIN);
    await eventually(() => rollout(server)?.phase === "RolledBack", "RolledBack", 60_000);
    assert.equal(rollout(server).percent, 0);
    assert.match(rollout(server).message, /2 consecutive failed checks/);
    assert.ok(rollout(server).checks.every((c: Json) => c.verdict === "fail" && c.value === 62.5));
    await eventually(() => shareRule(server) === undefined, "the share gone from the gateway", 60_000);
    assert.ok(
      edgeRules(server).some((r) => r.lane === "canary"),
      "the dye rules stay",
    );
    const rolledBack = await eventually(
      () => eventsFor(server, NS, "canary").find((e) => e.reason === "RolloutRolledBack"),
      "the RolledBack event",
    );
    assert.equal(rolledBack.type, "Warning");

    s.provider.always(PASS);
    await command(server, "retry");
    await eventually(() => rollout(server)?.phase === "Progressing", "retried", 60_000);
    assert.ok(annotationGone(server));
    assert.equal(rollout(server).failures, 0);
    assert.equal(rollout(server).step, 0);
    await eventually(() => shareRule(server)?.percent === 10, "10 % again", 60_000);

    await command(server, "pause");
    await eventually(() => rollout(server)?.phase === "Paused", "paused", 60_000);
    assert.equal(rollout(server).pausedBy, "user");
    assert.ok(annotationGone(server));

    await command(server, "sideways");
    await eventually(
      () => /unknown rollout command "sideways"/.test(rollout(server)?.message),
      "unknown verb",
    );
    assert.ok(annotationGone(server));
    assert.equal(rollout(server).phase, "Paused", "nothing else changes");
    await eventually(() => reasons(server).includes("UnknownCommand"), "the UnknownCommand event");
    const unknown = eventsFor(server, NS, "canary").filter((e) => e.reason === "UnknownCommand");
    assert.equal(unknown.length, 1);
    assert.equal(unknown[0].type, "Warning");

    await command(server, "abort");
    await eventually(() => rollout(server)?.phase === "Aborted", "aborted", 60_000);
    assert.ok(annotationGone(server));
    assert.equal(rollout(server).percent, 0);
    await eventually(() => shareRule(server) === undefined, "no share", 60_000);
    // Each command acted once: one event each, although passes kept running.
    tick(s, MIN);
    await s.controller.idle();
    const count = (reason: string) => reasons(server).filter((x) => x === reason).length;
    assert.equal(count("RolloutPaused"), 1);
    assert.equal(count("RolloutAborted"), 1);
    assert.equal(count("RolloutRolledBack"), 1);
    assert.equal(count("RolloutStarted"), 2, "the start and the retry");
  } finally {
    await s.stop();
  }
});

test("a restarted controller resumes mid-rollout: same step, no step re-run, no share lowered, no gateway write", async () => {
  const clock = new ManualClock();
  const s = await setup({ clock });
  const { server } = s;
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", {
        rollout: { steps: [{ percent: 10, pause: "2m" }, { percent: 30, pause: "2m" }, { percent: 60 }] },
      }),
    );
    await eventually(() => shareRule(server)?.percent === 10, "10 %", 60_000);
    tick(s, 2 * MIN);
    await eventually(() => shareRule(server)?.percent === 30, "30 %", 60_000);
    const at = structuredClone(rollout(server));
    assert.equal(at.step, 1);
    tick(s, MIN); // half of step 2's pause
    await s.controller.stop();

    const events = reasons(server).length;
    const efWrites = server.writes({ resource: "envoyfilters" });
    s.controller = await startController(server, { now: clock.now, metricsProvider: s.provider });
    await eventually(() => s.controller.isLeader, "leading");
    await eventually(() => condition(lane(server, NS, "canary"), "Ready")?.status === "True", "ready");
    await s.controller.idle();
    assert.deepEqual(rollout(server), at, "status.rollout unchanged by the restart");
    assert.equal(reasons(server).length, events, "no step re-run");
    assert.equal(
      server.writes({ resource: "envoyfilters" }),
      efWrites,
      "the gateway config is not rewritten",
    );

    // The rest of step 2's pause counts from its start, not from the restart.
    tick(s, MIN);
    await eventually(() => rollout(server)?.step === 2, "step 3", 60_000);
    assert.equal(rollout(server).percent, 60);
    assert.equal(rollout(server).phase, "Paused");
  } finally {
    await s.stop();
  }
});

test("a command whose status write fails is not lost: it is acted on once when the write passes", async () => {
  const s = await setup();
  const { server } = s;
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", { rollout: { steps: [{ percent: 10, pause: "10m" }, { percent: 50 }] } }),
    );
    await eventually(() => rollout(server)?.phase === "Progressing", "started", 60_000);
    await eventually(
      () => condition(lane(server, NS, "canary"), "Rollout")?.reason === "Progressing",
      "its condition written",
    );
    await s.controller.idle();
    const refused = server.injectFailures({
      verb: "patch",
      resource: "lanes",
      subresource: "status",
      status: 422,
      count: 1,
    });
    await command(server, "pause");
    await eventually(() => rollout(server)?.phase === "Paused", "paused", 60_000);
    assert.equal(refused.hits, 1, "the first status write was refused");
    assert.ok(annotationGone(server));
    await eventually(() => reasons(server).includes("RolloutPaused"), "the event");
    await s.controller.idle();
    assert.equal(reasons(server).filter((r) => r === "RolloutPaused").length, 1);
  } finally {
    await s.stop();
  }
});

test("deleting a Lane mid-rollout removes its share from the gateway at once", async () => {
  const s = await setup();
  const { server } = s;
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", { rollout: { steps: [{ percent: 25, pause: "10m" }, { percent: 50 }] } }),
    );
    await eventually(() => shareRule(server)?.percent === 25, "25 %", 60_000);
    await laneApi(server).delete(NS, "canary");
    await eventually(
      () => edgeRules(server).every((r) => r.lane !== "canary"),
      "no canary rule left",
      60_000,
    );
    await eventually(() => lane(server, NS, "canary") === undefined, "the Lane finalized", 60_000);
  } finally {
    await s.stop();
  }
});

test("a metrics source that is down gives no verdict, never a pass; past progressDeadline the rollout rolls back", async () => {
  const s = await setup({ provider: new ScriptedProvider(DOWN) });
  const { server } = s;
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", {
        rollout: { steps: [{ percent: 10, pause: "1m" }, { percent: 50 }], analysis: ANALYSIS },
      }),
    );
    await eventually(() => shareRule(server)?.percent === 10, "10 %", 60_000);
    tick(s, MIN);
    await eventually(() => rollout(server)?.lastRound === "none", "a round without verdict", 60_000);
    let r = rollout(server);
    assert.equal(r.step, 0, "no verdict does not advance the due step");
    assert.equal(r.failures, 0, "nor counts as a failure");
    assert.ok(r.checks.every((c: Json) => c.verdict === "none" && /connection refused/.test(c.reason)));
    tick(s, MIN);
    await eventually(() => s.provider.calls.length === 2, "the second round");
    assert.equal(rollout(server).phase, "Progressing");
    tick(s, MIN); // the step was due at 1m; progressDeadline 2m
    await eventually(() => rollout(server)?.phase === "RolledBack", "rolled back", 60_000);
    r = rollout(server);
    assert.equal(r.percent, 0);
    assert.match(r.message, /no passing analysis within progressDeadline 2m/);
    await eventually(() => shareRule(server) === undefined, "the share gone", 60_000);
  } finally {
    await s.stop();
  }
});

test("without a metrics provider, analysis gives no verdict and the status says why", async () => {
  const s = await setup({ provider: null });
  const { server } = s;
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", {
        rollout: { steps: [{ percent: 10, pause: "1m" }, { percent: 50 }], analysis: ANALYSIS },
      }),
    );
    await eventually(() => rollout(server)?.percent === 10, "10 %", 60_000);
    tick(s, MIN);
    await eventually(
      () => /no metrics provider is configured/.test(rollout(server)?.message),
      "the message",
      60_000,
    );
    const r = rollout(server);
    assert.equal(r.step, 0);
    assert.equal(r.lastRound, "none");
    assert.match(r.message, /rolls back past progressDeadline 2m/);
  } finally {
    await s.stop();
  }
});

test("a rollout whose Lane fails validation does not start: Degraded with the field path", async () => {
  const s = await setup();
  const { server } = s;
  try {
    // Decreasing steps: the CRD cannot say it (no CEL over steps), the controller does.
    await laneApi(server).create(
      laneObject(NS, "canary", { rollout: { steps: [{ percent: 50 }, { percent: 10 }] } }),
    );
    await eventually(
      () => condition(lane(server, NS, "canary"), "Degraded")?.status === "True",
      "Degraded",
      60_000,
    );
    assert.match(
      condition(lane(server, NS, "canary"), "Degraded").message,
      /spec\.rollout\.steps\[1\]\.percent/,
    );
    await s.controller.idle();
    assert.equal(rollout(server), undefined, "not started");
    assert.equal(shareRule(server), undefined);
    assert.deepEqual(reasons(server), []);
  } finally {
    await s.stop();
  }
});

test("the controller wakes itself when a step's pause is over (its own clock, no resync asked)", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedNamespace(server, NS);
  seedAll(server, laneApp(NS, "web"));
  const controller = await startController(server);
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", { rollout: { steps: [{ percent: 10, pause: "1s" }, { percent: 20 }] } }),
    );
    await eventually(() => rollout(server)?.step === 1, "step 2 after the pause", 60_000);
    assert.equal(rollout(server).percent, 20);
    assert.equal(rollout(server).phase, "Paused");
    await eventually(() => shareRule(server)?.percent === 20, "20 % at the gateway", 60_000);
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("meshlane rollout (the CLI, as a process) and the controller: each command acted on once, status shown", async () => {
  const s = await setup();
  const { server } = s;
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-rollout-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, server.kubeConfig(NS).exportConfig());
  const cli = (...args: string[]) => meshlane(["rollout", ...args, "-n", NS, "--kubeconfig", kubeconfig]);
  try {
    await laneApi(server).create(
      laneObject(NS, "canary", {
        rollout: { stickyBy: { cookie: "session" }, steps: [{ percent: 5, pause: "10m" }, { percent: 40 }] },
      }),
    );
    await eventually(() => rollout(server)?.phase === "Progressing", "started", 60_000);
    const pause = await cli("pause", "canary");
    assert.equal(pause.code, 0, pause.stderr);
    await eventually(() => rollout(server)?.phase === "Paused" && annotationGone(server), "paused", 60_000);
    const promote = await cli("promote", "canary");
    assert.equal(promote.code, 0, promote.stderr);
    await eventually(() => rollout(server)?.phase === "Succeeded", "promoted", 60_000);
    assert.ok(annotationGone(server));
    assert.equal(rollout(server).percent, 40);
    await eventually(() => shareRule(server)?.percent === 40, "the last share at the gateway", 60_000);
    const shown = await cli("status", "canary", "-o", "json");
    assert.equal(shown.code, 0, shown.stderr);
    const st = JSON.parse(shown.stdout.trim());
    const got = st.rollout ?? st;
    assert.equal(got.phase, "Succeeded");
    assert.equal(got.percent, 40);
    await s.controller.idle();
    assert.deepEqual(
      reasons(server).filter((r) => r === "RolloutPaused" || r === "RolloutSucceeded"),
      ["RolloutPaused", "RolloutSucceeded"],
    );
  } finally {
    await s.stop();
  }
});
