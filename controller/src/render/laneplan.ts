// The lane plan: every routing decision meshlane makes, before any routing API is involved. Each
// writer (writer.ts) turns the same plan into its own objects, so all routing modes agree on which
// Services have lanes and where each lane's requests go; none repeats the fallback logic.
//
// Contract (`planLanes` is pure: the inventory and options in, the plan out, nothing modified):
// - `lanes` are the valid Lanes (lanes.ts: validated, the filter's verdicts applied, no name conflict,
//   an unbroken fallback chain ending at `base`), by namespace then name. Any other Lane is in `errors`
//   and takes no part in the plan.
// - `services` are the lane-enabled Services (services.ts: a `base` workload and at least one other lane
//   among the workloads they select), keyed by fully qualified name, by namespace then name. A Service
//   whose workloads carry no lane label is not in it.
// - For each of them, `targets` holds every valid Lane of its namespace (in name order) with the lane
//   whose workloads take that Lane's requests: the first lane of the chain the Service has workloads of,
//   else `base`. A lane the Service lacks is passed through, never routed to.
// - `warnings` hold what the plan noticed (a Lane with no workloads, lane workloads with no valid Lane,
//   lane labels that are not lane names). The plan holds no object of any routing API.
import type { Inventory } from "./inventory.js";
import { resolveLanes, targetOf, type LaneInfo } from "./lanes.js";
import { compareStrings, describe } from "./objects.js";
import type { ResolvedOptions } from "./options.js";
import { scanServices, type LaneService } from "./services.js";
import { BASE_LANE, LANE_LABEL, type LaneStatus, type Problem } from "./types.js";

/** A lane-enabled Service and where each Lane of its namespace sends its requests there. */
export interface PlannedService extends LaneService {
  /** Valid Lane name → the lane that serves it here (a lane in `lanes`, or `base`), by Lane name. */
  targets: ReadonlyMap<string, string>;
}

export interface LanePlan {
  /** The valid Lanes, by namespace then name. */
  lanes: LaneInfo[];
  /** Names of the valid Lanes of a namespace, sorted. */
  lanesIn(namespace: string): string[];
  /** The lane-enabled Services by fully qualified name, by namespace then name. */
  services: ReadonlyMap<string, PlannedService>;
  errors: Problem[];
  warnings: Problem[];
}

/** Where `lane` goes at `svc`: its planned target, or `base` for a lane that is no valid Lane there. */
export function targetAt(svc: PlannedService, lane: string): string {
  return svc.targets.get(lane) ?? BASE_LANE;
}

/** Plans lanes for the inventory. See the module comment for the contract. */
export function planLanes(inv: Inventory, o: ResolvedOptions): LanePlan {
  const lanes = resolveLanes(inv.lanes, o.laneVerdicts);
  const scan = scanServices(inv, o.clusterDomain);
  const warnings: Problem[] = [...scan.warnings];

  for (const l of lanes.valid) {
    if (!scan.lanesSeen.get(l.namespace)?.has(l.name)) {
      warnings.push({
        object: describe(l.obj),
        message: `no workload in namespace ${l.namespace} carries ${LANE_LABEL}=${l.name}: its traffic goes to the fallbacks`,
      });
    }
  }
  const services = new Map<string, PlannedService>();
  for (const [fqdn, svc] of scan.services) {
    for (const lane of [...svc.lanes].sort()) {
      if (lane !== BASE_LANE && !lanes.byNamespace.get(svc.namespace)?.has(lane)) {
        warnings.push({
          object: describe(svc.obj),
          message: `workloads labelled ${LANE_LABEL}=${lane} get no traffic: there is no valid Lane ${svc.namespace}/${lane}`,
        });
      }
    }
    const targets = new Map<string, string>();
    const inNamespace = lanes.byNamespace.get(svc.namespace);
    for (const name of lanes.namesIn(svc.namespace))
      targets.set(name, targetOf(inNamespace!.get(name)!.chain, svc.lanes));
    services.set(fqdn, { ...svc, targets });
  }
  return { lanes: lanes.valid, lanesIn: lanes.namesIn, services, errors: lanes.errors, warnings };
}

/**
 * For each valid Lane, where its traffic goes at each routed Service of its namespace (`routed`: the
 * plan's Services a writer could route), with the ready pods of that target when known.
 */
export function laneStatus(plan: LanePlan, routed: ReadonlyMap<string, PlannedService>): LaneStatus[] {
  return [...plan.lanes]
    .sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name))
    .map((l) => ({
      namespace: l.namespace,
      name: l.name,
      services: [...routed.values()]
        .filter((s) => s.namespace === l.namespace)
        .sort((a, b) => compareStrings(a.name, b.name))
        .map((s) => {
          const target = targetAt(s, l.name);
          const ready = s.ready.get(target);
          return ready === undefined
            ? { service: s.name, target }
            : { service: s.name, target, readyEndpoints: ready };
        }),
    }));
}
