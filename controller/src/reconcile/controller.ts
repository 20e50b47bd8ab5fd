// The lane controller: informers → a keyed work queue → render → diff → write only what changed.
//
// Keys are namespaces. Render needs the whole picture (a Service's routes depend on all its workloads,
// its namespace's Lanes and every VirtualService that routes to it; lane names are global; the filter's
// EnvoyFilters in the root namespace carry every Lane), so one render covers the cluster and is
// memoised by the state version: after one change, however many namespaces are reconciled, render runs
// once. A reconcile of namespace N writes only N's objects (its Lanes' finalizers and statuses included),
// so writes to one namespace are serial while namespaces proceed in parallel; a render whose result
// changes other namespaces queues them. The install namespace (istio-system) is a key like any other.
//
// One pass of reconcile(N), on the leader only:
//   1. Lanes of N (selected namespace) get the finalizer `meshlane.io/finalizer` if they lack it.
//   2. The plan (render of the current state, minus Lanes being deleted) gives N's changes; each is one
//      request (server-side apply for meshlane's objects, a resourceVersion-guarded JSON patch for the
//      user's), retried on 409/429/5xx with backoff. Nothing is written when nothing differs.
//   3. Objects render could not touch (a delegate VirtualService, a garbled original-spec annotation) are
//      reported with a Warning event and left alone; permanent write failures likewise.
//   4. Each Lane's status (services, serviceCount, Ready/Degraded, observedGeneration) is written through
//      the status subresource when it differs.
//   5. A Lane being deleted loses its finalizer once nothing remains to change anywhere: its routes and
//      subsets are gone, user objects no lane needs are restored, meshlane's own objects deleted.
// A failure that may pass (conflict, throttling, server error) fails the pass; the queue retries the key
// with backoff. A periodic resync queues every namespace again; the informers also queue a namespace on
// any change there, so drift is reverted at once.
import { setMaxListeners } from "node:events";
import type { KubeConfig } from "@kubernetes/client-node";
import { render, type KubeObject, type RenderOptions } from "../render/index.js";
import { resolveOptions } from "../render/options.js";
import { carryOut } from "./apply.js";
import { EventRecorder } from "./events.js";
import { WriteFailures, type FailedWrite } from "./failures.js";
import { LastValidSpecs, storedLastValid, type ServingNotes } from "./lastvalid.js";
import { KubeClient, KubeError, RESOURCES, resourceOf } from "./kube.js";
import { LeaderElector } from "./leader.js";
import { silentLogger, type Logger } from "./log.js";
import {
  controllerMetrics,
  Registry,
  type ControllerMetrics,
  type Counter,
  type Histogram,
} from "./metrics.js";
import {
  computePlan,
  describeRef,
  ownedEqual,
  PAST,
  summarize,
  writePhase,
  type Change,
  type Plan,
} from "./plan.js";
import { FilterProbe } from "./probe.js";
import { WorkQueue, type HandlerResult } from "./queue.js";
import { isRetryable, statusCode, withRetry, type RetryOptions } from "./retry.js";
import { OpsServer } from "./server.js";
import {
  ClusterState,
  DEFAULT_NAMESPACE_SELECTOR,
  LANE_FINALIZER,
  type ClusterStateOptions,
} from "./state.js";
import {
  desiredStatus,
  keepTransitionTimes,
  nowTime,
  statusEqual,
  type LaneHealth,
  type LaneStatusBody,
} from "./status.js";
import { serveWasm, type WasmModule } from "./wasm.js";

export { writePhase };

