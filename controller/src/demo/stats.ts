// The demo mesh's stats endpoints: every proxy serves its filter's metrics at `GET /stats/prometheus`
// on a loopback port of its own, as an Istio sidecar serves them on :15090, rendered the way Envoy
// renders them (host/prometheus.ts). The mesh lists them with the labels Istio's sample Prometheus
// configuration maps from pods (`app`, `namespace`, `pod`), so a metrics provider or a Prometheus
// `static_configs` entry can scrape them.
import type http from "node:http";
import { prometheusText } from "../host/prometheus.js";
import type { WasmVm } from "../host/index.js";

/** The namespace the demo's workloads stand for (the Lane's namespace in analysis targets). */
export const DEMO_NAMESPACE = "demo";
/** Istio's ingress gateway as its pods are labelled. */
export const EDGE_APP = "istio-ingressgateway";
export const EDGE_NAMESPACE = "istio-system";

/** One proxy's stats endpoint. */
export interface StatsEndpoint {
  /** The Service the proxy belongs to (`istio-ingressgateway` for the edge). */
  service: string;
  /** The workload (Deployment) name: `<service>-<lane>`, or the edge's app name. */
  workload: string;
  /** The lane the workload serves (absent for the edge). */
  lane?: string;
  role: "edge" | "sidecar";
  /** `http://127.0.0.1:<port>/stats/prometheus`. */
  url: string;
  /** Target labels as Istio's sample Prometheus config maps them from the pod. */
  labels: { app: string; namespace: string; pod: string };
}

export const STATS_PATH = "/stats/prometheus";

/** Serves the VM's metrics (none without a filter) at GET /stats/prometheus; 404 elsewhere. */
export function statsHandler(vm: WasmVm | null): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== STATS_PATH || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(path === STATS_PATH ? 405 : 404, { "content-type": "text/plain" });
      res.end(path === STATS_PATH ? "GET only\n" : `not found: ${path}; stats are at ${STATS_PATH}\n`);
      return;
    }
    const body = vm === null ? "" : prometheusText(vm.metrics());
    res.writeHead(200, {
      "content-type": "text/plain; version=0.0.4; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}
