// Who owns which fields of a stored object (metadata.managedFields), and server-side apply: an
// update takes over the fields it changed; an apply owns the leaf fields of its configuration
// (lists are atomic), conflicts with other owners unless forced, and drops what it applied before
// and omits now.
import {
  changedPaths,
  clone,
  deepEqual,
  deletePath,
  getPath,
  isObject,
  keyPath,
  leafPaths,
  overlaps,
  pathKey,
  setPath,
  toFieldsV1,
  type FieldPath,
  type Json,
  type JsonObject,
} from "./json.js";
import { apiVersionOf, type ResourceType } from "./resources.js";
import { ApiError } from "./status.js";

export interface ManagerEntry {
  manager: string;
  operation: "Apply" | "Update";
  subresource: string;
  apiVersion: string;
  time: string;
  paths: Set<string>;
}

/** An object as stored, with its field managers. */
export interface Stored {
  obj: JsonObject;
  managers: ManagerEntry[];
}

/** The endpoint a write came through: the object's main one, or its status subresource. */
export type Scope = "main" | "status";

/** Top-level metadata fields the server owns: never taken from a write, never tracked in managedFields. */
export const SYSTEM_META = [
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
  "generateName",
];

export const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");

/** An object's metadata, created empty when missing. */
export function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

/** The managers as metadata.managedFields shows them. */
export function managedFields(managers: ManagerEntry[]): Json[] {
  return managers.map((m) => {
    const e: JsonObject = {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
      time: m.time,
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1([...m.paths].map(keyPath)),
    };
    if (m.subresource) e.subresource = m.subresource;
    return e;
  });
}

/** Field paths a writer at `scope` can own: everything but server-owned metadata, split at status. */
export function ownable(rt: ResourceType, obj: Json, scope: Scope): FieldPath[] {
  return leafPaths(obj).filter((p) => {
    if (p[0] === "apiVersion" || p[0] === "kind") return false;
    if (p[0] === "metadata" && SYSTEM_META.includes(p[1])) return false;
    if (scope === "status") return p[0] === "status";
    return !(rt.status && p[0] === "status");
  });
}

/** A write by `manager` (operation Update) takes over the fields it changed. */
export function updateManagers(
  rt: ResourceType,
  version: string,
  before: Stored | undefined,
  after: JsonObject,
  scope: Scope,
  manager: string,
): ManagerEntry[] {
  const managers = (before?.managers ?? []).map((m) => ({ ...m, paths: new Set(m.paths) }));
  const beforeOwned: JsonObject = {};
  const afterOwned: JsonObject = {};
  for (const p of ownable(rt, before?.obj ?? {}, scope))
    setPath(beforeOwned, p, getPath(before?.obj, p) ?? null);
  for (const p of ownable(rt, after, scope)) setPath(afterOwned, p, getPath(after, p) ?? null);
  const changed = changedPaths(beforeOwned, afterOwned);
  if (changed.length === 0) return managers;
  const sub = scope === "status" ? "status" : "";
  let mine = managers.find((m) => m.manager === manager && m.operation === "Update" && m.subresource === sub);
  if (!mine) {
    mine = {
      manager,
      operation: "Update",
      subresource: sub,
      apiVersion: apiVersionOf(rt, version),
      time: "",
      paths: new Set(),
    };
    managers.push(mine);
  }
  mine.time = nowIso();
  for (const p of changed) {
    for (const m of managers) {
      for (const k of [...m.paths]) if (overlaps(keyPath(k), p)) m.paths.delete(k);
    }
    if (getPath(afterOwned, p) !== undefined) mine.paths.add(pathKey(p));
  }
  return managers.filter((m) => m.paths.size > 0);
}

/** What an apply to an existing object proposes: the merged object, and the managers to keep once
 * it is admitted (fields admission removed are owned by no one). */
export interface AppliedChange {
  next: JsonObject;
  managersFor: (admitted: JsonObject) => ManagerEntry[];
}

/**
 * Server-side apply to an existing object, coarsely: fields another manager owns with a different
 * value conflict (409) unless `force`, which takes them over; fields `fieldManager` applied last
 * time and omits now, and fields set to null, are removed unless someone else owns them; the
 * configuration's fields (`config`, its leaf paths) are set; everything else is kept.
 */
