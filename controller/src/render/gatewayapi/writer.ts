// The Gateway API writer: the lane plan as per-lane Services (laneservices.ts) and HTTPRoutes
// (httproute.ts). Steps:
// 1. Which planned Services can be routed: each per-lane Service name must be a valid Service name and
//    free (not held by an object that is not meshlane's), and a mesh HTTPRoute must fit the Gateway
//    API's 16 rules. A Service that fails is left unrouted with a warning (an error names the object
//    holding a name), as the Istio writer does when subsets cannot be placed.
// 2. The user's HTTPRoutes (attached to Gateways, or mesh routes attached to Services): lane rules
//    merged in, saved and restored through userobject.ts; one meshlane cannot merge into is an error
//    and left untouched.
// 3. meshlane's own objects: the per-lane Services of every routed Service, and a mesh HTTPRoute
//    (GAMMA: parentRefs to the Service) for each routed Service no user HTTPRoute is attached to.
import { resolveHost, serviceFqdn } from "../hosts.js";
import type { Inventory } from "../inventory.js";
import { targetAt, type LanePlan, type PlannedService } from "../laneplan.js";
import { deepEqual, describe, managedMetadata, managedName, objectKey } from "../objects.js";
import type { ResolvedOptions } from "../options.js";
import {
  BASE_LANE,
  IGNORE_ANNOTATION,
  LANE_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ORIGINAL_SPEC_ANNOTATION,
  SERVICE_LABEL,
  type KubeObject,
} from "../types.js";
import { isIgnored, userOutcome, userSpec } from "../userobject.js";
import { emptyRoutingOutput, releaseUserObjects, type RoutingOutput, type RoutingWriter } from "../writer.js";
import {
  DEFAULT_PATH,
  laneBackend,
  MAX_RULES,
  mergeHttpRoute,
  unmergeHttpRoute,
  type HttpRouteContext,
} from "./httproute.js";
import { laneService, laneServiceName, MAX_SERVICE_NAME, portsOf, serviceLanes } from "./laneservices.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export const HTTPROUTE_API_VERSION = "gateway.networking.k8s.io/v1";

/** The ports a mesh HTTPRoute routes: TCP-protocol ports not declared raw TCP (name `tcp`/`tcp-*`, appProtocol `tcp`). */
function httpPorts(svc: PlannedService): Json[] {
  return portsOf(svc).filter((p) => {
    const name = typeof p.name === "string" ? p.name : "";
    return p.protocol === "TCP" && name !== "tcp" && !name.startsWith("tcp-") && p.appProtocol !== "tcp";
  });
}

/** The lanes with their own rule at `svc`: those whose target there is not base. */
function routedLanes(svc: PlannedService, plan: LanePlan): string[] {
  return plan.lanesIn(svc.namespace).filter((l) => targetAt(svc, l) !== BASE_LANE);
}

/** meshlane's mesh HTTPRoutes of a Service: one (`meshlane-<service>`), or one per port when it has several. */
function meshRoutes(svc: PlannedService, plan: LanePlan, o: ResolvedOptions): KubeObject[] {
  const ports = httpPorts(svc);
  const all = portsOf(svc);
  return ports.map((p) => {
    const parent: Json = { group: "", kind: "Service", name: svc.name };
    if (all.length > 1) parent.port = p.port;
    const rules: Json[] = routedLanes(svc, plan).map((lane) => ({
      matches: [{ path: DEFAULT_PATH, headers: [{ type: "Exact", name: o.laneHeader, value: lane }] }],
      backendRefs: [laneBackend(svc, targetAt(svc, lane), p.port)],
    }));
    rules.push({ matches: [{ path: DEFAULT_PATH }], backendRefs: [laneBackend(svc, BASE_LANE, p.port)] });
    const name = ports.length > 1 ? `${managedName(svc.name)}-${p.port}` : managedName(svc.name);
    return {
      apiVersion: HTTPROUTE_API_VERSION,
      kind: "HTTPRoute",
      metadata: managedMetadata(name, svc.namespace),
      spec: { parentRefs: [parent], rules },
    };
  });
}

