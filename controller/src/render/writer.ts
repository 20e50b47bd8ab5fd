// The seam between the lane plan and a routing API. A writer turns the plan into that API's objects
// (Istio: VirtualServices and DestinationRules; later Gateway API: HTTPRoutes and per-lane Services);
// render does the rest (the filter, meshlane's own objects against the cluster, the result) the same
// way for every writer.
import type { Inventory } from "./inventory.js";
import type { LanePlan, PlannedService } from "./laneplan.js";
import type { ResolvedOptions } from "./options.js";
import { describe } from "./objects.js";
import { APPLIED_HASH_ANNOTATION, ORIGINAL_SPEC_ANNOTATION, type KubeObject, type Problem } from "./types.js";
import { isIgnored, userOutcome } from "./userobject.js";

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

/** A writer's output before it writes: every list empty, every planned Service routed. */
export function emptyRoutingOutput(plan: LanePlan): RoutingOutput & { routed: Map<string, PlannedService> } {
  return {
    userApply: [],
    restore: [],
    managed: [],
    routed: new Map(plan.services),
    errors: [],
    warnings: [],
  };
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
  /**
   * When another writer is in use (the routing mode was switched): this API's user objects that carry
   * meshlane's pieces, with the user's spec put back (`restore`), as when no lane needs them. Same
   * purity rules as `write`; ignored objects are left out.
   */
  release(plan: LanePlan, inv: Inventory, o: ResolvedOptions): { restore: KubeObject[]; errors: Problem[] };
}

/** `release` for a list of user objects, given the unmerge of their API. */
export function releaseUserObjects(
  objects: KubeObject[],
  unmerge: (live: unknown, original: unknown, namespace: string) => unknown,
): { restore: KubeObject[]; errors: Problem[] } {
  const out = { restore: [] as KubeObject[], errors: [] as Problem[] };
  for (const obj of objects) {
    const a = obj.metadata.annotations ?? {};
    // Only objects meshlane changed: a user's own lane-header rules are not meshlane's to take out.
    if (
      isIgnored(obj) ||
      (a[ORIGINAL_SPEC_ANNOTATION] === undefined && a[APPLIED_HASH_ANNOTATION] === undefined)
    )
      continue;
    const ns = obj.metadata.namespace ?? "";
    const outcome = userOutcome(
      obj,
      (base) => ({ spec: base }),
      (live, original) => unmerge(live, original, ns),
    );
    if (outcome.kind === "restore") out.restore.push(outcome.obj);
    else if (outcome.kind === "error") out.errors.push({ object: describe(obj), message: outcome.message });
  }
  return out;
}
