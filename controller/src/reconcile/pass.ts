// One reconcile pass of a namespace N (the leader's queue runs it), built from the pieces:
//   1. Lanes of N (selected namespace) get the finalizer `meshlane.io/finalizer` if they lack it
//      (finalizers.ts).
//   2. The plan (planner.ts, through the caller's `plan`) gives N's changes; the writer carries them out
//      make-before-break (writer.ts). A namespace whose objects of some kind cannot be listed is not
//      written (its state is unknown); the others go on. The pass's failed writes replace N's in
//      `failures`; when they change for an install namespace, every other namespace is queued (the
//      filter's objects carry every Lane, so every Lane's status says so).
//   3. Objects render could not touch (a delegate VirtualService, a garbled original-spec annotation)
//      and writes the server refused get a Warning event (once an hour) and a log line; they are left
//      alone.
//   1b. Lanes with `spec.rollout` take their rollout step (rollout.ts): commands, analysis, status.rollout,
//      events; a changed share is rendered by the plan of step 2.
//   4. Each Lane's status is written when it differs, with its events (lanestatus.ts).
//   5. Lanes of N being deleted lose the finalizer once a fresh plan asks for nothing more anywhere;
//      until then the pass asks to run again in 250 ms.
// Result: throws the first failure that may pass (or, when writes failed for good, an error naming
// them), so the queue retries N with backoff; otherwise nothing, or `{ requeueAfter }` (step 5, or the
// next time a rollout has something due).
import type { KubeObject } from "../render/index.js";
import type { EventRecorder } from "./events.js";
import type { WriteFailures } from "./failures.js";
import { hasFinalizer, isDeleting, type Finalizers } from "./finalizers.js";
import type { LaneStatuses } from "./lanestatus.js";
import type { Logger } from "./log.js";
import { describeRef, summarize, type Plan } from "./plan.js";
import type { HandlerResult } from "./queue.js";
import type { Rollouts } from "./rollout.js";
import type { ClusterState } from "./state.js";
import type { ChangeWriter } from "./writer.js";

export interface PassParts {
  state: ClusterState;
  /** The current plan; `self` is the namespace asking (a new plan queues the others it concerns). */
  plan: (self: string) => Plan;
  /** Queues a namespace. */
  enqueue: (namespace: string) => void;
  writer: ChangeWriter;
  finalizers: Finalizers;
  rollouts: Rollouts;
  statuses: LaneStatuses;
  failures: WriteFailures;
  events: EventRecorder;
  log: Logger;
}

export async function reconcilePass(
  ns: string,
  signal: AbortSignal,
  p: PassParts,
): Promise<HandlerResult | void> {
  const lanesHere = () => p.state.lanes().filter((l) => (l.metadata.namespace ?? "") === ns);

  // 1. Finalizers, so a Lane's removal is seen through.
  let retry: unknown = p.state.enabled(ns) ? await p.finalizers.addMissing(lanesHere(), signal) : undefined;

  // 1b. Rollouts step (rollout.ts) on the current plan; a new share bumps the state's version, so the
  // plan below renders it (and queues the gateway namespaces).
  const rollouts = await p.rollouts.advance(lanesHere(), p.plan(ns), signal);
  retry ??= rollouts.error;

  // 2. This namespace's changes. Every failed write is reported on the Lanes it concerns and retried.
  const plan = p.plan(ns);
  const blocked = p.state.blocked(ns);
  if (blocked) p.log.debug("namespace not reconciled: cannot read it", { namespace: ns, reason: blocked });
  const todo = blocked ? [] : (plan.changes.get(ns) ?? []).filter((c) => !p.writer.isUnstable(c));
  const { done, failed, failedWrites, passing } = await p.writer.writeNamespace(todo, signal);
  retry ??= passing;
  if (p.failures.record(ns, failedWrites) && p.failures.isInstallNamespace(ns)) {
    for (const other of p.state.namespaces()) if (other !== ns) p.enqueue(other);
  }

  // 3. What render and the API server refused, reported on the objects concerned.
  for (const [what, messages] of plan.problems) {
    const obj = plan.byWhat.get(what);
    if (!obj || obj.kind === "Lane" || (obj.metadata.namespace ?? "") !== ns) continue;
    const reason =
      obj.kind === "VirtualService" || obj.kind === "DestinationRule" || obj.kind === "HTTPRoute"
        ? "MergeFailed"
        : "NameConflict";
    await warn(p, obj, reason, `left untouched: ${messages.join("; ")}`);
  }
  for (const [what, message] of failed) {
    const obj = plan.byWhat.get(what) ?? todo.find((c) => c.what === what)?.desired;
    if (obj) await warn(p, obj, "WriteFailed", message);
  }

  // 4. Lane status, and a summary event of what changed.
  const statusErr = await p.statuses.publish(lanesHere(), plan, summarize(done), signal);
  retry ??= statusErr;

  // 5. Lanes being deleted: release once nothing is left to change anywhere.
  let requeueAfter: number | undefined;
  const leaving = lanesHere().filter((l) => isDeleting(l) && hasFinalizer(l));
  if (leaving.length > 0 && retry === undefined) {
    if (!p.finalizers.releasable(p.plan(ns))) requeueAfter = 250;
    else retry ??= await p.finalizers.release(leaving, signal);
  }
  // A failed write is retried with the queue's backoff, not left to the next resync.
  if (retry === undefined && failed.size > 0)
    retry = new Error(
      `${failed.size} write(s) failed: ${[...failed].map(([w, m]) => `${w}: ${m}`).join("; ")}`,
    );
  if (retry !== undefined) throw retry;
  if (rollouts.requeueAfter !== undefined)
    requeueAfter = Math.min(requeueAfter ?? Infinity, rollouts.requeueAfter);
  return requeueAfter === undefined ? undefined : { requeueAfter };
}

/** A Warning event on an object (and a log line), unless the same one was sent within the hour. */
async function warn(p: PassParts, obj: KubeObject, reason: string, message: string): Promise<void> {
  if (!p.events.fresh(obj, reason, message)) return;
  p.log.warn(message, {
    object: describeRef({
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      namespace: obj.metadata.namespace ?? "",
      name: obj.metadata.name,
    }),
    reason,
  });
  await p.events.record(obj, "Warning", reason, message);
}