/** The fully qualified hosts a VirtualService's HTTP routes send traffic to. */
function vsDestinations(vs: KubeObject, domain: string): string[] {
  const http: Json[] = Array.isArray(vs.spec?.http) ? vs.spec.http : [];
  const ns = vs.metadata.namespace ?? "";
  return http.flatMap((r) =>
    (Array.isArray(r?.route) ? r.route : [])
      .map((d: Json) => d?.destination?.host)
      .filter((h: unknown): h is string => typeof h === "string")
      .map((h: string) => resolveHost(h, ns, domain)),
  );
}

/** Whether an HTTPRoute is attached to a Service (a GAMMA mesh route), and to which ones (fqdn). */
function serviceParents(route: KubeObject, domain: string): string[] {
  const refs: Json[] = Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : [];
  const ns = route.metadata.namespace ?? "";
  return refs
    .filter((r) => r?.group === "" && r?.kind === "Service" && typeof r?.name === "string")
    .map((r) =>
      serviceFqdn(r.name, typeof r.namespace === "string" && r.namespace ? r.namespace : ns, domain),
    );
}

/** The route context over the Services in `routed`, and meshlane's per-lane Services. */
export function routeContext(
  plan: LanePlan,
  routed: ReadonlyMap<string, PlannedService>,
  inv: Inventory,
  o: ResolvedOptions,
): HttpRouteContext {
  const owners = new Map<string, { service: string; lane: string }>();
  const pins = new Map<string, string>();
  for (const svc of plan.services.values()) {
    for (const lane of serviceLanes(svc)) {
      owners.set(`${svc.namespace}/${laneServiceName(svc.name, lane)}`, { service: svc.name, lane });
    }
    pins.set(`${svc.namespace}/${laneServiceName(svc.name, BASE_LANE)}`, svc.name);
  }
  // A base pin of a Service no longer lane-enabled is still meshlane's: its per-lane Service says so.
  for (const m of inv.managed) {
    const service = m.metadata.labels?.[SERVICE_LABEL];
    if (m.kind === "Service" && service && m.metadata.labels?.[LANE_LABEL] === BASE_LANE)
      pins.set(`${m.metadata.namespace}/${m.metadata.name}`, service);
  }
  return {
    laneHeader: o.laneHeader,
    domain: o.clusterDomain,
    service: (fqdn) => routed.get(fqdn),
    lanesIn: (ns) => plan.lanesIn(ns),
    target: targetAt,
    laneServiceOwner: (ns, name) => owners.get(`${ns}/${name}`),
    unpinned: (ns, name) => pins.get(`${ns}/${name}`),
  };
}

/** The user's HTTPRoutes: merge, restore or report each (ignored ones only checked). */
function writeUserRoutes(out: RoutingOutput, ctx: HttpRouteContext, inv: Inventory): void {
  for (const route of inv.httpRoutes) {
    const ns = route.metadata.namespace ?? "";
    const unmerge = (live: unknown, original: unknown) => unmergeHttpRoute(live, original, ns, ctx);
    if (isIgnored(route)) {
      const base = userSpec(route, unmerge);
      const merged = "spec" in base ? mergeHttpRoute(base.spec, ns, ctx) : base;
      if (!("spec" in merged && deepEqual(merged.spec, route.spec))) {
        out.errors.push({
          object: describe(route),
          message: `carries ${IGNORE_ANNOTATION}: "true" and lacks the lane rules meshlane would add for the lane-enabled Services it routes to: lane traffic through it is unmanaged`,
        });
      }
      continue;
    }
    const outcome = userOutcome(route, (base) => mergeHttpRoute(base, ns, ctx), unmerge);
    if (outcome.kind === "apply") out.userApply.push(outcome.obj);
    else if (outcome.kind === "restore") out.restore.push(outcome.obj);
    else if (outcome.kind === "error") out.errors.push({ object: describe(route), message: outcome.message });
  }
}

