// The Istio writer: the lane plan as DestinationRule subsets (subsets.ts), then VirtualService lane
// routes (routes.ts) for the Services whose subsets could be placed. Merging into the user's objects
// is virtualservice.ts and destinationrule.ts, through userobject.ts.
import { targetAt } from "../laneplan.js";
import { releaseUserObjects, type RoutingWriter } from "../writer.js";
import { unmergeDestinationRule } from "./destinationrule.js";
import { writeRoutes } from "./routes.js";
import { writeSubsets } from "./subsets.js";
import { unmergeVirtualService, type RouteContext } from "./virtualservice.js";

export const istioWriter: RoutingWriter = {
  name: "istio",
  write(plan, inv, o) {
    const subsets = writeSubsets(plan, inv, o);
    const routes = writeRoutes(plan, subsets.routed, inv, o);
    return {
      userApply: [...subsets.userApply, ...routes.userApply],
      restore: [...subsets.restore, ...routes.restore],
      managed: [...subsets.managed, ...routes.managed],
      routed: subsets.routed,
      errors: [...subsets.errors, ...routes.errors],
      warnings: [...subsets.warnings, ...routes.warnings],
    };
  },
  release(plan, inv, o) {
    const ctx: RouteContext = {
      laneHeader: o.laneHeader,
      domain: o.clusterDomain,
      service: (fqdn) => plan.services.get(fqdn),
      lanesIn: (ns) => plan.lanesIn(ns),
      target: targetAt,
    };
    const drs = releaseUserObjects(inv.destinationRules, (live, original) =>
      unmergeDestinationRule(live, original),
    );
    const vss = releaseUserObjects(inv.virtualServices, (live, original, ns) =>
      unmergeVirtualService(live, original, ns, ctx),
    );
    return { restore: [...drs.restore, ...vss.restore], errors: [...drs.errors, ...vss.errors] };
  },
};
