// The rollout step engine: a pure state machine over a Lane's `spec.rollout` and `status.rollout`
// (docs/contracts.md, "Lane rollouts"). It reads no clock, cluster, network or file: the caller passes
// `now`, the analysis verdicts it observed since the last call and the user's command, and writes back
// the status returned. Everything needed to resume lives in that status, so feeding the same status back
// after a restart continues the same step without re-running finished ones or lowering the share.
import { parseDuration } from "./duration.js";

export type Phase = "Pending" | "Progressing" | "Paused" | "Succeeded" | "RolledBack" | "Aborted";
export type Verdict = "pass" | "fail" | "none";
export type Command = "pause" | "resume" | "promote" | "abort" | "retry";

export interface RolloutStep {
  /** Share of users (beyond the dye rules' testers) sent to the lane, 0–100, two decimals. */
  percent: number;
  /** How long to hold this step with passing analysis; absent: wait for a manual `resume`. */
  pause?: string;
}

export interface RolloutMetric {
  name: string;
  thresholdRange: { min?: number; max?: number };
  query?: string;
  maxIncreaseOverBase?: number;
}

export interface RolloutAnalysis {
  interval: string;
  /** Consecutive failed checks before the rollout rolls back. */
  failureLimit: number;
  /** Fewer requests than this in an interval: no verdict. */
  minRequests: number;
  /** How long a step may stay due (its pause over) without a passing check before rolling back. */
  progressDeadline: string;
  metrics: RolloutMetric[];
}

export interface RolloutSpec {
  stickyBy?: Record<string, unknown>;
  steps: RolloutStep[];
  analysis?: RolloutAnalysis;
  promotion: "manual" | "copy";
}

/** One verdict: a metric for one Service of the lane, or (no `service`) for the lane as a whole. */
export interface Observation {
  metric: string;
  service?: string;
  verdict: Verdict;
  value?: number;
  /** Requests the value was computed over; fewer than `minRequests` turns any verdict into "none". */
  requests?: number;
  reason?: string;
}

/** The last verdict per metric and service, as kept in `status.rollout.checks[]`. */
export interface Check extends Observation {
  /** When the verdict was taken (RFC 3339). */
  at: string;
}

export interface RolloutStatus {
  phase: Phase;
  /** Index of the current step in `spec.rollout.steps` (0-based). */
  step: number;
  /** The share now routed to the lane. */
  percent: number;
  message: string;
  checks: Check[];
  /** When the current step started (or was resumed), RFC 3339: its pause counts from here. */
  stepStartedAt?: string;
  /** Consecutive failed analysis rounds; a passing round resets it. */
  failures: number;
  /** The verdict of the latest analysis round of the current step; absent before the first. */
  lastRound?: Verdict;
  /** Why the rollout is Paused: `step` (a step without `pause`) or `user` (a `pause` command). */
  pausedBy?: "step" | "user";
  /** With `promotion: copy`: `Copying` while the controller copies pod templates to base, then `Done`. */
  promotion?: { state: "Copying" | "Done" };
}

export interface StepInput {
  /** One analysis round per element, oldest first: the verdicts observed since the last call. */
  rounds?: Observation[][];
  command?: Command;
  /** Set by the controller once base runs the lane's pod templates (promotion `copy`). */
  promotionCopied?: boolean;
}

export interface RolloutEvent {
  reason: "Started" | "Step" | "Paused" | "Resumed" | "RolledBack" | "Aborted" | "Promoting" | "Succeeded";
  message: string;
}

export interface StepResult {
  status: RolloutStatus;
  /** The share to route now (equal to `status.percent`). */
  percent: number;
  events: RolloutEvent[];
}

const TERMINAL: Phase[] = ["Succeeded", "RolledBack", "Aborted"];

/** The status of a Lane whose rollout has not started. */
export function initialStatus(): RolloutStatus {
  return { phase: "Pending", step: 0, percent: 0, message: "not started", checks: [], failures: 0 };
}

