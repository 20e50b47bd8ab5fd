// Validation of a Lane's `spec.rollout` (docs/contracts.md, "Lane rollouts"): the same field paths and
// reasons as the rest of validateLane, defaults applied. The CRD schema checks what OpenAPI and CEL can.
import { parseDuration } from "../rollout/duration.js";
import type { RolloutAnalysis, RolloutMetric, RolloutSpec, RolloutStep } from "../rollout/engine.js";
import {
  expectObject,
  expectString,
  fail,
  Invalid,
  kindName,
  onlyFields,
  Problems,
  stickyBy,
} from "./fields.js";

/** Metrics the default analysis knows how to query; any other name needs a `query`. */
export const BUILTIN_METRICS = ["request-success-rate", "request-duration"];
export const MAX_STEPS = 32;
export const MAX_METRICS = 16;
export const ANALYSIS_DEFAULTS = {
  interval: "1m",
  failureLimit: 3,
  minRequests: 10,
  progressDeadline: "10m",
};

const ROLLOUT_FIELDS = ["stickyBy", "steps", "analysis", "promotion"];
const STEP_FIELDS = ["percent", "pause"];
const ANALYSIS_FIELDS = ["interval", "failureLimit", "minRequests", "progressDeadline", "metrics"];
const METRIC_FIELDS = ["name", "thresholdRange", "query", "maxIncreaseOverBase"];
const PROMOTIONS = ["manual", "copy"];

function stepPercent(v: unknown, path: string): number {
  const ok = typeof v === "number" && v >= 0 && v <= 100 && Math.abs(v * 100 - Math.round(v * 100)) <= 1e-6;
  if (!ok) fail(path, `expected 0–100 with at most two decimals, got ${JSON.stringify(v) ?? kindName(v)}`);
  return v;
}

function duration(v: unknown, path: string, positive: boolean): string {
  const s = expectString(v, path);
  const d = parseDuration(s);
  if (d === undefined) fail(path, `expected a duration like 30s, 5m or 1h30m, got ${JSON.stringify(s)}`);
  if (positive && d <= 0) fail(path, "must be longer than 0");
  return s;
}

function integer(v: unknown, path: string, min: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > 2147483647) {
    fail(path, `expected an integer of at least ${min}`);
  }
  return v;
}

function finite(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(path, `expected a number, got ${kindName(v)}`);
  return v;
}

function steps(v: unknown, path: string): RolloutStep[] {
  if (!Array.isArray(v)) fail(path, `expected an array of steps, got ${kindName(v)}`);
  if (v.length === 0) fail(path, "needs at least one step");
  if (v.length > MAX_STEPS) fail(path, `at most ${MAX_STEPS} steps`);
  let previous = 0;
  return v.map((item, i) => {
    const p = `${path}[${i}]`;
    const o = expectObject(item, p, "a step object");
    onlyFields(o, STEP_FIELDS, p);
    if (!("percent" in o)) fail(`${p}.percent`, "required");
    const percent = stepPercent(o.percent, `${p}.percent`);
    if (percent < previous) fail(`${p}.percent`, `steps must not decrease (previous step: ${previous})`);
    previous = percent;
    const out: RolloutStep = { percent };
    if ("pause" in o) out.pause = duration(o.pause, `${p}.pause`, false);
    return out;
  });
}