export interface LeaderElectionSettings {
  /** Namespace of the Lease (the controller's own). */
  namespace: string;
  /** Lease name. Default `meshlane-controller`. */
  name?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LaneControllerOptions {
  kc: KubeConfig;
  /** Render options, as read from the configuration (optionsFromConfig); `wasm.sha256` is replaced by the served module's. */
  render: RenderOptions;
  /** The filter module: served at /meshlane.wasm and used to check every Lane's dye rules. */
  wasm: WasmModule;
  /** Label selector of the namespaces to manage. Default `meshlane.io/enabled=true`. */
  namespaceSelector?: string;
  /** Leader election on a Lease; false to run as the only replica. */
  leaderElection?: LeaderElectionSettings | false;
  /** This replica's name (Lease holder, event reportingInstance). */
  identity: string;
  /** Period of the full resync. Default 5 min. */
  resyncMs?: number;
  /** Namespaces reconciled at the same time. Default 4. */
  concurrency?: number;
  /** Writes in flight within one reconcile. Default 16. */
  writeConcurrency?: number;
  /** The ops endpoints (/healthz, /readyz, /metrics, /meshlane.wasm); false for none. */
  ops?: { port?: number; host?: string } | false;
  logger?: Logger;
  informer?: ClusterStateOptions["informer"];
  retry?: Pick<RetryOptions, "retries" | "base" | "max">;
  queue?: { baseDelayMs?: number; maxDelayMs?: number };
  /** An identical event is not repeated within this time. Default 1 h. */
  eventDedupeMs?: number;
  /** How long stop() lets queued work finish before cutting it off. Default 10 s. */
  drainTimeoutMs?: number;
}

export interface LaneControllerMetrics extends ControllerMetrics {
  writes: Counter;
  writeErrors: Counter;
  events: Counter;
  renders: Histogram;
}

class Stale extends Error {}

function hasFinalizer(o: KubeObject): boolean {
  const f = o.metadata.finalizers;
  return Array.isArray(f) && f.includes(LANE_FINALIZER);
}

function isDeleting(o: KubeObject): boolean {
  return typeof o.metadata.deletionTimestamp === "string" && o.metadata.deletionTimestamp !== "";
}

/** Runs `fn` on every item with at most `n` in flight. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export class LaneController {
  readonly state: ClusterState;
  readonly metrics: LaneControllerMetrics;
  readonly client: KubeClient;
  private readonly queue: WorkQueue;
  private readonly events: EventRecorder;
  private readonly renderOptions: RenderOptions;
  private readonly log: Logger;
  private readonly elector?: LeaderElector;
  private ops?: OpsServer;
  private probe?: FilterProbe;
  private memo?: Plan;
  private leading = false;
  private leaderSignal: AbortSignal = AbortSignal.abort();
  private soloLeader?: AbortController;
  private readonly lifetime = new AbortController();
  /** Aborted when stop() gives up waiting for queued work: in-flight requests are cut off. */
  private readonly cutoff = new AbortController();
  private resyncTimer?: NodeJS.Timeout;
  private stopped = false;
  private writesMade = 0;
  /** Render warnings already logged (each is logged once). */
  private readonly warned = new Set<string>();
  /** Write failures of the last pass of each namespace. */
  private readonly failures: WriteFailures;
  /** Changes the server answered differently from what was written (not rewritten until they change). */
  private readonly unstable = new Map<string, string>();
  /** The spec routed for each Lane: its own, or while it is invalid the last valid one (kept in status). */
  private readonly lastValid = new LastValidSpecs();

