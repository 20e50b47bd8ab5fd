// From render's result to the writes that carry it out, grouped by namespace. Only the fields meshlane
// owns are compared: for its own objects the spec, the managed-by label and its meshlane.io/ labels, for the user's objects the
// spec and the `meshlane.io/original-spec` and `meshlane.io/applied-hash` annotations. Everything else (labels and annotations others
// added, status, metadata the server keeps) is left out of the diff, so it never causes a write and is
// never overwritten.
import {
  APPLIED_HASH_ANNOTATION,
  deepEqual,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  ORIGINAL_SPEC_ANNOTATION,
  type KubeObject,
  type LaneStatus,
  type ObjectRef,
  type Problem,
  type RenderResult,
} from "../render/index.js";
import { keyOf, objectKey } from "../render/objects.js";

/**
 * - `create` / `update`: an object meshlane owns, written whole by server-side apply (force).
 * - `merge`: a user's object that gets lane routes or subsets: spec replaced, the user's own spec saved
 *   and the written spec's hash noted, guarded by the resourceVersion it was computed from.
 * - `restore`: a user's object put back to the user's spec, annotations removed, same guard.
 * - `delete`: an object meshlane owns that is no longer needed.
 */
export type ChangeOp = "create" | "update" | "merge" | "restore" | "delete";

export interface Change {
  op: ChangeOp;
  ref: ObjectRef;
  /** `Kind namespace/name`, as render names objects in its problems. */
  what: string;
  /** What the object must become (all ops but delete). */
  desired?: KubeObject;
  /** The object as last seen (all ops but create). */
  current?: KubeObject;
}

export interface Plan {
  /** The state version this plan was computed from. */
  version: number;
  result: RenderResult;
  /** Changes by the namespace of the object they write. */
  changes: Map<string, Change[]>;
  /** Render's errors (objects left untouched), by `Kind namespace/name`. */
  problems: Map<string, string[]>;
  /** Render's per-Lane result, by `namespace/name`, for valid Lanes. */
  lanes: Map<string, LaneStatus>;
  /** Total number of changes. */
  size: number;
  /** Every input object by `Kind namespace/name`, to find the object a problem names. */
  byWhat: Map<string, KubeObject>;
}

export function describeRef(r: ObjectRef): string {
  return `${r.kind} ${r.namespace ? r.namespace + "/" : ""}${r.name}`;
}

function refOf(o: KubeObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.metadata.namespace ?? "",
    name: o.metadata.name,
  };
}

/** Meshlane's annotations on a user object, as one comparable value ("" when it has none). */
function ourAnnotations(o: KubeObject | undefined): string {
  const a = o?.metadata.annotations;
  const saved = a?.[ORIGINAL_SPEC_ANNOTATION];
  const hash = a?.[APPLIED_HASH_ANNOTATION];
  return saved === undefined && hash === undefined ? "" : JSON.stringify([saved ?? null, hash ?? null]);
}

/**
 * The labels meshlane owns on its own objects: the managed-by label and any `meshlane.io/` label render
 * put on it (per-lane Services: `meshlane.io/service`, `meshlane.io/lane`). Labels others add stay theirs.
 */
export function ownLabels(o: KubeObject): Record<string, string> {
  const out: Record<string, string> = { [MANAGED_BY_LABEL]: MANAGED_BY };
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) if (k.startsWith("meshlane.io/")) out[k] = v;
  return out;
}

/** Whether `current` already holds what meshlane owns of `desired`. */
export function ownedEqual(current: KubeObject, desired: KubeObject): boolean {
  if (current === desired) return true;
  if (!deepEqual(current.spec, desired.spec)) return false;
  if (desired.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) {
    const have = current.metadata.labels ?? {};
    return Object.entries(ownLabels(desired)).every(([k, v]) => have[k] === v);
  }
  return ourAnnotations(current) === ourAnnotations(desired);
}

export function computePlan(result: RenderResult, input: KubeObject[], version: number): Plan {
  const byKey = new Map<string, KubeObject>();
  const byWhat = new Map<string, KubeObject>();
  for (const o of input) {
    byKey.set(keyOf(o), o);
    byWhat.set(describeRef(refOf(o)), o);
  }
  const changes = new Map<string, Change[]>();
  let size = 0;
  const add = (c: Change) => {
    const list = changes.get(c.ref.namespace);
    if (list) list.push(c);
    else changes.set(c.ref.namespace, [c]);
    size++;
  };

  for (const desired of result.apply) {
    const current = byKey.get(keyOf(desired));
    if (current === desired) continue;
    const ref = refOf(desired);
    const what = describeRef(ref);
    const ours = desired.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY;
    if (!current) {
      // Render only creates objects of its own; a user object always comes from the input.
      if (ours) add({ op: "create", ref, what, desired });
      continue;
    }
    if (ownedEqual(current, desired)) continue;
    add({ op: ours ? "update" : "merge", ref, what, desired, current });
  }
  for (const desired of result.restore) {
    const current = byKey.get(keyOf(desired));
    if (!current || current === desired) continue;
    if (deepEqual(current.spec, desired.spec) && ourAnnotations(current) === "") continue;
    const ref = refOf(desired);
    add({ op: "restore", ref, what: describeRef(ref), desired, current });
  }
  for (const ref of result.delete) {
    const current = byKey.get(objectKey(ref));
    if (!current) continue;
    add({ op: "delete", ref, what: describeRef(ref), current });
  }

  const problems = new Map<string, string[]>();
  for (const p of result.errors as Problem[]) {
    const list = problems.get(p.object);
    if (list) list.push(p.message);
    else problems.set(p.object, [p.message]);
  }
  const lanes = new Map<string, LaneStatus>();
  for (const l of result.lanes) lanes.set(`${l.namespace}/${l.name}`, l);
  return { version, result, changes, problems, lanes, size, byWhat };
}

/** The past tense of each operation, for logs and events. */
export const PAST: Record<Change["op"], string> = {
  create: "created",
  update: "updated",
  merge: "updated",
  restore: "restored",
  delete: "deleted",
};

function subsetNames(o: KubeObject | undefined): Set<string> {
  const subsets: unknown = o?.spec?.subsets;
  return new Set(
    Array.isArray(subsets) ? subsets.map((x) => String((x as { name?: unknown })?.name ?? "")) : [],
  );
}

/**
 * Order of writes within a namespace: 1 DestinationRules that only gain subsets and per-lane Services
 * created or updated, 2 VirtualServices, HTTPRoutes and the filter's objects, 3 DestinationRules that
 * lose subsets (or go away) and per-lane Services deleted. Routes never name what does not exist yet,
 * nor lose what they still name.
 */
export function writePhase(c: Change): 1 | 2 | 3 {
  if (c.ref.kind === "Service") return c.op === "delete" ? 3 : 1;
  if (c.ref.kind !== "DestinationRule") return 2;
  if (c.op === "delete") return 3;
  const after = subsetNames(c.desired);
  for (const name of subsetNames(c.current)) if (!after.has(name)) return 3;
  return 1;
}

/** One line of what a pass changed, for the Lanes' Synced event ("" when nothing). */
export function summarize(done: Change[]): string {
  if (done.length === 0) return "";
  const counts = new Map<string, number>();
  for (const c of done) counts.set(PAST[c.op], (counts.get(PAST[c.op]) ?? 0) + 1);
  const parts = [...counts].map(([verb, n]) => `${n} ${verb}`);
  const names = done.slice(0, 5).map((c) => c.what);
  const more = done.length > names.length ? `, and ${done.length - names.length} more` : "";
  return `lane routing applied: ${parts.join(", ")} (${names.join(", ")}${more})`;
}