/** A round's verdict: fail if any check fails; pass only if every metric passed somewhere and none lacked a verdict. */
export function roundVerdict(spec: RolloutSpec, round: Observation[]): Verdict {
  const checks = round.map((o) => ({ ...o, verdict: effectiveVerdict(spec, o) }));
  if (checks.some((c) => c.verdict === "fail")) return "fail";
  if (checks.length === 0 || checks.some((c) => c.verdict === "none")) return "none";
  const metrics = spec.analysis?.metrics ?? [];
  return metrics.every((m) => checks.some((c) => c.metric === m.name)) ? "pass" : "none";
}

/** A reported verdict, demoted to "none" when its value is not a number or it saw too few requests. */
function effectiveVerdict(spec: RolloutSpec, o: Observation): Verdict {
  if (o.verdict === "none") return "none";
  if (o.value !== undefined && !Number.isFinite(o.value)) return "none";
  const min = spec.analysis?.minRequests ?? 0;
  if (o.requests !== undefined && o.requests < min) return "none";
  return o.verdict;
}

/**
 * Judges one measured value against a metric: "none" when the value is missing, not finite or drawn
 * from fewer than `minRequests` requests; "fail" outside `thresholdRange` or (with a base value) more
 * than `maxIncreaseOverBase` above base; otherwise "pass".
 */
export function judge(
  metric: RolloutMetric,
  value: number | undefined,
  requests: number,
  minRequests: number,
  baseValue?: number,
): Verdict {
  if (value === undefined || !Number.isFinite(value) || requests < minRequests) return "none";
  const { min, max } = metric.thresholdRange;
  if (min !== undefined && value < min) return "fail";
  if (max !== undefined && value > max) return "fail";
  if (metric.maxIncreaseOverBase !== undefined && baseValue !== undefined) {
    if (!Number.isFinite(baseValue)) return "none";
    if (value - baseValue > metric.maxIncreaseOverBase) return "fail";
  }
  return "pass";
}

function ms(s: string | undefined): number | undefined {
  return s === undefined ? undefined : parseDuration(s);
}

/**
 * Advances a rollout. `status` undefined means not started. Deterministic: the same arguments give the
 * same result, and a call with nothing new to say returns the status unchanged with no events.
 */
