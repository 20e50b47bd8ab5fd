// The controller's rollout step (docs/contracts.md, "Lane rollouts"): for each Lane of a namespace with
// `spec.rollout`, feed the step engine (rollout/engine.ts) what was observed and write what it decides.
//
// Contract of `Rollouts.advance(lanes, plan)` (run by the pass before the namespace's plan, so a new
// share is rendered in the same pass):
// - Only valid Lanes step: a Lane that fails validation (or that render refuses: the filter's verdict,
//   a name conflict, a broken fallback chain) does not start, and a running one holds where it is; its
//   Degraded condition (lanestatus.ts) gives the field path. Lanes being deleted are left alone (render
//   leaves them out, so their share is gone with their rules).
// - Inputs to `engine.step`: `status.rollout` (all the rollout's state: nothing is kept in memory, so a
//   restarted controller or a new leader resumes at the same step), the clock, the command annotation
//   `meshlane.io/rollout-command`, one analysis round when the interval is due (from the MetricsProvider;
//   without one, every metric is "no verdict", said in the message), and, while a `copy` promotion is
//   copying, whether base now runs the lane's pod templates and is ready (promotion.ts).
// - Outputs: the annotation removed first (a JSON merge patch guarded by the Lane's resourceVersion, so
//   exactly the command read is removed, and a crash afterwards can lose it but never apply it twice;
//   a status write that fails is retried with the command kept in memory);
//   then `status.rollout` through the status subresource (merge patch, fields the engine dropped set to
//   null); then one Event per engine event. The `Rollout` condition is derived from `status.rollout` by
//   status.ts. The written status bumps the state's version when the share changed, so the pass's plan
//   renders the new edge config and the gateway namespaces are queued: one write per gateway object.
// - `requeueAfter`: the earliest time something is due for these Lanes (the next analysis round, the
//   end of a step's pause, the progressDeadline, a copy in progress), in ms from now.
import type { KubeObject } from "../render/index.js";
import { deepEqual, validateLane } from "../render/index.js";
import { parseDuration } from "../rollout/duration.js";
import {
  initialStatus,
  step,
  type Check,
  type Command,
  type Observation,
  type RolloutSpec,
  type RolloutStatus,
  type StepInput,
} from "../rollout/engine.js";
import type { MetricsProvider } from "../rollout/provider.js";
import type { EventRecorder } from "./events.js";
import { patchLaneStatus } from "./lanestatus.js";
import { isDeleting } from "./finalizers.js";
import { RESOURCES, type KubeClient } from "./kube.js";
import type { Logger } from "./log.js";
import type { Plan } from "./plan.js";
import { copyPromotion, type PromotionParts } from "./promotion.js";
import type { ClusterState } from "./state.js";
import type { RetryPolicy, WriteTally } from "./writer.js";

export const ROLLOUT_COMMAND_ANNOTATION = "meshlane.io/rollout-command";
const COMMANDS: Command[] = ["pause", "resume", "promote", "abort", "retry"];
/** How often a copy promotion is looked at again without a watch event (base's status normally wakes it). */
const COPY_POLL_MS = 5_000;

const WAITING_FOR_WORKLOADS =
  "waiting for a workload of the lane (pod label meshlane.io/lane) behind a lane-enabled Service";
const MAX_MESSAGE = 32_768;

export const NO_PROVIDER_REASON =
  "no metrics provider is configured (meshlane controller --metrics-provider, --prometheus-url): no verdict";

