// The lane controller at scale, against the fake API server over real HTTP: 1,000 Services × 5 Lanes
// from empty (no Istio objects yet). Measures the time from start to converged (informers listed,
// everything written, every Lane Ready), the API writes of that first pass against the number of objects
// that must change, and the writes of a resync of the converged cluster. Then one Lane starts a rollout:
// the writes of each gateway object at that step change.
// Goals: converge ≤ 10 s; first-pass writes ≤ objects to change; no-op resync 0 writes; a step change
// reaches each gateway config in exactly one write. The convergence goals also with
// `routing: "gateway-api"` (per-lane Services and HTTPRoutes instead of subsets and routes).
import { setTimeout as sleep } from "node:timers/promises";
import { defaultWasmPath } from "../controller/src/paths.js";
import {
  laneProbes,
  optionsFromConfig,
  render,
  type KubeObject,
  type RoutingMode,
} from "../controller/src/render/index.js";
import { LaneController } from "../controller/src/reconcile/controller.js";
import { computePlan } from "../controller/src/reconcile/plan.js";
import { FilterProbe } from "../controller/src/reconcile/probe.js";
import { loadWasm } from "../controller/src/reconcile/wasm.js";
import { FakeApiServer } from "../test/apiserver/index.js";

export interface ControllerBench {
  services: number;
  lanes: number;
  convergeMs: number;
  firstPassWrites: number;
  objectsToChange: number;
  noopWrites: number;
  /** Events recorded on the first pass (not counted in firstPassWrites: records, not objects). */
  firstPassEvents: number;
  /** At a rollout's step change: writes of each gateway object (EnvoyFilter/WasmPlugin of istio-system). */
  stepWritesPerGateway: Record<string, number>;
}

const NAMESPACE = "bench";

