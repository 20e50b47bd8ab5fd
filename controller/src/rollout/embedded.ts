// The embedded metrics provider: no Prometheus. At each `observe` it scrapes the proxies'
// Prometheus-format stats endpoints itself (an Istio sidecar's :15090/stats/prometheus, the demo's
// stats endpoints), keeps that scrape, and computes the built-in metrics over the difference from the
// previous one: the window is the time between two observations, i.e. the analysis interval. For
// small clusters and the demo (docs/contracts.md, "Lane rollouts").
//
// The first observation only records the starting point (verdict "none": no interval yet). A counter
// that went down (a restarted proxy) counts from zero, as Prometheus' rate does. A target that cannot
// be scraped or answers malformed text makes every observation of the round "none". An endpoint no
// longer among the targets is forgotten. In a cluster the controller lists the targets (the pods behind
// the lane's Services) at each round: reconcile/podstats.ts.
import type { Observation, RolloutMetric } from "./engine.js";
import type { AnalysisTarget, MetricsProvider } from "./provider.js";
import {
  BASE_SERIES_LANES,
  DURATION_METRIC,
  DURATION_QUANTILE,
  histogramQuantile,
  observe,
  REQUEST_DURATION,
  RESPONSES_METRIC,
  SERVICE_SIDE,
  SUCCESS_RATE,
  type Bucket,
  type Measured,
} from "./analysis.js";
import { parseExposition, seriesKey, type Sample } from "./exposition.js";

/** One stats endpoint and the labels its pod carries (as Istio's sample Prometheus maps them). */
export interface ScrapeTarget {
  url: string;
  labels: Record<string, string>;
}

export interface EmbeddedOptions {
  /** The endpoints to scrape, or a function that lists them at each observation. */
  targets: ScrapeTarget[] | (() => ScrapeTarget[]);
  /** The pod label that names a workload's Service (default `app`). */
  serviceLabel?: string;
  /** The label that names the pod's namespace (default `namespace`). */
  namespaceLabel?: string;
  /** Per-scrape timeout in milliseconds (default 5000). */
  timeoutMs?: number;
}

interface Scraped {
  target: ScrapeTarget;
  samples: Map<string, Sample>;
}