export interface RolloutsOptions {
  client: KubeClient;
  state: Pick<ClusterState, "get" | "snapshot" | "observe" | "enabled">;
  tally: WriteTally;
  retry: RetryPolicy;
  events: EventRecorder;
  log: Logger;
  /** Where analysis rounds come from; none: every metric is "no verdict". */
  provider?: MetricsProvider;
  /** The clock, ms since the epoch. */
  now: () => number;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = any;

function ms(d: string | undefined): number | undefined {
  return d === undefined ? undefined : parseDuration(d);
}

function time(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const t = Date.parse(s);
  return Number.isNaN(t) ? undefined : t;
}

/** A stored `status.rollout` that the engine can resume from, or undefined (not started). */
export function storedRollout(lane: KubeObject): RolloutStatus | undefined {
  const r = (lane.status as { rollout?: unknown } | undefined)?.rollout as Obj;
  if (typeof r !== "object" || r === null || typeof r.phase !== "string") return undefined;
  return {
    ...r,
    step: typeof r.step === "number" ? r.step : 0,
    percent: typeof r.percent === "number" ? r.percent : 0,
    message: typeof r.message === "string" ? r.message : "",
    checks: Array.isArray(r.checks) ? r.checks : [],
    failures: typeof r.failures === "number" ? r.failures : 0,
  } as RolloutStatus;
}

const live = (s: RolloutStatus | undefined) => s?.phase === "Progressing" || s?.phase === "Paused";

/** When the next analysis round is due: an interval after the later of the step's start and the last check. */
export function nextAnalysisAt(spec: RolloutSpec, s: RolloutStatus | undefined): number | undefined {
  const interval = ms(spec.analysis?.interval);
  if (!spec.analysis || interval === undefined || !live(s) || s?.promotion?.state === "Copying")
    return undefined;
  const started = time(s?.stepStartedAt) ?? 0;
  const last = Math.max(started, ...(s?.checks ?? []).map((c) => time(c.at) ?? 0));
  return last + interval;
}

/** The earliest time the engine has something to decide for this rollout without new input. */
export function nextDueAt(spec: RolloutSpec, s: RolloutStatus | undefined, now: number): number | undefined {
  if (!live(s) || !s) return undefined;
  if (s.promotion?.state === "Copying") return now + COPY_POLL_MS;
  const times: number[] = [];
  const analysis = nextAnalysisAt(spec, s);
  if (analysis !== undefined) times.push(analysis);
  if (s.phase === "Progressing") {
    const due = (time(s.stepStartedAt) ?? now) + (ms(spec.steps[s.step]?.pause) ?? 0);
    if (due > now) times.push(due);
    else if (!spec.analysis || s.lastRound === "pass")
      times.push(now); // advances on the next call
    else {
      const deadline = ms(spec.analysis.progressDeadline);
      if (deadline !== undefined) times.push(due + deadline);
    }
  }
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** A check as the CRD's status schema takes it: a finite `value`, a whole number of `requests`. */
function storableCheck(c: Check): Check {
  const out: Check = { ...c };
  if (out.value !== undefined && !Number.isFinite(out.value)) delete out.value;
  if (out.requests !== undefined) {
    if (Number.isFinite(out.requests)) out.requests = Math.round(out.requests);
    else delete out.requests;
  }
  return out;
}

/** A merge patch turning `before` into `after` (top-level keys; arrays and objects replaced whole). */
function mergePatch(before: object | undefined, after: object): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(after)) if (v !== undefined) patch[k] = v;
  for (const k of Object.keys(before ?? {})) if (!(k in patch)) patch[k] = null;
  return patch;
}

/** The status without keys whose value is undefined (the engine clears fields that way). */
function defined(s: RolloutStatus): RolloutStatus {
  return JSON.parse(JSON.stringify(s)) as RolloutStatus;
}

export class Rollouts {
  /**
   * Commands removed from their Lane whose status write has not succeeded yet, by Lane uid: the next
   * pass acts on them (a failed status write does not lose a command; only a crash in between does).
   */
  private readonly consumed = new Map<string, string>();

  constructor(private readonly opts: RolloutsOptions) {}

  /** Steps every rollout of `lanes` (one namespace's); see the module comment. */
  async advance(
    lanes: KubeObject[],
    plan: Plan,
    signal: AbortSignal,
  ): Promise<{ requeueAfter?: number; error?: unknown }> {
    let wake: number | undefined;
    let error: unknown;
    const now = this.opts.now();
    for (const lane of lanes) {
      try {
        const at = await this.advanceOne(lane, plan, signal);
        if (at !== undefined) wake = wake === undefined ? at : Math.min(wake, at);
      } catch (err) {
        error ??= err;
      }
    }
    return { requeueAfter: wake === undefined ? undefined : Math.max(0, wake - now), error };
  }

