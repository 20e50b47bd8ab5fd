// render: cluster objects in, the Istio objects lanes need out. Pure (no I/O, no clock) and
// deterministic (stable ordering), so rendering twice gives identical results and a render whose input
// already holds its own previous output returns those objects unchanged (the very input objects).
//
// Contract for callers (the controller, `meshlane render`):
// - Input: what is in the cluster: Services; workloads (Deployments, StatefulSets, DaemonSets,
//   ReplicaSets, Pods, ...) whose pod labels carry `meshlane.io/lane`; Lanes; VirtualServices and
//   DestinationRules (the user's, and meshlane's own); the EnvoyFilters/WasmPlugins meshlane created.
// - `apply` lists every object that must exist with exactly those contents, `restore` the user objects to
//   put back, `delete` meshlane's objects to remove. Objects not mentioned are left alone.
// - In the user's VirtualServices and DestinationRules meshlane owns only its lane routes and subsets
//   (userobject.ts): other edits are kept and saved as the user's spec. One marked
//   `meshlane.io/ignore: "true"` is never in `apply` or `restore`.
// - An object with a problem is reported in `errors` and nothing is rendered for it; the rest still is.
//   Lanes that fail validation, conflict, or have a broken fallback chain are left out entirely; a
//   Service whose DestinationRule cannot take lane subsets is left unrouted.
import { takeInventory } from "./inventory.js";
import { laneStatus, planLanes } from "./laneplan.js";
import { istioWriter } from "./istio/writer.js";
import { gatewayApiWriter } from "./gatewayapi/writer.js";
import { settleManaged } from "./managed.js";
import { compareObjects, compareProblems, compareRefs } from "./objects.js";
import { resolveOptions } from "./options.js";
import { placeFilter } from "./placement.js";
import type { KubeObject, RenderOptions, RenderResult, RoutingMode } from "./types.js";
import type { RoutingWriter } from "./writer.js";

export * from "./types.js";
export { laneProbes } from "./pluginconfig.js";
export { optionsFromConfig, DEFAULT_WASM_URL } from "./options.js";
export { validateLane } from "./validate.js";
export { deepEqual } from "./objects.js";
export { parseManifests, toJsonList, toYaml } from "./manifests.js";
export { planLanes, type LanePlan, type PlannedService } from "./laneplan.js";
export type { RoutingOutput, RoutingWriter } from "./writer.js";

/** The writer of each routing API (`RenderOptions.routing`). */
const WRITERS: Record<RoutingMode, RoutingWriter> = {
  istio: istioWriter,
  "gateway-api": gatewayApiWriter,
};

/**
 * Renders the objects lanes need, one named step each: sort the input, plan the lanes, write the
 * plan's routing objects, place the filter, settle meshlane's own objects against the cluster. See the
 * module comment for the contract.
 */
export function render(objects: KubeObject[], options: RenderOptions): RenderResult {
  const o = resolveOptions(options);
  const inv = takeInventory(objects, o.defaultNamespace);
  const plan = planLanes(inv, o);
  const writer = WRITERS[o.routing];
  const routing = writer.write(plan, inv, o);
  // The other APIs' user objects still carrying meshlane's pieces (the mode was switched) go back.
  for (const other of Object.values(WRITERS)) {
    if (other === writer) continue;
    const released = other.release(plan, inv, o);
    routing.restore.push(...released.restore);
    routing.errors.push(...released.errors);
  }
  const filter = placeFilter(plan.lanes, inv, o);
  const managed = settleManaged([...routing.managed, ...filter.objects], inv);
  return {
    apply: [...routing.userApply, ...managed.apply].sort(compareObjects),
    restore: routing.restore.sort(compareObjects),
    delete: managed.delete.sort(compareRefs),
    errors: [...inv.errors, ...plan.errors, ...routing.errors, ...managed.errors].sort(compareProblems),
    warnings: [...inv.warnings, ...plan.warnings, ...routing.warnings, ...filter.warnings].sort(
      compareProblems,
    ),
    lanes: laneStatus(plan, routing.routed),
  };
}
