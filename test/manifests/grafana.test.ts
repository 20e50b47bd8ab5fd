// The Grafana dashboard (manifests/grafana/meshlane-lanes.json): valid JSON that Grafana imports, its
// Prometheus data source a variable, and every query naming only metrics and labels that
// docs/contracts.md ("Metrics") writes down — so a renamed metric or label cannot leave it silently empty.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { fromRoot } from "../../controller/src/paths.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const dashboard = JSON.parse(
  readFileSync(fromRoot("manifests", "grafana", "meshlane-lanes.json"), "utf8"),
) as Json;

/** The "## Metrics" section of the contracts. */
function metricsSection(): string {
  const text = readFileSync(fromRoot("docs", "contracts.md"), "utf8");
  const start = text.indexOf("\n## Metrics");
  assert.ok(start >= 0, "docs/contracts.md has a Metrics section");
  const end = text.indexOf("\n## ", start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Names the Metrics section writes as a whole code span: metric names, and label names. */
function documented(): { metrics: Set<string>; histograms: Set<string>; labels: Set<string> } {
  const section = metricsSection();
  const spans = [...section.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  const metrics = new Set(spans.filter((s) => /^meshlane_[a-z0-9_]+$/.test(s)));
  const labels = new Set(spans.filter((s) => /^[a-z_][a-z0-9_]*$/.test(s) && !metrics.has(s)));
  // A histogram is a name whose line (its table row or sentence) says so.
  const histograms = new Set(
    [...metrics].filter((m) =>
      section.split("\n").some((line) => line.includes(`\`${m}\``) && /histogram/.test(line)),
    ),
  );
  return { metrics, histograms, labels };
}

const FUNCTIONS = new Set([
  "sum",
  "max",
  "min",
  "avg",
  "count",
  "rate",
  "irate",
  "increase",
  "histogram_quantile",
  "scalar",
  "vector",
  "clamp_min",
  "clamp_max",
  "topk",
  "label_values",
]);
const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset"]);

/** The metric and label names a PromQL expression (with Grafana's $variables) reads. */
function namesIn(expr: string): { metrics: string[]; labels: string[]; functions: string[] } {
  const labels: string[] = [];
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "");
  for (const [, inner] of e.matchAll(/\{([^}]*)\}/g))
    for (const [, name] of inner.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(name);
  e = e.replace(/\{[^}]*\}/g, " ");
  for (const [, list] of e.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g))
    labels.push(
      ...list
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    );
  e = e.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  e = e.replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, " ");
  const metrics: string[] = [];
  const functions: string[] = [];
  for (const m of e.matchAll(/[a-zA-Z_:][\w:]*/g)) {
    const rest = e.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(rest)) functions.push(m[0]);
    else if (!KEYWORDS.has(m[0])) metrics.push(m[0]);
  }
  return { metrics, labels, functions };
}

/** Every PromQL expression of the dashboard, with where it is. */
function queries(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of dashboard.panels) {
    for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  }
  for (const v of dashboard.templating.list) {
    if (v.type !== "query") continue;
    // label_values(<selector>, <label>): the selector is PromQL, the label a label.
    const q = String(v.query?.query ?? v.query);
    const m = /^label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)$/.exec(q);
    assert.ok(m, `variable ${v.name}: label_values(<selector>, <label>), got ${q}`);
    out.push({ where: `variable ${v.name}`, expr: `${m[1]}{${m[2]}=""}` });
  }
  return out;
}

test("the dashboard is a Grafana dashboard: title, uid, panels with unique ids and a place", () => {
  assert.equal(dashboard.uid, "meshlane-lanes");
  assert.equal(typeof dashboard.title, "string");
  assert.equal(typeof dashboard.schemaVersion, "number");
  const ids = dashboard.panels.map((p: Json) => p.id);
  assert.equal(new Set(ids).size, ids.length, "unique panel ids");
  for (const p of dashboard.panels) {
    for (const k of ["x", "y", "w", "h"])
      assert.equal(typeof p.gridPos?.[k], "number", `${p.title}: gridPos.${k}`);
    if (p.type !== "row") assert.ok(p.targets.length > 0, `${p.title}: has queries`);
  }
  const titles = dashboard.panels.map((p: Json) => String(p.title)).join("\n");
  for (const what of [
    /share/i,
    /success rate by lane and service/i,
    /p99.*lane and service/i,
    /rollout step/i,
  ])
    assert.match(titles, what);
});

test("the Prometheus data source is a variable, used by every panel, query and variable", () => {
  const ds = dashboard.templating.list.find((v: Json) => v.name === "datasource");
  assert.equal(ds?.type, "datasource");
  assert.equal(ds?.query, "prometheus");
  const uses = [
    ...dashboard.panels.filter((p: Json) => p.type !== "row").map((p: Json) => [p.title, p.datasource]),
    ...dashboard.panels.flatMap((p: Json) =>
      (p.targets ?? []).map((t: Json) => [`${p.title} ${t.refId}`, t.datasource]),
    ),
    ...dashboard.templating.list
      .filter((v: Json) => v.type === "query")
      .map((v: Json) => [v.name, v.datasource]),
  ];
  for (const [where, d] of uses) assert.deepEqual(d, { type: "prometheus", uid: "${datasource}" }, where);
  assert.doesNotMatch(
    JSON.stringify(dashboard),
    /"uid":\s*"(?!\$\{datasource\}|meshlane-lanes)/,
    "no fixed uid",
  );
});

test("every query names only metrics and labels docs/contracts.md documents", () => {
  const doc = documented();
  // The parser and the documentation it reads are not vacuous.
  for (const m of [
    "meshlane_requests_total",
    "meshlane_responses_total",
    "meshlane_rollout_percent",
    "meshlane_rollout_step",
  ])
    assert.ok(doc.metrics.has(m), `${m} documented`);
  assert.ok(doc.histograms.has("meshlane_request_duration_milliseconds"));
  const probe = namesIn('sum by (pod, le) (rate(istio_requests_total{response_code=~"5.."}[5m])) > 0.5');
  assert.deepEqual(probe.metrics, ["istio_requests_total"]);
  assert.deepEqual(probe.labels.sort(), ["le", "pod", "response_code"]);

  const all = queries();
  assert.ok(all.length >= 10, `${all.length} queries`);
  const problems: string[] = [];
  for (const { where, expr } of all) {
    const n = namesIn(expr);
    if (n.metrics.length === 0) problems.push(`${where}: reads no metric`);
    for (const m of n.metrics) {
      const base = m.replace(/_(bucket|sum|count)$/, "");
      const ok = doc.metrics.has(m) || (base !== m && doc.histograms.has(base));
      if (!ok) problems.push(`${where}: metric ${m} is not documented`);
    }
    for (const l of n.labels) if (!doc.labels.has(l)) problems.push(`${where}: label ${l} is not documented`);
    for (const f of n.functions) if (!FUNCTIONS.has(f)) problems.push(`${where}: function ${f}?`);
  }
  assert.deepEqual(problems, []);
});

test("the ConfigMap for Grafana's sidecar is generated from the dashboard file itself", () => {
  const k = parseYaml(readFileSync(fromRoot("manifests", "grafana", "kustomization.yaml"), "utf8")) as Json;
  const [gen] = k.configMapGenerator;
  assert.deepEqual(gen.files, ["meshlane-lanes.json"]);
  assert.equal(gen.options.labels.grafana_dashboard, "1");
});