  private async advanceOne(lane: KubeObject, plan: Plan, signal: AbortSignal): Promise<number | undefined> {
    const ns = lane.metadata.namespace ?? "";
    const id = `${ns}/${lane.metadata.name}`;
    if (isDeleting(lane) || !this.opts.state.enabled(ns)) return undefined;
    const v = validateLane(lane);
    const stored = storedRollout(lane);
    if ("error" in v || plan.problems.has(`Lane ${id}`)) return undefined; // Degraded says why
    const spec = v.spec.rollout;
    const uid = String(lane.metadata.uid ?? id);
    const annotated = lane.metadata.annotations?.[ROLLOUT_COMMAND_ANNOTATION];
    const raw = annotated ?? this.consumed.get(uid);
    if (!spec) {
      // The rollout was taken out of the spec: its status (and so its share) goes with it.
      if ((lane.status as Obj)?.rollout !== undefined) await this.writeStatus(lane, null, signal);
      if (raw !== undefined) {
        if (annotated !== undefined) await this.removeCommand(lane, signal);
        this.consumed.delete(uid);
        const why = `rollout command ${JSON.stringify(raw)} ignored: the Lane has no spec.rollout`;
        await this.opts.events.record(lane, "Warning", "UnknownCommand", why, { always: true });
      }
      return undefined;
    }
    const now = this.opts.now();
    const command = COMMANDS.find((c) => c === raw?.trim());
    const input: StepInput = {};
    if (command) input.command = command;

    // Not started while the lane has no workload of its own behind a lane-enabled Service: its share
    // would only reach base.
    const own = (plan.lanes.get(id)?.services ?? []).filter((s) => s.target === lane.metadata.name);
    if ((stored === undefined || stored.phase === "Pending") && own.length === 0 && command !== "abort") {
      const pending = { ...initialStatus(), message: WAITING_FOR_WORKLOADS };
      if (!deepEqual(stored, pending)) await this.writeStatus(lane, mergePatch(stored, pending), signal);
      return undefined;
    }

    let noProvider = false;
    const dueAnalysis = nextAnalysisAt(spec, stored);
    if (spec.analysis && dueAnalysis !== undefined && now >= dueAnalysis) {
      const round = await this.observe(lane, spec, plan, signal);
      noProvider = this.opts.provider === undefined;
      input.rounds = [round];
    }
    let copyNote = "";
    if (stored?.promotion?.state === "Copying" && spec.promotion === "copy" && command !== "abort") {
      const services = own.map((s) => s.service);
      const copy = await copyPromotion(lane, services, this.promotionParts(), signal);
      if (copy.done) input.promotionCopied = true;
      else copyNote = copy.message;
      for (const d of copy.written)
        await this.opts.events.record(
          lane,
          "Normal",
          "PromotionCopied",
          `copied the lane's pod template into Deployment ${d}`,
        );
    }

    const result = step(spec, stored, new Date(now), input);
    const next = defined(result.status);
    if (raw !== undefined && !command) {
      next.message = `unknown rollout command ${JSON.stringify(raw)} (expected ${COMMANDS.join("|")}); ignored`;
    } else if (result.events.length === 0 && copyNote) {
      next.message = `promoting: ${copyNote}`;
    } else if (noProvider && live(next) && result.events.length === 0) {
      next.message = `step ${next.step + 1}/${spec.steps.length} at ${next.percent}%: ${NO_PROVIDER_REASON}; it rolls back past progressDeadline ${spec.analysis?.progressDeadline}`;
    }

    next.checks = next.checks.map(storableCheck);
    if (next.message.length > MAX_MESSAGE) next.message = next.message.slice(0, MAX_MESSAGE - 1) + "…";

    if (annotated !== undefined) {
      await this.removeCommand(lane, signal);
      this.consumed.set(uid, annotated);
    }
    if (!deepEqual(stored, next) || (lane.status as Obj)?.rollout === undefined) {
      await this.writeStatus(lane, mergePatch(stored, next), signal);
    }
    this.consumed.delete(uid);
    if (raw !== undefined && !command) {
      await this.opts.events.record(lane, "Warning", "UnknownCommand", next.message, { always: true });
    }
    for (const e of result.events) {
      const type = e.reason === "RolledBack" || e.reason === "Aborted" ? "Warning" : "Normal";
      await this.opts.events.record(lane, type, `Rollout${e.reason}`, e.message, { always: true });
    }
    if (result.events.length > 0)
      this.opts.log.info("rollout", {
        lane: id,
        phase: next.phase,
        step: next.step,
        percent: next.percent,
        events: result.events.map((e) => e.reason),
      });
    return nextDueAt(spec, next, now);
  }

  /** One analysis round: the provider's observations, or "no verdict" for every metric without one. */
  private async observe(
    lane: KubeObject,
    spec: RolloutSpec,
    plan: Plan,
    signal: AbortSignal,
  ): Promise<Observation[]> {
    const a = spec.analysis!;
    const id = `${lane.metadata.namespace}/${lane.metadata.name}`;
    const provider = this.opts.provider;
    if (!provider)
      return a.metrics.map((m) => ({ metric: m.name, verdict: "none", reason: NO_PROVIDER_REASON }));
    const services = (plan.lanes.get(id)?.services ?? []).map((s) => s.service);
    try {
      return await provider.observe(
        {
          namespace: lane.metadata.namespace ?? "",
          lane: lane.metadata.name,
          services,
          metrics: a.metrics,
          window: a.interval,
          minRequests: a.minRequests,
        },
        signal,
      );
    } catch (err) {
      // The interface says a provider never throws; one that does gives no verdict, never a pass.
      const reason = `metrics provider failed: ${err instanceof Error ? err.message : String(err)}`;
      return a.metrics.map((m) => ({ metric: m.name, verdict: "none", reason }));
    }
  }

  private promotionParts(): PromotionParts {
    const { client, state, tally, retry } = this.opts;
    return { client, state, tally, retry };
  }

  /** Removes the command annotation, guarded by the resourceVersion it was read at. */
  private async removeCommand(lane: KubeObject, signal: AbortSignal): Promise<void> {
    const { client, tally, state } = this.opts;
    const body = {
      metadata: {
        resourceVersion: lane.metadata.resourceVersion,
        annotations: { [ROLLOUT_COMMAND_ANNOTATION]: null },
      },
    };
    try {
      const updated = await client.patch(
        RESOURCES["meshlane.io|Lane"],
        lane.metadata.namespace ?? "",
        lane.metadata.name,
        "merge",
        body,
        { signal },
      );
      tally.ok("patch", "Lane");
      state.observe(updated as KubeObject);
    } catch (err) {
      tally.failed("patch", "Lane", err);
      throw err; // 409: the Lane changed since it was read; the pass runs again on the new one
    }
  }

  private writeStatus(
    lane: KubeObject,
    rollout: Record<string, unknown> | null,
    signal: AbortSignal,
  ): Promise<void> {
    return patchLaneStatus(this.opts, lane, { rollout }, signal);
  }
}
