// Carrying out one planned change with one API request.
//
// - meshlane's own objects: server-side apply as field manager `meshlane`, with force (they are ours; a
//   hand edit of a field we set is taken back, labels or annotations someone else added stay theirs).
//   The applied configuration holds only what we own: the managed-by and meshlane.io/ labels, the spec.
// - a user's object: a JSON patch that touches only `spec` and our two annotations, and that carries the
//   resourceVersion the change was computed from, so the server refuses it (409) if the object moved in
//   between; the caller then re-reads instead of overwriting the user's newer edit.
// - delete: a plain delete; an object already gone counts as done.
import { APPLIED_HASH_ANNOTATION, ORIGINAL_SPEC_ANNOTATION, type KubeObject } from "../render/index.js";
import { KubeError, resourceOf, type JsonObject, type KubeClient } from "./kube.js";
import { ownLabels, type Change } from "./plan.js";

/** JSON Pointer escaping of one key (RFC 6901). */
function pointer(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

/** The annotations of a user's object that are meshlane's to write. */
export const USER_OBJECT_ANNOTATIONS = [ORIGINAL_SPEC_ANNOTATION, APPLIED_HASH_ANNOTATION] as const;

/** The JSON patch turning `current` into `desired` on the fields meshlane owns of a user's object. */
export function userPatch(current: KubeObject, desired: KubeObject): unknown[] {
  const ops: unknown[] = [
    { op: "replace", path: "/metadata/resourceVersion", value: current.metadata.resourceVersion },
    { op: "add", path: "/spec", value: desired.spec ?? {} },
  ];
  const have = current.metadata.annotations;
  const want = desired.metadata.annotations;
  const theirs = Object.keys(have ?? {}).filter(
    (k) => !(USER_OBJECT_ANNOTATIONS as readonly string[]).includes(k),
  );
  const ours = USER_OBJECT_ANNOTATIONS.filter((k) => want?.[k] !== undefined);
  if (have === undefined) {
    if (ours.length > 0)
      ops.push({
        op: "add",
        path: "/metadata/annotations",
        value: Object.fromEntries(ours.map((k) => [k, want?.[k]])),
      });
    return ops;
  }
  // As render has it: an annotation map left empty goes away with our annotations.
  if (ours.length === 0 && theirs.length === 0 && want === undefined && Object.keys(have).length > 0) {
    ops.push({ op: "remove", path: "/metadata/annotations" });
    return ops;
  }
  for (const k of USER_OBJECT_ANNOTATIONS) {
    const path = `/metadata/annotations/${pointer(k)}`;
    if (want?.[k] !== undefined) {
      if (have[k] !== want[k]) ops.push({ op: "add", path, value: want[k] });
    } else if (have[k] !== undefined) ops.push({ op: "remove", path });
  }
  return ops;
}

/** The server-side apply configuration of one of meshlane's objects. */
export function applyConfiguration(desired: KubeObject, apiVersion: string): JsonObject {
  return {
    apiVersion,
    kind: desired.kind,
    metadata: {
      name: desired.metadata.name,
      namespace: desired.metadata.namespace,
      labels: ownLabels(desired),
    },
    spec: desired.spec,
  };
}

export interface CarryOutOptions {
  signal?: AbortSignal;
  /** The apiVersion the server serves the kind at (the one watched), for objects meshlane creates. */
  servedApiVersion?: (apiVersion: string, kind: string) => string;
}

/**
 * Makes one request for `change`. Resolves with the object as the server now has it, or `null` when it
 * is gone (deleted by us, or found missing). Rejects with the API error otherwise.
 */
export async function carryOut(
  client: KubeClient,
  change: Change,
  o: CarryOutOptions = {},
): Promise<KubeObject | null> {
  const { ref } = change;
  const apiVersion =
    change.current?.apiVersion ?? o.servedApiVersion?.(ref.apiVersion, ref.kind) ?? ref.apiVersion;
  const r = resourceOf(apiVersion, ref.kind);
  try {
    switch (change.op) {
      case "create":
      case "update":
        return (await client.apply(
          applyConfiguration(change.desired as KubeObject, apiVersion),
          true,
          o.signal,
        )) as KubeObject;
      case "merge":
      case "restore":
        return (await client.patch(
          r,
          ref.namespace,
          ref.name,
          "json",
          userPatch(change.current as KubeObject, change.desired as KubeObject),
          { signal: o.signal },
        )) as KubeObject;
      case "delete":
        await client.delete(r, ref.namespace, ref.name, o.signal);
        return null;
    }
  } catch (err) {
    // Gone already: nothing to restore, merge into or delete. (A 404 on apply is a real failure: no
    // such namespace, or the kind is not served.)
    if (
      err instanceof KubeError &&
      err.statusCode === 404 &&
      change.op !== "create" &&
      change.op !== "update"
    )
      return null;
    throw err;
  }
}
