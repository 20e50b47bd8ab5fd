// The Istio writer: the lane plan as DestinationRule subsets (subsets.ts), then VirtualService lane
// routes (routes.ts) for the Services whose subsets could be placed. Merging into the user's objects
// is virtualservice.ts and destinationrule.ts, through userobject.ts.
import type { RoutingWriter } from "../writer.js";
import { writeRoutes } from "./routes.js";
import { writeSubsets } from "./subsets.js";

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
};
