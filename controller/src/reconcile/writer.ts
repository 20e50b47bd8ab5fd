// The writer: carries out one namespace's planned changes against the API server.
//
// Contract of `ChangeWriter.writeNamespace(changes, signal)`:
// - Make-before-break: phase 1 (DestinationRules that only gain subsets), then phase 2 (VirtualServices
//   and the filter's objects), then phase 3 (DestinationRules that lose subsets or go away); within a
//   phase up to `writeConcurrency` requests are in flight. A phase that hit a failure that may pass
//   (conflict, throttling, server error, network) is the last one tried: later phases could break routes.
// - Each change is one request (see apply.ts), retried on 409/429/5xx. A guarded write (merge, restore)
//   re-reads its object before a retry; if the object moved on, the plan is stale: the change is dropped
//   from this pass (not a failure of the object) and the next pass plans again.
// - The server's answer is recorded in the state (`observe`/`observeGone`), so the next plan sees it
//   before the watch echoes it. An answer that differs from what was written (a mutating webhook, a
//   defaulting the renderer does not know) marks the change unstable: it is not rewritten until the
//   desired spec changes (`isUnstable`).
// - The outcome says what was done, what failed for good (the server refused it), which failures are to
//   be reported on the Lanes, and the first failure that may pass (the caller fails the pass with it).
//
// `WriteTally` counts every API write the controller makes (objects, finalizers, statuses) for
// `writeCount` and the `meshlane_writes_total` / `meshlane_write_errors_total` counters.
import { deepEqual, type KubeObject } from "../render/index.js";
import { carryOut } from "./apply.js";
import type { FailedWrite } from "./failures.js";
import { KubeError, resourceOf, type KubeClient } from "./kube.js";
import type { Logger } from "./log.js";
import { ownedEqual, PAST, writePhase, type Change } from "./plan.js";
import { isRetryable, statusCode, withRetry, type RetryOptions } from "./retry.js";
import type { ClusterState } from "./state.js";

/** A counter as the tally uses it (labels → +1). */
export interface LabelledCounter {
  inc(labels: Record<string, string>): void;
}

/** Every API write made, by operation and kind, and the ones that failed (with the HTTP status). */
export class WriteTally {
  private made = 0;

  constructor(private readonly counters: { writes: LabelledCounter; writeErrors: LabelledCounter }) {}

  /** Writes made so far. */
  get count(): number {
    return this.made;
  }

  ok(op: string, kind: string): void {
    this.counters.writes.inc({ op, kind });
    this.made++;
  }

  failed(op: string, kind: string, err: unknown): void {
    this.counters.writeErrors.inc({ op, kind, code: String(statusCode(err) ?? "network") });
  }
}

/** Retry options of every API call a pass makes: the settings, a signal, and which errors to retry. */
export type RetryPolicy = (signal: AbortSignal, retryOn?: (err: unknown) => boolean) => RetryOptions;

export function retryPolicy(
  settings: Partial<Pick<RetryOptions, "retries" | "base" | "max">> | undefined,
  log: Logger,
): RetryPolicy {
  return (signal, retryOn) => ({
    retries: settings?.retries ?? 5,
    base: settings?.base ?? 100,
    max: settings?.max ?? 5_000,
    signal,
    retryOn,
    onRetry: (err, attempt, delayMs) => log.debug("retrying an API call", { err, attempt, delayMs }),
  });
}

/**
 * Whether a created object's spec is the written one with fields only added (what an API server
 * assigns or defaults on create, such as a Service's clusterIP): not a change to hold back. The next
 * render keeps those fields (render/gatewayapi/laneservices.ts), so nothing is rewritten.
 */
function defaultedFrom(answer: unknown, written: unknown): boolean {
  if (written === null || typeof written !== "object" || Array.isArray(written))
    return deepEqual(answer, written);
  if (answer === null || typeof answer !== "object" || Array.isArray(answer)) return false;
  const a = answer as Record<string, unknown>;
  return Object.entries(written as Record<string, unknown>).every(
    ([k, v]) => v === undefined || (Array.isArray(v) ? deepEqual(a[k], v) : defaultedFrom(a[k], v)),
  );
}

/** The plan a guarded write was computed from no longer holds. */
class Stale extends Error {}

/** Runs `fn` on every item with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export interface WriteOutcome {
  /** Changes written (for the Lanes' Synced event). */
  done: Change[];
  /** Changes the server refused for good: `what` → message. */
  failed: Map<string, string>;
  /** Failures to report on the Lanes they concern (refused, or still failing after retries). */
  failedWrites: FailedWrite[];
  /** The first failure that may pass, if any: the pass fails with it and is retried. */
  passing?: unknown;
}

