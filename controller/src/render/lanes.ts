// Lanes: validation, name conflicts across namespaces, and fallback chains. A Lane that fails any of
// these is reported and left out entirely (no routes, no dye rules); so is a Lane whose chain runs
// through one that failed.
import { compareStrings, describe } from "./objects.js";
import { BASE_LANE, type KubeObject, type Problem } from "./types.js";
import { validateLane, type LaneSpec } from "./validate.js";

export interface LaneInfo {
  obj: KubeObject;
  namespace: string;
  name: string;
  spec: LaneSpec;
  /** The lane itself, then its fallbacks in order, ending with `base`. */
  chain: string[];
}

export interface LaneSet {
  valid: LaneInfo[];
  /** namespace → lane name → Lane */
  byNamespace: Map<string, Map<string, LaneInfo>>;
  /** Sorted names of the valid lanes of each namespace. */
  namesIn(namespace: string): string[];
  errors: Problem[];
}

/** What must be equal for two Lanes of the same name in different namespaces (the lane header is global). */
function dyeIdentity(spec: LaneSpec): string {
  return JSON.stringify({ dye: spec.dye, priority: spec.priority, gateway: spec.gatewayLabels ?? null });
}

/**
 * Validates Lanes and resolves their fallback chains within their namespace. `verdicts` holds the real
 * filter's rejections (`namespace/name` → reason), which count as validation errors.
 */
export function resolveLanes(objs: KubeObject[], verdicts: Record<string, string> | undefined): LaneSet {
  const errors: Problem[] = [];
  const checked: LaneInfo[] = [];
  const sorted = [...objs].sort(
    (a, b) =>
      compareStrings(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
      compareStrings(a.metadata.name, b.metadata.name),
  );
  for (const obj of sorted) {
    const namespace = obj.metadata.namespace ?? "";
    const name = obj.metadata.name;
    const v = validateLane(obj);
    if ("error" in v) {
      errors.push({ object: describe(obj), message: v.error });
      continue;
    }
    const verdict = verdicts?.[`${namespace}/${name}`];
    if (verdict) {
      errors.push({ object: describe(obj), message: `dye rules rejected by the filter: ${verdict}` });
      continue;
    }
    checked.push({ obj, namespace, name, spec: v.spec, chain: [] });
  }

  // One lane name, one definition of who gets dyed: the first namespace (in order) wins.
  const firstByName = new Map<string, LaneInfo>();
  const unique: LaneInfo[] = [];
  for (const l of checked) {
    const first = firstByName.get(l.name);
    if (!first) {
      firstByName.set(l.name, l);
      unique.push(l);
    } else if (dyeIdentity(first.spec) !== dyeIdentity(l.spec)) {
      errors.push({
        object: describe(l.obj),
        message:
          `conflicts with Lane ${first.namespace}/${first.name}: a lane name is global (one header value), ` +
          `so Lanes of that name must have the same dye rules, priority and workloadSelector`,
      });
    } else {
      unique.push(l);
    }
  }

  const byNamespace = new Map<string, Map<string, LaneInfo>>();
  for (const l of unique) {
    let m = byNamespace.get(l.namespace);
    if (!m) byNamespace.set(l.namespace, (m = new Map()));
    m.set(l.name, l);
  }
  const allInNamespace = new Set(objs.map((o) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`));

  const valid: LaneInfo[] = [];
  for (const l of unique) {
    const lanes = byNamespace.get(l.namespace)!;
    const chain = [l.name];
    let problem = "";
    let current = l;
    for (;;) {
      const next = current.spec.fallback;
      if (next === BASE_LANE) {
        chain.push(BASE_LANE);
        break;
      }
      if (chain.includes(next)) {
        problem = `fallback cycle ${[...chain, next].join(" → ")}`;
        break;
      }
      const nextLane = lanes.get(next);
      if (!nextLane) {
        problem = allInNamespace.has(`${l.namespace}/${next}`)
          ? `fallback chain ${[...chain, next].join(" → ")}: Lane ${l.namespace}/${next} is invalid`
          : `fallback chain ${[...chain, next].join(" → ")}: no Lane ${l.namespace}/${next}`;
        break;
      }
      chain.push(next);
      current = nextLane;
    }
    if (problem) errors.push({ object: describe(l.obj), message: problem });
    else valid.push({ ...l, chain });
  }

  const validByNamespace = new Map<string, Map<string, LaneInfo>>();
  for (const l of valid) {
    let m = validByNamespace.get(l.namespace);
    if (!m) validByNamespace.set(l.namespace, (m = new Map()));
    m.set(l.name, l);
  }
  const names = new Map<string, string[]>();
  for (const [ns, m] of validByNamespace) names.set(ns, [...m.keys()].sort(compareStrings));
  return { valid, byNamespace: validByNamespace, namesIn: (ns) => names.get(ns) ?? [], errors };
}

/** Where a lane's traffic goes at a service that has `present` lanes: the first of the chain it has. */
export function targetOf(chain: string[], present: Set<string>): string {
  for (const l of chain) if (present.has(l)) return l;
  return BASE_LANE;
}
