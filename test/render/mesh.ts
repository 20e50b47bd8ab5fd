// A small model of how Istio routes one HTTP request, for following a request hop by hop through
// rendered objects: pick the VirtualService for the host (via a gateway or the mesh), take the first
// matching HTTP route, resolve the destination's subset through the DestinationRule, and list the
// workloads whose pods the Service and subset select. Only what the tests need: exact/prefix/present
// header and URI matches, first weighted destination.
import { resolveHost, hostCovers, serviceFqdn } from "../../controller/src/render/hosts.js";
import type { KubeObject } from "../../controller/src/render/index.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;
const DOMAIN = "cluster.local";

export interface Request {
  /** `{namespace}/{name}` of the Gateway it enters through, or undefined for a call inside the mesh. */
  gateway?: string;
  /** Namespace of the calling workload (mesh calls). */
  from?: string;
  authority: string;
  path: string;
  headers: Record<string, string>;
}

export interface Hop {
  virtualService?: string;
  host: string;
  subset?: string;
  /** Names of the workloads that can receive the request. */
  workloads: string[];
}

function stringMatch(m: Json, v: string | undefined): boolean {
  if (m.exact !== undefined) return v === m.exact;
  if (m.prefix !== undefined) return v !== undefined && v.startsWith(m.prefix);
  if (m.present !== undefined) return (v !== undefined) === m.present;
  throw new Error(`unsupported match ${JSON.stringify(m)}`);
}

function matches(route: Json, req: Request): boolean {
  const list: Json[] = Array.isArray(route.match) && route.match.length > 0 ? route.match : [{}];
  return list.some(
    (m) =>
      (!m.uri || stringMatch(m.uri, req.path)) &&
      Object.entries(m.headers ?? {}).every(([k, sm]) => stringMatch(sm, req.headers[k])),
  );
}

function templateLabels(o: KubeObject): Record<string, string> {
  return o.kind === "Pod" ? (o.metadata.labels ?? {}) : (o.spec?.template?.metadata?.labels ?? {});
}

/** Routes one request through the objects of a cluster; throws when the model cannot. */
export function route(world: KubeObject[], req: Request): Hop {
  const vss = world.filter((o) => o.kind === "VirtualService");
  const hostName = req.authority.split(":")[0];
  const ns = req.from ?? "default";
  const fqdn = req.gateway ? hostName : resolveHost(hostName, ns, DOMAIN);
  const candidates = vss.filter((vs) => {
    const vns = vs.metadata.namespace ?? "";
    const gws: string[] = vs.spec.gateways ?? [];
    const bound = req.gateway
      ? gws.some((g) => (g.includes("/") ? g : `${vns}/${g}`) === req.gateway)
      : gws.length === 0 || gws.includes("mesh");
    if (!bound) return false;
    return (vs.spec.hosts ?? []).some((h: string) =>
      hostCovers(req.gateway ? h : resolveHost(h, vns, DOMAIN), fqdn),
    );
  });
  const exact = candidates.filter((vs) => !(vs.spec.hosts as string[]).some((h) => h.startsWith("*")));
  const vs = (exact.length > 0 ? exact : candidates)[0];
  let host = fqdn;
  let subset: string | undefined;
  if (vs) {
    const r = (vs.spec.http as Json[]).find((x) => matches(x, req));
    if (!r) throw new Error(`no route of ${vs.metadata.name} matches`);
    const d = (r.route as Json[]).find((x) => x.weight === undefined || x.weight > 0).destination;
    host = resolveHost(d.host, vs.metadata.namespace ?? "", DOMAIN);
    subset = d.subset;
  }
  const svc = world.find(
    (o) => o.kind === "Service" && serviceFqdn(o.metadata.name, o.metadata.namespace ?? "", DOMAIN) === host,
  );
  if (!svc) throw new Error(`no Service for ${host}`);
  let subsetLabels: Record<string, string> = {};
  if (subset) {
    const dr = world.find(
      (o) =>
        o.kind === "DestinationRule" && resolveHost(o.spec.host, o.metadata.namespace ?? "", DOMAIN) === host,
    );
    const s = dr?.spec.subsets?.find((x: Json) => x.name === subset);
    if (!s) throw new Error(`subset ${subset} of ${host} is not defined: Envoy would answer 503`);
    subsetLabels = s.labels ?? {};
  }
  const selector = { ...svc.spec.selector, ...subsetLabels };
  const workloads = world
    .filter(
      (o) =>
        ["Deployment", "StatefulSet", "Pod"].includes(o.kind) &&
        o.metadata.namespace === svc.metadata.namespace,
    )
    .filter((o) => Object.entries(selector).every(([k, v]) => templateLabels(o)[k] === v))
    .map((o) => o.metadata.name)
    .sort();
  return {
    virtualService: vs ? `${vs.metadata.namespace}/${vs.metadata.name}` : undefined,
    host,
    subset,
    workloads,
  };
}
