// The DestinationRule step of the Istio writer: each planned Service gets its lane subsets, merged
// into the user's DestinationRule for its host or in one meshlane creates. It runs before the route
// step and decides which Services are routed at all: a Service whose subsets cannot be added anywhere
// (its DestinationRule refuses them, is marked ignore without them, or meshlane's name for it is taken)
// is left unrouted with a warning, since routes to missing subsets would fail.
import type { Inventory } from "../inventory.js";
import type { LanePlan, PlannedService } from "../laneplan.js";
import { resolveHost } from "../hosts.js";
import { deepEqual, describe, managedMetadata, managedName, objectKey } from "../objects.js";
import type { ResolvedOptions } from "../options.js";
import { IGNORE_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, type KubeObject } from "../types.js";
import { isIgnored, userOutcome, userSpec } from "../userobject.js";
import { emptyRoutingOutput, type RoutingOutput } from "../writer.js";
import {
  leakySubsets,
  mergeDestinationRule,
  newDestinationRule,
  unmergeDestinationRule,
} from "./destinationrule.js";

/** The step's objects and problems, and the Services left routable (a new map; the plan is not changed). */
export interface SubsetsOutput extends RoutingOutput {
  routed: Map<string, PlannedService>;
}

export function writeSubsets(plan: LanePlan, inv: Inventory, o: ResolvedOptions): SubsetsOutput {
  const out: SubsetsOutput = emptyRoutingOutput(plan);
  const services = out.routed;
  const drHost = (dr: KubeObject) =>
    typeof dr.spec?.host === "string"
      ? resolveHost(dr.spec.host, dr.metadata.namespace ?? "", o.clusterDomain)
      : "";
  const drop = (svc: PlannedService, why: string) => {
    if (!services.has(svc.fqdn)) return;
    services.delete(svc.fqdn);
    out.warnings.push({ object: describe(svc.obj), message: `not lane-routed: ${why}` });
  };

  // Which user DestinationRules cannot take the subsets of the Service they are for.
  const failedDrs = new Set<KubeObject>();
  for (const dr of inv.destinationRules) {
    const svc = services.get(drHost(dr));
    if (!svc) continue;
    if (isIgnored(dr)) {
      // Left as it is: usable only if it already has every lane subset, as meshlane would add them.
      const merged = mergeDestinationRule(dr.spec, svc);
      if ("spec" in merged && deepEqual(merged.spec, dr.spec)) continue;
      out.errors.push({
        object: describe(dr),
        message: `carries ${IGNORE_ANNOTATION}: "true" and lacks the lane subsets of ${describe(svc.obj)}, so meshlane leaves that Service's routing unmanaged`,
      });
      failedDrs.add(dr);
      drop(svc, `${describe(dr)} carries ${IGNORE_ANNOTATION} and lacks the lane subsets`);
      continue;
    }
    const base = userSpec(dr, unmergeDestinationRule);
    const merged = "error" in base ? base : mergeDestinationRule(base.spec, svc);
    if ("error" in merged) {
      out.errors.push({ object: describe(dr), message: merged.error });
      failedDrs.add(dr);
      drop(svc, `${describe(dr)} cannot take the lane subsets`);
    }
  }

  // Services with a DestinationRule Istio applies to their clients (own namespace or root namespace)
  // take their subsets there; the others need meshlane's own, whose name must be free.
  const drCovered = new Set<string>();
  for (const dr of inv.destinationRules) {
    const svc = services.get(drHost(dr));
    if (svc && (dr.metadata.namespace === svc.namespace || dr.metadata.namespace === o.rootNamespace)) {
      drCovered.add(svc.fqdn);
    }
  }
  for (const svc of [...services.values()]) {
    const key = objectKey({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      namespace: svc.namespace,
      name: managedName(svc.name),
    });
    const other = inv.byKey.get(key);
    if (!drCovered.has(svc.fqdn) && other && other.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      out.errors.push({
        object: describe(other),
        message: `exists and is not managed by meshlane; meshlane needs the name for ${describe(svc.obj)}`,
      });
      drop(svc, `the name ${managedName(svc.name)} is taken`);
    }
  }

  for (const dr of inv.destinationRules) {
    if (failedDrs.has(dr) || isIgnored(dr)) continue;
    const svc = services.get(drHost(dr));
    if (svc) {
      const base = userSpec(dr, unmergeDestinationRule);
      if ("spec" in base)
        for (const m of leakySubsets(base.spec, svc)) out.warnings.push({ object: describe(dr), message: m });
    }
    const outcome = userOutcome(
      dr,
      (base) => (svc ? mergeDestinationRule(base, svc) : { spec: base }),
      unmergeDestinationRule,
    );
    if (outcome.kind === "apply") out.userApply.push(outcome.obj);
    else if (outcome.kind === "restore") out.restore.push(outcome.obj);
    else if (outcome.kind === "error") out.errors.push({ object: describe(dr), message: outcome.message });
  }
  for (const svc of services.values()) {
    if (drCovered.has(svc.fqdn)) continue;
    out.managed.push({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: managedMetadata(managedName(svc.name), svc.namespace),
      spec: newDestinationRule(svc),
    });
  }
  return out;
}
