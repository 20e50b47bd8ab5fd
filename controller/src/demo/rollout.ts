// `meshlane demo --rollout`: a lane's rollout on the local mesh. Generated load goes through the edge
// each round; the embedded provider scrapes the proxies' stats endpoints; the pure step engine decides;
// the edge gets the Lane's dye rules followed by `rolloutRules(...)` for the current share, as the
// controller writes them to the gateway. A virtual clock moves one analysis interval per round, so
// nothing waits for real time.
import {
  roundVerdict,
  step,
  type Observation,
  type RolloutSpec,
  type RolloutStatus,
} from "../rollout/engine.js";
import { rolloutRules } from "../rollout/gateway.js";
import { EmbeddedProvider } from "../rollout/embedded.js";
import { parseDuration } from "../rollout/duration.js";
import { round } from "../rollout/analysis.js";
import type { AnalysisTarget } from "../rollout/provider.js";
import type { Mesh } from "./mesh.js";
import { DEMO_NAMESPACE } from "./stats.js";

export const ROLLOUT_LANE = "canary";
export const USER_HEADER = "x-user";

/** The demo's rollout: four steps, judged every interval, rolled back after two failed rounds. */
export const DEMO_ROLLOUT: RolloutSpec = {
  stickyBy: { header: USER_HEADER },
  steps: [
    { percent: 10, pause: "1m" },
    { percent: 25, pause: "1m" },
    { percent: 50, pause: "1m" },
    { percent: 100, pause: "1m" },
  ],
  analysis: {
    interval: "1m",
    failureLimit: 2,
    minRequests: 10,
    progressDeadline: "3m",
    metrics: [
      { name: "request-success-rate", thresholdRange: { min: 95 } },
      // Generous: the demo shares the machine with whatever else runs; the mesh answers in milliseconds.
      { name: "request-duration", thresholdRange: { max: 2500 } },
    ],
  },
  promotion: "manual",
};

export interface RolloutDemoOptions {
  mesh: Mesh;
  /** The Lane's own edge config (its dye rules); the rollout rule goes after them. */
  edgeConfig: Record<string, unknown>;
  spec?: RolloutSpec;
  /** Requests per round (default 200), from USERS different users plus a tester. */
  requestsPerRound?: number;
  out: (line: string) => void;
  /** Rounds before giving up (default: enough for every step and the deadline). */
  maxRounds?: number;
}

export interface RolloutDemoResult {
  status: RolloutStatus;
  rounds: number;
  failedRequests: number;
}

const USERS = 1000;

/** The edge config for a share: the Lane's own rules first, then the sticky rollout rule. */
export function edgeConfigAt(
  edge: Record<string, unknown>,
  spec: RolloutSpec,
  percent: number,
): Record<string, unknown> {
  const own = Array.isArray(edge.rules) ? (edge.rules as unknown[]) : [];
  return {
    ...edge,
    rules: [...own, ...rolloutRules([{ lane: ROLLOUT_LANE, percent, stickyBy: spec.stickyBy }])],
  };
}

function describeObservation(o: Observation, spec: RolloutSpec): string {
  const m = spec.analysis?.metrics.find((x) => x.name === o.metric);
  const range = m
    ? [
        m.thresholdRange.min !== undefined ? `min ${m.thresholdRange.min}` : "",
        m.thresholdRange.max !== undefined ? `max ${m.thresholdRange.max}` : "",
      ]
        .filter((x) => x !== "")
        .join(", ")
    : "";
  const value = o.value === undefined ? "-" : String(round(o.value));
  const why = o.reason ? `  (${o.reason})` : "";
  return `    ${o.metric.padEnd(21)} ${(o.service ?? "(lane)").padEnd(7)} ${o.verdict.padEnd(4)} ${value.padStart(7)}  n=${String(o.requests ?? "-").padEnd(4)} [${range}]${why}`;
}

