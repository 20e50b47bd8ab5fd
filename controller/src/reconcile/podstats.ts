// The embedded metrics provider in a cluster (`meshlane controller --metrics-provider embedded`): finds
// the proxies to scrape through the API server, then lets rollout/embedded.ts scrape them and judge.
//
// The pods of an analysis round are the Running, Ready pods (not being deleted, with an IP) selected by
// the `spec.selector` of each of the lane's Services, as the controller's informer holds them: the
// lane's own pods and base's alike (base's series are compared for `maxIncreaseOverBase`). They are
// listed at each round (one list of pods per Service, with the Service's selector; no pod cache), so
// the controller needs `list` on pods and nothing more. A pod's stats URL is
// `http://<podIP>:<port><path>`, with port and path from the scrape annotations Istio's sidecar
// injector writes for merged metrics (`prometheus.io/port: "15020"`, `prometheus.io/path:
// /stats/prometheus`), each one when present and valid, else the sidecar's own endpoint, 15090 and
// /stats/prometheus. Its labels are those Istio's sample Prometheus configuration maps from the pod:
// `app` (the pod's `app` label, else the Service's name), `namespace`, `pod`. A pod behind two of the
// lane's Services is scraped once.
//
// Each Lane has its own EmbeddedProvider, so each Lane's window is the time since its own previous
// round (a round of one Lane does not take the starting point of another's).
import type { Observation } from "../rollout/engine.js";
import { EmbeddedProvider, describe, everyNone, type ScrapeTarget } from "../rollout/embedded.js";
import type { AnalysisTarget, MetricsProvider } from "../rollout/provider.js";
import { RESOURCES, resourcePath, type KubeClient } from "./kube.js";
import type { ClusterState } from "./state.js";

export const PORT_ANNOTATION = "prometheus.io/port";
export const PATH_ANNOTATION = "prometheus.io/path";
/** The sidecar's own Prometheus endpoint (Envoy's stats), used without the annotations. */
export const DEFAULT_STATS_PORT = 15090;
export const DEFAULT_STATS_PATH = "/stats/prometheus";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Pod = any;

/** Running, Ready, not being deleted, and with an IP: a pod whose proxy serves its stats. */
export function isServing(pod: Pod): boolean {
  if (pod?.metadata?.deletionTimestamp) return false;
  if (pod?.status?.phase !== "Running" || typeof pod.status.podIP !== "string" || pod.status.podIP === "")
    return false;
  const conditions: unknown = pod.status.conditions;
  return (
    Array.isArray(conditions) && conditions.some((c: Pod) => c?.type === "Ready" && c?.status === "True")
  );
}

/** The pod's stats URL (see the module comment), or undefined without a pod IP. */
export function statsUrl(pod: Pod): string | undefined {
  const ip: unknown = pod?.status?.podIP;
  if (typeof ip !== "string" || ip === "") return undefined;
  const annotations = (pod?.metadata?.annotations ?? {}) as Record<string, unknown>;
  const rawPort = annotations[PORT_ANNOTATION];
  const annotated = typeof rawPort === "string" && /^\d{1,5}$/.test(rawPort.trim()) ? Number(rawPort) : 0;
  const port = annotated >= 1 && annotated <= 65535 ? annotated : DEFAULT_STATS_PORT;
  const rawPath = annotations[PATH_ANNOTATION];
  const path =
    typeof rawPath === "string" && rawPath.startsWith("/") && !/[\s?#]/.test(rawPath)
      ? rawPath
      : DEFAULT_STATS_PATH;
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return `http://${host}:${port}${path}`;
}

/** The scrape target of a pod found through `service`, or undefined when it is not serving. */
export function podScrapeTarget(pod: Pod, service: string): ScrapeTarget | undefined {
  if (!isServing(pod)) return undefined;
  const url = statsUrl(pod);
  if (url === undefined) return undefined;
  const app: unknown = pod.metadata?.labels?.app;
  return {
    url,
    labels: {
      app: typeof app === "string" && app !== "" ? app : service,
      namespace: String(pod.metadata?.namespace ?? ""),
      pod: String(pod.metadata?.name ?? ""),
    },
  };
}

/** `k=v,k2=v2` from a Service's `spec.selector`; "" when it selects nothing. */
export function selectorString(selector: unknown): string {
  if (typeof selector !== "object" || selector === null) return "";
  return Object.entries(selector as Record<string, unknown>)
    .filter(([, v]) => typeof v === "string")
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(",");
}

export interface PodStatsOptions {
  client: Pick<KubeClient, "request">;
  state: Pick<ClusterState, "get">;
  /** Per-scrape timeout in milliseconds (the embedded provider's default when absent). */
  timeoutMs?: number;
}

export class PodStatsProvider implements MetricsProvider {
  private readonly lanes = new Map<string, { provider: EmbeddedProvider; targets: ScrapeTarget[] }>();

  constructor(private readonly opts: PodStatsOptions) {}

  /** The scrape targets of a round: the serving pods behind the target's Services. */
  async targets(target: AnalysisTarget, signal?: AbortSignal): Promise<ScrapeTarget[]> {
    const byUrl = new Map<string, ScrapeTarget>();
    for (const service of target.services) {
      const svc = this.opts.state.get("v1", "Service", target.namespace, service) as Pod;
      const selector = selectorString(svc?.spec?.selector);
      if (selector === "") continue; // no such Service, or one without a selector: no pods of its own
      const path = resourcePath(RESOURCES["|Pod"], target.namespace);
      let list: Pod;
      try {
        list = await this.opts.client.request("GET", path, { query: { labelSelector: selector }, signal });
      } catch (err) {
        throw new Error(`cannot list the pods of Service ${target.namespace}/${service}: ${describe(err)}`);
      }
      for (const pod of Array.isArray(list?.items) ? list.items : []) {
        const t = podScrapeTarget(pod, service);
        if (t && !byUrl.has(t.url)) byUrl.set(t.url, t);
      }
    }
    return [...byUrl.values()];
  }

  async observe(target: AnalysisTarget, signal?: AbortSignal): Promise<Observation[]> {
    let targets: ScrapeTarget[];
    try {
      targets = await this.targets(target, signal);
    } catch (err) {
      return everyNone(target, err instanceof Error ? err.message : String(err));
    }
    if (targets.length === 0) {
      const services = target.services.join(", ") || "(none)";
      return everyNone(
        target,
        `no Running, Ready pod behind the lane's Services in ${target.namespace} (${services}): nothing to scrape`,
      );
    }
    const key = `${target.namespace}/${target.lane}`;
    let lane = this.lanes.get(key);
    if (!lane) {
      const current = { targets };
      const provider = new EmbeddedProvider({
        targets: () => current.targets,
        timeoutMs: this.opts.timeoutMs,
      });
      lane = Object.assign(current, { provider });
      this.lanes.set(key, lane);
    }
    lane.targets = targets;
    return lane.provider.observe(target, signal);
  }
}
