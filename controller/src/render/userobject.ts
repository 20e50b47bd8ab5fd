// Changing objects that belong to the user (their VirtualServices and DestinationRules), the way
// openkruise/rollouts and flagger do: before the first change, the user's spec is saved as JSON in the
// annotation `meshlane.io/original-spec`; every later render starts again from that saved spec, so
// lanes coming and going never accumulate, and an edit made behind meshlane's back is reverted (drift).
// When no lane applies any more, the saved spec is put back and the annotation removed.
import { deepEqual } from "./objects.js";
import { ORIGINAL_SPEC_ANNOTATION, type KubeObject } from "./types.js";

export type UserOutcome =
  | { kind: "apply"; obj: KubeObject }
  | { kind: "restore"; obj: KubeObject }
  | { kind: "none" }
  | { kind: "error"; message: string };

/** The spec meshlane merges into: the saved original when there is one, else the current spec. */
export function baseSpec(obj: KubeObject): { spec: unknown } | { error: string } {
  const saved = obj.metadata.annotations?.[ORIGINAL_SPEC_ANNOTATION];
  if (saved === undefined) return { spec: obj.spec };
  try {
    return { spec: JSON.parse(saved) };
  } catch {
    return {
      error: `annotation ${ORIGINAL_SPEC_ANNOTATION} is not valid JSON; restore the spec by hand and remove the annotation`,
    };
  }
}

/**
 * Decides what happens to a user object given `merge` (base spec → desired spec, or an error):
 * apply (desired differs from the base), restore (it does not, but an original was saved), none, or
 * error (nothing is rendered for the object). An apply equal to the input returns the input itself.
 */
export function userOutcome(
  obj: KubeObject,
  merge: (base: unknown) => { spec: unknown } | { error: string },
): UserOutcome {
  const base = baseSpec(obj);
  if ("error" in base) return { kind: "error", message: base.error };
  const merged = merge(base.spec);
  if ("error" in merged) return { kind: "error", message: merged.error };
  const annotations = obj.metadata.annotations ?? {};
  const saved = annotations[ORIGINAL_SPEC_ANNOTATION];
  if (deepEqual(merged.spec, base.spec)) {
    if (saved === undefined) return { kind: "none" };
    const { [ORIGINAL_SPEC_ANNOTATION]: _saved, ...rest } = annotations;
    const metadata = { ...obj.metadata, annotations: rest };
    if (Object.keys(rest).length === 0) delete (metadata as { annotations?: unknown }).annotations;
    return { kind: "restore", obj: { ...obj, metadata, spec: base.spec } };
  }
  const desired: KubeObject = {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: { ...annotations, [ORIGINAL_SPEC_ANNOTATION]: saved ?? JSON.stringify(obj.spec ?? {}) },
    },
    spec: merged.spec,
  };
  return { kind: "apply", obj: deepEqual(desired, obj) ? obj : desired };
}