/** Runs the rollout to a terminal phase (or maxRounds); prints each step, round and verdict. */
export async function runRolloutDemo(o: RolloutDemoOptions): Promise<RolloutDemoResult> {
  const spec = o.spec ?? DEMO_ROLLOUT;
  const analysis = spec.analysis;
  if (analysis === undefined) throw new Error("the demo rollout needs an analysis");
  const intervalMs = parseDuration(analysis.interval) ?? 60_000;
  const perRound = o.requestsPerRound ?? 200;
  const maxRounds =
    o.maxRounds ??
    spec.steps.length * 2 + Math.ceil((parseDuration(analysis.progressDeadline) ?? 0) / intervalMs) + 4;
  const services = [...new Set(o.mesh.instances.map((i) => i.service))];
  const provider = new EmbeddedProvider({ targets: () => o.mesh.stats });
  const target: AnalysisTarget = {
    namespace: DEMO_NAMESPACE,
    lane: ROLLOUT_LANE,
    services,
    metrics: analysis.metrics,
    window: analysis.interval,
    minRequests: analysis.minRequests,
  };
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const clock = () => `t+${Math.round((now - Date.UTC(2026, 0, 1, 12, 0, 0)) / 60_000)}m`;
  let percent = 0;
  const apply = (p: number) => {
    if (p === percent) return;
    o.mesh.configureEdge(edgeConfigAt(o.edgeConfig, spec, p));
    o.out(
      `  edge reconfigured: ${p}% of users (${USER_HEADER}, sticky) → ${ROLLOUT_LANE}, after the dye rules`,
    );
    percent = p;
  };

  // Warm-up (the proxies' first requests compile code paths), then the starting point for the
  // embedded provider's deltas, then the first step.
  for (let i = 0; i < 20; i++) await o.mesh.request({ agent: "mobile", [USER_HEADER]: `warm-up-${i}` });
  await provider.observe(target);
  let r = step(spec, undefined, new Date(now));
  for (const e of r.events) o.out(`[${clock()}] ${e.reason}: ${e.message}`);
  apply(r.percent);

  let rounds = 0;
  let failedRequests = 0;
  let seq = 0;
  const terminal = ["Succeeded", "RolledBack", "Aborted"];
  while (!terminal.includes(r.status.phase) && rounds < maxRounds) {
    rounds++;
    // One interval of load: distinct users, and a tester the dye rule always sends to the lane.
    const batch: Promise<void>[] = [];
    for (let i = 0; i < perRound; i++) {
      const user = `user-${(seq++ * 7919) % USERS}`;
      const headers: Record<string, string> = i % 20 === 0 ? { agent: "pc" } : { agent: "mobile" };
      headers[USER_HEADER] = user;
      batch.push(
        o.mesh.request(headers).then(
          (res) => {
            if (res.status >= 500) failedRequests++;
          },
          () => {
            failedRequests++;
          },
        ),
      );
      if (batch.length >= 16) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    now += intervalMs;
    const observations = await provider.observe(target);
    o.out(`[${clock()}] analysis round ${rounds} at ${percent}%:`);
    for (const ob of observations) o.out(describeObservation(ob, spec));
    r = step(spec, r.status, new Date(now), { rounds: [observations] });
    o.out(
      `  round verdict: ${roundVerdict(spec, observations)}; consecutive failed rounds ${r.status.failures}/${analysis.failureLimit}`,
    );
    for (const e of r.events) o.out(`[${clock()}] ${e.reason}: ${e.message}`);
    apply(r.percent);
  }
  return { status: r.status, rounds, failedRequests };
}

/**
 * The phase the demo's flags lead to. A request passes `lanes` of the lane's workloads, each failing
 * `errorRate` percent on its own, so the first of them answers (1 − rate)^lanes of its requests well
 * (mocka → mockb → mockc: two canary workloads). RolledBack when that is below the success-rate
 * threshold, else Succeeded. Rates right at the edge (about 2.5 % in the demo) may go either way.
 */
export function expectedPhase(
  spec: RolloutSpec,
  errorRate: number,
  lanes: number,
): "Succeeded" | "RolledBack" {
  const min = spec.analysis?.metrics.find((m) => m.name === "request-success-rate")?.thresholdRange.min;
  const success = 100 * (1 - errorRate / 100) ** Math.max(1, lanes);
  return min !== undefined && success < min ? "RolledBack" : "Succeeded";
}
