// The seam between the lane plan and a routing API. A writer turns the plan into that API's objects
// (Istio: VirtualServices and DestinationRules; later Gateway API: HTTPRoutes and per-lane Services);
// render does the rest (the filter, meshlane's own objects against the cluster, the result) the same
// way for every writer.
import type { Inventory } from "./inventory.js";
import type { LanePlan, PlannedService } from "./laneplan.js";
import type { ResolvedOptions } from "./options.js";
import type { KubeObject, Problem } from "./types.js";

/** What a writer produces for one render. */
export interface RoutingOutput {
  /** The user's routing objects with meshlane's pieces merged in (userobject.ts), as in `RenderResult.apply`. */
  userApply: KubeObject[];
  /** The user's routing objects that need no lane any more, their own spec put back. */
  restore: KubeObject[];
  /**
   * The routing objects meshlane creates (labelled managed-by meshlane), without server fields: render
   * matches them against the cluster, reports a name held by an object that is not meshlane's, and
   * deletes meshlane's routing objects not listed here.
   */
  managed: KubeObject[];
  /**
   * The plan's Services this writer routes: all of them, less those it could not route safely (then
   * with a warning saying why). Lane status reports these.
   */
  routed: ReadonlyMap<string, PlannedService>;
  errors: Problem[];
  warnings: Problem[];
}

/**
 * One routing API. `write` must be pure (inputs not modified, no I/O, no clock) and deterministic,
 * follow the plan's targets exactly (it never resolves fallbacks itself), leave out a user object
 * marked `meshlane.io/ignore: "true"` from `userApply` and `restore`, and return an unchanged object as
 * the very input object, so that rendering the cluster's own state again writes nothing.
 */
export interface RoutingWriter {
  /** The API's name, for messages and docs (e.g. `istio`). */
  readonly name: string;
  write(plan: LanePlan, inv: Inventory, o: ResolvedOptions): RoutingOutput;
}
