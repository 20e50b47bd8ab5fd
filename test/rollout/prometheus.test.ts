// The Prometheus provider against a real Prometheus (Debian's package) scraping the demo mesh's stats
// endpoints every second, with the target labels Istio's sample config maps from pods.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Mesh } from "../../controller/src/demo/mesh.js";
import type { Observation } from "../../controller/src/rollout/engine.js";
import { PrometheusProvider } from "../../controller/src/rollout/prometheus.js";
import { startPrometheus, until, type RunningPrometheus } from "../support/prometheus.js";
import { DURATION, lanesMesh, SUCCESS, target, traffic } from "./mesh-fixture.js";

let mesh: Mesh;
let prom: RunningPrometheus;
let load: Promise<void> | undefined;
let loading = true;

before(async () => {
  mesh = await lanesMesh();
  prom = await startPrometheus(
    mesh.stats.map((s) => {
      const u = new URL(s.url);
      return { address: u.host, metricsPath: u.pathname, labels: s.labels };
    }),
  );
  // Traffic keeps flowing while the tests query, so every rate window has samples.
  load = (async () => {
    while (loading) await traffic(mesh, 5);
  })();
  const provider = new PrometheusProvider({ url: prom.url });
  // Every target is scraped at its own offset, so each lane's series (base's too, which the
  // comparison with base reads) is ready on its own: wait for all of them.
  await until(
    "the lanes' series in Prometheus",
    async () => {
      const ready = await Promise.all(
        ["canary", "broken"].map(async (lane) => {
          const obs = await provider.observe(
            target(lane, [SUCCESS, { ...DURATION, maxIncreaseOverBase: 5000 }]),
          );
          return obs.every((o) => o.verdict !== "none");
        }),
      );
      return ready.every(Boolean) ? true : undefined;
    },
    120_000,
  );
});

after(async () => {
  loading = false;
  await load;
  await prom?.stop();
  await mesh?.close();
});

const byScope = (obs: Observation[], metric: string) =>
  Object.fromEntries(obs.filter((o) => o.metric === metric).map((o) => [o.service ?? "lane", o.verdict]));

test("a healthy lane passes, per Service (by the app label) and lane-wide; base is compared when asked", async () => {
  const provider = new PrometheusProvider({ url: prom.url });
  const obs = await provider.observe(target("canary", [SUCCESS, { ...DURATION, maxIncreaseOverBase: 5000 }]));
  assert.deepEqual(
    byScope(obs, SUCCESS.name),
    { mocka: "pass", mockb: "pass", lane: "pass" },
    JSON.stringify(obs),
  );
  assert.deepEqual(
    byScope(obs, DURATION.name),
    { mocka: "pass", mockb: "pass", lane: "pass" },
    JSON.stringify(obs),
  );
  for (const o of obs) {
    assert.ok((o.requests ?? 0) >= 10, JSON.stringify(o));
    if (o.metric === SUCCESS.name) assert.ok(Math.abs((o.value ?? 0) - 100) < 1e-9, JSON.stringify(o));
    else assert.ok((o.value ?? 0) > 0 && (o.value ?? 0) <= 5000, JSON.stringify(o));
  }
});

test("a lane with 5xx above the threshold fails where it fails", async () => {
  const provider = new PrometheusProvider({ url: prom.url });
  const obs = await provider.observe(target("broken", [SUCCESS]));
  const v = byScope(obs, SUCCESS.name);
  assert.equal(v.mocka, "fail", JSON.stringify(obs));
  assert.equal(v.lane, "fail", JSON.stringify(obs));
  assert.equal(v.mockb, "pass", "mockb only sees the requests mocka did not fail");
  const mocka = obs.find((o) => o.service === "mocka");
  assert.ok((mocka?.value ?? 100) > 30 && (mocka?.value ?? 100) < 70, JSON.stringify(mocka));
});