  constructor(private readonly opts: LaneControllerOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: "controller" });
    this.renderOptions = { ...opts.render, wasm: { ...opts.render.wasm, sha256: opts.wasm.sha256 } };
    const resolved = resolveOptions(this.renderOptions);
    this.failures = new WriteFailures([resolved.gatewayNamespace, resolved.rootNamespace]);
    this.client = new KubeClient(opts.kc);
    this.state = new ClusterState({
      kc: opts.kc,
      client: this.client,
      namespaceSelector: opts.namespaceSelector,
      installNamespaces: [resolved.gatewayNamespace, resolved.rootNamespace],
      logger: opts.logger,
      informer: opts.informer,
      onChange: (ns) => {
        // A standby keeps its caches warm but queues nothing: it resyncs everything when it takes over.
        if (this.leading && !this.stopped && ns) this.queue.add(ns);
      },
      // A namespace blocked on a read, or Lanes reporting one, are seen to as soon as it changes.
      onHealth: () => this.resyncNow(),
    });
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: opts.concurrency ?? 4,
      baseDelayMs: opts.queue?.baseDelayMs ?? 100,
      maxDelayMs: opts.queue?.maxDelayMs ?? 30_000,
      onDone: (key, o) => {
        this.metrics.observeReconcile(o.ok, o.durationMs, key);
        if (!o.ok)
          this.log.warn("reconcile failed; retrying", {
            namespace: key,
            err: o.error,
            retryInMs: o.retryInMs,
          });
      },
    });
    const registry = new Registry();
    const base = controllerMetrics({
      registry,
      queueDepth: () => this.queue.stats().depth,
      isLeader: () => this.leading,
    });
    this.metrics = {
      ...base,
      writes: registry.counter("meshlane_writes_total", "API writes by operation and kind."),
      writeErrors: registry.counter(
        "meshlane_write_errors_total",
        "API writes that failed, by operation, kind and HTTP status.",
      ),
      events: registry.counter("meshlane_events_total", "Kubernetes Events recorded, by type."),
      renders: registry.histogram(
        "meshlane_render_duration_seconds",
        "Time to render the cluster's lanes, in seconds.",
      ),
    };
    registry.gauge(
      "meshlane_pending_changes",
      "Writes the last render still asks for.",
      () => this.memo?.size ?? 0,
    );
    registry.sampled(
      "meshlane_watch_up",
      '1 while the watch of a resource (in a namespace; "" cluster-wide) is up, 0 while it fails.',
      () =>
        this.state.health().map((h) => ({
          labels: { resource: h.resource, namespace: h.namespace },
          value: h.connected ? 1 : 0,
        })),
    );
    registry.sampled(
      "meshlane_failed_writes",
      "Objects whose last write failed (retried with backoff), by namespace and kind.",
      () =>
        this.failures
          .counts()
          .map((c) => ({ labels: { namespace: c.namespace, kind: c.kind }, value: c.value })),
    );
    registry.gauge(
      "meshlane_queue_in_flight",
      "Namespaces being reconciled now.",
      () => this.queue.stats().inFlight,
    );
    this.events = new EventRecorder({
      client: this.client,
      instance: opts.identity,
      logger: opts.logger,
      dedupeMs: opts.eventDedupeMs,
      onSent: (type) => this.metrics.events.inc({ type }),
    });
    if (opts.leaderElection) {
      const le = opts.leaderElection;
      this.elector = new LeaderElector({
        kc: opts.kc,
        namespace: le.namespace,
        name: le.name ?? "meshlane-controller",
        identity: opts.identity,
        leaseDurationMs: le.leaseDurationMs,
        renewDeadlineMs: le.renewDeadlineMs,
        retryPeriodMs: le.retryPeriodMs,
        logger: opts.logger,
        onStartedLeading: (signal) => this.lead(signal),
        onStoppedLeading: () => this.follow(),
      });
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The ops server's port (0 before start or without one). */
  get port(): number {
    return this.ops?.port ?? 0;
  }

  /**
   * Starts the ops server, the informers (every replica keeps warm caches), waits for them to list, then
   * leader election (or leads at once without it) and the periodic resync.
   */
  async start(): Promise<void> {
    setMaxListeners(0, this.lifetime.signal);
    this.probe = await FilterProbe.load(this.opts.wasm.bytes);
    if (this.opts.ops !== false) {
      this.ops = new OpsServer({
        port: this.opts.ops?.port ?? 8080,
        host: this.opts.ops?.host,
        registry: this.metrics.registry,
        logger: this.opts.logger,
        checks: {
          "informers-synced": () => this.state.synced,
          // Down while any watch is (an API server outage); a kind the server refuses to list is
          // reported on the Lanes and in meshlane_watch_up instead.
          watches: () => this.state.connected,
          "leader-election": () => this.elector?.readiness() ?? true,
        },
      });
      serveWasm(this.ops, this.opts.wasm);
      await this.ops.start();
    }
    await this.state.start(this.lifetime.signal);
    this.log.info("watching", { kinds: this.state.watching });
    await this.state.waitForSync(this.lifetime.signal);
    this.log.info("caches synced", { wasmSha256: this.opts.wasm.sha256 });
    if (this.stopped) return;
    if (this.elector) this.elector.start();
    else {
      this.soloLeader = new AbortController();
      this.lead(this.soloLeader.signal);
    }
    const period = this.opts.resyncMs ?? 300_000;
    if (period > 0) {
      this.resyncTimer = setInterval(() => this.resyncNow(), period);
      this.resyncTimer.unref();
    }
  }

  /**
   * Graceful shutdown: no new keys, queued work finishes (up to drainTimeoutMs), the lease is released
   * (unless `releaseLease: false`, which behaves like a crash), informers stop, the ops server closes.
   */
  async stop(o: { releaseLease?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.resyncTimer);
    this.lifetime.abort();
    const drained = this.queue.shutdown({ drain: true });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.opts.drainTimeoutMs ?? 10_000);
    });
    if ((await Promise.race([drained, timeout])) === "timeout") {
      this.log.warn("work still running at shutdown; cutting it off");
      this.cutoff.abort();
      this.follow();
      await drained;
    }
    clearTimeout(timer);
    if (this.elector) await this.elector.stop({ release: o.releaseLease !== false });
    this.follow();
    await this.state.stop();
    this.client.close();
    await this.ops?.close();
    this.log.info("stopped");
  }

  /** API writes made so far (objects, finalizers, statuses; events not counted). */
  get writeCount(): number {
    return this.writesMade;
  }

  /** Queues every namespace the controller has business in (on the leader). */
  resyncNow(): void {
    if (this.stopped || !this.leading) return;
    for (const ns of this.state.namespaces()) this.queue.add(ns);
  }

  private lead(signal: AbortSignal): void {
    this.leading = true;
    this.leaderSignal = AbortSignal.any([signal, this.cutoff.signal]);
    // Every request in flight listens on this signal (writes run 16 at a time).
    setMaxListeners(0, this.leaderSignal);
    signal.addEventListener("abort", () => this.follow(), { once: true });
    this.log.info("leading: reconciling", { identity: this.opts.identity });
    this.resyncNow();
  }

  private follow(): void {
    if (!this.leading) return;
    this.leading = false;
    this.soloLeader?.abort();
  }

  /** Resolves when no namespace is queued or being reconciled (delayed retries aside). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Work left to do: planned writes (ignoring ones that failed for good), Lanes without the finalizer or
   * with an outdated status, Lanes waiting to be finalized. 0 on a converged cluster.
   */
  pendingWork(): number {
    if (!this.state.synced) return Infinity;
    const plan = this.plan();
    let n = 0;
    for (const [ns, list] of plan.changes) {
      if (this.state.blocked(ns)) continue;
      n += list.filter((c) => !this.failures.has(ns, c.what) && !this.isUnstable(c)).length;
    }
    for (const lane of this.state.lanes()) {
      const ns = lane.metadata.namespace ?? "";
      if (isDeleting(lane)) {
        if (hasFinalizer(lane)) n++;
      } else if (this.state.enabled(ns) && !hasFinalizer(lane)) n++;
      else if (!statusEqual(lane.status, this.statusFor(lane, plan))) n++;
    }
    return n;
  }

  /** Converged: leading, caches synced, queue empty (no retries pending) and no work left. */
  settled(): boolean {
    const q = this.queue.stats();
    return this.leading && q.depth === 0 && q.inFlight === 0 && q.delayed === 0 && this.pendingWork() === 0;
  }

  // ---- render ----

  /** Render's input from the state: Lanes being deleted left out, an invalid Lane kept at its last valid spec. */
  private renderInput(): { input: KubeObject[]; verdicts: Record<string, string>; serving: ServingNotes } {
    const snapshot = this.state.snapshot().filter((o) => !(o.kind === "Lane" && isDeleting(o)));
    const lanes = snapshot.filter((o) => o.kind === "Lane");
    const { substitutes, verdicts, serving } = this.lastValid.resolve(lanes, this.probe, this.renderOptions);
    return { input: snapshot.map((o) => substitutes.get(o) ?? o), verdicts, serving };
  }

  private servingNotes: ServingNotes = new Map();

  /** The plan for the current state, rendered at most once per state version. */
  private plan(self = ""): Plan {
    this.state.sweep();
    if (this.memo && this.memo.version === this.state.version) return this.memo;
    const version = this.state.version;
    const started = performance.now();
    const { input, verdicts, serving } = this.renderInput();
    const result = render(input, {
      ...this.renderOptions,
      laneVerdicts: verdicts,
      sidecarNamespaces: this.state.enabledNamespaces(),
    });
    const plan = computePlan(result, input, version);
    this.metrics.renders.observe((performance.now() - started) / 1000);
    this.memo = plan;
    for (const w of result.warnings) {
      const key = `${w.object}|${w.message}`;
      if (this.warned.has(key)) continue;
      if (this.warned.size >= 10_000) this.warned.clear();
      this.warned.add(key);
      this.log.info(w.message, { object: w.object, render: "warning" });
    }
    this.servingNotes = serving;
    if (this.log.enabled("debug")) {
      this.log.debug("rendered", {
        version,
        changes: plan.size,
        errors: result.errors.length,
        ms: Math.round(performance.now() - started),
      });
    }
    // Other namespaces this render changes, or whose Lanes' status it changes, get their turn.
    if (this.leading && !this.stopped) {
      for (const ns of plan.changes.keys()) if (ns !== self) this.queue.add(ns);
    }
    return plan;
  }

  private isUnstable(c: Change): boolean {
    return c.desired !== undefined && this.unstable.get(c.what) === JSON.stringify(c.desired.spec);
  }

  // ---- status ----

  private healthOf(lane: KubeObject, plan: Plan): LaneHealth {
    const ns = lane.metadata.namespace ?? "";
    const id = `${ns}/${lane.metadata.name}`;
    const trouble: LaneHealth["trouble"] = [];
    for (const [what, messages] of plan.problems) {
      const obj = plan.byWhat.get(what);
      if (!obj || obj.kind === "Lane" || (obj.metadata.namespace ?? "") !== ns) continue;
      for (const m of messages) trouble.push({ reason: "MergeFailed", message: `${what}: ${m}` });
    }
    for (const f of this.failures.concerning(ns))
      trouble.push({ reason: "ApplyFailed", message: `${f.what}: ${f.message}` });
    for (const r of this.state.unreadable())
      if (r.namespace === "" || r.namespace === ns || this.failures.isInstallNamespace(r.namespace))
        trouble.push({ reason: "ReadFailed", message: r.message });
    if (!this.state.enabled(ns)) {
      const selector = this.opts.namespaceSelector ?? DEFAULT_NAMESPACE_SELECTOR;
      return { notEnabled: selector, trouble, lastValid: storedLastValid(lane) };
    }
    const lastValid = this.lastValid.routedFor(id);
    const note = this.servingNotes.get(id);
    if (note) return { invalid: note.error, servingGeneration: note.generation, trouble, lastValid };
    const errors = plan.problems.get(`Lane ${id}`);
    return errors ? { invalid: errors.join("; "), trouble, lastValid } : { trouble, lastValid };
  }

  private statusFor(lane: KubeObject, plan: Plan): LaneStatusBody {
    const id = `${lane.metadata.namespace}/${lane.metadata.name}`;
    const health = this.healthOf(lane, plan);
    const routed =
      health.invalid !== undefined && health.servingGeneration === undefined ? undefined : plan.lanes.get(id);
    return keepTransitionTimes(desiredStatus(lane, routed, health, nowTime()), lane.status);
  }

  // ---- reconcile ----

  private async reconcile(ns: string): Promise<HandlerResult | void> {
    if (!this.leading || !this.state.synced) return;
    return this.reconcileNamespace(ns, this.leaderSignal);
  }

  private async reconcileNamespace(ns: string, signal: AbortSignal): Promise<HandlerResult | void> {
    let retry: unknown;
    const enabled = this.state.enabled(ns);
    const lanesHere = () => this.state.lanes().filter((l) => (l.metadata.namespace ?? "") === ns);

    // 1. Finalizers, so a Lane's removal is seen through.
    if (enabled) {
      for (const lane of lanesHere()) {
        if (isDeleting(lane) || hasFinalizer(lane)) continue;
        try {
          await this.patchFinalizers(lane, (f) => [...f, LANE_FINALIZER], signal);
        } catch (err) {
          retry ??= err;
        }
      }
    }

    // 2. This namespace's changes, make-before-break: subsets are added before routes use them, and
    //    removed only after the routes are gone. A phase that hit a passing failure stops the pass.
    //    A namespace whose objects of some kind cannot be listed is not written (its state is unknown);
    //    the others go on. Every failed write is reported on the Lanes it concerns and retried.
    const plan = this.plan(ns);
    const blocked = this.state.blocked(ns);
    if (blocked)
      this.log.debug("namespace not reconciled: cannot read it", { namespace: ns, reason: blocked });
    const todo = blocked ? [] : (plan.changes.get(ns) ?? []).filter((c) => !this.isUnstable(c));
    const failed = new Map<string, string>();
    const failedWrites: FailedWrite[] = [];
    const done: Change[] = [];
    let passing: unknown;
    for (const phase of [1, 2, 3]) {
      const batch = todo.filter((c) => writePhase(c) === phase);
      await pool(batch, this.opts.writeConcurrency ?? 16, async (change) => {
        const outcome = await this.write(change, signal);
        if (outcome === "ok") done.push(change);
        else {
          if (outcome.permanent) failed.set(change.what, outcome.message);
          else passing ??= outcome.err;
          if (outcome.reported)
            failedWrites.push({ what: change.what, kind: change.ref.kind, message: outcome.message });
        }
      });
      if (passing !== undefined) break;
    }
    retry ??= passing;
    if (this.failures.record(ns, failedWrites) && this.failures.isInstallNamespace(ns)) {
      // The filter's objects carry every Lane: every namespace's Lanes get to say so.
      for (const other of this.state.namespaces()) if (other !== ns) this.queue.add(other);
    }

    // 3. What render and the API server refused, reported on the objects concerned.
    for (const [what, messages] of plan.problems) {
      const obj = plan.byWhat.get(what);
      if (!obj || obj.kind === "Lane" || (obj.metadata.namespace ?? "") !== ns) continue;
      const reason =
        obj.kind === "VirtualService" || obj.kind === "DestinationRule" ? "MergeFailed" : "NameConflict";
      await this.warn(obj, reason, `left untouched: ${messages.join("; ")}`);
    }
    for (const [what, message] of failed) {
      const obj = plan.byWhat.get(what) ?? todo.find((c) => c.what === what)?.desired;
      if (obj) await this.warn(obj, "WriteFailed", message);
    }

    // 4. Lane status, and a summary event of what changed.
    const summary = summarize(done);
    for (const lane of lanesHere()) {
      if (isDeleting(lane)) continue;
      const desired = this.statusFor(lane, plan);
      if (summary && desired.conditions.some((c) => c.type === "Ready" && c.status === "True")) {
        await this.note(lane, "Normal", "Synced", summary);
      }
      if (statusEqual(lane.status, desired)) continue;
      const wasOk =
        (lane.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.find(
          (c) => c.type === "Degraded",
        )?.status !== "True";
      const degraded = desired.conditions.find((c) => c.type === "Degraded");
      try {
        await this.writeStatus(lane, desired, signal);
      } catch (err) {
        retry ??= err;
        continue;
      }
      if (degraded?.status === "True") await this.note(lane, "Warning", degraded.reason, degraded.message);
      else if (!wasOk) {
        this.events.forget(lane);
        await this.note(lane, "Normal", "Recovered", "lane routes in place");
      }
    }

    // 5. Lanes being deleted: release once nothing is left to change anywhere.
    let requeueAfter: number | undefined;
    const leaving = lanesHere().filter((l) => isDeleting(l) && hasFinalizer(l));
    if (leaving.length > 0 && retry === undefined) {
      const after = this.plan(ns);
      let outstanding = 0;
      for (const [other, list] of after.changes)
        outstanding += list.filter((c) => !this.failures.has(other, c.what) && !this.isUnstable(c)).length;
      if (outstanding > 0) requeueAfter = 250;
      else {
        for (const lane of leaving) {
          try {
            await this.note(
              lane,
              "Normal",
              "Finalized",
              "lane routes and subsets removed; user objects restored",
            );
            await this.patchFinalizers(lane, (f) => f.filter((x) => x !== LANE_FINALIZER), signal);
            this.log.info("Lane finalized", { lane: `${ns}/${lane.metadata.name}` });
          } catch (err) {
            retry ??= err;
          }
        }
      }
    }
    // A failed write is retried with the queue's backoff, not left to the next resync.
    if (retry === undefined && failed.size > 0)
      retry = new Error(
        `${failed.size} write(s) failed: ${[...failed].map(([w, m]) => `${w}: ${m}`).join("; ")}`,
      );
    if (retry !== undefined) throw retry;
    return requeueAfter === undefined ? undefined : { requeueAfter };
  }

  private async warn(obj: KubeObject, reason: string, message: string): Promise<void> {
    if (!this.events.fresh(obj, reason, message)) return;
    this.log.warn(message, {
      object: describeRef({
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        namespace: obj.metadata.namespace ?? "",
        name: obj.metadata.name,
      }),
      reason,
    });
    await this.events.record(obj, "Warning", reason, message);
  }

  private async note(
    obj: KubeObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    await this.events.record(obj, type, reason, message);
  }

  private retryOptions(signal: AbortSignal, retryOn?: (err: unknown) => boolean): RetryOptions {
    return {
      retries: this.opts.retry?.retries ?? 5,
      base: this.opts.retry?.base ?? 100,
      max: this.opts.retry?.max ?? 5_000,
      signal,
      retryOn,
      onRetry: (err, attempt, delayMs) => this.log.debug("retrying an API call", { err, attempt, delayMs }),
    };
  }

  /** One planned change, with retries; classifies a failure as permanent (reported) or not (retried later). */
  private async write(
    change: Change,
    signal: AbortSignal,
  ): Promise<"ok" | { permanent: boolean; reported: boolean; message: string; err: unknown }> {
    const guarded = change.op === "merge" || change.op === "restore";
    try {
      const obj = await withRetry(
        async (attempt) => {
          if (attempt > 0 && guarded) await this.checkFresh(change, signal);
          return carryOut(this.client, change, {
            signal,
            servedApiVersion: (apiVersion, kind) => this.servedApiVersion(apiVersion, kind),
          });
        },
        this.retryOptions(signal, (e) => !(e instanceof Stale) && isRetryable(e)),
      );
      if (obj) {
        this.state.observe(obj);
        if (change.desired && change.op !== "delete" && !ownedEqual(obj, change.desired)) {
          this.unstable.set(change.what, JSON.stringify(change.desired.spec));
          this.log.warn(
            "the API server changed what was written; not rewriting until the desired spec changes",
            { object: change.what },
          );
        } else this.unstable.delete(change.what);
      } else this.state.observeGone(change.ref);
      this.metrics.writes.inc({ op: change.op, kind: change.ref.kind });
      this.writesMade++;
      this.log.info(`${change.what} ${PAST[change.op]}`, { op: change.op });
      return "ok";
    } catch (err) {
      const code = statusCode(err);
      this.metrics.writeErrors.inc({ op: change.op, kind: change.ref.kind, code: String(code ?? "network") });
      const permanent = !signal.aborted && !(err instanceof Stale) && !isRetryable(err);
      const message = `${change.op} failed: ${err instanceof Error ? err.message : String(err)}`;
      if (!permanent) this.log.info(`${change.what}: ${message}; will retry`);
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
      fresh = (await this.client.get(
        resourceOf(current.apiVersion, current.kind),
        change.ref.namespace,
        change.ref.name,
        signal,
      )) as KubeObject;
    } catch (err) {
      if (err instanceof KubeError && err.statusCode === 404) {
        this.state.observeGone(change.ref);
        throw new Stale(`${change.what} is gone`);
      }
      throw err;
    }
    if (fresh.metadata.resourceVersion !== current.metadata.resourceVersion) {
      this.state.observe(fresh);
      throw new Stale(`${change.what} changed meanwhile; planning again`);
    }
  }

  /** The apiVersion a kind is watched (hence served) at, for objects render names at another version. */
  private servedApiVersion(apiVersion: string, kind: string): string {
    const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
    const watched = this.state.servedVersion(group, kind);
    return watched ? `${group}/${watched}` : apiVersion;
  }

  /** Patches a Lane's finalizers (resourceVersion-guarded; re-reads on conflict). */
  private async patchFinalizers(
    lane: KubeObject,
    edit: (f: string[]) => string[],
    signal: AbortSignal,
  ): Promise<void> {
    const r = { ...RESOURCES["meshlane.io|Lane"] };
    const ns = lane.metadata.namespace ?? "";
    let current = lane;
    const updated = await withRetry(async (attempt) => {
      if (attempt > 0) current = (await this.client.get(r, ns, lane.metadata.name, signal)) as KubeObject;
      const before = Array.isArray(current.metadata.finalizers)
        ? (current.metadata.finalizers as string[])
        : [];
      const after = edit(before);
      return (await this.client.patch(
        r,
        ns,
        lane.metadata.name,
        "merge",
        { metadata: { resourceVersion: current.metadata.resourceVersion, finalizers: after } },
        { signal },
      )) as KubeObject;
    }, this.retryOptions(signal)).catch((err: unknown) => {
      if (err instanceof KubeError && err.statusCode === 404) return null;
      throw err;
    });
    this.metrics.writes.inc({ op: "finalizer", kind: "Lane" });
    this.writesMade++;
    const left = updated?.metadata.finalizers;
    if (!updated || (isDeleting(updated) && (!Array.isArray(left) || left.length === 0))) {
      this.state.observeGone({
        apiVersion: lane.apiVersion,
        kind: "Lane",
        namespace: ns,
        name: lane.metadata.name,
      });
    } else this.state.observe(updated);
  }

  private async writeStatus(lane: KubeObject, status: LaneStatusBody, signal: AbortSignal): Promise<void> {
    const r = RESOURCES["meshlane.io|Lane"];
    try {
      const updated = await withRetry(
        () =>
          this.client.patch(
            r,
            lane.metadata.namespace ?? "",
            lane.metadata.name,
            "merge",
            { status },
            {
              subresource: "status",
              signal,
            },
          ),
        this.retryOptions(signal),
      );
      this.metrics.writes.inc({ op: "status", kind: "Lane" });
      this.writesMade++;
      this.state.observe(updated as KubeObject);
    } catch (err) {
      if (err instanceof KubeError && err.statusCode === 404) return;
      this.metrics.writeErrors.inc({
        op: "status",
        kind: "Lane",
        code: String(statusCode(err) ?? "network"),
      });
      if (!isRetryable(err)) {
        this.log.error("could not write a Lane's status", {
          lane: `${lane.metadata.namespace}/${lane.metadata.name}`,
          err,
        });
        return;
      }
      throw err;
    }
  }
}