export function step(
  spec: RolloutSpec,
  status: RolloutStatus | undefined,
  now: Date,
  input: StepInput = {},
): StepResult {
  const s: RolloutStatus = structuredClone(status ?? initialStatus());
  const events: RolloutEvent[] = [];
  const at = now.toISOString();
  const last = spec.steps.length - 1;
  const done = (): StepResult => ({ status: s, percent: s.percent, events });
  const emit = (reason: RolloutEvent["reason"], message: string) => {
    s.message = message;
    events.push({ reason, message });
  };
  const enterStep = (i: number) => {
    s.step = Math.min(i, last);
    // The share only grows while rolling out, even if the steps were edited under a running rollout.
    s.percent = Math.max(s.percent, spec.steps[s.step].percent);
    s.stepStartedAt = at;
    s.lastRound = undefined;
    delete s.pausedBy;
    const p = spec.steps[s.step].pause;
    if (p === undefined) {
      s.phase = "Paused";
      s.pausedBy = "step";
      emit("Step", `step ${s.step + 1}/${spec.steps.length}: ${s.percent}% of users; waiting for resume`);
    } else {
      s.phase = "Progressing";
      emit("Step", `step ${s.step + 1}/${spec.steps.length}: ${s.percent}% of users for ${p}`);
    }
  };
  const rollBack = (phase: "RolledBack" | "Aborted", why: string) => {
    s.phase = phase;
    s.percent = 0;
    delete s.pausedBy;
    delete s.promotion;
    emit(phase, `${phase === "Aborted" ? "aborted" : "rolled back"} at step ${s.step + 1}: ${why}; share 0%`);
  };
  const promote = () => {
    s.step = last;
    s.percent = Math.max(s.percent, spec.steps[last].percent);
    delete s.pausedBy;
    if (spec.promotion === "copy") {
      s.phase = "Progressing";
      s.promotion = { state: "Copying" };
      emit("Promoting", `promoting: copy the lane's pod templates into base, then the share returns to 0%`);
    } else {
      s.phase = "Succeeded";
      emit(
        "Succeeded",
        `done at ${s.percent}% of users; promotion is manual: update base to the lane's version, then delete the Lane`,
      );
    }
  };

  if (s.phase === "Pending") {
    if (input.command === "abort") {
      s.phase = "Aborted";
      emit("Aborted", "aborted before it started");
      return done();
    }
    emit("Started", `rollout started: ${spec.steps.length} steps`);
    enterStep(0);
    return done();
  }

  if (TERMINAL.includes(s.phase)) {
    if (input.command === "retry" && s.phase !== "Succeeded") {
      s.failures = 0;
      s.checks = [];
      s.percent = 0;
      emit("Started", `retry: rollout restarted from step 1`);
      enterStep(0);
    }
    return done();
  }

  // From here the rollout is live: Progressing or Paused.
  if (s.promotion?.state === "Copying") {
    if (input.command === "abort") rollBack("Aborted", "abort requested during promotion");
    else if (input.promotionCopied) {
      s.promotion = { state: "Done" };
      s.phase = "Succeeded";
      s.percent = 0;
      emit("Succeeded", "promoted: base runs the lane's pod templates; share back to 0%");
    }
    return done();
  }

  if (s.step > last) s.step = last;

  switch (input.command) {
    case "abort":
      rollBack("Aborted", "abort requested");
      return done();
    case "promote":
      promote();
      return done();
    case "pause":
      if (s.phase === "Progressing") {
        s.phase = "Paused";
        s.pausedBy = "user";
        emit("Paused", `paused at step ${s.step + 1} (${s.percent}%) by request`);
      }
      break;
    case "resume":
      if (s.phase === "Paused") {
        if (s.pausedBy === "step") {
          emit("Resumed", `resumed after step ${s.step + 1}`);
          if (s.step === last) promote();
          else enterStep(s.step + 1);
          return done();
        }
        s.phase = "Progressing";
        delete s.pausedBy;
        s.stepStartedAt = at; // the step's pause counts again from the resume
        emit("Resumed", `resumed at step ${s.step + 1} (${s.percent}%)`);
      }
      break;
  }

  // Analysis: every round is recorded; failures count while any share is routed, paused or not.
  const a = spec.analysis;
  for (const round of input.rounds ?? []) {
    for (const o of round) {
      const c: Check = { ...o, verdict: effectiveVerdict(spec, o), at };
      const i = s.checks.findIndex((x) => x.metric === c.metric && x.service === c.service);
      if (i >= 0) s.checks[i] = c;
      else s.checks.push(c);
    }
    const v = roundVerdict(spec, round);
    s.lastRound = v;
    if (v === "fail") s.failures++;
    else if (v === "pass") s.failures = 0;
    if (a && s.failures >= a.failureLimit) {
      rollBack("RolledBack", `${s.failures} consecutive failed checks (failureLimit ${a.failureLimit})`);
      return done();
    }
  }

  if (s.phase !== "Progressing") return done();
  const pause = ms(spec.steps[s.step].pause) ?? 0;
  const started = Date.parse(s.stepStartedAt ?? at);
  const dueAt = started + pause;
  if (now.getTime() < dueAt) return done();
  if (a && s.lastRound !== "pass") {
    const deadline = ms(a.progressDeadline);
    if (deadline !== undefined && now.getTime() - dueAt >= deadline) {
      rollBack("RolledBack", `no passing analysis within progressDeadline ${a.progressDeadline}`);
    }
    return done();
  }
  if (s.step === last) promote();
  else enterStep(s.step + 1);
  return done();
}
