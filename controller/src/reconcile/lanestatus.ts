// Each Lane's status, from a plan and what the controller knows of its own troubles, and writing it.
// (status.ts says what a status body holds; this module decides what goes in and writes it.)
//
// Contract:
// - `statusFor(lane, plan)`: the status the Lane should have now. Its health gathers render's problems
//   with objects of its namespace (MergeFailed), the failed writes that concern it (ApplyFailed, see
//   failures.ts), the reads the controller is refused there, cluster-wide or in the install namespaces
//   (ReadFailed), a namespace the selector leaves out (NamespaceNotEnabled), and its own validity:
//   render's error, or the last valid spec it is still routed at (from the planner's last render).
//   Condition transition times are kept when a condition's status did not change.
// - `publish(lanes, plan, summary)`: for each Lane not being deleted, a `Synced` event with the pass's
//   summary when it is Ready and the pass changed something; its status written through the status
//   subresource when it differs (transition times aside); then a Warning event with the Degraded reason,
//   or `Recovered` when it was Degraded before. A status write refused for good (403, 422) is logged and
//   counted, not retried; a Lane gone is done; the first failure that may pass is returned.
import type { KubeObject } from "../render/index.js";
import type { EventRecorder } from "./events.js";
import type { WriteFailures } from "./failures.js";
import { isDeleting } from "./finalizers.js";
import { KubeError, RESOURCES, type KubeClient } from "./kube.js";
import { storedLastValid } from "./lastvalid.js";
import type { Logger } from "./log.js";
import type { Plan } from "./plan.js";
import type { Planner } from "./planner.js";
import { isRetryable, withRetry } from "./retry.js";
import { DEFAULT_NAMESPACE_SELECTOR, type ClusterState } from "./state.js";
import {
  desiredStatus,
  keepTransitionTimes,
  nowTime,
  statusEqual,
  type LaneHealth,
  type LaneStatusBody,
} from "./status.js";
import type { RetryPolicy, WriteTally } from "./writer.js";

/** Appended to a Ready Lane's message in a namespace labelled `istio.io/dataplane-mode: ambient`. */
export const AMBIENT_NOTE =
  "; ambient namespace: apps that forward baggage keep the lane at every hop, otherwise a waypoint " +
  "restores it from its trace memory only while a trace's hops pass the same waypoint instance " +
  "(one namespace waypoint, one replica; hit rate: meshlane_trace_lookups_total)";

/** The same, when the controller's `ambient` setting is off: no waypoint runs the filter. */
export const AMBIENT_OFF_NOTE =
  "; ambient namespace, but the controller's ambient setting is off: no waypoint runs the filter, " +
  "so only apps that forward the lane header or baggage keep the lane past the first hop";

export interface LaneStatusesOptions {
  client: KubeClient;
  state: ClusterState;
  failures: WriteFailures;
  /** Which Lanes the last render routed at an older spec, and the spec routed for each. */
  planner: Pick<Planner, "servingNote" | "routedFor">;
  events: EventRecorder;
  /** Whether the waypoints run the filter (render's `ambient`): what an ambient namespace's note says. */
  ambient?: boolean;
  /** The controller's namespace selector (said in the status of a Lane left out by it). */
  namespaceSelector?: string;
  tally: WriteTally;
  retry: RetryPolicy;
  log: Logger;
}

export class LaneStatuses {
  constructor(private readonly opts: LaneStatusesOptions) {}

  /** The status a Lane should have now (see the module comment). */
  statusFor(lane: KubeObject, plan: Plan): LaneStatusBody {
    const id = `${lane.metadata.namespace}/${lane.metadata.name}`;
    const health = this.healthOf(lane, plan);
    const routed =
      health.invalid !== undefined && health.servingGeneration === undefined ? undefined : plan.lanes.get(id);
    const desired = desiredStatus(lane, routed, health, nowTime());
    // Ambient namespace: say what holds there in the Ready message (docs/modes.md).
    const ns = lane.metadata.namespace ?? "";
    const ready = desired.conditions.find((c) => c.type === "Ready" && c.status === "True");
    if (ready && this.opts.state.namespaceLabels(ns)?.["istio.io/dataplane-mode"] === "ambient")
      ready.message += this.opts.ambient ? AMBIENT_NOTE : AMBIENT_OFF_NOTE;
    return keepTransitionTimes(desired, lane.status);
  }