export class EmbeddedProvider implements MetricsProvider {
  private previous = new Map<string, Map<string, Sample>>();
  private readonly serviceLabel: string;
  private readonly namespaceLabel: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: EmbeddedOptions) {
    this.serviceLabel = options.serviceLabel ?? "app";
    this.namespaceLabel = options.namespaceLabel ?? "namespace";
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  async observe(target: AnalysisTarget, signal?: AbortSignal): Promise<Observation[]> {
    const targets =
      typeof this.options.targets === "function" ? this.options.targets() : this.options.targets;
    let scraped: Scraped[];
    try {
      scraped = await Promise.all(targets.map((t) => this.scrape(t, signal)));
    } catch (e) {
      return everyNone(target, (e as Error).message);
    }
    // Deltas against the previous scrape; the current one becomes the next baseline (endpoints no
    // longer listed, such as pods that went away, are forgotten).
    const deltas: { target: ScrapeTarget; samples: Sample[] }[] = [];
    const next = new Map<string, Map<string, Sample>>();
    let fresh = 0;
    for (const s of scraped) {
      const before = this.previous.get(s.target.url);
      next.set(s.target.url, s.samples);
      if (before === undefined) {
        fresh++;
        continue;
      }
      const samples: Sample[] = [];
      for (const [key, now] of s.samples) {
        const was = before.get(key)?.value ?? 0;
        samples.push({ ...now, value: now.value >= was ? now.value - was : now.value });
      }
      deltas.push({ target: s.target, samples });
    }
    this.previous = next;
    if (fresh > 0)
      return everyNone(target, `first scrape of ${fresh} endpoint(s): no interval to compare yet`);
    if (targets.length === 0) return everyNone(target, "no stats endpoints to scrape");

    const scopes: (string | undefined)[] = [...target.services, undefined];
    const out: Observation[] = [];
    for (const metric of target.metrics) {
      for (const service of scopes) {
        const services = service === undefined ? target.services : [service];
        out.push(
          observe(metric, service, this.measure(metric, deltas, target, services), target.minRequests),
        );
      }
    }
    return out;
  }

  private measure(
    metric: RolloutMetric,
    deltas: { target: ScrapeTarget; samples: Sample[] }[],
    target: AnalysisTarget,
    services: string[],
  ): Measured {
    if (metric.query !== undefined || (metric.name !== SUCCESS_RATE && metric.name !== REQUEST_DURATION)) {
      return {
        error: `the embedded provider computes only ${SUCCESS_RATE} and ${REQUEST_DURATION}; a query needs the Prometheus provider`,
      };
    }
    const pick = (lanes: readonly string[], name: string) =>
      deltas
        .filter(
          (d) =>
            d.target.labels[this.namespaceLabel] === target.namespace &&
            services.includes(d.target.labels[this.serviceLabel] ?? ""),
        )
        .flatMap((d) => d.samples)
        .filter(
          (s) =>
            s.name === name &&
            lanes.includes(s.labels.lane) &&
            s.labels.role === SERVICE_SIDE.role &&
            s.labels.direction === SERVICE_SIDE.direction,
        );
    const count = (lanes: readonly string[]) => {
      const rows = pick(lanes, RESPONSES_METRIC);
      const total = rows.reduce((a, s) => a + s.value, 0);
      const ok = rows.filter((s) => s.labels.response_code_class !== "5xx").reduce((a, s) => a + s.value, 0);
      return { total, ok };
    };
    const p99 = (lanes: readonly string[]) => {
      const byLe = new Map<number, number>();
      for (const s of pick(lanes, `${DURATION_METRIC}_bucket`)) {
        const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
        if (!Number.isNaN(le)) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
      }
      const buckets: Bucket[] = [...byLe].map(([le, c]) => ({ le, count: c }));
      return histogramQuantile(DURATION_QUANTILE, buckets);
    };
    const lane = count([target.lane]);
    const base = count(BASE_SERIES_LANES);
    if (metric.name === SUCCESS_RATE) {
      return {
        requests: lane.total,
        value: lane.total > 0 ? (100 * lane.ok) / lane.total : undefined,
        base: base.total > 0 ? (100 * base.ok) / base.total : undefined,
      };
    }
    const value = p99([target.lane]);
    const baseValue = p99(BASE_SERIES_LANES);
    return {
      requests: lane.total,
      value: Number.isNaN(value) ? undefined : value,
      base: Number.isNaN(baseValue) ? undefined : baseValue,
    };
  }

  private async scrape(t: ScrapeTarget, signal?: AbortSignal): Promise<Scraped> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let text: string;
    try {
      const res = await fetch(t.url, { signal: s });
      text = await res.text();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
    } catch (e) {
      throw new Error(`scrape of ${t.url} failed: ${describe(e)}`);
    }
    let samples: Sample[];
    try {
      samples = parseExposition(text);
    } catch (e) {
      throw new Error(`scrape of ${t.url}: ${(e as Error).message}`);
    }
    return { target: t, samples: new Map(samples.map((x) => [seriesKey(x), x])) };
  }
}

/** One "none" per metric and scope, all with the same reason. */
export function everyNone(target: AnalysisTarget, reason: string): Observation[] {
  const out: Observation[] = [];
  for (const m of target.metrics) {
    for (const service of target.services) out.push({ metric: m.name, service, verdict: "none", reason });
    out.push({ metric: m.name, verdict: "none", reason });
  }
  return out;
}

/** An error in words, with the cause fetch hides (ECONNREFUSED, a timeout). */
export function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === "TimeoutError") return "timed out";
  if (e.name === "AbortError") return "aborted";
  const cause = (e as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${e.message} (${code ?? cause.message})`;
  }
  return e.message;
}