export interface ChangeWriterOptions {
  client: KubeClient;
  state: ClusterState;
  tally: WriteTally;
  retry: RetryPolicy;
  log: Logger;
  /** Writes in flight at once. Default 16. */
  writeConcurrency?: number;
}

export class ChangeWriter {
  /** Changes the server answered differently from what was written, by `what`: the desired spec. */
  private readonly unstable = new Map<string, string>();

  constructor(private readonly opts: ChangeWriterOptions) {}

  /** Whether the server answered this very change differently last time (it is not rewritten). */
  isUnstable(c: Change): boolean {
    return c.desired !== undefined && this.unstable.get(c.what) === JSON.stringify(c.desired.spec);
  }

  /** Writes one namespace's changes, make-before-break (see the module comment). */
  async writeNamespace(changes: Change[], signal: AbortSignal): Promise<WriteOutcome> {
    const out: WriteOutcome = { done: [], failed: new Map(), failedWrites: [] };
    for (const phase of [1, 2, 3]) {
      const batch = changes.filter((c) => writePhase(c) === phase);
      await pool(batch, this.opts.writeConcurrency ?? 16, async (change) => {
        const outcome = await this.write(change, signal);
        if (outcome === "ok") out.done.push(change);
        else {
          if (outcome.permanent) out.failed.set(change.what, outcome.message);
          else out.passing ??= outcome.err;
          if (outcome.reported)
            out.failedWrites.push({ what: change.what, kind: change.ref.kind, message: outcome.message });
        }
      });
      if (out.passing !== undefined) break;
    }
    return out;
  }

  /** One planned change, with retries; classifies a failure as permanent (reported) or not (retried later). */
  private async write(
    change: Change,
    signal: AbortSignal,
  ): Promise<"ok" | { permanent: boolean; reported: boolean; message: string; err: unknown }> {
    const { state, log } = this.opts;
    const guarded = change.op === "merge" || change.op === "restore";
    try {
      const obj = await withRetry(
        async (attempt) => {
          if (attempt > 0 && guarded) await this.checkFresh(change, signal);
          return carryOut(this.opts.client, change, {
            signal,
            servedApiVersion: (apiVersion, kind) => this.servedApiVersion(apiVersion, kind),
          });
        },
        this.opts.retry(signal, (e) => !(e instanceof Stale) && isRetryable(e)),
      );
      if (obj) {
        state.observe(obj);
        if (
          change.desired &&
          change.op !== "delete" &&
          !ownedEqual(obj, change.desired) &&
          !(change.op === "create" && defaultedFrom(obj.spec, change.desired.spec))
        ) {
          this.unstable.set(change.what, JSON.stringify(change.desired.spec));
          log.warn("the API server changed what was written; not rewriting until the desired spec changes", {
            object: change.what,
          });
        } else this.unstable.delete(change.what);
      } else state.observeGone(change.ref);
      this.opts.tally.ok(change.op, change.ref.kind);
      log.info(`${change.what} ${PAST[change.op]}`, { op: change.op });
      return "ok";
    } catch (err) {
      this.opts.tally.failed(change.op, change.ref.kind, err);
      const permanent = !signal.aborted && !(err instanceof Stale) && !isRetryable(err);
      const message = `${change.op} failed: ${err instanceof Error ? err.message : String(err)}`;
      if (!permanent) log.info(`${change.what}: ${message}; will retry`);
      // What the server refused, or kept failing after retries, is reported; a stale plan or a
      // cut-off request is not a failure of the object.
      const reported = !signal.aborted && !(err instanceof Stale);
      return { permanent, reported, message, err };
    }
  }

  /** Before retrying a guarded write: has the object moved on? Then the plan is stale: re-plan. */
  private async checkFresh(change: Change, signal: AbortSignal): Promise<void> {
    const current = change.current as KubeObject;
    let fresh: KubeObject;
    try {
      fresh = (await this.opts.client.get(
        resourceOf(current.apiVersion, current.kind),
        change.ref.namespace,
        change.ref.name,
        signal,
      )) as KubeObject;
    } catch (err) {
      if (err instanceof KubeError && err.statusCode === 404) {
        this.opts.state.observeGone(change.ref);
        throw new Stale(`${change.what} is gone`);
      }
      throw err;
    }
    if (fresh.metadata.resourceVersion !== current.metadata.resourceVersion) {
      this.opts.state.observe(fresh);
      throw new Stale(`${change.what} changed meanwhile; planning again`);
    }
  }

  /** The apiVersion a kind is watched (hence served) at, for objects render names at another version. */
  private servedApiVersion(apiVersion: string, kind: string): string {
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
    const watched = this.opts.state.servedVersion(group, kind);
    if (!watched) return apiVersion;
    return group === "" ? watched : `${group}/${watched}`; // the core group's apiVersion is bare ("v1")
  }
}
