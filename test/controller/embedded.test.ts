// The controller's embedded metrics provider (`--metrics-provider embedded`) over HTTP against the
// test API server: it finds the pods behind each lane's Services through the API server and scrapes
// their proxies' stats endpoints itself. The pods stand for the demo mesh's proxies: `status.podIP`
// 127.0.0.1 and `prometheus.io/port` pointing at a proxy's stats port, with real traffic through the
// demo mesh and the real filter recording the response metrics. A healthy lane passes and advances,
// a failing one rolls back, each Lane judged over its own window; unreachable endpoints, or no pods,
// give no verdict, never a pass.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { Mesh } from "../../controller/src/demo/mesh.js";
import { ManualClock } from "../support/metrics.js";
import { lanesMesh, traffic } from "../rollout/mesh-fixture.js";
import {
  eventually,
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

const NS = "demo"; // the demo mesh's namespace label
const MIN = 60_000;

let mesh: Mesh;
before(async () => {
  mesh = await lanesMesh();
});
after(async () => {
  await mesh.close();
});

/** A Running, Ready pod whose stats annotations point at `port` on 127.0.0.1. */
function pod(name: string, app: string, laneName: string, port: number, ready = true): Json {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: NS,
      labels: { app, version: laneName, "meshlane.io/lane": laneName },
      annotations: {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(port),
        "prometheus.io/path": "/stats/prometheus",
      },
    },
    spec: { containers: [{ name: "app", image: "example/app:1" }] },
    status: {
      phase: "Running",
      podIP: "127.0.0.1",
      conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    },
  };
}

/** One pod per sidecar of the demo mesh, its annotations pointing at that proxy's stats port. */
function meshPods(): Json[] {
  return mesh.stats
    .filter((e) => e.role === "sidecar")
    .map((e) => pod(e.labels.pod, e.service, e.lane ?? "base", Number(new URL(e.url).port)));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const ANALYSIS = {
  interval: "1m",
  failureLimit: 1,
  minRequests: 10,
  progressDeadline: "10m",
  metrics: [{ name: "request-success-rate", thresholdRange: { min: 95 } }],
};
const ROLLOUT = { steps: [{ percent: 10, pause: "1m" }, { percent: 50 }], analysis: ANALYSIS };

interface Setup {
  server: FakeApiServer;
  clock: ManualClock;
  controller: LaneController;
  stop: () => Promise<void>;
}

async function setup(lanes: string[]): Promise<Setup> {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedNamespace(server, NS);
  seedAll(server, [...laneApp(NS, "mocka", ["base", ...lanes]), ...laneApp(NS, "mockb", ["base"])]);
  const clock = new ManualClock();
  const controller = await startController(server, { now: clock.now, metricsProvider: "embedded" });
  return {
    server,
    clock,
    controller,
    stop: async () => {
      await controller.stop();
      await server.stop();
    },
  };
}

function rollout(server: FakeApiServer, name: string): Json {
  return lane(server, NS, name)?.status?.rollout;
}

/** Moves the clock one interval and waits for the round of each named Lane at the new time. */
async function round(s: Setup, names: string[], what: string): Promise<void> {
  s.clock.advance(MIN);
  const at = new Date(s.clock.now()).toISOString();
  s.controller.resyncNow();
  for (const name of names)
    await eventually(
      () => (rollout(s.server, name)?.checks ?? []).some((c: Json) => c.at === at),
      `${name}: ${what}`,
      60_000,
    );
}

const summary = (r: Json) =>
  Object.fromEntries(
    (r.checks as Json[]).map((c) => [`${c.metric}/${c.service ?? "lane"}`, `${c.verdict}:${c.value}`]),
  );

test("embedded: the controller scrapes the pods behind the lane's Services; a healthy lane advances, a failing one rolls back", async () => {
  const s = await setup(["canary", "broken"]);
  const { server } = s;
  try {
    seedAll(server, meshPods());
    // Neither a pod that is not Ready nor a Pending one is scraped (they point at a closed port: a
    // scrape of either would make every round no verdict).
    const closed = await freePort();
    seedAll(server, [pod("mocka-canary-starting", "mocka", "canary", closed, false)]);
    seedAll(server, [
      { ...pod("mocka-canary-pending", "mocka", "canary", closed), status: { phase: "Pending" } },
    ]);

    for (const name of ["canary", "broken"])
      await laneApi(server).create(laneObject(NS, name, { rollout: ROLLOUT }));
    for (const name of ["canary", "broken"])
      await eventually(() => rollout(server, name)?.phase === "Progressing", `${name} Progressing`, 60_000);

    // The first round is each Lane's starting point.
    await round(s, ["canary", "broken"], "the first round");
    for (const name of ["canary", "broken"]) {
      const r = rollout(server, name);
      assert.equal(r.lastRound, "none");
      assert.ok(
        r.checks.every((c: Json) => c.verdict === "none" && /first scrape of 3 endpoint/.test(c.reason)),
        JSON.stringify(r.checks),
      );
    }

    // Real traffic through the mesh; both Lanes judged in the same round, each over its own window.
    await traffic(mesh, 20);
    await round(s, ["canary", "broken"], "the second round");
    await eventually(() => rollout(server, "canary")?.percent === 50, "canary at step 2", 60_000);
    const canary = rollout(server, "canary");
    assert.equal(canary.step, 1);
    assert.deepEqual(summary(canary), {
      "request-success-rate/mocka": "pass:100",
      "request-success-rate/lane": "pass:100",
    });
    assert.equal(canary.checks.find((c: Json) => c.service === "mocka").requests, 20);

    await eventually(() => rollout(server, "broken")?.phase === "RolledBack", "broken rolled back", 60_000);
    const broken = rollout(server, "broken");
    assert.equal(broken.percent, 0);
    const mocka = broken.checks.find((c: Json) => c.service === "mocka");
    assert.equal(mocka.verdict, "fail");
    assert.equal(mocka.value, 50);
    assert.equal(mocka.requests, 20);
    assert.ok(server.count({ verb: "list", resource: "pods" }) > 0, "pods listed through the API server");
  } finally {
    await s.stop();
  }
});

test("embedded: no pods, or stats endpoints that cannot be reached, give no verdict and never advance", async () => {
  const s = await setup(["canary"]);
  const { server } = s;
  try {
    await laneApi(server).create(laneObject(NS, "canary", { rollout: ROLLOUT }));
    await eventually(() => rollout(server, "canary")?.phase === "Progressing", "Progressing", 60_000);

    await round(s, ["canary"], "a round without pods");
    let r = rollout(server, "canary");
    assert.ok(
      r.checks.every((c: Json) => c.verdict === "none" && /no Running, Ready pod behind/.test(c.reason)),
      JSON.stringify(r.checks),
    );

    // Pods whose annotations point at ports where nothing listens.
    seedAll(server, [
      pod("mocka-base-1", "mocka", "base", await freePort()),
      pod("mocka-canary-1", "mocka", "canary", await freePort()),
      pod("mockb-base-1", "mockb", "base", await freePort()),
    ]);
    for (let i = 0; i < 3; i++) {
      await traffic(mesh, 5);
      await round(s, ["canary"], `unreachable round ${i + 1}`);
      r = rollout(server, "canary");
      assert.ok(
        r.checks.every(
          (c: Json) =>
            c.verdict === "none" &&
            /scrape of http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus failed/.test(c.reason),
        ),
        JSON.stringify(r.checks),
      );
      assert.equal(r.step, 0, "no verdict never advances");
      assert.equal(r.phase, "Progressing");
      assert.equal(r.lastRound, "none");
    }
  } finally {
    await s.stop();
  }
});
