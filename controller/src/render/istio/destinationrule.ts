// DestinationRule subsets: one per lane present on a Service's workloads, selecting `meshlane.io/lane:
// <lane>`. Merged after the user's own subsets (their trafficPolicy and subsets untouched), or a new
// DestinationRule when the user has none for the host.
import { deepEqual, describe, selects } from "../objects.js";
import type { LaneService } from "../services.js";
import { BASE_LANE, LANE_LABEL } from "../types.js";

interface Subset {
  name: string;
  labels: Record<string, string>;
}

/** The lane subsets of a Service: `base` first, then the other lanes by name. */
export function laneSubsets(svc: LaneService): Subset[] {
  const others = [...svc.lanes].filter((l) => l !== BASE_LANE).sort();
  return [BASE_LANE, ...others].map((l) => ({ name: l, labels: { [LANE_LABEL]: l } }));
}

/**
 * Adds the lane subsets to a user's DestinationRule spec (not modified). A user subset that already
 * has a lane's name is fine when it selects exactly that lane's label, an error otherwise: two subsets of
 * one name, or ours under another's name, would send lane traffic to the wrong pods.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function mergeDestinationRule(spec: any, svc: LaneService): { spec: unknown } | { error: string } {
  const existing: unknown[] = Array.isArray(spec?.subsets) ? spec.subsets : [];
  const added: Subset[] = [];
  for (const s of laneSubsets(svc)) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const same = existing.find((e: any) => e?.name === s.name) as any;
    if (!same) added.push(s);
    else if (!deepEqual(same, s)) {
      return {
        error:
          `subset "${s.name}" is already defined with other settings; meshlane needs that name for the pods ` +
          `labelled ${LANE_LABEL}=${s.name} (rename the user subset)`,
      };
    }
  }
  if (added.length === 0) return { spec };
  return { spec: { ...spec, subsets: [...existing, ...added] } };
}

/** Whether a subset selects exactly the pods of the lane it is named after, as meshlane's subsets do. */
function isLaneSubset(s: unknown): boolean {
  const { name, labels } = (s ?? {}) as { name?: unknown; labels?: unknown };
  return typeof name === "string" && deepEqual(labels, { [LANE_LABEL]: name });
}

/**
 * Takes meshlane's lane subsets out of a live DestinationRule spec (not modified). A subset named as
 * one in the user's saved spec is the user's (edits included); any other subset that selects exactly
 * the pods of the lane it is named after is meshlane's (an edit of it, such as a trafficPolicy, is
 * meshlane's to undo). Any other subset is the user's: one named after a lane but selecting other pods
 * is then refused by the merge, not taken over. Without a saved spec nothing is taken out: a
 * lane-shaped subset the user wrote is theirs, and merging accepts it when it is exactly meshlane's.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function unmergeDestinationRule(live: any, original: any): unknown {
  if (original === undefined || !Array.isArray(live?.subsets)) return live;
  const savedNames = new Set(
    (Array.isArray(original?.subsets) ? original.subsets : []).map((s: { name?: unknown }) => s?.name),
  );
  const subsets = live.subsets.filter((s: { name?: unknown }) => savedNames.has(s?.name) || !isLaneSubset(s));
  if (subsets.length === 0 && !Array.isArray(original?.subsets)) {
    const { subsets: _dropped, ...rest } = live;
    return rest;
  }
  return { ...live, subsets };
}

/** The spec of the DestinationRule meshlane creates for a Service without one. */
export function newDestinationRule(svc: LaneService): Record<string, unknown> {
  return { host: svc.fqdn, subsets: laneSubsets(svc) };
}

/**
 * The user's subsets (of a spec) that select pods of a non-base lane: traffic the user routes to them
 * explicitly still reaches lane workloads, which is worth a warning.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function leakySubsets(spec: any, svc: LaneService): string[] {
  const out: string[] = [];
  for (const s of Array.isArray(spec?.subsets) ? spec.subsets : []) {
    if (typeof s?.name !== "string" || (s.labels && s.labels[LANE_LABEL] !== undefined)) continue;
    const hit = svc.workloads.filter((w) => {
      const lane = w.labels[LANE_LABEL];
      return lane !== undefined && lane !== BASE_LANE && !w.owned && selects(s.labels, w.labels);
    });
    if (hit.length > 0) {
      const lanes = [...new Set(hit.map((w) => w.labels[LANE_LABEL]))].sort().join(", ");
      out.push(
        `subset "${s.name}" also selects workloads of lane ${lanes} (${hit.map((w) => describe(w.obj)).join(", ")}): traffic routed to it reaches them`,
      );
    }
  }
  return out;
}