function metric(v: unknown, path: string): RolloutMetric {
  const o = expectObject(v, path, "a metric object");
  onlyFields(o, METRIC_FIELDS, path);
  if (!("name" in o)) fail(`${path}.name`, "required");
  const name = expectString(o.name, `${path}.name`);
  if (name.length === 0) fail(`${path}.name`, "must not be empty");
  let query: string | undefined;
  if ("query" in o) {
    query = expectString(o.query, `${path}.query`);
    if (query.trim().length === 0) fail(`${path}.query`, "must not be empty");
  } else if (!BUILTIN_METRICS.includes(name)) {
    fail(`${path}.name`, `unknown metric without query (built in: ${BUILTIN_METRICS.join("|")})`);
  }
  if (!("thresholdRange" in o)) fail(`${path}.thresholdRange`, "required");
  const rp = `${path}.thresholdRange`;
  const r = expectObject(o.thresholdRange, rp, "an object with min and/or max");
  onlyFields(r, ["min", "max"], rp);
  if (!("min" in r) && !("max" in r)) fail(rp, "needs min, max or both");
  const range: RolloutMetric["thresholdRange"] = {};
  if ("min" in r) range.min = finite(r.min, `${rp}.min`);
  if ("max" in r) range.max = finite(r.max, `${rp}.max`);
  if (range.min !== undefined && range.max !== undefined && range.min > range.max) {
    fail(rp, `min (${range.min}) is greater than max (${range.max})`);
  }
  const out: RolloutMetric = { name, thresholdRange: range };
  if (query !== undefined) out.query = query;
  if ("maxIncreaseOverBase" in o) {
    const m = finite(o.maxIncreaseOverBase, `${path}.maxIncreaseOverBase`);
    if (m < 0) fail(`${path}.maxIncreaseOverBase`, "must not be negative");
    out.maxIncreaseOverBase = m;
  }
  return out;
}

function analysis(v: unknown, path: string): RolloutAnalysis {
  const o = expectObject(v, path, "an analysis object");
  onlyFields(o, ANALYSIS_FIELDS, path);
  const d = ANALYSIS_DEFAULTS;
  if (!Array.isArray(o.metrics))
    fail(`${path}.metrics`, `expected an array of metrics, got ${kindName(o.metrics)}`);
  if (o.metrics.length === 0) fail(`${path}.metrics`, "needs at least one metric");
  if (o.metrics.length > MAX_METRICS) fail(`${path}.metrics`, `at most ${MAX_METRICS} metrics`);
  const metrics = o.metrics.map((m, i) => metric(m, `${path}.metrics[${i}]`));
  const seen = new Set<string>();
  metrics.forEach((m, i) => {
    if (seen.has(m.name)) fail(`${path}.metrics[${i}].name`, `duplicate metric ${JSON.stringify(m.name)}`);
    seen.add(m.name);
  });
  return {
    interval: "interval" in o ? duration(o.interval, `${path}.interval`, true) : d.interval,
    failureLimit: "failureLimit" in o ? integer(o.failureLimit, `${path}.failureLimit`, 1) : d.failureLimit,
    minRequests: "minRequests" in o ? integer(o.minRequests, `${path}.minRequests`, 0) : d.minRequests,
    progressDeadline:
      "progressDeadline" in o
        ? duration(o.progressDeadline, `${path}.progressDeadline`, true)
        : d.progressDeadline,
    metrics,
  };
}

/**
 * Validates `spec.rollout`; throws its problems as "<field path>: <reason>", joined with "; ". Each
 * field (steps, stickyBy, analysis, promotion) is checked on its own; within one, the first problem.
 */
export function rollout(v: unknown, path: string): RolloutSpec {
  const o = expectObject(v, path, "a rollout object");
  const problems = new Problems();
  problems.check(() => onlyFields(o, ROLLOUT_FIELDS, path));
  const out: RolloutSpec = { steps: [], promotion: "manual" };
  problems.check(() => {
    if (!("steps" in o)) fail(`${path}.steps`, "required");
    out.steps = steps(o.steps, `${path}.steps`);
  });
  if ("stickyBy" in o) problems.check(() => (out.stickyBy = stickyBy(o.stickyBy, `${path}.stickyBy`)));
  if ("analysis" in o) problems.check(() => (out.analysis = analysis(o.analysis, `${path}.analysis`)));
  if ("promotion" in o) {
    problems.check(() => {
      const p = expectString(o.promotion, `${path}.promotion`);
      if (!PROMOTIONS.includes(p)) fail(`${path}.promotion`, `expected one of ${PROMOTIONS.join("|")}`);
      out.promotion = p as RolloutSpec["promotion"];
    });
  }
  if (problems.found.length > 0) throw new Invalid(problems.message);
  return out;
}