/** Services `svc-<i>`, each with a base Deployment and one for lane `lane-<i mod lanes>`. */
function workload(objects: KubeObject[], services: number, lanes: number): void {
  // Istio's namespace, where the edge filter goes: the API server refuses objects in a namespace that
  // does not exist.
  objects.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } });
  objects.push({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: NAMESPACE, labels: { "meshlane.io/enabled": "true" } },
  });
  for (let l = 0; l < lanes; l++) {
    objects.push({
      apiVersion: "meshlane.io/v1alpha1",
      kind: "Lane",
      metadata: { name: `lane-${l}`, namespace: NAMESPACE, generation: 1 },
      spec: {
        fallback: "base",
        priority: l,
        dye: [{ when: { headers: { "x-user-group": { exact: `g${l}` } } } }],
      },
    });
  }
  for (let i = 0; i < services; i++) {
    const app = `svc-${i}`;
    objects.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: app, namespace: NAMESPACE },
      spec: { selector: { app }, ports: [{ name: "http", port: 8080 }] },
    });
    for (const laneName of ["base", `lane-${i % lanes}`]) {
      objects.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${app}-${laneName}`, namespace: NAMESPACE, labels: { app } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app, "meshlane.io/lane": laneName } },
          template: {
            metadata: { labels: { app, "meshlane.io/lane": laneName } },
            spec: { containers: [{ name: "app", image: "example/app:1" }] },
          },
        },
        status: { replicas: 2, readyReplicas: 2 },
      });
    }
  }
}

export async function benchController(
  opts: { services?: number; lanes?: number; timeoutMs?: number; routing?: RoutingMode } = {},
): Promise<ControllerBench> {
  const services = opts.services ?? 1000;
  const lanes = opts.lanes ?? 5;
  const wasm = await loadWasm(defaultWasmPath);
  const renderOptions = optionsFromConfig(opts.routing ? { routing: opts.routing } : {}, wasm.sha256);
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 500, historyLimit: 20_000 });
  const objects: KubeObject[] = [];
  workload(objects, services, lanes);
  for (const o of objects) server.seed(o as Parameters<FakeApiServer["seed"]>[0]);

  // What must change: render's writes on this input, plus each Lane's finalizer and its first status.
  const probe = await FilterProbe.load(wasm.bytes);
  const laneVerdicts = probe.verdicts(laneProbes(objects, renderOptions));
  const expected = computePlan(render(objects, { ...renderOptions, laneVerdicts }), objects, 0);
  const objectsToChange = expected.size + 2 * lanes;
  server.resetCounters();

  const controller = new LaneController({
    kc: server.kubeConfig(),
    render: renderOptions,
    wasm,
    identity: "bench",
    leaderElection: false,
    resyncMs: 0,
    ops: false,
  });
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const started = performance.now();
  try {
    await controller.start();
    while (!controller.settled()) {
      if (Date.now() > deadline) throw new Error("the controller did not converge in time");
      await sleep(5);
    }
    const convergeMs = performance.now() - started;
    const firstPassWrites = server.writes((r) => r.resource !== "events");
    const firstPassEvents = server.writes({ resource: "events" });

    server.resetCounters();
    controller.resyncNow();
    await sleep(50);
    while (!controller.settled()) {
      if (Date.now() > deadline) throw new Error("the resync did not settle in time");
      await sleep(5);
    }
    const noopWrites = server.writes();

    // A step change: lane-0 starts a rollout (its first step routes 10 % of users).
    server.resetCounters();
    const lane = server.getObject("lanes", NAMESPACE, "lane-0") as KubeObject;
    const withRollout = {
      ...lane,
      spec: { ...lane.spec, rollout: { steps: [{ percent: 10, pause: "1h" }] } },
    };
    server.seed(withRollout as Parameters<FakeApiServer["seed"]>[0]);
    const edgeHasShare = () =>
      server
        .listObjects("envoyfilters", "istio-system")
        .some((o) => JSON.stringify(o).includes('\\"percent\\":10'));
    while (!edgeHasShare()) {
      if (Date.now() > deadline) throw new Error("the step change did not reach the gateway in time");
      await sleep(5);
    }
    await controller.idle();
    const stepWritesPerGateway: Record<string, number> = {};
    for (const r of server.requests) {
      if (r.namespace !== "istio-system" || !["patch", "update", "create"].includes(r.verb)) continue;
      if (r.resource !== "envoyfilters" && r.resource !== "wasmplugins") continue;
      stepWritesPerGateway[`${r.resource}/${r.name}`] =
        (stepWritesPerGateway[`${r.resource}/${r.name}`] ?? 0) + 1;
    }
    return {
      services,
      lanes,
      convergeMs,
      firstPassWrites,
      objectsToChange,
      noopWrites,
      firstPassEvents,
      stepWritesPerGateway,
    };
  } finally {
    await controller.stop();
    await server.stop();
  }
}

// `node dist/bench/controller.js [services] [lanes]` runs it alone.
if (process.argv[1]?.endsWith("/bench/controller.js")) {
  const [s, l] = process.argv.slice(2).map(Number);
  benchController({ services: s || undefined, lanes: l || undefined }).then(
    (r) => {
      console.log(`lane controller, ${r.services} Services × ${r.lanes} Lanes, fake API server over HTTP`);
      console.log(
        `  converge from empty          ${r.convergeMs.toFixed(0)} ms   goal ≤ 10000 ms: ${r.convergeMs <= 10_000 ? "met" : "MISS"}`,
      );
      console.log(
        `  first-pass writes            ${r.firstPassWrites} (objects to change ${r.objectsToChange})   goal ≤: ${r.firstPassWrites <= r.objectsToChange ? "met" : "MISS"}`,
      );
      console.log(`  events recorded on that pass ${r.firstPassEvents} (not counted above)`);
      console.log(
        `  writes on a no-op resync     ${r.noopWrites}   goal 0: ${r.noopWrites === 0 ? "met" : "MISS"}`,
      );
      const perGateway = Object.values(r.stepWritesPerGateway);
      const one = perGateway.length > 0 && perGateway.every((n) => n === 1);
      console.log(
        `  step change, writes/gateway  ${JSON.stringify(r.stepWritesPerGateway)}   goal 1 each: ${one ? "met" : "MISS"}`,
      );
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
