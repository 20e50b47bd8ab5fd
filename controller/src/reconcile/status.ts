// A Lane's status, as `kubectl get lanes` and `kubectl describe lane` show it: where its traffic goes at
// each lane-enabled Service (`services`, `serviceCount`), the generation it reflects, and two
// conditions: `Ready` (its routes are in place) and `Degraded` (something needs a person: an invalid
// spec, an object meshlane could not merge into, a write that failed), each with a reason and message.
import { deepEqual, type KubeObject, type LaneStatus } from "../render/index.js";

export interface LaneCondition {
  type: "Ready" | "Degraded";
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
}

export interface LaneHealth {
  /** Why render left the Lane out as written (its error), if it did. */
  invalid?: string;
  /** When the spec is invalid but an earlier valid one is still routed: that generation. */
  servingGeneration?: number;
  /** Problems in the Lane's namespace: objects render could not merge into, writes that failed. */
  trouble: { reason: "MergeFailed" | "ApplyFailed"; message: string }[];
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
  let ready: LaneCondition;
  if (health.invalid !== undefined && health.servingGeneration !== undefined) {
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
  const body: LaneStatusBody = { serviceCount: services.length, services, conditions: [ready, degraded] };
  if (generation !== undefined) body.observedGeneration = generation;
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
