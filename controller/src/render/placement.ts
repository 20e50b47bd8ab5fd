// Where the filter runs, for the valid Lanes of the plan: the edge filter on each distinct set of
// gateways the Lanes select (one object per gateway selector), and the sidecar filter in every
// namespace whose sidecars must dye or carry lanes. No valid Lane, no filter objects. The objects
// themselves are install.ts's; their configs pluginconfig.ts's.
import { edgeName, installObjects, type EdgeGroup } from "./install.js";
import type { Inventory } from "./inventory.js";
import type { LaneInfo } from "./lanes.js";
import { compareStrings } from "./objects.js";
import type { ResolvedOptions } from "./options.js";
import { edgeConfig, sidecarConfig } from "./pluginconfig.js";
import type { KubeObject, Problem } from "./types.js";
import { waypointPlugins } from "./waypoint.js";

function edgeGroups(lanes: LaneInfo[], o: ResolvedOptions): EdgeGroup[] {
  const groups = new Map<string, { selector: Record<string, string>; lanes: LaneInfo[] }>();
  for (const l of lanes) {
    const selector = l.spec.gatewayLabels ?? o.gatewaySelector;
    const key = JSON.stringify(Object.entries(selector).sort());
    const g = groups.get(key);
    if (g) g.lanes.push(l);
    else groups.set(key, { selector, lanes: [l] });
  }
  return [...groups.values()]
    .map((g) => ({
      selector: g.selector,
      name: edgeName(g.selector, o.gatewaySelector),
      config: edgeConfig(g.lanes, lanes, o),
    }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

/**
 * The sidecar filter's namespaces: those given, those of valid Lanes, and input Namespaces labelled
 * enabled. Never the root namespace (it would reach every proxy of the mesh): a warning instead.
 */
function sidecarNamespaces(lanes: LaneInfo[], inv: Inventory, o: ResolvedOptions, warnings: Problem[]) {
  const all = new Set([
    ...(o.sidecarNamespaces ?? []),
    ...inv.enabledNamespaces,
    ...lanes.map((l) => l.namespace),
  ]);
  if (all.delete(o.rootNamespace)) {
    warnings.push({
      object: `Namespace ${o.rootNamespace}`,
      message:
        `is Istio's root namespace: a sidecar filter there would run in every proxy of the mesh, ` +
        `so its own sidecars get none`,
    });
  }
  return [...all].sort(compareStrings);
}

/** The filter's EnvoyFilters or WasmPlugins for the valid Lanes `lanes`, and what is worth a warning. */
export function placeFilter(
  lanes: LaneInfo[],
  inv: Inventory,
  o: ResolvedOptions,
): { objects: KubeObject[]; warnings: Problem[] } {
  const warnings: Problem[] = [];
  if (lanes.length === 0) return { objects: [], warnings };
  const edges = edgeGroups(lanes, o);
  if (edges.length > 1) {
    warnings.push({
      object: `EnvoyFilter/WasmPlugin ${o.gatewayNamespace}/meshlane-edge*`,
      message:
        `Lanes select ${edges.length} different gateway sets (spec.workloadSelector); ` +
        `a gateway matching more than one selector runs several edge filters: keep the selectors disjoint`,
    });
  }
  const sidecar = sidecarConfig(lanes, o);
  const namespaces = sidecarNamespaces(lanes, inv, o, warnings);
  const objects = installObjects(edges, sidecar, namespaces, o);
  if (o.ambient) {
    objects.push(...waypointPlugins(sidecar, namespaces, o));
    if (o.routing === "istio") {
      warnings.push({
        object: `WasmPlugin */meshlane-waypoint`,
        message:
          `ambient waypoints route with the Gateway API; Istio treats VirtualService and DestinationRule ` +
          `there as alpha and leaves mixing them with HTTPRoutes undefined: use routing gateway-api`,
      });
    }
  }
  return { objects, warnings };
}
