// The Prometheus metrics provider: answers an analysis round from Prometheus' HTTP API
// (`GET <url>/api/v1/query`, instant queries), with the built-in queries over the filter's per-lane
// series or the user's PromQL templates (docs/contracts.md, "Lane rollouts").
//
// Plain `fetch` (Node ≥ 20): the provider needs one endpoint, an AbortSignal for its timeout and the
// error body Prometheus sends with a 4xx; a client library (prometheus-query brings axios) adds
// nothing to that. Every failure — connection refused, a timeout, an HTTP error, `status: "error"`,
// NaN, an empty result, too few requests — is an Observation with `verdict: "none"` and the reason.
import type { Observation, RolloutMetric } from "./engine.js";
import type { AnalysisTarget, MetricsProvider } from "./provider.js";
import {
  BASE_SERIES_LANES,
  DURATION_METRIC,
  DURATION_QUANTILE,
  observe,
  REQUEST_DURATION,
  RESPONSES_METRIC,
  SERVICE_SIDE,
  SUCCESS_RATE,
  type Measured,
} from "./analysis.js";
import { describe } from "./embedded.js";

export interface PrometheusOptions {
  /** Prometheus' base URL, e.g. `http://prometheus.istio-system:9090`. */
  url: string;
  /** Timeout of one analysis round's queries, in milliseconds (default 10000). */
  timeoutMs?: number;
  /** The series label that names a workload's Service (default `app`, from the pod label). */
  serviceLabel?: string;
  /** The series label that names the pod's namespace (default `namespace`). */
  namespaceLabel?: string;
}

/** The placeholders a metric's `query` template may use, and what each is replaced with. */
export const PLACEHOLDERS = {
  lane: "the lane's name",
  namespace: "the Lane's namespace",
  service: "a regex of the Service(s) judged: one name per Service, `a|b|c` for the lane as a whole",
  interval: "the analysis interval (`1m`), as a range: `[{{interval}}]`",
} as const;

/** One instant-query answer: series labels → value, or why there is none. */
type QueryResult = { series: { labels: Record<string, string>; value: number }[] } | { error: string };

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/**
 * Fills `{{name}}` / `{{ name }}` placeholders; an unknown one is an error (the query would silently
 * select nothing).
 */
export function fillTemplate(template: string, values: Record<keyof typeof PLACEHOLDERS, string>): string {
  return template.replace(/\{\{\s*([a-zA-Z_]+)\s*\}\}/g, (_, name: string) => {
    if (!(name in values)) {
      throw new Error(`unknown placeholder {{${name}}} (known: ${Object.keys(PLACEHOLDERS).join(", ")})`);
    }
    return values[name as keyof typeof PLACEHOLDERS];
  });
}

/** The label matchers of the built-in queries: namespace, lane(s), Services, sidecar inbound. */
export function selector(
  o: { serviceLabel: string; namespaceLabel: string },
  namespace: string,
  lanes: readonly string[],
  services: string[],
  extra = "",
): string {
  const lane =
    lanes.length === 1 ? `lane=${quote(lanes[0])}` : `lane=~${quote(lanes.map(escapeRegex).join("|"))}`;
  return (
    `{${o.namespaceLabel}=${quote(namespace)},${lane},role="${SERVICE_SIDE.role}",direction="${SERVICE_SIDE.direction}",` +
    `${o.serviceLabel}=~${quote(services.map(escapeRegex).join("|"))}${extra}}`
  );
}

/** The built-in PromQL for a metric over a scope; `by` groups per Service, absent: one lane-wide number. */
export function builtinQuery(
  name: string,
  o: { serviceLabel: string; namespaceLabel: string },
  namespace: string,
  lanes: readonly string[],
  services: string[],
  window: string,
  by: boolean,
): string {
  const sel = (extra = "") => selector(o, namespace, lanes, services, extra);
  const group = by ? ` by (${o.serviceLabel})` : "";
  switch (name) {
    case SUCCESS_RATE:
      return (
        `100 * sum${group} (rate(${RESPONSES_METRIC}${sel(',response_code_class!="5xx"')}[${window}]))` +
        ` / sum${group} (rate(${RESPONSES_METRIC}${sel()}[${window}]))`
      );
    case REQUEST_DURATION:
      return (
        `histogram_quantile(${DURATION_QUANTILE}, sum by (${by ? `${o.serviceLabel}, ` : ""}le)` +
        ` (rate(${DURATION_METRIC}_bucket${sel()}[${window}])))`
      );
    default: // requests
      return `sum${group} (increase(${RESPONSES_METRIC}${sel()}[${window}]))`;
  }
}

export class PrometheusProvider implements MetricsProvider {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly labels: { serviceLabel: string; namespaceLabel: string };

  constructor(options: PrometheusOptions) {
    this.base = options.url.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.labels = {
      serviceLabel: options.serviceLabel ?? "app",
      namespaceLabel: options.namespaceLabel ?? "namespace",
    };
  }

  async observe(target: AnalysisTarget, signal?: AbortSignal): Promise<Observation[]> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const s = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const { namespace, lane, services, window } = target;
    const q = (query: string) => this.query(query, s);
    const built = (name: string, lanes: readonly string[], by: boolean) =>
      q(builtinQuery(name, this.labels, namespace, lanes, services, window, by));

