// Changing objects that belong to the user (their VirtualServices and DestinationRules). The contract:
// meshlane owns only the pieces it adds (lane routes and lane subsets, told apart by name and shape;
// see `unmerge` in istio/virtualservice.ts and istio/destinationrule.ts); everything else in the object is the
// user's and is kept, whoever edits it and however (kubectl edit, a GitOps tool re-applying a manifest).
//
// Two annotations carry what a later render needs:
// - `meshlane.io/original-spec`: JSON of the user's own spec (meshlane's pieces left out). Set before
//   the first change; replaced when the user changes the object; put back, and removed, when no lane
//   needs the object any more.
// - `meshlane.io/applied-hash`: hash of the spec meshlane last wrote. A live spec with that hash is
//   exactly what meshlane wrote, so the user's spec is the saved one as is. A live spec with another
//   hash was edited since: the user's spec is then the live one with meshlane's pieces taken out, and
//   if that differs from the saved one it becomes the new original. (Deriving the user's spec from the
//   live one alone would have to guess which `subset: base` pins were meshlane's; the hash keeps that
//   guess to objects someone actually edited.) Objects written before the hash existed have none and
//   are always derived.
// Meshlane's pieces are then merged again into the user's spec: a deleted or edited lane route or lane
// subset comes back as meshlane renders it, the user's change stays, and the next render finds the
// hash it wrote (no write).
import { createHash } from "node:crypto";
import { deepEqual } from "./objects.js";
import {
  APPLIED_HASH_ANNOTATION,
  IGNORE_ANNOTATION,
  ORIGINAL_SPEC_ANNOTATION,
  type KubeObject,
} from "./types.js";

export type UserOutcome =
  | { kind: "apply"; obj: KubeObject }
  | { kind: "restore"; obj: KubeObject }
  | { kind: "none" }
  | { kind: "error"; message: string };

/**
 * Takes meshlane's pieces out of a live spec. `original` is the saved user spec, or undefined when the
 * object carries none (then only pieces that cannot be the user's are taken out).
 */
export type Unmerge = (live: unknown, original: unknown | undefined) => unknown;
export type Merge = (base: unknown) => { spec: unknown } | { error: string };

/** A user object marked `meshlane.io/ignore: "true"`: meshlane neither merges into nor restores it. */
export function isIgnored(o: KubeObject): boolean {
  return o.metadata.annotations?.[IGNORE_ANNOTATION] === "true";
}

/** JSON with object keys sorted (undefined members left out), so equal data gives equal text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : canonicalJson(x))).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/** The `meshlane.io/applied-hash` value of a spec (key order does not matter). */
export function specHash(spec: unknown): string {
  return (
    "sha256:" +
    createHash("sha256")
      .update(canonicalJson(spec ?? {}))
      .digest("hex")
      .slice(0, 32)
  );
}

/**
 * The user's spec of an object as it stands: see the module comment. `saved` is the text of the
 * original-spec annotation when the result is that saved spec unchanged.
 */
export function userSpec(
  obj: KubeObject,
  unmerge: Unmerge,
): { spec: unknown; saved?: string } | { error: string } {
  const annotations = obj.metadata.annotations ?? {};
  const saved = annotations[ORIGINAL_SPEC_ANNOTATION];
  if (saved === undefined) return { spec: unmerge(obj.spec, undefined) };
  let original: unknown;
  try {
    original = JSON.parse(saved);
  } catch {
    return {
      error: `annotation ${ORIGINAL_SPEC_ANNOTATION} is not valid JSON; restore the spec by hand and remove the annotation`,
    };
  }
  if (annotations[APPLIED_HASH_ANNOTATION] === specHash(obj.spec)) return { spec: original, saved };
  const derived = unmerge(obj.spec, original);
  return deepEqual(derived, original) ? { spec: original, saved } : { spec: derived };
}

function withoutOurAnnotations(obj: KubeObject): KubeObject["metadata"] {
  const {
    [ORIGINAL_SPEC_ANNOTATION]: _saved,
    [APPLIED_HASH_ANNOTATION]: _hash,
    ...rest
  } = obj.metadata.annotations ?? {};
  const metadata = { ...obj.metadata, annotations: rest };
  if (Object.keys(rest).length === 0) delete (metadata as { annotations?: unknown }).annotations;
  return metadata;
}

/**
 * Decides what happens to a user object given `merge` (user spec → desired spec, or an error):
 * apply (meshlane's pieces go in), restore (no lane needs the object: the user's spec goes back, our
 * annotations go), none, or error (nothing is rendered for the object). An apply or restore that would
 * write nothing returns the input object itself.
 */
export function userOutcome(obj: KubeObject, merge: Merge, unmerge: Unmerge): UserOutcome {
  const user = userSpec(obj, unmerge);
  if ("error" in user) return { kind: "error", message: user.error };
  const merged = merge(user.spec);
  if ("error" in merged) return { kind: "error", message: merged.error };
  const annotations = obj.metadata.annotations ?? {};
  if (deepEqual(merged.spec, user.spec)) {
    const ours =
      annotations[ORIGINAL_SPEC_ANNOTATION] !== undefined ||
      annotations[APPLIED_HASH_ANNOTATION] !== undefined;
    if (!ours && deepEqual(user.spec, obj.spec)) return { kind: "none" };
    return { kind: "restore", obj: { ...obj, metadata: withoutOurAnnotations(obj), spec: user.spec } };
  }
  const original = user.saved ?? JSON.stringify(user.spec ?? {});
  // Already in place (an object written before the hash existed keeps its annotations until the next write).
  if (deepEqual(merged.spec, obj.spec) && original === annotations[ORIGINAL_SPEC_ANNOTATION])
    return { kind: "apply", obj };
  const desired: KubeObject = {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: {
        ...annotations,
        [ORIGINAL_SPEC_ANNOTATION]: original,
        [APPLIED_HASH_ANNOTATION]: specHash(merged.spec),
      },
    },
    spec: merged.spec,
  };
  return { kind: "apply", obj: deepEqual(desired, obj) ? obj : desired };
}
