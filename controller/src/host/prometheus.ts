// Host metrics as Prometheus text, the way an Istio sidecar's Envoy serves them at /stats/prometheus
// (merged by istio-agent on :15090). Pure: it renders a snapshot of a MetricStore (vm.metrics(); VMs
// sharing one store share one snapshot) or several snapshots added together.
//
// What Envoy and Istio do to a wasm metric, in order:
// - the stat is named `wasmcustom.<name>`; `wasmcustom` is a custom stat namespace, so the Prometheus
//   export drops it and adds no `envoy_` prefix;
// - Istio's stats tags (extraStatTags, MESHLANE_STAT_TAGS by default) become Envoy stats_tags with
//   the regex `(<tag>=\.=(.*?);\.;)`: for each listed tag the first match becomes a label
//   `<tag>="<value>"` and Envoy cuts that whole match out of the name, nothing more. The filter writes
//   tags first (`lane=.=canary;.;meshlane_requests_total` → `meshlane_requests_total{lane="canary"}`,
//   as docs/contracts.md states it); a name written before its tags keeps the joining `_`
//   (`meshlane_requests_total_lane=.=canary;.;` → `meshlane_requests_total_{lane="canary"}`), as it
//   does in Envoy;
// - names and label names are sanitized to `[a-zA-Z0-9_]` (anything else becomes `_`, a leading digit
//   gets a `_` in front); label values are escaped (`\`, `"`, newline);
// - each family has one `# TYPE` line, its series sorted by their label text; a series without labels
//   is written `name{} value`;
// - a histogram has Envoy's default buckets (ENVOY_DEFAULT_BUCKETS, milliseconds for timings), each
//   cumulative: `_bucket{...,le="<bound>"}` counts samples ≤ bound, then `le="+Inf"`, `_sum`, `_count`.
//   (Envoy's buckets come from an approximating histogram; ours count the exact samples.)
import type { MetricSnapshot } from "./metrics.js";

/** Envoy's default histogram bucket bounds (HistogramSettingsImpl::defaultBuckets). */
export const ENVOY_DEFAULT_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
];

const CUSTOM_PREFIX = "wasmcustom.";

/** The tags meshlane's filter writes, as `extraStatTags` must list them for Istio to extract them. */
export const MESHLANE_STAT_TAGS: readonly string[] = [
  "lane",
  "role",
  "direction",
  "source",
  "response_code_class",
  "result",
];

/** A stat name split as Istio's tag extraction splits it. */
export interface TaggedName {
  name: string;
  labels: [string, string][];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Splits `[wasmcustom.]…tag=.=value;.;…` as Envoy applies Istio's stats tags: for each tag in `tags`
 * (extraStatTags, duplicates ignored), the first `<tag>=.=<value>;.;` anywhere in the name becomes a
 * label and exactly those characters leave the name; labels come in the order they appear in the name.
 */
export function splitTags(raw: string, tags: readonly string[] = MESHLANE_STAT_TAGS): TaggedName {
  const stat = raw.startsWith(CUSTOM_PREFIX) ? raw : CUSTOM_PREFIX + raw; // the name Envoy tags
  const found: { start: number; end: number; label: [string, string] }[] = [];
  for (const tag of new Set(tags)) {
    const m = new RegExp(`(${escapeRegExp(tag)}=\\.=(.*?);\\.;)`).exec(stat);
    if (m !== null) found.push({ start: m.index, end: m.index + m[1].length, label: [tag, m[2]] });
  }
  found.sort((a, b) => a.start - b.start);
  let name = "";
  let last = 0;
  for (const { start, end } of found) {
    if (start > last) name += stat.slice(last, start);
    last = Math.max(last, end);
  }
  name += stat.slice(last);
  return { name: name.slice(CUSTOM_PREFIX.length), labels: found.map((f) => f.label) };
}

/** Envoy's sanitizeName: `[a-zA-Z0-9_]` only, no leading digit. */
export function sanitizeName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

function escapeValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labelText(labels: [string, string][]): string {
  return labels.map(([k, v]) => `${sanitizeName(k)}="${escapeValue(v)}"`).join(",");
}

/** Adds snapshots of several stores (counters and gauges add, histogram samples join). */
export function mergeSnapshots(snapshots: Record<string, MetricSnapshot>[]): Record<string, MetricSnapshot> {
  const out: Record<string, MetricSnapshot> = {};
  for (const snap of snapshots) {
    for (const [name, m] of Object.entries(snap)) {
      const prev = out[name];
      if (prev === undefined) out[name] = structuredClone(m);
      else if (prev.type === "histogram" && m.type === "histogram") {
        prev.values.push(...m.values);
        prev.count += m.count;
        prev.sum += m.sum;
      } else if (prev.type !== "histogram" && m.type === prev.type) prev.value += m.value;
    }
  }
  return out;
}

interface Series {
  labels: string;
  metric: MetricSnapshot;
}

/** The Prometheus text exposition of one snapshot, as Envoy's /stats/prometheus writes it. */
export function prometheusText(
  snapshot: Record<string, MetricSnapshot>,
  options: { tags?: readonly string[]; buckets?: readonly number[] } = {},
): string {
  const buckets = options.buckets ?? ENVOY_DEFAULT_BUCKETS;
  const families = new Map<string, { type: MetricSnapshot["type"]; series: Series[] }>();
  for (const [raw, metric] of Object.entries(snapshot)) {
    const { name, labels } = splitTags(raw, options.tags);
    const family = sanitizeName(name);
    const key = `${metric.type} ${family}`;
    let f = families.get(key);
    if (f === undefined) {
      f = { type: metric.type, series: [] };
      families.set(key, f);
    }
    f.series.push({ labels: labelText(labels), metric });
  }
  const lines: string[] = [];
  const keys = [...families.keys()].sort((a, b) => a.split(" ")[1].localeCompare(b.split(" ")[1]));
  for (const key of keys) {
    const f = families.get(key) as { type: MetricSnapshot["type"]; series: Series[] };
    const family = key.split(" ")[1];
    lines.push(`# TYPE ${family} ${f.type}`);
    f.series.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
    for (const { labels, metric } of f.series) {
      if (metric.type !== "histogram") {
        lines.push(`${family}{${labels}} ${metric.value}`);
        continue;
      }
      const prefix = labels.length > 0 ? `${labels},` : "";
      const sorted = [...metric.values].sort((a, b) => a - b);
      let i = 0;
      for (const bound of buckets) {
        while (i < sorted.length && sorted[i] <= bound) i++;
        lines.push(`${family}_bucket{${prefix}le="${bound}"} ${i}`);
      }
      lines.push(`${family}_bucket{${prefix}le="+Inf"} ${metric.count}`);
      lines.push(`${family}_sum{${labels}} ${metric.sum}`);
      lines.push(`${family}_count{${labels}} ${metric.count}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
