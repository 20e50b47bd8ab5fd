// The last valid spec of each Lane: what keeps being routed while the Lane's current spec is invalid, so
// that a rejected edit changes nothing.
//
// Where it lives: in the Lane's own status (`status.lastValidSpec`, `status.lastValidGeneration`), written
// through the status subresource with the rest of the status. Any replica reads it there, so a new
// leader (after a failover, a rolling update, an OOM kill) routes what the previous one routed. A copy in
// memory covers the moment between a Lane turning valid and its status being written. Of the two, the
// one with the higher generation wins: a replica that led earlier never brings back an older spec.
//
// A stored spec is checked like a current one (render's validation, then the filter's configure); one
// that no longer passes (say, after an upgrade of the filter) is not routed.
import { laneProbes, validateLane, type KubeObject, type RenderOptions } from "../render/index.js";
import type { FilterProbe } from "./probe.js";

export interface LastValid {
  spec: unknown;
  generation?: number;
}

/** What a Lane's status says was last valid (and applied), if anything. */
export function storedLastValid(lane: KubeObject): LastValid | undefined {
  const s = lane.status as { lastValidSpec?: unknown; lastValidGeneration?: unknown } | undefined;
  if (typeof s?.lastValidSpec !== "object" || s.lastValidSpec === null) return undefined;
  const generation = typeof s.lastValidGeneration === "number" ? s.lastValidGeneration : undefined;
  return { spec: s.lastValidSpec, generation };
}

function newer(a: LastValid | undefined, b: LastValid | undefined): LastValid | undefined {
  if (!a || !b) return a ?? b;
  return (b.generation ?? -1) > (a.generation ?? -1) ? b : a;
}

function generationOf(lane: KubeObject): number | undefined {
  return typeof lane.metadata.generation === "number" ? lane.metadata.generation : undefined;
}

/** For each Lane routed at an older spec than its own: the error of its own and the generation routed. */
export type ServingNotes = Map<string, { generation?: number; error: string }>;

export class LastValidSpecs {
  /** By Lane uid. */
  private readonly memory = new Map<string, LastValid>();
  /** By `namespace/name`, from the last resolve(): the spec routed for each Lane. */
  private routed = new Map<string, LastValid>();

  /**
   * Render's view of the Lanes: a valid Lane as it is; an invalid one at its last valid spec when there is
   * one that still passes; otherwise as it is (render rejects it, the verdict says why). Returns the
   * substitutes (original → substitute), the filter's verdicts on the Lanes render will see, and notes on
   * the Lanes routed at an older spec.
   */
  resolve(
    lanes: KubeObject[],
    probe: FilterProbe | undefined,
    options: RenderOptions,
  ): { substitutes: Map<KubeObject, KubeObject>; verdicts: Record<string, string>; serving: ServingNotes } {
    const verdictsOf = (ls: KubeObject[]) => (probe ? probe.verdicts(laneProbes(ls, options)) : {});
    const verdicts = verdictsOf(lanes);
    const substitutes = new Map<KubeObject, KubeObject>();
    const serving: ServingNotes = new Map();
    const routed = new Map<string, LastValid>();
    const seen = new Set<string>();
    for (const lane of lanes) {
      const id = `${lane.metadata.namespace}/${lane.metadata.name}`;
      const uid = String(lane.metadata.uid ?? id);
      seen.add(uid);
      const v = validateLane(lane);
      const error =
        "error" in v ? v.error : verdicts[id] ? `dye rules rejected by the filter: ${verdicts[id]}` : "";
      if (!error) {
        const current = { spec: lane.spec, generation: generationOf(lane) };
        this.memory.set(uid, current);
        routed.set(id, current);
        continue;
      }
      const last = newer(this.memory.get(uid), storedLastValid(lane));
      if (!last) continue;
      const substitute = { ...lane, spec: last.spec as KubeObject["spec"] };
      if ("error" in validateLane(substitute) || verdictsOf([substitute])[id]) continue;
      substitutes.set(lane, substitute);
      serving.set(id, { generation: last.generation, error });
      routed.set(id, last);
      delete verdicts[id];
    }
    for (const uid of this.memory.keys()) if (!seen.has(uid)) this.memory.delete(uid);
    this.routed = routed;
    return { substitutes, verdicts, serving };
  }

  /** The spec the last resolve() routed for a Lane (`namespace/name`), if any: what its status stores. */
  routedFor(id: string): LastValid | undefined {
    return this.routed.get(id);
  }
}