export function applyTo(
  current: Stored,
  applied: JsonObject,
  config: FieldPath[],
  nulls: FieldPath[],
  fieldManager: string,
  scope: Scope,
  force: boolean,
  apiVersion: string,
): AppliedChange {
  const sub = scope === "status" ? "status" : "";
  const managers = current.managers.map((m) => ({ ...m, paths: new Set(m.paths) }));
  const conflicts: { manager: string; path: FieldPath }[] = [];
  for (const m of managers) {
    if (m.manager === fieldManager && m.operation === "Apply" && m.subresource === sub) continue;
    for (const k of m.paths) {
      const q = keyPath(k);
      for (const p of config) {
        if (!overlaps(p, q)) continue;
        const longer = p.length >= q.length ? p : q;
        if (!deepEqual(getPath(current.obj, longer), getPath(applied, longer))) {
          conflicts.push({ manager: m.manager, path: q });
        }
      }
    }
  }
  if (conflicts.length > 0 && !force) throw applyConflict(conflicts, managers);
  for (const c of conflicts) {
    for (const m of managers) if (m.manager === c.manager) m.paths.delete(pathKey(c.path));
  }
  let mine = managers.find(
    (m) => m.manager === fieldManager && m.operation === "Apply" && m.subresource === sub,
  );
  const previously = mine ? [...mine.paths].map(keyPath) : [];
  const configKeys = new Set(config.map(pathKey));
  const next = clone(current.obj);
  const ownedByOthers = (p: FieldPath) =>
    managers.some((m) => m !== mine && [...m.paths].some((k) => overlaps(keyPath(k), p)));
  for (const p of previously) {
    if (!configKeys.has(pathKey(p)) && !ownedByOthers(p)) deletePath(next, p);
  }
  for (const p of nulls) if (!ownedByOthers(p)) deletePath(next, p);
  for (const p of config) {
    const v = getPath(applied, p) as Json;
    const existing = getPath(next, p);
    if (isObject(v) && Object.keys(v).length === 0 && isObject(existing)) continue;
    setPath(next, p, v);
  }
  if (!mine) {
    mine = {
      manager: fieldManager,
      operation: "Apply",
      subresource: sub,
      apiVersion: "",
      time: "",
      paths: new Set(),
    };
    managers.push(mine);
  }
  mine.apiVersion = apiVersion;
  mine.time = nowIso();
  mine.paths = configKeys;
  const am = isObject(applied.metadata) ? applied.metadata : {};
  if (am.resourceVersion !== undefined) meta(next).resourceVersion = am.resourceVersion;
  return {
    next,
    managersFor: (admitted) => {
      for (const m of managers) {
        for (const k of [...m.paths]) if (getPath(admitted, keyPath(k)) === undefined) m.paths.delete(k);
      }
      return managers.filter((m) => m.paths.size > 0);
    },
  };
}

/**
 * A server-side apply conflict as the real server words it: grouped by manager (an Update manager
 * "using" its apiVersion), fields sorted; one conflict on one line, several as lists; details.causes
 * only.
 */
function applyConflict(found: { manager: string; path: FieldPath }[], managers: ManagerEntry[]): ApiError {
  const byManager = new Map<string, Set<string>>();
  for (const c of found) {
    const set = byManager.get(c.manager) ?? new Set<string>();
    set.add(`.${c.path.join(".")}`);
    byManager.set(c.manager, set);
  }
  const who = (manager: string) => {
    const m = managers.find((x) => x.manager === manager);
    return m && m.operation === "Update" ? `"${manager}" using ${m.apiVersion}` : `"${manager}"`;
  };
  const total = [...byManager.values()].reduce((n, s) => n + s.size, 0);
  let message: string;
  if (total === 1) {
    const [[manager, fields]] = [...byManager];
    message = `Apply failed with 1 conflict: conflict with ${who(manager)}: ${[...fields][0]}`;
  } else {
    const groups = [...byManager].map(
      ([manager, fields]) =>
        `conflicts with ${who(manager)}:\n${[...fields]
          .sort()
          .map((f) => `- ${f}`)
          .join("\n")}`,
    );
    message = `Apply failed with ${total} conflicts: ${groups.join("\n")}`;
  }
  const causes = [...byManager].flatMap(([manager, fields]) =>
    [...fields].sort().map((field) => ({
      reason: "FieldManagerConflict",
      message: `conflict with ${who(manager)}`,
      field,
    })),
  );
  return new ApiError(409, "Conflict", message, { causes: causes as unknown as Json });
}