export const gatewayApiWriter: RoutingWriter = {
  name: "gateway-api",
  write(plan, inv, o) {
    const out = emptyRoutingOutput(plan);
    const routed = out.routed;
    const drop = (svc: PlannedService, why: string) => {
      if (!routed.delete(svc.fqdn)) return;
      out.warnings.push({ object: describe(svc.obj), message: `not lane-routed: ${why}` });
    };
    const claimed = new Map<string, string>();
    for (const svc of plan.services.values()) {
      for (const lane of serviceLanes(svc)) {
        const name = laneServiceName(svc.name, lane);
        if (name.length > MAX_SERVICE_NAME) {
          drop(
            svc,
            `its Service for lane ${lane}, ${name}, would be longer than ${MAX_SERVICE_NAME} characters`,
          );
          continue;
        }
        const other = inv.byKey.get(
          objectKey({ apiVersion: "v1", kind: "Service", namespace: svc.namespace, name }),
        );
        // Two lane-enabled Services can want one name (`a` with lane `b-c`, `a-b` with lane `c`).
        const claimedBy = claimed.get(`${svc.namespace}/${name}`);
        if (claimedBy !== undefined && claimedBy !== svc.name) {
          drop(
            svc,
            `its Service for lane ${lane}, ${name}, is the name of Service ${claimedBy}'s lane Service`,
          );
          continue;
        }
        claimed.set(`${svc.namespace}/${name}`, svc.name);
        // Only a Service meshlane made for this very Service is taken over.
        const ours =
          other?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
          other.metadata.labels?.[SERVICE_LABEL] === svc.name;
        if (other && !ours) {
          out.errors.push({
            object: describe(other),
            message: `exists and is not managed by meshlane; meshlane needs the name for lane ${lane} of ${describe(svc.obj)}`,
          });
          drop(svc, `the name ${name} is taken`);
        }
      }
      if (routedLanes(svc, plan).length + 1 > MAX_RULES) {
        drop(
          svc,
          `its mesh HTTPRoute would need more than the Gateway API's ${MAX_RULES} rules (one per lane routed away from base)`,
        );
      }
      if (routed.has(svc.fqdn) && svc.tcp) {
        out.warnings.push({
          object: describe(svc.obj),
          message:
            "has TCP ports: HTTPRoutes do not route them, so their traffic reaches the pods of every lane",
        });
      }
    }
    for (const vs of inv.virtualServices) {
      const hosts = vsDestinations(vs, o.clusterDomain).filter((h) => routed.has(h));
      if (hosts.length === 0 || vs.metadata.annotations?.[ORIGINAL_SPEC_ANNOTATION] !== undefined) continue;
      out.warnings.push({
        object: describe(vs),
        message:
          `routes to lane-enabled ${[...new Set(hosts)].join(", ")}; with gateway-api routing meshlane adds no lane ` +
          `routes to VirtualServices, so lane traffic through it reaches every lane's pods (use an HTTPRoute)`,
      });
    }
    const ctx = routeContext(plan, routed, inv, o);
    writeUserRoutes(out, ctx, inv);

    const userMeshParents = new Set(inv.httpRoutes.flatMap((r) => serviceParents(r, o.clusterDomain)));
    for (const svc of routed.values()) {
      for (const lane of serviceLanes(svc)) out.managed.push(laneService(svc, lane, inv));
      if (!userMeshParents.has(svc.fqdn)) out.managed.push(...meshRoutes(svc, plan, o));
    }
    return out;
  },
  release(plan, inv, o) {
    const ctx = routeContext(plan, plan.services, inv, o);
    return releaseUserObjects(inv.httpRoutes, (live, original, ns) =>
      unmergeHttpRoute(live, original, ns, ctx),
    );
  },
};
