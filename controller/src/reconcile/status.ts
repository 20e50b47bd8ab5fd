// A Lane's status, as `kubectl get lanes` and `kubectl describe lane` show it: where its traffic goes at
// each lane-enabled Service (`services`, `serviceCount`), the generation it reflects, the last valid spec
// (the one routed while the current one is invalid; see lastvalid.ts), and two conditions: `Ready` (its
// routes are in place) and `Degraded` (something needs a person: an invalid spec, an object meshlane could
// not merge into, a write that failed, objects it cannot read, a namespace that is not enabled), each
// with a reason and message; with `spec.rollout` and a `status.rollout` (rollout.ts), a third,
// `Rollout`: True while it runs (Progressing, Paused), False before and after; reason the phase.
import { deepEqual, type KubeObject, type LaneStatus } from "../render/index.js";
import type { LastValid } from "./lastvalid.js";

export interface LaneCondition {
  type: "Ready" | "Degraded" | "Rollout";
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface LaneStatusBody {
  observedGeneration?: number;
  serviceCount: number;
  services: { service: string; target: string; readyEndpoints?: number }[];
  conditions: LaneCondition[];
  /** The spec routed for this Lane (its own when valid); null removes a stored one. */
  lastValidSpec?: unknown;
  lastValidGeneration?: number | null;
}

export interface LaneHealth {
  /** Why render left the Lane out as written (its error), if it did. */
  invalid?: string;
  /** When the spec is invalid but an earlier valid one is still routed: that generation. */
  servingGeneration?: number;
  /**
   * Problems that concern the Lane: objects of its namespace render could not merge into, writes that
   * failed there or in the install namespaces (the filter's objects carry every Lane), objects the
   * controller cannot read (list or watch refused).
   */
  trouble: { reason: "MergeFailed" | "ApplyFailed" | "ReadFailed"; message: string }[];
  /** The spec routed for the Lane, stored in its status. */
  lastValid?: LastValid;
  /** Set when the Lane's namespace is not selected: the selector it does not match. */
  notEnabled?: string;
}

/** A condition reason for one of render's Lane errors. */
export function invalidReason(message: string): string {
  if (message.startsWith("dye rules rejected by the filter")) return "RejectedByFilter";
  if (message.startsWith("conflicts with Lane")) return "Conflict";
  if (message.startsWith("fallback")) return "FallbackChain";
  return "InvalidSpec";
}

const MAX_MESSAGE = 4096;

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE - 1) + "…" : s;
}

