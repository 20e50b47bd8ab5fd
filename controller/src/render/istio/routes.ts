// The VirtualService step of the Istio writer: lane routes merged into every user VirtualService that
// routes to a routed Service, and a mesh VirtualService meshlane creates for each routed Service that
// no user mesh VirtualService covers. Targets come from the plan (`targetAt`), never from the chains.
import { hostCovers, resolveHost } from "../hosts.js";
import type { Inventory } from "../inventory.js";
import { targetAt, type LanePlan, type PlannedService } from "../laneplan.js";
import { deepEqual, describe, managedMetadata, managedName } from "../objects.js";
import type { ResolvedOptions } from "../options.js";
import { IGNORE_ANNOTATION, type KubeObject } from "../types.js";
import { isIgnored, userOutcome } from "../userobject.js";
import type { RoutingOutput } from "../writer.js";
import {
  mergeVirtualService,
  newVirtualService,
  unmergeVirtualService,
  type RouteContext,
} from "./virtualservice.js";

function isMeshBound(vs: KubeObject): boolean {
  const gateways = vs.spec?.gateways;
  return !Array.isArray(gateways) || gateways.length === 0 || gateways.includes("mesh");
}

/** Hosts of the user's mesh VirtualServices, to tell which Services already have one. */
function meshHostIndex(vss: KubeObject[], domain: string) {
  const exact = new Set<string>();
  const wildcards: string[] = [];
  for (const vs of vss) {
    if (!isMeshBound(vs) || !Array.isArray(vs.spec?.hosts)) continue;
    for (const h of vs.spec.hosts) {
      if (typeof h !== "string") continue;
      const r = resolveHost(h, vs.metadata.namespace ?? "", domain);
      if (r.startsWith("*")) wildcards.push(r);
      else exact.add(r);
    }
  }
  return (fqdn: string) => exact.has(fqdn) || wildcards.some((w) => hostCovers(w, fqdn));
}

/** Lane routes for the `routed` Services (the plan's, less those the subset step could not route). */
export function writeRoutes(
  plan: LanePlan,
  routed: ReadonlyMap<string, PlannedService>,
  inv: Inventory,
  o: ResolvedOptions,
): Omit<RoutingOutput, "routed"> {
  const out: Omit<RoutingOutput, "routed"> = {
    userApply: [],
    restore: [],
    managed: [],
    errors: [],
    warnings: [],
  };
  const ctx: RouteContext = {
    laneHeader: o.laneHeader,
    domain: o.clusterDomain,
    service: (fqdn) => routed.get(fqdn),
    lanesIn: (ns) => plan.lanesIn(ns),
    target: targetAt,
  };
  for (const vs of inv.virtualServices) {
    const ns = vs.metadata.namespace ?? "";
    const unmerge = (live: unknown, original: unknown) => unmergeVirtualService(live, original, ns, ctx);
    if (isIgnored(vs)) {
      // Left as it is; worth an error only when lane traffic through it misses lane routes.
      const merged = mergeVirtualService(unmerge(vs.spec, undefined), ns, ctx);
      if (!("spec" in merged && deepEqual(merged.spec, vs.spec))) {
        out.errors.push({
          object: describe(vs),
          message: `carries ${IGNORE_ANNOTATION}: "true" and lacks the lane routes or base pins meshlane would add for the lane-enabled Services it routes to: lane traffic through it is unmanaged`,
        });
      }
      continue;
    }
    const outcome = userOutcome(vs, (base) => mergeVirtualService(base, ns, ctx), unmerge);
    if (outcome.kind === "apply") out.userApply.push(outcome.obj);
    else if (outcome.kind === "restore") out.restore.push(outcome.obj);
    else if (outcome.kind === "error") out.errors.push({ object: describe(vs), message: outcome.message });
  }
  const hasMeshVs = meshHostIndex(inv.virtualServices, o.clusterDomain);
  for (const svc of routed.values()) {
    if (hasMeshVs(svc.fqdn)) continue;
    out.managed.push({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: managedMetadata(managedName(svc.name), svc.namespace),
      spec: newVirtualService(svc, ctx),
    });
  }
  return out;
}