  /** Writes the statuses that differ and sends the events that go with them; the first passing failure. */
  async publish(lanes: KubeObject[], plan: Plan, summary: string, signal: AbortSignal): Promise<unknown> {
    const { events } = this.opts;
    let first: unknown;
    for (const lane of lanes) {
      if (isDeleting(lane)) continue;
      const desired = this.statusFor(lane, plan);
      if (summary && desired.conditions.some((c) => c.type === "Ready" && c.status === "True")) {
        await events.record(lane, "Normal", "Synced", summary);
      }
      if (statusEqual(lane.status, desired)) continue;
      const wasOk =
        (lane.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find(
          (c) => c.type === "Degraded",
        )?.status !== "True";
      const degraded = desired.conditions.find((c) => c.type === "Degraded");
      try {
        await this.write(lane, desired, signal);
      } catch (err) {
        first ??= err;
        continue;
      }
      if (degraded?.status === "True")
        await events.record(lane, "Warning", degraded.reason, degraded.message);
      else if (!wasOk) {
        events.forget(lane);
        await events.record(lane, "Normal", "Recovered", "lane routes in place");
      }
    }
    return first;
  }

  private healthOf(lane: KubeObject, plan: Plan): LaneHealth {
    const { state, failures, planner } = this.opts;
    const ns = lane.metadata.namespace ?? "";
    const id = `${ns}/${lane.metadata.name}`;
    const trouble: LaneHealth["trouble"] = [];
    for (const [what, messages] of plan.problems) {
      const obj = plan.byWhat.get(what);
      if (!obj || obj.kind === "Lane" || (obj.metadata.namespace ?? "") !== ns) continue;
      for (const m of messages) trouble.push({ reason: "MergeFailed", message: `${what}: ${m}` });
    }
    for (const f of failures.concerning(ns))
      trouble.push({ reason: "ApplyFailed", message: `${f.what}: ${f.message}` });
    for (const r of state.unreadable())
      if (r.namespace === "" || r.namespace === ns || failures.isInstallNamespace(r.namespace))
        trouble.push({ reason: "ReadFailed", message: r.message });
    if (!state.enabled(ns)) {
      const selector = this.opts.namespaceSelector ?? DEFAULT_NAMESPACE_SELECTOR;
      return { notEnabled: selector, trouble, lastValid: storedLastValid(lane) };
    }
    const lastValid = planner.routedFor(id);
    const note = planner.servingNote(id);
    if (note) return { invalid: note.error, servingGeneration: note.generation, trouble, lastValid };
    const errors = plan.problems.get(`Lane ${id}`);
    return errors ? { invalid: errors.join("; "), trouble, lastValid } : { trouble, lastValid };
  }

  private async write(lane: KubeObject, status: LaneStatusBody, signal: AbortSignal): Promise<void> {
    try {
      await patchLaneStatus(this.opts, lane, status, signal);
    } catch (err) {
      if (isRetryable(err)) throw err;
      this.opts.log.error("could not write a Lane's status", {
        lane: `${lane.metadata.namespace}/${lane.metadata.name}`,
        err,
      });
    }
  }
}

/**
 * Merge-patches fields of a Lane's status subresource, with retries, counted in the write tally and
 * observed into the cluster state. A Lane deleted meanwhile (404) is done; any other failure is
 * counted and thrown.
 */
export async function patchLaneStatus(
  opts: {
    client: KubeClient;
    state: Pick<ClusterState, "observe">;
    tally: WriteTally;
    retry: RetryPolicy;
  },
  lane: KubeObject,
  status: object,
  signal: AbortSignal,
): Promise<void> {
  const { client, state, tally } = opts;
  try {
    const updated = await withRetry(
      () =>
        client.patch(
          RESOURCES["meshlane.io|Lane"],
          lane.metadata.namespace ?? "",
          lane.metadata.name,
          "merge",
          { status },
          { subresource: "status", signal },
        ),
      opts.retry(signal),
    );
    tally.ok("status", "Lane");
    state.observe(updated as KubeObject);
  } catch (err) {
    if (err instanceof KubeError && err.statusCode === 404) return;
    tally.failed("status", "Lane", err);
    throw err;
  }
}