    // Request counts (for minRequests) per Service and lane-wide, shared by every metric.
    const [reqBy, reqAll] = await Promise.all([
      built("requests", [lane], true),
      built("requests", [lane], false),
    ]);
    const requests = (service?: string): number | string => {
      const r = service === undefined ? reqAll : reqBy;
      if ("error" in r) return r.error;
      const row = r.series.find(
        (x) => service === undefined || x.labels[this.labels.serviceLabel] === service,
      );
      return row === undefined ? 0 : Math.round(row.value);
    };

    const out: Observation[] = [];
    for (const metric of target.metrics) {
      const scopes = await this.measureMetric(metric, target, q, built);
      for (const [service, m] of scopes) {
        const n = requests(service);
        const measured: Measured =
          typeof n === "string" ? { ...m, error: m.error ?? n } : { ...m, requests: n };
        out.push(observe(metric, service, measured, target.minRequests));
      }
    }
    return out;
  }

  /** The metric's value (and base's) per Service and for the lane (key undefined). */
  private async measureMetric(
    metric: RolloutMetric,
    target: AnalysisTarget,
    q: (query: string) => Promise<QueryResult>,
    built: (name: string, lanes: readonly string[], by: boolean) => Promise<QueryResult>,
  ): Promise<Map<string | undefined, Measured>> {
    const scopes = new Map<string | undefined, Measured>();
    const { services } = target;
    if (metric.query !== undefined) {
      const perService = /\{\{\s*service\s*\}\}/.test(metric.query);
      const run = async (svc: string[]): Promise<Measured> => {
        let text: string;
        try {
          text = fillTemplate(metric.query as string, {
            lane: target.lane,
            namespace: target.namespace,
            service: svc.map(escapeRegex).join("|"),
            interval: target.window,
          });
        } catch (e) {
          return { error: (e as Error).message };
        }
        return single(await q(text));
      };
      if (perService) for (const svc of services) scopes.set(svc, await run([svc]));
      scopes.set(undefined, await run(services));
      if (metric.maxIncreaseOverBase !== undefined) {
        for (const m of scopes.values())
          if (m.error === undefined)
            m.error = "maxIncreaseOverBase needs a built-in metric; a query has no base";
      }
      return scopes;
    }
    if (metric.name !== SUCCESS_RATE && metric.name !== REQUEST_DURATION) {
      for (const svc of [...services, undefined])
        scopes.set(svc, { error: `${metric.name} is not built in and has no query` });
      return scopes;
    }
    const wantBase = metric.maxIncreaseOverBase !== undefined;
    const [by, all, baseBy, baseAll] = await Promise.all([
      built(metric.name, [target.lane], true),
      built(metric.name, [target.lane], false),
      wantBase ? built(metric.name, BASE_SERIES_LANES, true) : Promise.resolve(undefined),
      wantBase ? built(metric.name, BASE_SERIES_LANES, false) : Promise.resolve(undefined),
    ]);
    for (const svc of services) {
      const m = pickService(by, this.labels.serviceLabel, svc);
      if (baseBy !== undefined) m.base = pickService(baseBy, this.labels.serviceLabel, svc).value;
      scopes.set(svc, m);
    }
    const lane = single(all);
    if (baseAll !== undefined) lane.base = single(baseAll).value;
    scopes.set(undefined, lane);
    return scopes;
  }

  /** One instant query; never throws. */
  async query(promql: string, signal: AbortSignal): Promise<QueryResult> {
    const url = `${this.base}/api/v1/query?query=${encodeURIComponent(promql)}`;
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(url, { signal, headers: { accept: "application/json" } });
      const text = await res.text();
      try {
        body = JSON.parse(text);
      } catch {
        return { error: `Prometheus answered HTTP ${res.status} without JSON: ${text.slice(0, 200)}` };
      }
    } catch (e) {
      return { error: `Prometheus at ${this.base} unreachable: ${describe(e)}` };
    }
    const b = body as {
      status?: string;
      error?: string;
      errorType?: string;
      data?: { resultType?: string; result?: unknown };
    };
    if (b.status !== "success") {
      return {
        error: `query failed (HTTP ${res.status}${b.errorType ? `, ${b.errorType}` : ""}): ${b.error ?? "no error text"}; query: ${promql}`,
      };
    }
    const data = b.data ?? {};
    if (data.resultType === "scalar") {
      const v = data.result as [number, string];
      return { series: [{ labels: {}, value: Number(v[1]) }] };
    }
    if (data.resultType !== "vector" || !Array.isArray(data.result)) {
      return {
        error: `query answered a ${data.resultType ?? "missing"} result, expected a vector or scalar`,
      };
    }
    return {
      series: (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
        labels: r.metric,
        value: Number(r.value[1]),
      })),
    };
  }
}

function single(r: QueryResult): Measured {
  if ("error" in r) return { error: r.error };
  if (r.series.length === 0) return {};
  if (r.series.length > 1) return { error: `query answered ${r.series.length} series, expected one number` };
  return { value: r.series[0].value };
}

function pickService(r: QueryResult, label: string, service: string): Measured {
  if ("error" in r) return { error: r.error };
  const row = r.series.find((x) => x.labels[label] === service);
  return row === undefined ? {} : { value: row.value };
}
