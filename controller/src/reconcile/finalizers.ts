// The Lane finalizer (`meshlane.io/finalizer`): why a deleted Lane stays until its routes are gone.
//
// Contract:
// - `addMissing(lanes)`: every Lane given that is not being deleted and lacks the finalizer gets it (the
//   caller gives only the Lanes of a selected namespace). All are tried; the first error is returned.
// - `releasable(plan)`: a Lane being deleted may lose the finalizer only when the plan, computed without
//   it, asks for nothing more anywhere (its routes and subsets are gone, user objects no lane needs are
//   restored, meshlane's own objects deleted). Writes that failed for good and changes the server
//   answers differently (see writer.ts) do not hold it back: they would hold it forever.
// - `release(lanes)`: sends a `Finalized` event on each, then removes the finalizer. All are tried; the
//   first error is returned.
// A finalizer patch is guarded by the Lane's resourceVersion and re-reads the Lane on conflict; a Lane
// already gone counts as done. The server's answer goes into the state (a Lane whose last finalizer went
// while it was being deleted is gone).
import type { KubeObject } from "../render/index.js";
import type { EventRecorder } from "./events.js";
import type { WriteFailures } from "./failures.js";
import { KubeError, RESOURCES, type KubeClient } from "./kube.js";
import type { Logger } from "./log.js";
import type { Change, Plan } from "./plan.js";
import { withRetry } from "./retry.js";
import { LANE_FINALIZER, type ClusterState } from "./state.js";
import type { RetryPolicy, WriteTally } from "./writer.js";

export function hasFinalizer(o: KubeObject): boolean {
  const f = o.metadata.finalizers;
  return Array.isArray(f) && f.includes(LANE_FINALIZER);
}

export function isDeleting(o: KubeObject): boolean {
  return typeof o.metadata.deletionTimestamp === "string" && o.metadata.deletionTimestamp !== "";
}

export interface FinalizersOptions {
  client: KubeClient;
  state: ClusterState;
  events: EventRecorder;
  failures: WriteFailures;
  /** Whether the writer will not rewrite this change (the server answers it differently). */
  isUnstable: (c: Change) => boolean;
  tally: WriteTally;
  retry: RetryPolicy;
  log: Logger;
}

export class Finalizers {
  constructor(private readonly opts: FinalizersOptions) {}

  /** Adds the finalizer to each Lane that lacks it (see the module comment); the first error, if any. */
  async addMissing(lanes: KubeObject[], signal: AbortSignal): Promise<unknown> {
    let first: unknown;
    for (const lane of lanes) {
      if (isDeleting(lane) || hasFinalizer(lane)) continue;
      try {
        await this.patch(lane, (f) => [...f, LANE_FINALIZER], signal);
      } catch (err) {
        first ??= err;
      }
    }
    return first;
  }

  /** Writes this plan still asks for that would be carried out (what holds a deleted Lane back). */
  outstanding(plan: Plan): number {
    let n = 0;
    for (const [ns, list] of plan.changes)
      n += list.filter((c) => !this.opts.failures.has(ns, c.what) && !this.opts.isUnstable(c)).length;
    return n;
  }

  /** Whether Lanes being deleted may lose the finalizer now: the plan asks for nothing more. */
  releasable(plan: Plan): boolean {
    return this.outstanding(plan) === 0;
  }

  /** Releases each Lane (event, then the patch); the first error, if any. */
  async release(lanes: KubeObject[], signal: AbortSignal): Promise<unknown> {
    let first: unknown;
    for (const lane of lanes) {
      try {
        await this.opts.events.record(
          lane,
          "Normal",
          "Finalized",
          "lane routes and subsets removed; user objects restored",
        );
        await this.patch(lane, (f) => f.filter((x) => x !== LANE_FINALIZER), signal);
        this.opts.log.info("Lane finalized", {
          lane: `${lane.metadata.namespace ?? ""}/${lane.metadata.name}`,
        });
      } catch (err) {
        first ??= err;
      }
    }
    return first;
  }

  /** Patches a Lane's finalizers (resourceVersion-guarded; re-reads on conflict). */
  private async patch(lane: KubeObject, edit: (f: string[]) => string[], signal: AbortSignal): Promise<void> {
    const { client, state } = this.opts;
    const r = { ...RESOURCES["meshlane.io|Lane"] };
    const ns = lane.metadata.namespace ?? "";
    let current = lane;
    const updated = await withRetry(async (attempt) => {
      if (attempt > 0) current = (await client.get(r, ns, lane.metadata.name, signal)) as KubeObject;
      const before = Array.isArray(current.metadata.finalizers)
        ? (current.metadata.finalizers as string[])
        : [];
      const after = edit(before);
      return (await client.patch(
        r,
        ns,
        lane.metadata.name,
        "merge",
        { metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: after } },
        { signal },
      )) as KubeObject;
    }, this.opts.retry(signal)).catch((err: unknown) => {
      if (err instanceof KubeError && err.statusCode === 404) return null;
      throw err;
    });
    this.opts.tally.ok("finalizer", "Lane");
    const left = updated?.metadata.finalizers;
    if (!updated || (isDeleting(updated) && (!Array.isArray(left) || left.length === 0))) {
      state.observeGone({
        apiVersion: lane.apiVersion,
        kind: "Lane",
        namespace: ns,
        name: lane.metadata.name,
      });
    } else state.observe(updated);
  }
}
