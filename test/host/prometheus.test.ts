// The host's metrics as Envoy's /stats/prometheus serves them: real metrics from the compiled filter
// (the demo mesh's stats endpoints: request counters, response counters and the duration histogram)
// and histograms defined through the host's MetricStore.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MetricStore } from "../../controller/src/host/index.js";
import {
  ENVOY_DEFAULT_BUCKETS,
  mergeSnapshots,
  prometheusText,
  splitTags,
} from "../../controller/src/host/prometheus.js";
import { startMesh } from "../../controller/src/demo/mesh.js";
import { parseExposition } from "../../controller/src/rollout/exposition.js";
import { filterModule } from "../support/filter.js";

test("the filter's meshlane_requests_total is served as labelled counters at each proxy's /stats/prometheus", async () => {
  const mesh = await startMesh({ wasm: await filterModule() });
  try {
    for (const agent of ["pc", "pc", "mobile"]) assert.equal((await mesh.request({ agent })).status, 200);
    assert.deepEqual(
      mesh.stats.map((s) => [s.workload, s.role, s.lane, s.labels.app, s.labels.namespace]),
      [
        ["istio-ingressgateway", "edge", undefined, "istio-ingressgateway", "istio-system"],
        ["mocka-base", "sidecar", "base", "mocka", "demo"],
        ["mocka-canary", "sidecar", "canary", "mocka", "demo"],
        ["mockb-base", "sidecar", "base", "mockb", "demo"],
        ["mockc-base", "sidecar", "base", "mockc", "demo"],
        ["mockc-canary", "sidecar", "canary", "mockc", "demo"],
      ],
    );
    for (const s of mesh.stats) assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/stats\/prometheus$/);
    const edge = await fetch(mesh.stats[0].url);
    assert.equal(edge.status, 200);
    assert.match(edge.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await edge.text();
    assert.match(text, /^# TYPE meshlane_requests_total counter$/m);
    assert.match(
      text,
      /^meshlane_requests_total\{lane="canary",role="edge",direction="gateway",source="rule"\} 2$/m,
    );
    assert.match(
      text,
      /^meshlane_requests_total\{lane="base",role="edge",direction="gateway",source="default"\} 1$/m,
    );
    assert.doesNotMatch(text, /=\.=|wasmcustom/);
    // The filter's response metrics: counters by status class, Envoy's duration histogram.
    assert.match(
      text,
      /^meshlane_responses_total\{lane="canary",role="edge",direction="gateway",response_code_class="2xx"\} 2$/m,
    );
    assert.match(text, /^# TYPE meshlane_request_duration_milliseconds histogram$/m);
    assert.match(
      text,
      /^meshlane_request_duration_milliseconds_bucket\{lane="canary",role="edge",direction="gateway",le="\+Inf"\} 2$/m,
    );
    assert.match(
      text,
      /^meshlane_request_duration_milliseconds_count\{lane="base",role="edge",direction="gateway"\} 1$/m,
    );
    const mockb = await (await fetch(mesh.stats[3].url)).text();
    assert.match(
      mockb,
      /^meshlane_requests_total\{lane="canary",role="sidecar",direction="outbound",source="memory"\} 2$/m,
    );
    // Every line is valid exposition text.
    assert.ok(parseExposition(mockb).length > 0);
    const missing = await fetch(mesh.stats[1].url.replace("/stats/prometheus", "/stats"));
    assert.equal(missing.status, 404);
    await missing.text();
  } finally {
    await mesh.close();
  }
});

test("a histogram defined through the host: Envoy's default buckets, cumulative, +Inf, _sum and _count", () => {
  const store = new MetricStore();
  const h = store.define(2, "lane=.=canary;.;role=.=sidecar;.;meshlane_request_duration_milliseconds");
  assert.ok(h.id !== undefined);
  for (const v of [0, 3, 3, 7, 120, 4_000_000]) store.record(h.id, BigInt(v));
  const text = prometheusText(store.snapshot());
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "# TYPE meshlane_request_duration_milliseconds histogram");
  const bucket = (le: string) =>
    lines.find((l) =>
      l.startsWith(`meshlane_request_duration_milliseconds_bucket{lane="canary",role="sidecar",le="${le}"} `),
    );
  assert.equal(
    bucket("0.5"),
    'meshlane_request_duration_milliseconds_bucket{lane="canary",role="sidecar",le="0.5"} 1',
  );
  assert.match(bucket("1") ?? "", / 1$/);
  assert.match(bucket("5") ?? "", / 3$/);
  assert.match(bucket("10") ?? "", / 4$/);
  assert.match(bucket("250") ?? "", / 5$/);
  assert.match(bucket("3600000") ?? "", / 5$/);
  assert.match(bucket("+Inf") ?? "", / 6$/);
  assert.equal(
    lines.filter((l) => l.includes("_bucket{")).length,
    ENVOY_DEFAULT_BUCKETS.length + 1,
    "one line per default bucket plus +Inf",
  );
  assert.ok(
    lines.includes('meshlane_request_duration_milliseconds_sum{lane="canary",role="sidecar"} 4000133'),
  );
  assert.ok(lines.includes('meshlane_request_duration_milliseconds_count{lane="canary",role="sidecar"} 6'));
  assert.deepEqual(ENVOY_DEFAULT_BUCKETS.slice(0, 4), [0.5, 1, 5, 10]);
  assert.equal(ENVOY_DEFAULT_BUCKETS[ENVOY_DEFAULT_BUCKETS.length - 1], 3600000);
});

test("tag extraction as Envoy does it: each tag's `tag=.=value;.;` cut out, nothing else; tags first gives a clean name", () => {
  const labels: [string, string][] = [
    ["lane", "canary"],
    ["role", "edge"],
    ["direction", "gateway"],
    ["source", "rule"],
  ];
  // The filter's form: tags first.
  assert.deepEqual(
    splitTags(
      "wasmcustom.lane=.=canary;.;role=.=edge;.;direction=.=gateway;.;source=.=rule;.;meshlane_requests_total",
    ),
    { name: "meshlane_requests_total", labels },
  );
  // Name first (filters before the fix): Envoy leaves the `_` that joined name and tags.
  assert.deepEqual(
    splitTags(
      "wasmcustom.meshlane_requests_total_lane=.=canary;.;role=.=edge;.;direction=.=gateway;.;source=.=rule;.;",
    ),
    { name: "meshlane_requests_total_", labels },
  );
  const store = new MetricStore();
  store.increment(store.define(0, "lane=.=canary;.;role=.=edge;.;meshlane_requests_total").id as number, 2n);
  store.increment(
    store.define(0, "meshlane_responses_total_lane=.=canary;.;role=.=edge;.;").id as number,
    3n,
  );
  const text = prometheusText(store.snapshot());
  assert.match(
    text,
    /^# TYPE meshlane_requests_total counter\nmeshlane_requests_total\{lane="canary",role="edge"\} 2$/m,
  );
  assert.match(text, /^meshlane_responses_total_\{lane="canary",role="edge"\} 3$/m);
  assert.doesNotMatch(text, /^meshlane_responses_total\{/m);
  // A tag is found anywhere in the name (Istio's regex is not anchored); only its first match counts.
  assert.deepEqual(splitTags("a.lane=.=x;.;b_lane=.=y;.;"), {
    name: "a.b_lane=.=y;.;",
    labels: [["lane", "x"]],
  });
});

test("names: wasmcustom. dropped, only configured tags extracted, sanitized names, escaped values, {} without labels", () => {
  assert.deepEqual(splitTags("wasmcustom.lane=.=a;.;response_code_class=.=5xx;.;meshlane_responses_total"), {
    name: "meshlane_responses_total",
    labels: [
      ["lane", "a"],
      ["response_code_class", "5xx"],
    ],
  });
  // A tag Istio is not told to extract stays in the name, sanitized.
  assert.equal(splitTags("zone=.=eu;.;x_total").name, "zone=.=eu;.;x_total");
  const store = new MetricStore();
  const c = store.define(0, 'lane=.=a"b\\c;.;odd.name-1');
  const g = store.define(1, "plain_gauge");
  store.increment(c.id as number, 2n);
  store.record(g.id as number, 7n);
  const text = prometheusText(store.snapshot());
  assert.match(text, /^odd_name_1\{lane="a\\"b\\\\c"\} 2$/m);
  assert.match(text, /^# TYPE plain_gauge gauge\nplain_gauge\{\} 7$/m);
  const samples = parseExposition(text);
  assert.deepEqual(samples.find((s) => s.name === "odd_name_1")?.labels, { lane: 'a"b\\c' });
});

test("snapshots of several stores add up: counters sum, histogram samples join", () => {
  const a = new MetricStore();
  const b = new MetricStore();
  for (const s of [a, b]) {
    s.increment(s.define(0, "lane=.=x;.;n").id as number, 3n);
    s.record(s.define(2, "lane=.=x;.;d").id as number, 2n);
  }
  const text = prometheusText(mergeSnapshots([a.snapshot(), b.snapshot()]));
  assert.match(text, /^n\{lane="x"\} 6$/m);
  assert.match(text, /^d_count\{lane="x"\} 2$/m);
  assert.match(text, /^d_sum\{lane="x"\} 4$/m);
});
