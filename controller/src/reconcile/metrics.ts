// The controller's metrics, on prom-client: a private Registry per controller (never prom-client's
// global one, so two controllers in one process, as in the tests, do not collide), exposed at /metrics
// in the Prometheus text format (version 0.0.4). The names, types, labels and help below are a contract
// (docs/contracts.md lists them). Gauges are read at scrape time from the callbacks given.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export type Labels = Record<string, string>;

/** The duration histograms' buckets, in seconds. */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The controller's metrics, by the names the operations docs use. */
export interface ControllerMetrics {
  registry: Registry;
  reconcileTotal: Counter<"result">;
  reconcileErrors: Counter<"namespace">;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  leader: Gauge;
  /** Records one reconcile's outcome and duration (errors by key, when given: the namespace). */
  observeReconcile(ok: boolean, durationMs: number, namespace?: string): void;
}

/** A gauge read at scrape time: one sample, or (with labels) every sample `read` gives. */
function sampled<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[],
  read: () => { labels: Record<L, string>; value: number }[],
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      // A series that went away (a watch no longer made, a namespace whose failures cleared) goes.
      this.reset();
      for (const s of read()) this.set(s.labels as Partial<Record<L, string>>, s.value);
    },
  });
}

export function controllerMetrics(
  opts: { registry?: Registry; queueDepth?: () => number; isLeader?: () => boolean } = {},
): ControllerMetrics {
  const registry = opts.registry ?? new Registry();
  const registers = [registry];
  const reconcileTotal = new Counter({
    name: "meshlane_reconcile_total",
    help: "Reconciles by result (success or error).",
    labelNames: ["result"],
    registers,
  });
  const reconcileErrors = new Counter({
    name: "meshlane_reconcile_errors_total",
    help: "Reconciles that failed (a write failed, a read was refused, the API server was unreachable), by namespace.",
    labelNames: ["namespace"],
    registers,
  });
  const reconcileDuration = new Histogram({
    name: "meshlane_reconcile_duration_seconds",
    help: "Time taken by one reconcile, in seconds.",
    buckets: DEFAULT_BUCKETS,
    registers,
  });
  // Without a callback, a plain gauge the caller sets.
  const { queueDepth: depth, isLeader } = opts;
  const queueDepth = depth
    ? sampled(registry, "meshlane_queue_depth", "Keys waiting in the work queue.", [], () => [
        { labels: {}, value: depth() },
      ])
    : new Gauge({ name: "meshlane_queue_depth", help: "Keys waiting in the work queue.", registers });
  const leaderHelp = "1 when this replica holds the leader lease, else 0.";
  const leader = isLeader
    ? sampled(registry, "meshlane_leader", leaderHelp, [], () => [{ labels: {}, value: isLeader() ? 1 : 0 }])
    : new Gauge({ name: "meshlane_leader", help: leaderHelp, registers });
  return {
    registry,
    reconcileTotal,
    reconcileErrors,
    reconcileDuration,
    queueDepth,
    leader,
    observeReconcile(ok, durationMs, namespace) {
      reconcileTotal.inc({ result: ok ? "success" : "error" });
      if (!ok) reconcileErrors.inc(namespace === undefined ? {} : { namespace });
      reconcileDuration.observe(durationMs / 1000);
    },
  };
}

/** The lane controller's metrics: the base set, its writes, events and renders. */
export interface LaneControllerMetrics extends ControllerMetrics {
  writes: Counter<"op" | "kind">;
  writeErrors: Counter<"op" | "kind" | "code">;
  events: Counter<"type">;
  renders: Histogram;
}

/** What the lane controller's gauges read at scrape time. */
export interface LaneControllerSources {
  queueDepth: () => number;
  inFlight: () => number;
  isLeader: () => boolean;
  /** Writes the last render still asks for. */
  pendingChanges: () => number;
  watches: () => { resource: string; namespace: string; connected: boolean }[];
  failedWrites: () => { namespace: string; kind: string; value: number }[];
  /** Lanes rolling out: their step and share (`meshlane_rollout_step`, `meshlane_rollout_percent`). */
  rollouts?: () => RolloutSample[];
}

export interface RolloutSample {
  namespace: string;
  lane: string;
  /** `status.rollout.step` (0-based). */
  step: number;
  /** `status.rollout.percent`. */
  percent: number;
}

