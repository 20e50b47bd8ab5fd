// The embedded provider against the demo mesh's stats endpoints: it scrapes the proxies itself and
// judges the delta between two observations.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Mesh } from "../../controller/src/demo/mesh.js";
import { EmbeddedProvider } from "../../controller/src/rollout/embedded.js";
import { DURATION, lanesMesh, SUCCESS, target, traffic } from "./mesh-fixture.js";

let mesh: Mesh;
before(async () => {
  mesh = await lanesMesh();
});
after(async () => {
  await mesh.close();
});

const verdicts = (obs: { service?: string; metric: string; verdict: string }[]) =>
  Object.fromEntries(obs.map((o) => [`${o.metric}/${o.service ?? "lane"}`, o.verdict]));

test("first observation is the starting point; then a healthy lane passes and a failing one fails, per service and lane-wide", async () => {
  const provider = new EmbeddedProvider({ targets: () => mesh.stats });
  const first = await provider.observe(target("canary", [SUCCESS, DURATION]));
  assert.ok(first.every((o) => o.verdict === "none" && /first scrape/.test(o.reason ?? "")));
  await traffic(mesh, 20);
  const canary = await provider.observe(target("canary", [SUCCESS, DURATION]));
  assert.deepEqual(verdicts(canary), {
    "request-success-rate/mocka": "pass",
    "request-success-rate/mockb": "pass",
    "request-success-rate/lane": "pass",
    "request-duration/mocka": "pass",
    "request-duration/mockb": "pass",
    "request-duration/lane": "pass",
  });
  const rate = canary.find((o) => o.metric === SUCCESS.name && o.service === "mocka");
  assert.equal(rate?.value, 100);
  assert.equal(rate?.requests, 20);
  const p99 = canary.find((o) => o.metric === DURATION.name && o.service === undefined);
  assert.ok((p99?.value ?? -1) > 0, "a p99 from the duration buckets");

  // The next window: only the traffic since the previous observation counts.
  await traffic(mesh, 20);
  const broken = await provider.observe(target("broken", [SUCCESS]));
  const mocka = broken.find((o) => o.service === "mocka");
  assert.equal(mocka?.verdict, "fail");
  assert.equal(mocka?.requests, 20);
  assert.equal(mocka?.value, 50);
  assert.equal(broken.find((o) => o.service === undefined)?.verdict, "fail");
  // mockb only sees the broken lane's requests that mocka did not fail itself.
  assert.equal(broken.find((o) => o.service === "mockb")?.value, 100);
});

test("too few requests, a lane without traffic, a query metric: no verdict with a reason", async () => {
  const provider = new EmbeddedProvider({ targets: () => mesh.stats });
  await provider.observe(target("canary", [SUCCESS]));
  await traffic(mesh, 3);
  for (const o of await provider.observe(target("canary", [SUCCESS]))) {
    assert.equal(o.verdict, "none");
    assert.match(o.reason ?? "", /fewer than minRequests 10/);
  }
  await traffic(mesh, 1);
  const none = await provider.observe(target("nosuch", [SUCCESS], { minRequests: 0 }));
  assert.ok(
    none.every((o) => o.verdict === "none" && /empty result/.test(o.reason ?? "")),
    JSON.stringify(none),
  );
  const custom = await provider.observe(
    target("canary", [{ name: "errors", thresholdRange: { max: 1 }, query: "sum(x)" }]),
  );
  assert.ok(custom.every((o) => o.verdict === "none" && /Prometheus provider/.test(o.reason ?? "")));
});

test("an endpoint that is down, or answers malformed text, makes the round no verdict", async () => {
  const bad = http.createServer((_, res) => res.end("ok 1\nnot a sample line{\n"));
  await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
  const port = (bad.address() as AddressInfo).port;
  try {
    const malformed = new EmbeddedProvider({
      targets: [...mesh.stats, { url: `http://127.0.0.1:${port}/`, labels: {} }],
    });
    const obs = await malformed.observe(target("canary", [SUCCESS]));
    assert.ok(
      obs.every((o) => o.verdict === "none" && /line 2/.test(o.reason ?? "")),
      JSON.stringify(obs),
    );
  } finally {
    await new Promise((r) => bad.close(r));
  }
  const down = new EmbeddedProvider({
    targets: [{ url: `http://127.0.0.1:${port}/stats/prometheus`, labels: {} }],
  });
  const obs = await down.observe(target("canary", [SUCCESS]));
  assert.equal(obs.length, 3);
  assert.ok(
    obs.every((o) => o.verdict === "none" && /ECONNREFUSED/.test(o.reason ?? "")),
    JSON.stringify(obs),
  );
});
