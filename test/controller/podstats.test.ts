// The embedded provider in a cluster, without a cluster: which pods are scraped, at which URL, with
// which labels (reconcile/podstats.ts), and the choice of provider from the controller's flags.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  isServing,
  podScrapeTarget,
  selectorString,
  statsUrl,
} from "../../controller/src/reconcile/podstats.js";
import { chooseProvider, providerKind } from "../../controller/src/rollout/choose.js";
import { ScriptedProvider } from "../support/metrics.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
function pod(
  o: { annotations?: Record<string, string>; labels?: Record<string, string>; status?: any } = {},
) {
  return {
    metadata: { name: "web-canary-7d9f", namespace: "shop", labels: o.labels, annotations: o.annotations },
    status: o.status ?? {
      phase: "Running",
      podIP: "10.1.2.3",
      conditions: [{ type: "Ready", status: "True" }],
    },
  };
}

test("the stats URL: Istio's scrape annotations when present and valid, else the sidecar's :15090", () => {
  // What Istio's injector writes for merged metrics (the agent's endpoint).
  assert.equal(
    statsUrl(
      pod({ annotations: { "prometheus.io/port": "15020", "prometheus.io/path": "/stats/prometheus" } }),
    ),
    "http://10.1.2.3:15020/stats/prometheus",
  );
  assert.equal(statsUrl(pod()), "http://10.1.2.3:15090/stats/prometheus");
  // Each annotation on its own; a bad one falls back to the default, never to a made-up URL.
  assert.equal(
    statsUrl(pod({ annotations: { "prometheus.io/port": "9102" } })),
    "http://10.1.2.3:9102/stats/prometheus",
  );
  assert.equal(
    statsUrl(pod({ annotations: { "prometheus.io/path": "/metrics" } })),
    "http://10.1.2.3:15090/metrics",
  );
  for (const port of ["http", "0", "70000", "-1", "15020 "]) {
    const url = statsUrl(pod({ annotations: { "prometheus.io/port": port } }));
    assert.equal(
      url,
      port === "15020 " ? "http://10.1.2.3:15020/stats/prometheus" : "http://10.1.2.3:15090/stats/prometheus",
      port,
    );
  }
  for (const path of ["metrics", "/a b", "/x?y=1", ""]) {
    assert.equal(
      statsUrl(pod({ annotations: { "prometheus.io/path": path } })),
      "http://10.1.2.3:15090/stats/prometheus",
      JSON.stringify(path),
    );
  }
  // IPv6 pod IPs are bracketed.
  const v6 = pod({ status: { phase: "Running", podIP: "fd00::7", conditions: [] } });
  assert.equal(statsUrl(v6), "http://[fd00::7]:15090/stats/prometheus");
  assert.equal(statsUrl(pod({ status: { phase: "Pending" } })), undefined, "no IP, no URL");
});

test("only Running, Ready pods with an IP that are not being deleted are scraped; labels as Istio's Prometheus maps them", () => {
  assert.equal(isServing(pod()), true);
  const notReady = pod({
    status: { phase: "Running", podIP: "10.1.2.3", conditions: [{ type: "Ready", status: "False" }] },
  });
  assert.equal(isServing(notReady), false);
  assert.equal(isServing(pod({ status: { phase: "Pending", podIP: "10.1.2.3" } })), false);
  assert.equal(
    isServing(
      pod({
        status: { phase: "Succeeded", podIP: "10.1.2.3", conditions: [{ type: "Ready", status: "True" }] },
      }),
    ),
    false,
  );
  assert.equal(
    isServing(pod({ status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } })),
    false,
  );
  const deleting = { ...pod(), metadata: { ...pod().metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
  assert.equal(isServing(deleting), false);
  assert.equal(podScrapeTarget(notReady, "web"), undefined);

  assert.deepEqual(podScrapeTarget(pod({ labels: { app: "web-app" } }), "web"), {
    url: "http://10.1.2.3:15090/stats/prometheus",
    labels: { app: "web-app", namespace: "shop", pod: "web-canary-7d9f" },
  });
  assert.equal(podScrapeTarget(pod(), "web")?.labels.app, "web", "no app label: the Service's name");
});

test("a Service's selector as a label selector; none selects nothing", () => {
  assert.equal(selectorString({ app: "web", tier: "front" }), "app=web,tier=front");
  assert.equal(selectorString(undefined), "");
  assert.equal(selectorString({}), "");
});

test("--metrics-provider: embedded, none, prometheus; the default follows --prometheus-url", () => {
  const prometheus = () => new ScriptedProvider();
  assert.equal(providerKind({}), "none");
  assert.equal(providerKind({ prometheusUrl: "http://p:9090" }), "prometheus");
  assert.equal(providerKind({ metricsProvider: "embedded" }), "embedded");
  assert.equal(providerKind({ metricsProvider: "none" }), "none");
  assert.equal(providerKind({ metricsProvider: "prometheus", prometheusUrl: "http://p:9090" }), "prometheus");
  assert.equal(
    chooseProvider({ metricsProvider: "embedded" }, prometheus, () => "embedded" as const),
    "embedded",
  );
  assert.equal(
    chooseProvider({ metricsProvider: "none" }, prometheus, () => "embedded" as const),
    undefined,
  );
  assert.throws(
    () => chooseProvider({ metricsProvider: "embedded" }, prometheus),
    /--metrics-provider embedded/,
  );
  assert.throws(
    () => providerKind({ metricsProvider: "statsd" }),
    /--metrics-provider: expected prometheus, embedded, none, got "statsd"/,
  );
  assert.throws(
    () => providerKind({ metricsProvider: "prometheus" }),
    /--metrics-provider prometheus needs --prometheus-url/,
  );
  assert.throws(
    () => providerKind({ metricsProvider: "embedded", prometheusUrl: "http://p:9090" }),
    /--prometheus-url: only with --metrics-provider prometheus/,
  );
});