/** RFC 3339 with whole seconds, as metav1.Time is written. */
export function nowTime(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function desiredStatus(
  lane: KubeObject,
  routed: LaneStatus | undefined,
  health: LaneHealth,
  now: string,
): LaneStatusBody {
  const generation = typeof lane.metadata.generation === "number" ? lane.metadata.generation : undefined;
  const services = (routed?.services ?? []).map((s) =>
    s.readyEndpoints === undefined
      ? { service: s.service, target: s.target }
      : { service: s.service, target: s.target, readyEndpoints: s.readyEndpoints },
  );
  const cond = (
    type: LaneCondition["type"],
    status: LaneCondition["status"],
    reason: string,
    message: string,
  ): LaneCondition => {
    const c: LaneCondition = { type, status, reason, message: clip(message), lastTransitionTime: now };
    if (generation !== undefined) c.observedGeneration = generation;
    return c;
  };
  const applyFailed = health.trouble.filter((t) => t.reason === "ApplyFailed");
  const readFailed = health.trouble.filter((t) => t.reason === "ReadFailed");
  let ready: LaneCondition;
  if (health.notEnabled !== undefined) {
    const message =
      `namespace ${lane.metadata.namespace ?? ""} does not match the controller's namespace selector ` +
      `(${health.notEnabled}): this Lane is not routed there`;
    ready = cond("Ready", "False", "NamespaceNotEnabled", message);
    const body: LaneStatusBody = {
      serviceCount: 0,
      services: [],
      conditions: [ready, cond("Degraded", "True", "NamespaceNotEnabled", message)],
    };
    if (generation !== undefined) body.observedGeneration = generation;
    return withLastValid(body, health.lastValid);
  } else if (health.invalid !== undefined && health.servingGeneration !== undefined) {
    ready = cond(
      "Ready",
      "True",
      "LastValidSpec",
      `generation ${generation ?? "?"} is not applied; still routing generation ${health.servingGeneration}`,
    );
  } else if (health.invalid !== undefined) {
    ready = cond("Ready", "False", invalidReason(health.invalid), health.invalid);
  } else if (applyFailed.length > 0) {
    ready = cond("Ready", "False", "ApplyFailed", applyFailed.map((t) => t.message).join("; "));
  } else if (readFailed.length > 0) {
    ready = cond("Ready", "Unknown", "ReadFailed", readFailed.map((t) => t.message).join("; "));
  } else {
    ready = cond(
      "Ready",
      "True",
      "Routed",
      `lane routes in place at ${services.length} lane-enabled Service(s)`,
    );
  }
  let degraded: LaneCondition;
  if (health.invalid !== undefined) {
    degraded = cond("Degraded", "True", invalidReason(health.invalid), health.invalid);
  } else if (health.trouble.length > 0) {
    degraded = cond(
      "Degraded",
      "True",
      health.trouble[0].reason,
      health.trouble.map((t) => t.message).join("; "),
    );
  } else {
    degraded = cond("Degraded", "False", "AsExpected", "");
  }
  const conditions = [ready, degraded];
  const rollout = (lane.status as { rollout?: { phase?: unknown; message?: unknown } } | undefined)?.rollout;
  const hasRollout = typeof (lane.spec as { rollout?: unknown } | undefined)?.rollout === "object";
  if (hasRollout && typeof rollout?.phase === "string") {
    const running = rollout.phase === "Progressing" || rollout.phase === "Paused";
    const message = typeof rollout.message === "string" ? rollout.message : "";
    conditions.push(cond("Rollout", running ? "True" : "False", rollout.phase, message));
  }
  const body: LaneStatusBody = { serviceCount: services.length, services, conditions };
  if (generation !== undefined) body.observedGeneration = generation;
  return withLastValid(body, health.lastValid);
}

function withLastValid(body: LaneStatusBody, last: LastValid | undefined): LaneStatusBody {
  // null in a merge patch removes the field: a stored spec nothing routes any more goes away.
  body.lastValidSpec = last?.spec ?? null;
  body.lastValidGeneration = last?.generation ?? null;
  return body;
}

function comparable(s: unknown): unknown {
  if (typeof s !== "object" || s === null) return s;
  const st = s as Partial<LaneStatusBody>;
  return {
    observedGeneration: st.observedGeneration,
    serviceCount: st.serviceCount,
    services: st.services,
    conditions: Array.isArray(st.conditions)
      ? st.conditions.map((c) => ({ ...c, lastTransitionTime: undefined }))
      : st.conditions,
    lastValidSpec: st.lastValidSpec ?? null,
    lastValidGeneration: st.lastValidGeneration ?? null,
  };
}

/** Whether a Lane's current status already says what `desired` says (transition times aside). */
export function statusEqual(current: unknown, desired: LaneStatusBody): boolean {
  return deepEqual(comparable(current), comparable(desired));
}

/** Keeps the transition time of each condition whose status did not change. */
export function keepTransitionTimes(desired: LaneStatusBody, current: unknown): LaneStatusBody {
  const before = (current as Partial<LaneStatusBody> | undefined)?.conditions;
  if (!Array.isArray(before)) return desired;
  return {
    ...desired,
    conditions: desired.conditions.map((c) => {
      const old = before.find((b) => b?.type === c.type);
      return old && old.status === c.status && typeof old.lastTransitionTime === "string"
        ? { ...c, lastTransitionTime: old.lastTransitionTime }
        : c;
    }),
  };
}