test("query templates: placeholders filled per Service and lane-wide; a bad query or placeholder is no verdict", async () => {
  const provider = new PrometheusProvider({ url: prom.url });
  const sel = 'namespace="{{ namespace }}",lane="{{lane}}",app=~"{{service}}"';
  const rate = {
    name: "my-success-rate",
    thresholdRange: { min: 95 },
    query:
      `100 * sum(rate(meshlane_responses_total{${sel},response_code_class!="5xx"}[{{interval}}]))` +
      ` / sum(rate(meshlane_responses_total{${sel}}[{{interval}}]))`,
  };
  assert.deepEqual(byScope(await provider.observe(target("canary", [rate])), rate.name), {
    mocka: "pass",
    mockb: "pass",
    lane: "pass",
  });
  assert.equal(byScope(await provider.observe(target("broken", [rate])), rate.name).mocka, "fail");

  const syntax = await provider.observe(target("canary", [{ ...rate, query: "sum(rate(x[{{interval}}]" }]));
  assert.ok(
    syntax.every((o) => o.verdict === "none" && /bad_data/.test(o.reason ?? "")),
    JSON.stringify(syntax),
  );
  const unknown = await provider.observe(target("canary", [{ ...rate, query: 'sum(x{a="{{target}}"})' }]));
  assert.ok(
    unknown.every((o) => o.verdict === "none" && /unknown placeholder \{\{target\}\}/.test(o.reason ?? "")),
  );
  const many = await provider.observe(target("canary", [{ ...rate, query: "meshlane_responses_total" }]));
  assert.ok(
    many.every((o) => o.verdict === "none" && /series, expected one/.test(o.reason ?? "")),
    JSON.stringify(many),
  );
  const nan = await provider.observe(target("canary", [{ ...rate, query: "0/0" }]));
  assert.ok(
    nan.every((o) => o.verdict === "none" && /NaN/.test(o.reason ?? "")),
    JSON.stringify(nan),
  );
});

test("too few requests and a lane without series are no verdict", async () => {
  const provider = new PrometheusProvider({ url: prom.url });
  const few = await provider.observe(target("canary", [SUCCESS], { minRequests: 1_000_000 }));
  assert.ok(few.every((o) => o.verdict === "none" && /fewer than minRequests/.test(o.reason ?? "")));
  const empty = await provider.observe(target("nosuch", [SUCCESS, DURATION], { minRequests: 0 }));
  assert.ok(
    empty.every((o) => o.verdict === "none" && /empty result/.test(o.reason ?? "")),
    JSON.stringify(empty),
  );
});

test("Prometheus that hangs, answers an HTTP error page, or is stopped: no verdict, never a pass", async () => {
  const held: net.Socket[] = [];
  const hang = net.createServer((socket) => held.push(socket)); // accepts, never answers
  const page = http.createServer((_, res) => {
    res.writeHead(503, { "content-type": "text/html" });
    res.end("<html>upstream unavailable</html>");
  });
  await Promise.all([hang, page].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
  try {
    const port = (s: net.Server) => (s.address() as AddressInfo).port;
    const slow = new PrometheusProvider({ url: `http://127.0.0.1:${port(hang)}`, timeoutMs: 300 });
    const t = await slow.observe(target("canary", [SUCCESS]));
    assert.ok(
      t.every((o) => o.verdict === "none" && /timed out/.test(o.reason ?? "")),
      JSON.stringify(t),
    );
    const html = await new PrometheusProvider({ url: `http://127.0.0.1:${port(page)}/` }).observe(
      target("canary", [SUCCESS]),
    );
    assert.ok(html.every((o) => o.verdict === "none" && /HTTP 503 without JSON/.test(o.reason ?? "")));
  } finally {
    for (const socket of held) socket.destroy();
    page.closeAllConnections();
    await Promise.all([hang, page].map((s) => new Promise((r) => s.close(r))));
  }
  await prom.stop();
  const down = await new PrometheusProvider({ url: prom.url }).observe(target("canary", [SUCCESS, DURATION]));
  assert.equal(down.length, 6);
  assert.ok(
    down.every((o) => o.verdict === "none" && /unreachable.*ECONNREFUSED/.test(o.reason ?? "")),
    JSON.stringify(down),
  );
});
