// What a metrics source answers for a rollout's analysis (docs/contracts.md, "Lane rollouts"). The
// controller and the demo ask a MetricsProvider once per analysis interval and feed the observations
// to the step engine (engine.ts) as one round. Providers: Prometheus over its HTTP API, and an embedded
// one that scrapes the proxies' Prometheus-format stats endpoints itself.
import type { Observation, RolloutMetric } from "./engine.js";

/** The lane and Services one analysis round judges. */
export interface AnalysisTarget {
  /** The Lane's namespace. */
  namespace: string;
  /** The lane's name (the value of the lane header). */
  lane: string;
  /** The lane-enabled Services the lane's requests pass through. */
  services: string[];
  /** `spec.rollout.analysis.metrics`. */
  metrics: RolloutMetric[];
  /** The window each value is computed over: `spec.rollout.analysis.interval` (e.g. `1m`). */
  window: string;
  /** `spec.rollout.analysis.minRequests`: fewer requests in the window give no verdict. */
  minRequests: number;
}

/**
 * A source of analysis verdicts. `observe` answers one Observation per metric and Service of the
 * target, plus one per metric for the lane as a whole (no `service`). It never throws and never turns
 * a failure into a pass: a source that is down, a query error, NaN, an empty result or too few
 * requests is an Observation with `verdict: "none"` and a `reason` in words.
 */
export interface MetricsProvider {
  observe(target: AnalysisTarget, signal?: AbortSignal): Promise<Observation[]>;
}
