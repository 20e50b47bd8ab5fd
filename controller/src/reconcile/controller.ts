// The lane controller: informers → a keyed work queue → one reconcile pass per namespace → writes of
// only what changed. This module is the wiring; the pass and its pieces live beside it:
//   pass.ts        one namespace's pass (finalizers, writes, events, statuses, release of deleted Lanes)
//   planner.ts     render of the cluster → changes per namespace, memoised by state version, no effects
//   writer.ts      a namespace's changes written make-before-break; failures classified; writes counted
//   finalizers.ts  the Lane finalizer: added, and removed once nothing is left to change
//   lanestatus.ts  each Lane's status computed and written, with its events
//   rollout.ts     each Lane's rollout stepped by the engine: commands, analysis, status.rollout, events
//
// Keys are namespaces. Render needs the whole picture (a Service's routes depend on all its workloads,
// its namespace's Lanes and every VirtualService that routes to it; lane names are global; the filter's
// EnvoyFilters in the root namespace carry every Lane), so one render covers the cluster: after one
// change, however many namespaces are reconciled, render runs once. A reconcile of namespace N writes
// only N's objects (its Lanes' finalizers and statuses included), so writes to one namespace are serial
// while namespaces proceed in parallel; a new plan queues the other namespaces it changes (done here, in
// `plan()`, not by the planner). The install namespace (istio-system) is a key like any other.
//
// What stays here: the options, building the pieces, the informers' and the queue's callbacks,
// leadership (only the leader reconciles; a standby keeps warm caches), the periodic resync, the ops
// server, start/stop, and the convergence queries (`pendingWork`, `settled`). A failure that may pass
// fails the pass and the queue retries the key with backoff; the informers queue a namespace on any
// change there, so drift is reverted at once.
import { setMaxListeners } from "node:events";
import type { KubeConfig } from "@kubernetes/client-node";
import type { RenderOptions } from "../render/index.js";
import type { MetricsProvider } from "../rollout/provider.js";
import { resolveOptions } from "../render/options.js";
import { EventRecorder } from "./events.js";
import { WriteFailures } from "./failures.js";
import { Finalizers, hasFinalizer, isDeleting } from "./finalizers.js";
import { KubeClient } from "./kube.js";
import { LaneStatuses } from "./lanestatus.js";
import { LeaderElector } from "./leader.js";
import { silentLogger, type Logger } from "./log.js";
import { laneControllerMetrics, rolloutSamples, type LaneControllerMetrics } from "./metrics.js";
import { reconcilePass } from "./pass.js";
import { PodStatsProvider } from "./podstats.js";
import { Rollouts } from "./rollout.js";
import { writePhase, type Plan } from "./plan.js";
import { Planner } from "./planner.js";
import { FilterProbe } from "./probe.js";
import { WorkQueue, type HandlerResult } from "./queue.js";
import type { RetryOptions } from "./retry.js";
import { OpsServer } from "./server.js";
import { ClusterState, type ClusterStateOptions } from "./state.js";
import { statusEqual } from "./status.js";
import { serveWasm, type WasmModule } from "./wasm.js";
import { ChangeWriter, retryPolicy, WriteTally } from "./writer.js";

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
  /**
   * Where rollouts' analysis rounds come from (e.g. Prometheus); none: analysis gives no verdict.
   * `"embedded"`: the proxies' stats endpoints of the pods behind each lane's Services, found through
   * this controller's API client and caches (podstats.ts).
   */
  metricsProvider?: MetricsProvider | "embedded";
  /** The clock rollouts step by, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

export type { LaneControllerMetrics };

export class LaneController {
  readonly state: ClusterState;
  readonly metrics: LaneControllerMetrics;
  readonly client: KubeClient;
  private readonly queue: WorkQueue;
  private readonly events: EventRecorder;
  private readonly log: Logger;
  private readonly elector?: LeaderElector;
  private readonly planner: Planner;
  private readonly writer: ChangeWriter;
  private readonly finalizers: Finalizers;
  private readonly statuses: LaneStatuses;
  private readonly rollouts: Rollouts;
  private readonly tally: WriteTally;
  /** Write failures of the last pass of each namespace. */
  private readonly failures: WriteFailures;
  private ops?: OpsServer;
  private leading = false;
  private leaderSignal: AbortSignal = AbortSignal.abort();
  private soloLeader?: AbortController;
  private readonly lifetime = new AbortController();
  /** Aborted when stop() gives up waiting for queued work: in-flight requests are cut off. */
  private readonly cutoff = new AbortController();
  private resyncTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: LaneControllerOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: "controller" });
    const renderOptions = { ...opts.render, wasm: { ...opts.render.wasm, sha256: opts.wasm.sha256 } };
    const resolved = resolveOptions(renderOptions);
    this.failures = new WriteFailures([resolved.gatewayNamespace, resolved.rootNamespace]);
    this.client = new KubeClient(opts.kc);
    this.state = new ClusterState({
      kc: opts.kc,
      client: this.client,
      namespaceSelector: opts.namespaceSelector,
      installNamespaces: [resolved.gatewayNamespace, resolved.rootNamespace],
      routing: resolved.routing,
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
    this.metrics = laneControllerMetrics({
      queueDepth: () => this.queue.stats().depth,
      inFlight: () => this.queue.stats().inFlight,
      isLeader: () => this.leading,
      pendingChanges: () => this.planner.current?.size ?? 0,
      watches: () => this.state.health(),
      failedWrites: () => this.failures.counts(),
      rollouts: () => rolloutSamples(this.state.lanes()),
    });
    this.events = new EventRecorder({
      client: this.client,
      instance: opts.identity,
      logger: opts.logger,
      dedupeMs: opts.eventDedupeMs,
      onSent: (type) => this.metrics.events.inc({ type }),
    });
    this.planner = new Planner({
      state: this.state,
      renderOptions,
      renders: this.metrics.renders,
      log: this.log,
    });
    this.tally = new WriteTally(this.metrics);
    const retry = retryPolicy(opts.retry, this.log);
    const common = { client: this.client, state: this.state, tally: this.tally, retry, log: this.log };
    this.writer = new ChangeWriter({ ...common, writeConcurrency: opts.writeConcurrency });
    this.finalizers = new Finalizers({
      ...common,
      events: this.events,
      failures: this.failures,
      isUnstable: (c) => this.writer.isUnstable(c),
    });
    this.statuses = new LaneStatuses({
      ...common,
      failures: this.failures,
      planner: this.planner,
      events: this.events,
      namespaceSelector: opts.namespaceSelector,
      ambient: opts.render.ambient === true,
    });
    this.rollouts = new Rollouts({
      ...common,
      events: this.events,
      provider:
        opts.metricsProvider === "embedded"
          ? new PodStatsProvider({ client: this.client, state: this.state })
          : opts.metricsProvider,
      now: opts.now ?? Date.now,
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
    this.planner.probe = await FilterProbe.load(this.opts.wasm.bytes);
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
    return this.tally.count;
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
      n += list.filter((c) => !this.failures.has(ns, c.what) && !this.writer.isUnstable(c)).length;
    }
    for (const lane of this.state.lanes()) {
      const ns = lane.metadata.namespace ?? "";
      if (isDeleting(lane)) {
        if (hasFinalizer(lane)) n++;
      } else if (this.state.enabled(ns) && !hasFinalizer(lane)) n++;
      else if (!statusEqual(lane.status, this.statuses.statusFor(lane, plan))) n++;
    }
    return n;
  }

  /** Converged: leading, caches synced, queue empty (no retries pending) and no work left. */
  settled(): boolean {
    const q = this.queue.stats();
    return this.leading && q.depth === 0 && q.inFlight === 0 && q.delayed === 0 && this.pendingWork() === 0;
  }

  /**
   * The plan for the current state (the state's overlay swept first). A new plan queues, on the leader,
   * every namespace it changes other than `self` (the one asking): their objects or their Lanes' status.
   */
  private plan(self = ""): Plan {
    this.state.sweep();
    const before = this.planner.current;
    const plan = this.planner.plan();
    if (plan !== before && this.leading && !this.stopped) {
      for (const ns of plan.changes.keys()) if (ns !== self) this.queue.add(ns);
    }
    return plan;
  }

  private async reconcile(ns: string): Promise<HandlerResult | void> {
    if (!this.leading || !this.state.synced) return;
    return reconcilePass(ns, this.leaderSignal, {
      state: this.state,
      plan: (self) => this.plan(self),
      enqueue: (other) => this.queue.add(other),
      writer: this.writer,
      finalizers: this.finalizers,
      rollouts: this.rollouts,
      statuses: this.statuses,
      failures: this.failures,
      events: this.events,
      log: this.log,
    });
  }
}
