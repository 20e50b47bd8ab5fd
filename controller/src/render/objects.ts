// Small, pure helpers over Kubernetes objects: identity, naming in messages, comparison, ordering.
import { MANAGED_BY, MANAGED_BY_LABEL, type KubeObject, type ObjectRef, type Problem } from "./types.js";

/** The API group of an apiVersion: "" for the core group. */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Identity of an object across API versions: group, kind, namespace, name. */
export function objectKey(o: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  return `${groupOf(o.apiVersion)}|${o.kind}|${o.namespace ?? ""}|${o.name}`;
}

export function keyOf(o: KubeObject): string {
  return objectKey({
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.metadata.namespace,
    name: o.metadata.name,
  });
}

/** How messages name an object: `Kind namespace/name`. */
export function describe(o: KubeObject): string {
  const ns = o.metadata.namespace;
  return `${o.kind} ${ns ? ns + "/" : ""}${o.metadata.name}`;
}

/** Metadata of an object meshlane creates: its name and namespace, labelled managed-by meshlane. */
export function managedMetadata(name: string, namespace: string) {
  return { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } };
}

/** Name of the routing objects meshlane creates for a Service: `meshlane-<service>`. */
export function managedName(service: string): string {
  return `meshlane-${service}`;
}

export function refOf(o: KubeObject): ObjectRef {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    namespace: o.metadata.namespace ?? "",
    name: o.metadata.name,
  };
}

/** A deep copy of JSON data. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON data; object key order does not matter, array order does. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    let na = 0;
    for (const k in a) {
      if (a[k] === undefined) continue;
      na++;
      if (!deepEqual(a[k], b[k])) return false;
    }
    let nb = 0;
    for (const k in b) if (b[k] !== undefined) nb++;
    return na === nb;
  }
  return false;
}

/** Whether every label of `selector` is on `labels` (an empty selector selects nothing here). */
export function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return false;
  const keys = Object.keys(selector);
  if (keys.length === 0) return false;
  for (const k of keys) if (labels[k] !== selector[k]) return false;
  return true;
}

const KIND_ORDER = ["DestinationRule", "VirtualService", "Service", "HTTPRoute", "EnvoyFilter", "WasmPlugin"];

/** Stable output order: by kind (routing objects first, then the filter's), then namespace, then name. */
export function compareRefs(a: ObjectRef, b: ObjectRef): number {
  const ka = KIND_ORDER.indexOf(a.kind);
  const kb = KIND_ORDER.indexOf(b.kind);
  if (ka !== kb) return (ka < 0 ? 99 : ka) - (kb < 0 ? 99 : kb) || a.kind.localeCompare(b.kind);
  return compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name);
}

export function compareObjects(a: KubeObject, b: KubeObject): number {
  return compareRefs(refOf(a), refOf(b));
}

/** Stable order of problems: by object, then message. */
export function compareProblems(a: Problem, b: Problem): number {
  return compareStrings(a.object, b.object) || compareStrings(a.message, b.message);
}

/** Code-unit order, independent of locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A short, stable hash (FNV-1a, 32 bits, hex) for deriving names. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