/** The samples of the rollout gauges: every Lane with `spec.rollout` and a numeric `status.rollout`. */
export function rolloutSamples(
  lanes: { metadata?: Record<string, unknown>; [k: string]: unknown }[],
): RolloutSample[] {
  const out: RolloutSample[] = [];
  for (const l of lanes) {
    const spec = l.spec as { rollout?: unknown } | undefined;
    const r = (l.status as { rollout?: { step?: unknown; percent?: unknown } } | undefined)?.rollout;
    if (spec?.rollout === undefined || typeof r?.step !== "number" || typeof r.percent !== "number") continue;
    const namespace = String(l.metadata?.namespace ?? "");
    out.push({ namespace, lane: String(l.metadata?.name ?? ""), step: r.step, percent: r.percent });
  }
  return out;
}

export function laneControllerMetrics(src: LaneControllerSources): LaneControllerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const base = controllerMetrics({ registry, queueDepth: src.queueDepth, isLeader: src.isLeader });
  const metrics: LaneControllerMetrics = {
    ...base,
    writes: new Counter({
      name: "meshlane_writes_total",
      help: "API writes by operation and kind.",
      labelNames: ["op", "kind"],
      registers,
    }),
    writeErrors: new Counter({
      name: "meshlane_write_errors_total",
      help: "API writes that failed, by operation, kind and HTTP status.",
      labelNames: ["op", "kind", "code"],
      registers,
    }),
    events: new Counter({
      name: "meshlane_events_total",
      help: "Kubernetes Events recorded, by type.",
      labelNames: ["type"],
      registers,
    }),
    renders: new Histogram({
      name: "meshlane_render_duration_seconds",
      help: "Time to render the cluster's lanes, in seconds.",
      buckets: DEFAULT_BUCKETS,
      registers,
    }),
  };
  sampled(registry, "meshlane_pending_changes", "Writes the last render still asks for.", [], () => [
    { labels: {}, value: src.pendingChanges() },
  ]);
  sampled(
    registry,
    "meshlane_watch_up",
    '1 while the watch of a resource (in a namespace; "" cluster-wide) is up, 0 while it fails.',
    ["resource", "namespace"],
    () =>
      src.watches().map((h) => ({
        labels: { resource: h.resource, namespace: h.namespace },
        value: h.connected ? 1 : 0,
      })),
  );
  sampled(
    registry,
    "meshlane_failed_writes",
    "Objects whose last write failed (retried with backoff), by namespace and kind.",
    ["namespace", "kind"],
    () =>
      src.failedWrites().map((c) => ({ labels: { namespace: c.namespace, kind: c.kind }, value: c.value })),
  );
  sampled(registry, "meshlane_queue_in_flight", "Namespaces being reconciled now.", [], () => [
    { labels: {}, value: src.inFlight() },
  ]);
  const rollouts = src.rollouts ?? (() => []);
  const byLane = (value: (r: RolloutSample) => number) => () =>
    rollouts().map((r) => ({ labels: { namespace: r.namespace, lane: r.lane }, value: value(r) }));
  sampled(
    registry,
    "meshlane_rollout_step",
    "Current step (0-based index in spec.rollout.steps) of each Lane rolling out.",
    ["namespace", "lane"],
    byLane((r) => r.step),
  );
  sampled(
    registry,
    "meshlane_rollout_percent",
    "Share of users (percent) routed to each Lane rolling out, as in status.rollout.percent.",
    ["namespace", "lane"],
    byLane((r) => r.percent),
  );
  return metrics;
}

/**
 * The current value of a counter's or gauge's sample with exactly these labels (0 when it has none yet),
 * gauges' callbacks included. prom-client reads metrics asynchronously, hence the promise.
 */
export async function sampleValue(
  metric: Counter<string> | Gauge<string>,
  labels: Labels = {},
): Promise<number> {
  const { values } = await metric.get();
  const keys = Object.keys(labels);
  const match = values.find((v) => {
    const have = v.labels as Record<string, string | number | undefined>;
    const present = Object.keys(have).filter((k) => have[k] !== undefined);
    return present.length === keys.length && keys.every((k) => String(have[k]) === labels[k]);
  });
  return match?.value ?? 0;
}
