// A small metrics registry that writes the Prometheus text exposition format (version 0.0.4):
// counters, gauges (set, or read from a callback at scrape time) and histograms, with labels.

export type Labels = Record<string, string>;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

const labelKey = (labels: Labels): string => labelText(labels);

interface Metric {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  lines(): string[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export class Counter implements Metric {
  readonly type = "counter";
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    if (by < 0) throw new Error(`counter ${this.name} cannot decrease`);
    const k = labelKey(labels);
    const cur = this.values.get(k) ?? { labels, value: 0 };
    cur.value += by;
    this.values.set(k, cur);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }
  lines(): string[] {
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${formatValue(v.value)}`);
  }
}

export class Gauge implements Metric {
  readonly type = "gauge";
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => number,
  ) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), { labels, value });
  }
  get(labels: Labels = {}): number {
    if (this.collect && Object.keys(labels).length === 0) return this.collect();
    return this.values.get(labelKey(labels))?.value ?? 0;
  }
  lines(): string[] {
    if (this.collect) return [`${this.name} ${formatValue(this.collect())}`];
    if (this.values.size === 0) return [`${this.name} 0`];
    return [...this.values.values()].map((v) => `${this.name}${labelText(v.labels)} ${formatValue(v.value)}`);
  }
}

/** A gauge whose labelled samples are all read from a callback at scrape time (e.g. one per namespace). */
export class SampledGauge implements Metric {
  readonly type = "gauge";
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect: () => { labels: Labels; value: number }[],
  ) {}
  get(labels: Labels = {}): number {
    return this.collect().find((s) => labelKey(s.labels) === labelKey(labels))?.value ?? 0;
  }
  lines(): string[] {
    return this.collect().map((s) => `${this.name}${labelText(s.labels)} ${formatValue(s.value)}`);
  }
}

export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Histogram implements Metric {
  readonly type = "histogram";
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[] = DEFAULT_BUCKETS,
  ) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  lines(): string[] {
    const series = this.series.size
      ? [...this.series.values()]
      : [{ labels: {}, counts: this.buckets.map(() => 0), sum: 0, count: 0 }];
    const out: string[] = [];
    for (const s of series) {
      this.buckets.forEach((b, i) => {
        out.push(`${this.name}_bucket${labelText({ ...s.labels, le: formatValue(b) })} ${s.counts[i]}`);
      });
      out.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      out.push(`${this.name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();

  private add<M extends Metric>(m: M): M {
    if (!NAME.test(m.name)) throw new Error(`invalid metric name ${m.name}`);
    if (this.metrics.has(m.name)) throw new Error(`metric ${m.name} already registered`);
    this.metrics.set(m.name, m);
    return m;
  }

  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help));
  }

  /** A gauge; with `collect`, its value is read at scrape time. */
  gauge(name: string, help: string, collect?: () => number): Gauge {
    return this.add(new Gauge(name, help, collect));
  }

  /** A gauge with one sample per label set, all read from `collect` at scrape time. */
  sampled(name: string, help: string, collect: () => { labels: Labels; value: number }[]): SampledGauge {
    return this.add(new SampledGauge(name, help, collect));
  }

  histogram(name: string, help: string, buckets?: number[]): Histogram {
    return this.add(new Histogram(name, help, buckets));
  }

  /** The Prometheus text exposition of every metric. */
  expose(): string {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      out.push(`# HELP ${m.name} ${escapeHelp(m.help)}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join("\n") + "\n";
  }
}

/** The controller's metrics, by the names the operations docs use. */
export interface ControllerMetrics {
  registry: Registry;
  reconcileTotal: Counter;
  reconcileErrors: Counter;
  reconcileDuration: Histogram;
  queueDepth: Gauge;
  leader: Gauge;
  /** Records one reconcile's outcome and duration (errors by key, when given: the namespace). */
  observeReconcile(ok: boolean, durationMs: number, namespace?: string): void;
}

export function controllerMetrics(
  opts: { registry?: Registry; queueDepth?: () => number; isLeader?: () => boolean } = {},
): ControllerMetrics {
  const registry = opts.registry ?? new Registry();
  const reconcileTotal = registry.counter(
    "meshlane_reconcile_total",
    "Reconciles by result (success or error).",
  );
  const reconcileErrors = registry.counter(
    "meshlane_reconcile_errors_total",
    "Reconciles that failed (a write failed, a read was refused, the API server was unreachable), by namespace.",
  );
  const reconcileDuration = registry.histogram(
    "meshlane_reconcile_duration_seconds",
    "Time taken by one reconcile, in seconds.",
  );
  const queueDepth = registry.gauge(
    "meshlane_queue_depth",
    "Keys waiting in the work queue.",
    opts.queueDepth ? opts.queueDepth : undefined,
  );
  const leader = registry.gauge(
    "meshlane_leader",
    "1 when this replica holds the leader lease, else 0.",
    opts.isLeader ? () => (opts.isLeader?.() ? 1 : 0) : undefined,
  );
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
  writes: Counter;
  writeErrors: Counter;
  events: Counter;
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
}

export function laneControllerMetrics(src: LaneControllerSources): LaneControllerMetrics {
  const registry = new Registry();
  const base = controllerMetrics({ registry, queueDepth: src.queueDepth, isLeader: src.isLeader });
  const metrics: LaneControllerMetrics = {
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
  registry.gauge("meshlane_pending_changes", "Writes the last render still asks for.", src.pendingChanges);
  registry.sampled(
    "meshlane_watch_up",
    '1 while the watch of a resource (in a namespace; "" cluster-wide) is up, 0 while it fails.',
    () =>
      src.watches().map((h) => ({
        labels: { resource: h.resource, namespace: h.namespace },
        value: h.connected ? 1 : 0,
      })),
  );
  registry.sampled(
    "meshlane_failed_writes",
    "Objects whose last write failed (retried with backoff), by namespace and kind.",
    () =>
      src.failedWrites().map((c) => ({ labels: { namespace: c.namespace, kind: c.kind }, value: c.value })),
  );
  registry.gauge("meshlane_queue_in_flight", "Namespaces being reconciled now.", src.inFlight);
  return metrics;
}
