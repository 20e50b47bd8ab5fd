// What both metrics providers share (docs/contracts.md, "Lane rollouts"): the built-in metric names,
// which series are the lane's and which are base's, how a p99 is read from histogram buckets, and how
// measured numbers become an Observation. Pure.
import { judge, type Observation, type RolloutMetric } from "./engine.js";

/** Percent of the lane's responses that are not 5xx. */
export const SUCCESS_RATE = "request-success-rate";
/** The 99th percentile of the lane's request durations, in milliseconds. */
export const REQUEST_DURATION = "request-duration";
export const BUILTIN_METRICS: readonly string[] = [SUCCESS_RATE, REQUEST_DURATION];

/** The filter's series the built-in metrics read (COMMON contract; docs/contracts.md, "Metrics"). */
export const RESPONSES_METRIC = "meshlane_responses_total";
export const DURATION_METRIC = "meshlane_request_duration_milliseconds";
/** Where a Service's responses are counted: its sidecars, inbound. */
export const SERVICE_SIDE = { role: "sidecar", direction: "inbound" } as const;
/** Base's series: requests without a lane (`none`) and requests dyed `base`. */
export const BASE_SERIES_LANES: readonly string[] = ["none", "base"];
/** The quantile `request-duration` reports. */
export const DURATION_QUANTILE = 0.99;

/** A histogram bucket: its upper bound and the (cumulative) count of samples up to it. */
export interface Bucket {
  le: number;
  count: number;
}

/**
 * The q-quantile of cumulative buckets, as PromQL's histogram_quantile computes it: find the bucket
 * holding rank q·total and interpolate linearly inside it (from 0 for the first bucket); a rank in
 * the +Inf bucket answers the highest finite bound. NaN without samples.
 */
export function histogramQuantile(q: number, buckets: Bucket[]): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1].le !== Infinity) return NaN;
  const total = sorted[sorted.length - 1].count;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let i = sorted.findIndex((b) => b.count >= rank);
  if (i < 0) i = sorted.length - 1;
  if (sorted[i].le === Infinity) return sorted[sorted.length - 2].le;
  const start = i === 0 ? 0 : sorted[i - 1].le;
  const below = i === 0 ? 0 : sorted[i - 1].count;
  const inBucket = sorted[i].count - below;
  if (inBucket <= 0) return sorted[i].le;
  if (i === 0 && sorted[0].le <= 0) return sorted[0].le;
  return start + (sorted[i].le - start) * ((rank - below) / inBucket);
}

/** The numbers measured for one metric and scope (a Service, or the lane as a whole). */
export interface Measured {
  value?: number;
  /** Requests the value was computed over. */
  requests?: number;
  /** Base's value over the same window and scope, for `maxIncreaseOverBase`. */
  base?: number;
  /** Why there is no value (the source failed): the observation is then "none". */
  error?: string;
}

/**
 * Turns measured numbers into an Observation. Never a pass without a finite value from at least
 * `minRequests` requests: anything missing is `verdict: "none"` with the reason in words.
 */
export function observe(
  metric: RolloutMetric,
  service: string | undefined,
  m: Measured,
  minRequests: number,
): Observation {
  const o: Observation = { metric: metric.name, verdict: "none" };
  if (service !== undefined) o.service = service;
  if (m.value !== undefined) o.value = m.value;
  if (m.requests !== undefined) o.requests = m.requests;
  const where = service === undefined ? "the lane" : service;
  if (m.error !== undefined) return { ...o, reason: m.error };
  if (m.requests === undefined) return { ...o, reason: `no request count for ${where}` };
  if (m.requests < minRequests)
    return {
      ...o,
      reason: `${m.requests} requests for ${where} in the window, fewer than minRequests ${minRequests}`,
    };
  if (m.value === undefined) return { ...o, reason: `empty result for ${where}` };
  if (!Number.isFinite(m.value)) return { ...o, reason: `${metric.name} for ${where} is ${m.value}` };
  if (metric.maxIncreaseOverBase !== undefined && (m.base === undefined || !Number.isFinite(m.base)))
    return { ...o, reason: `no base value for ${where} to compare with (maxIncreaseOverBase)` };
  const verdict = judge(metric, m.value, m.requests, minRequests, m.base);
  const out: Observation = { ...o, verdict };
  if (verdict === "fail") out.reason = failReason(metric, m);
  return out;
}

function failReason(metric: RolloutMetric, m: Measured): string {
  const { min, max } = metric.thresholdRange;
  const v = m.value as number;
  if (min !== undefined && v < min) return `${round(v)} below min ${min}`;
  if (max !== undefined && v > max) return `${round(v)} above max ${max}`;
  return `${round(v)} exceeds base ${round(m.base as number)} by more than ${metric.maxIncreaseOverBase}`;
}

/** Two decimals, for messages and printing. */
export function round(v: number): number {
  return Math.round(v * 100) / 100;
}
