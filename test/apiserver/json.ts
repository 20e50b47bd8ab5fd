// JSON helpers for the fake API server: deep copy and equality, RFC 7386 merge patch, RFC 6902 JSON patch,
// and leaf-path bookkeeping used by the coarse server-side-apply field ownership.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386: objects merge recursively, `null` deletes, anything else (arrays included) replaces. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** Thrown by jsonPatch; `test` marks a failed `test` operation (the caller maps both to 422). */
export class PatchError extends Error {
  constructor(
    message: string,
    readonly test = false,
  ) {
    super(message);
  }
}

function parsePointer(ptr: string): string[] {
  if (ptr === "") return [];
  if (!ptr.startsWith("/")) throw new PatchError(`invalid JSON pointer ${JSON.stringify(ptr)}`);
  return ptr
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function arrayIndex(arr: Json[], seg: string, forAdd: boolean): number {
  if (seg === "-" && forAdd) return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(seg)) throw new PatchError(`invalid array index ${JSON.stringify(seg)}`);
  const i = Number(seg);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`array index ${i} out of range`);
  return i;
}

function parentOf(doc: Json, path: string[], ptr: string): Json[] | JsonObject {
  let cur: Json = doc;
  for (const seg of path.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, seg, false)];
    else if (isObject(cur) && seg in cur) cur = cur[seg];
    else throw new PatchError(`path ${ptr} does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`path ${ptr} does not exist`);
  return cur;
}

function getPointer(doc: Json, ptr: string): Json {
  let cur: Json = doc;
  for (const seg of parsePointer(ptr)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, seg, false)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) cur = cur[seg];
    else throw new PatchError(`path ${ptr} does not exist`);
  }
  return cur;
}

function addAt(doc: Json, ptr: string, value: Json): Json {
  const path = parsePointer(ptr);
  if (path.length === 0) return value;
  const parent = parentOf(doc, path, ptr);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else parent[last] = value;
  return doc;
}

function removeAt(doc: Json, ptr: string): Json {
  const path = parsePointer(ptr);
  if (path.length === 0) throw new PatchError("cannot remove the whole document");
  const parent = parentOf(doc, path, ptr);
  const last = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (Object.prototype.hasOwnProperty.call(parent, last)) delete parent[last];
  else throw new PatchError(`unable to remove nonexistent key: ${last}`);
  return doc;
}

export interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

/** RFC 6902 on a copy of `doc`; throws PatchError (with `test` set for a failed test op). */
export function jsonPatch(doc: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw new PatchError("a JSON patch must be an array of operations");
  let out = clone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    if (!isObject(raw) || typeof raw.op !== "string" || typeof raw.path !== "string") {
      throw new PatchError("each JSON patch operation needs string 'op' and 'path'");
    }
    switch (raw.op) {
      case "add":
        out = addAt(out, raw.path, clone(raw.value ?? null));
        break;
      case "remove":
        out = removeAt(out, raw.path);
        break;
      case "replace":
        getPointer(out, raw.path);
        out = addAt(removeAt(out, raw.path), raw.path, clone(raw.value ?? null));
        break;
      case "move": {
        const v = getPointer(out, raw.from ?? "");
        out = addAt(removeAt(out, raw.from ?? ""), raw.path, v);
        break;
      }
      case "copy":
        out = addAt(out, raw.path, clone(getPointer(out, raw.from ?? "")));
        break;
      case "test": {
        let actual: Json;
        try {
          actual = getPointer(out, raw.path);
        } catch {
          throw new PatchError(`testing value ${raw.path} failed: path does not exist`, true);
        }
        if (!deepEqual(actual, raw.value ?? null)) {
          throw new PatchError(
            `testing value ${raw.path} failed: is ${JSON.stringify(actual)}, expected ${JSON.stringify(raw.value)}`,
            true,
          );
        }
        break;
      }
      default:
        throw new PatchError(`unexpected JSON patch op ${JSON.stringify(raw.op)}`);
    }
  }
  return out;
}

// ---- leaf paths (field sets) ----
// A path is a list of object keys. Arrays and scalars are leaves (lists are atomic here, as they are for
// CRDs without x-kubernetes-list-type; real SSA merges keyed lists of built-in types by their merge keys).
export type FieldPath = string[];

export const pathKey = (p: FieldPath): string => JSON.stringify(p);
export const keyPath = (k: string): FieldPath => JSON.parse(k) as FieldPath;

export function leafPaths(v: Json, prefix: FieldPath = [], out: FieldPath[] = []): FieldPath[] {
  if (isObject(v) && Object.keys(v).length > 0) {
    for (const [k, child] of Object.entries(v)) leafPaths(child, [...prefix, k], out);
  } else if (prefix.length > 0) {
    out.push(prefix);
  }
  return out;
}

export function getPath(v: Json | undefined, path: FieldPath): Json | undefined {
  let cur: Json | undefined = v;
  for (const seg of path) {
    if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

export function setPath(v: JsonObject, path: FieldPath, value: Json): void {
  let cur: JsonObject = v;
  for (const seg of path.slice(0, -1)) {
    if (!isObject(cur[seg])) cur[seg] = {};
    cur = cur[seg] as JsonObject;
  }
  cur[path[path.length - 1]] = clone(value);
}

/** Deletes the leaf and then any parent objects left empty by it. */
export function deletePath(v: JsonObject, path: FieldPath): void {
  const chain: JsonObject[] = [v];
  let cur: JsonObject = v;
  for (const seg of path.slice(0, -1)) {
    if (!isObject(cur[seg])) return;
    cur = cur[seg] as JsonObject;
    chain.push(cur);
  }
  delete cur[path[path.length - 1]];
  for (let i = chain.length - 1; i > 0; i--) {
    if (Object.keys(chain[i]).length > 0) break;
    delete chain[i - 1][path[i - 1]];
  }
}

/** True when one path is a prefix of the other (the fields overlap). */
export function overlaps(a: FieldPath, b: FieldPath): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Leaf paths whose value differs between two documents (present in either). */
export function changedPaths(before: Json, after: Json): FieldPath[] {
  const keys = new Set([...leafPaths(before).map(pathKey), ...leafPaths(after).map(pathKey)]);
  const out: FieldPath[] = [];
  for (const k of keys) {
    const p = keyPath(k);
    if (!deepEqual(getPath(before, p), getPath(after, p))) out.push(p);
  }
  return out;
}

/** managedFields' fieldsV1 form: {"f:spec": {"f:hosts": {}}}. */
export function toFieldsV1(paths: FieldPath[]): JsonObject {
  const root: JsonObject = {};
  for (const p of paths) {
    let cur = root;
    for (const seg of p) {
      const k = `f:${seg}`;
      if (!isObject(cur[k])) cur[k] = {};
      cur = cur[k] as JsonObject;
    }
  }
  return root;
}
