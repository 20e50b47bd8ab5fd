// The fake server's objects: where they are stored, how each verb reads and writes them as the real
// server does (identity checks, admission, resourceVersion preconditions, generations, finalizers,
// namespace lifecycle, patches, server-side apply), and the change each write publishes to watches.
import { randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import YAML from "yaml";
import {
  clone,
  deepEqual,
  deletePath,
  getPath,
  isObject,
  jsonPatch,
  leafPaths,
  mergePatch,
  PatchError,
  pathKey,
  type FieldPath,
  type Json,
  type JsonObject,
} from "./json.js";
import {
  applyTo,
  managedFields,
  meta,
  nowIso,
  ownable,
  SYSTEM_META,
  updateManagers,
  type ManagerEntry,
  type Scope,
  type Stored,
} from "./managed.js";
import { type Verb } from "./records.js";
import {
  apiVersionOf,
  decodeError,
  groupResource,
  nameCauses,
  schemaValidator,
  type ResourceType,
} from "./resources.js";
import { pruneAndDefault, type Cause, type Schema } from "./schema.js";
import { fieldMatcher, labelMatcher, SelectorError, type Matcher } from "./selectors.js";
import { ApiError, conflict, deleteDetails, goTime, invalid, objectNotFound, toMillis } from "./status.js";
import { WatchHub, type EventType, type HistoryEvent } from "./watch.js";

/** A request on an object or a collection, as routing parsed it. */
export interface Target {
  rt: ResourceType;
  version: string;
  /** "" for a cluster-scoped resource, or a list or watch across namespaces. */
  ns: string;
  /** "" for a collection. */
  name: string;
  /** "status" or "". */
  sub: string;
  verb: Verb;
  /** With RBAC, an apply that would create the object: throws 403 unless `create` is granted too. */
  mayCreate?: () => void;
}

const objKey = (ns: string, name: string): string => `${ns}/${name}`;

const isNamespace = (rt: ResourceType): boolean => rt.group === "" && rt.kind === "Namespace";

export class ObjectStore {
  /** Changes to stored state (each bumped the resourceVersion). */
  mutations = 0;
  /** The latest resourceVersion. */
  rv = 1000;
  readonly watches: WatchHub;
  private readonly objects = new Map<string, Map<string, Stored>>();

  constructor(
    readonly resources: ResourceType[],
    watchLimits: { historyLimit: number; bookmarkIntervalMs: number },
    /** NamespaceLifecycle: a namespaced create needs its namespace, not terminating. */
    private readonly requireNamespace: boolean,
  ) {
    this.watches = new WatchHub(watchLimits, () => this.rv);
  }

  /** Replaces the schema a custom resource is validated against ("lanes.meshlane.io" or "lanes"). */
  setSchema(resource: string, schema: Schema | undefined): void {
    const rt = this.findByName(resource);
    if (!rt) throw new Error(`unknown resource ${resource}`);
    rt.schema = schema;
  }

  // ---- direct access for fixtures (no HTTP; watch events are emitted) ----

  /**
   * Creates or replaces an object as given (status included, no validation), like a controller of the
   * cluster would have written it. Returns the stored object.
   */
  seed(obj: JsonObject): JsonObject {
    const { rt, version } = this.typeOf(obj);
    const m = meta(obj);
    const ns = rt.namespaced ? String(m.namespace ?? "default") : "";
    const name = String(m.name);
    const current = this.bucket(rt).get(objKey(ns, name));
    const next = clone(obj);
    const nm = meta(next);
    if (rt.namespaced) nm.namespace = ns;
    else delete nm.namespace;
    nm.uid = current ? meta(current.obj).uid : randomUUID();
    nm.creationTimestamp = current ? meta(current.obj).creationTimestamp : nowIso();
    const specOf = (o: JsonObject) => ({ ...o, metadata: null, status: null, apiVersion: null, kind: null });
    const generation = current ? Number(meta(current.obj).generation ?? 1) : 0;
    nm.generation = current && deepEqual(specOf(current.obj), specOf(next)) ? generation : generation + 1;
    delete nm.managedFields;
    next.apiVersion = apiVersionOf(rt, version);
    next.kind = rt.kind;
    const stored = { obj: next, managers: current?.managers ?? [] };
    this.commit(rt, stored, current, current ? "MODIFIED" : "ADDED");
    return this.render(rt, stored, version);
  }

  /** The stored object, rendered in the resource's preferred version, or undefined. */
  getObject(resource: string, namespace: string, name: string): JsonObject | undefined {
    const rt = this.mustFind(resource);
    const s = this.bucket(rt).get(objKey(rt.namespaced ? namespace : "", name));
    return s ? this.render(rt, s, rt.versions[0]) : undefined;
  }

  listObjects(resource: string, namespace?: string): JsonObject[] {
    const rt = this.mustFind(resource);
    return [...this.bucket(rt).values()]
      .filter((s) => namespace === undefined || meta(s.obj).namespace === namespace)
      .map((s) => this.render(rt, s, rt.versions[0]));
  }

  /** Removes an object at once (finalizers ignored); returns whether it existed. */
  removeObject(resource: string, namespace: string, name: string): boolean {
    const rt = this.mustFind(resource);
    const s = this.bucket(rt).get(objKey(rt.namespaced ? namespace : "", name));
    if (!s) return false;
    this.commit(rt, undefined, s, "DELETED");
    return true;
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.resources.find(
      (r) => r.group === group && r.plural === plural && r.versions.includes(version),
    );
  }

  private findByName(name: string): ResourceType | undefined {
    return this.resources.find((r) => r.plural === name || groupResource(r) === name);
  }

  private mustFind(name: string): ResourceType {
    const rt = this.findByName(name);
    if (!rt) throw new Error(`unknown resource ${name}`);
    return rt;
  }

  private typeOf(obj: JsonObject): { rt: ResourceType; version: string } {
    const av = String(obj.apiVersion ?? "");
    const [group, version] = av.includes("/") ? av.split("/") : ["", av];
    const rt = this.resources.find(
      (r) => r.group === group && r.kind === obj.kind && r.versions.includes(version),
    );
    if (!rt) throw new Error(`unknown kind ${av} ${String(obj.kind)}`);
    return { rt, version };
  }

  /** Answers a watch request on `res` (see WatchHub.open). */
  watch(res: http.ServerResponse, t: Target, q: URLSearchParams): void {
    const { rt, version, ns } = t;
    this.watches.open(res, {
      rt,
      version,
      namespace: ns,
      matches: this.matcher(q),
      q,
      existing: () =>
        [...this.bucket(rt).values()]
          .filter((s) => !ns || meta(s.obj).namespace === ns)
          .map((s) => this.render(rt, s, version)),
    });
  }

  /** Serves a parsed request on an object or a collection: [code, body]. */
  serve(
    t: Target,
    body: string,
    contentType: string,
    q: URLSearchParams,
    headers: http.IncomingHttpHeaders,
  ): [number, Json] {
    const scope: Scope = t.sub === "status" ? "status" : "main";
    const dryRun = q.get("dryRun") === "All";
    const ua = String(headers["user-agent"] ?? "unknown").split("/")[0];
    const manager = q.get("fieldManager") ?? ua;
    switch (t.verb) {
      case "get":
        return [200, this.render(t.rt, this.mustGet(t.rt, t.ns, t.name), t.version)];
      case "list":
        return [200, this.list(t.rt, t.version, t.ns, q)];
      case "create":
        if (q.get("force") !== null)
          throw new ApiError(400, "BadRequest", "force may only be set for apply patches");
        return this.create(t.rt, t.version, t.ns, this.parseJson(body), manager, dryRun);
      case "update": {
        if (q.get("force") !== null)
          throw new ApiError(400, "BadRequest", "force may only be set for apply patches");
        const current = this.mustGet(t.rt, t.ns, t.name);
        const proposed = this.parseJson(body);
        this.checkIdentity(t.rt, t.version, t.ns, t.name, proposed);
        return [200, this.update(t.rt, t.version, current, proposed, scope, manager, dryRun)];
      }
      case "patch":
        return this.patch(t, body, contentType.split(";")[0].trim(), q, scope, manager, dryRun);
      case "delete": {
        const current = this.mustGet(t.rt, t.ns, t.name);
        const out = this.remove(t.rt, t.version, current, body, dryRun);
        // Deleted at once: the real server answers with a Status, not the object.
        if (meta(out).deletionTimestamp) return [200, out];
        const details = deleteDetails(t.rt, t.name, String(meta(out).uid));
        return [200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details }];
      }
      case "deletecollection": {
        const matches = this.matcher(q);
        const items: Json[] = [];
        for (const s of [...this.bucket(t.rt).values()]) {
          if (t.ns && meta(s.obj).namespace !== t.ns) continue;
          if (!matches(s.obj)) continue;
          items.push(this.remove(t.rt, t.version, s, "", dryRun));
        }
        return [
          200,
          { kind: `${t.rt.kind}List`, apiVersion: apiVersionOf(t.rt, t.version), metadata: {}, items },
        ];
      }
      default:
        throw new ApiError(405, "MethodNotAllowed", "unsupported verb");
    }
  }

  private parseJson(body: string): JsonObject {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch (e) {
      throw new ApiError(400, "BadRequest", `the body of the request could not be decoded: ${String(e)}`);
    }
    if (!isObject(v)) throw new ApiError(400, "BadRequest", "the body of the request must be a JSON object");
    return v;
  }

  // ---- helpers ----

  private bucket(rt: ResourceType): Map<string, Stored> {
    const gr = groupResource(rt);
    let b = this.objects.get(gr);
    if (!b) {
      b = new Map();
      this.objects.set(gr, b);
    }
    return b;
  }

  private mustGet(rt: ResourceType, ns: string, name: string): Stored {
    const s = this.bucket(rt).get(objKey(ns, name));
    if (!s) throw objectNotFound(rt, name);
    return s;
  }

  private render(rt: ResourceType, s: Stored, version: string): JsonObject {
    const out = clone(s.obj);
    out.apiVersion = apiVersionOf(rt, version);
    out.kind = rt.kind;
    if (s.managers.length > 0) meta(out).managedFields = managedFields(s.managers);
    return out;
  }

  private matcher(q: URLSearchParams): Matcher {
    try {
      const l = labelMatcher(q.get("labelSelector"));
      const f = fieldMatcher(q.get("fieldSelector"));
      return (o) => l(o) && f(o);
    } catch (e) {
      if (e instanceof SelectorError) throw new ApiError(400, "BadRequest", e.message);
      throw e;
    }
  }

  private list(rt: ResourceType, version: string, ns: string, q: URLSearchParams): JsonObject {
    const matches = this.matcher(q);
    let entries = [...this.bucket(rt).entries()]
      .filter(([, s]) => (!ns || meta(s.obj).namespace === ns) && matches(s.obj))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const cont = q.get("continue");
    if (cont) {
      let after: string;
      try {
        after = String((JSON.parse(Buffer.from(cont, "base64url").toString()) as { k: string }).k);
      } catch {
        throw new ApiError(400, "BadRequest", "invalid continue token");
      }
      entries = entries.filter(([k]) => k > after);
    }
    const limit = Number(q.get("limit") ?? 0);
    const listMeta: JsonObject = { resourceVersion: String(this.rv) };
    if (limit > 0 && entries.length > limit) {
      listMeta.continue = Buffer.from(JSON.stringify({ k: entries[limit - 1][0] })).toString("base64url");
      listMeta.remainingItemCount = entries.length - limit;
      entries = entries.slice(0, limit);
    }
    const items = entries.map(([, s]) => {
      const o = this.render(rt, s, version);
      if (rt.builtin) {
        delete o.apiVersion;
        delete o.kind;
      }
      return o;
    });
    return { kind: `${rt.kind}List`, apiVersion: apiVersionOf(rt, version), metadata: listMeta, items };
  }

  private checkIdentity(rt: ResourceType, version: string, ns: string, name: string, obj: JsonObject) {
    const m = isObject(obj.metadata) ? obj.metadata : {};
    if (m.name !== undefined && m.name !== name) {
      throw new ApiError(
        400,
        "BadRequest",
        `the name of the object (${String(m.name)}) does not match the name on the URL (${name})`,
      );
    }
    if (rt.namespaced && m.namespace !== undefined && m.namespace !== "" && m.namespace !== ns) {
      throw new ApiError(
        400,
        "BadRequest",
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    }
    if (obj.kind !== undefined && obj.kind !== rt.kind) {
      throw new ApiError(
        400,
        "BadRequest",
        `the kind of the object (${String(obj.kind)}) does not match ${rt.kind}`,
      );
    }
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOf(rt, version)) {
      throw new ApiError(
        400,
        "BadRequest",
        `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersionOf(rt, version)})`,
      );
    }
  }

  /** Prune, default and validate; throws 400/422. */
  private admit(rt: ResourceType, obj: JsonObject, scope: Scope = "main", old?: JsonObject): JsonObject {
    const decode = decodeError(rt, obj);
    if (decode) throw new ApiError(400, "BadRequest", decode);
    let out = rt.schema ? (pruneAndDefault(rt.schema, obj) as JsonObject) : obj;
    if (rt.prepare && scope === "main") out = rt.prepare(out, old);
    const name = String(meta(out).name ?? "");
    if (scope === "status") {
      // A custom resource's /status write: unknown status fields are pruned, and only status is
      // validated, with field paths relative to status (as the real server words them).
      const causes = (rt.schema ? schemaValidator(rt.schema)(out) : [])
        .filter((c) => c.field === "status" || c.field.startsWith("status."))
        .map((c) => ({ ...c, field: c.field.replace(/^status\.?/, "") || "status" }));
      if (causes.length > 0) throw invalid(rt, name, causes);
      return out;
    }
    const causes: Cause[] = [...nameCauses(rt, name)];
    if (rt.schema) causes.push(...schemaValidator(rt.schema)(out));
    if (rt.validate) causes.push(...rt.validate(out));
    const m = meta(out);
    for (const f of ["labels", "annotations"]) {
      const v = m[f];
      if (
        v !== undefined &&
        v !== null &&
        (!isObject(v) || Object.values(v).some((x) => typeof x !== "string"))
      ) {
        causes.push({
          reason: "FieldValueInvalid",
          message: "Invalid value: must be a map of strings",
          field: `metadata.${f}`,
        });
      }
    }
    if (causes.length > 0) throw invalid(rt, name, causes);
    return out;
  }

  private create(
    rt: ResourceType,
    version: string,
    ns: string,
    body: JsonObject,
    manager: string,
    dryRun: boolean,
    applyPaths?: FieldPath[],
  ): [number, JsonObject] {
    const m = isObject(body.metadata) ? body.metadata : {};
    let name = typeof m.name === "string" ? m.name : "";
    if (!name && typeof m.generateName === "string" && m.generateName) {
      name = m.generateName + randomBytes(4).toString("hex").slice(0, 5);
    }
    if (!name) {
      throw new ApiError(
        422,
        "Invalid",
        `${rt.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
        {
          kind: rt.kind,
          group: rt.group,
          causes: [
            {
              reason: "FieldValueRequired",
              message: "Required value: name or generateName is required",
              field: "metadata.name",
            },
          ],
        },
      );
    }
    this.checkIdentity(rt, version, ns, name, body);
    if (rt.namespaced && this.requireNamespace) this.admitToNamespace(rt, ns, name);
    if (this.bucket(rt).has(objKey(ns, name))) {
      throw new ApiError(409, "AlreadyExists", `${groupResource(rt)} "${name}" already exists`, {
        name,
        group: rt.group,
        kind: rt.plural,
      });
    }
    let obj = clone(body);
    if (rt.status) delete obj.status;
    const om: JsonObject = {};
    for (const [k, v] of Object.entries(m)) if (!SYSTEM_META.includes(k)) om[k] = v;
    if (typeof m.generateName === "string") om.generateName = m.generateName;
    om.name = name;
    if (rt.namespaced) om.namespace = ns;
    om.uid = randomUUID();
    om.creationTimestamp = nowIso();
    om.generation = 1;
    obj.metadata = om;
    if (rt.group === "" && rt.kind === "Namespace") {
      // What the real server adds to every Namespace: its name label, the finalizer the namespace
      // controller removes once the namespace is empty, and phase Active.
      om.labels = { ...(isObject(om.labels) ? om.labels : {}), "kubernetes.io/metadata.name": name };
      obj.spec = { finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
    }
    obj.apiVersion = apiVersionOf(rt, version);
    obj.kind = rt.kind;
    obj = this.admit(rt, obj);
    let managers: ManagerEntry[];
    if (applyPaths) {
      managers = [
        {
          manager,
          operation: "Apply",
          subresource: "",
          apiVersion: apiVersionOf(rt, version),
          time: nowIso(),
          paths: new Set(applyPaths.filter((p) => getPath(obj, p) !== undefined).map(pathKey)),
        },
      ];
    } else managers = updateManagers(rt, version, undefined, obj, "main", manager);
    const stored: Stored = { obj, managers };
    if (!dryRun) this.commit(rt, stored, undefined, "ADDED");
    return [201, this.render(rt, stored, version)];
  }

  /**
   * NamespaceLifecycle admission of a create: the namespace must exist (404 as the real server words it)
   * and not be terminating (403 with a NamespaceTerminating cause).
   */
  private admitToNamespace(rt: ResourceType, ns: string, name: string): void {
    const nsObj = this.bucket(this.mustFind("namespaces")).get(objKey("", ns));
    if (!nsObj) {
      throw new ApiError(404, "NotFound", `namespaces "${ns}" not found`, { name: ns, kind: "namespaces" });
    }
    if (meta(nsObj.obj).deletionTimestamp) {
      throw new ApiError(
        403,
        "Forbidden",
        `${groupResource(rt)} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        {
          name,
          group: rt.group,
          kind: rt.plural,
          causes: [
            {
              reason: "NamespaceTerminating",
              message: `namespace ${ns} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
    }
  }

  /**
   * Finishes a write to an existing object: merges what the scope may change, checks the
   * resourceVersion precondition, admits, bumps generation on spec changes, skips no-ops, and deletes an
   * object whose last finalizer went away while it was being deleted.
   */
  private finishWrite(
    rt: ResourceType,
    version: string,
    current: Stored,
    proposed: JsonObject,
    scope: Scope,
    managersFor: (next: JsonObject) => ManagerEntry[],
    dryRun: boolean,
  ): JsonObject {
    const cm = meta(current.obj);
    const pm = isObject(proposed.metadata) ? proposed.metadata : {};
    const rvIn = pm.resourceVersion;
    if (rvIn !== undefined && rvIn !== null && rvIn !== "" && String(rvIn) !== String(cm.resourceVersion)) {
      throw conflict(
        rt,
        String(cm.name),
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    }
    if (scope === "main" && pm.deletionTimestamp !== undefined && pm.deletionTimestamp !== null) {
      const have = cm.deletionTimestamp === undefined ? undefined : toMillis(cm.deletionTimestamp);
      if (toMillis(pm.deletionTimestamp) !== have) {
        // Only a delete sets it; a client's value is refused, as by the real server.
        throw invalid(rt, String(cm.name), [
          {
            reason: "FieldValueInvalid",
            message: `Invalid value: ${goTime(pm.deletionTimestamp)}: field is immutable`,
            field: "metadata.deletionTimestamp",
          },
        ]);
      }
    }
    let next: JsonObject;
    if (scope === "status") {
      next = clone(current.obj);
      if (proposed.status === undefined) delete next.status;
      else next.status = clone(proposed.status);
    } else {
      next = clone(proposed);
      if (rt.status) {
        if (current.obj.status === undefined) delete next.status;
        else next.status = clone(current.obj.status);
      }
      const nm: JsonObject = {};
      for (const [k, v] of Object.entries(pm)) if (!SYSTEM_META.includes(k)) nm[k] = clone(v);
      for (const k of SYSTEM_META) if (cm[k] !== undefined && k !== "managedFields") nm[k] = clone(cm[k]);
      next.metadata = nm;
    }
    next.apiVersion = apiVersionOf(rt, version);
    next.kind = rt.kind;
    const nm = meta(next);
    if (cm.deletionTimestamp) {
      const before = new Set((Array.isArray(cm.finalizers) ? cm.finalizers : []).map(String));
      const added = (Array.isArray(nm.finalizers) ? nm.finalizers : []).filter((f) => !before.has(String(f)));
      if (added.length > 0) {
        const found = `[]string{${added.map((f) => JSON.stringify(String(f))).join(", ")}}`;
        const message = `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${found}`;
        throw invalid(rt, String(cm.name), [
          { reason: "FieldValueForbidden", message, field: "metadata.finalizers" },
        ]);
      }
    }
    next = this.admit(rt, next, scope, current.obj);
    const specOf = (o: JsonObject) => {
      const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
      return rest;
    };
    if (scope === "main" && !deepEqual(specOf(current.obj), specOf(next))) {
      meta(next).generation = Number(cm.generation ?? 1) + 1;
    }
    const managers = managersFor(next);
    const sameObj = deepEqual({ ...next, apiVersion: null }, { ...current.obj, apiVersion: null });
    const sameManagers =
      managers.length === current.managers.length &&
      managers.every(
        (m, i) =>
          m.manager === current.managers[i].manager &&
          deepEqual([...m.paths].sort(), [...current.managers[i].paths].sort()),
      );
    if (sameObj && sameManagers) return this.render(rt, current, version);
    const stored: Stored = { obj: next, managers };
    const fin = meta(next).finalizers;
    if (cm.deletionTimestamp && (!Array.isArray(fin) || fin.length === 0)) {
      if (!dryRun) this.commit(rt, undefined, current, "DELETED", next);
      return this.render(rt, stored, version);
    }
    if (!dryRun) this.commit(rt, stored, current, "MODIFIED");
    return this.render(rt, stored, version);
  }

  private update(
    rt: ResourceType,
    version: string,
    current: Stored,
    proposed: JsonObject,
    scope: Scope,
    manager: string,
    dryRun: boolean,
  ): JsonObject {
    return this.finishWrite(
      rt,
      version,
      current,
      proposed,
      scope,
      (next) => updateManagers(rt, version, current, next, scope, manager),
      dryRun,
    );
  }

  private patch(
    t: Target,
    body: string,
    contentType: string,
    q: URLSearchParams,
    scope: Scope,
    manager: string,
    dryRun: boolean,
  ): [number, Json] {
    const { rt, version, ns, name } = t;
    const force = q.get("force") === "true";
    if (contentType === "application/apply-patch+yaml" || contentType === "application/apply-patch+cbor") {
      return this.apply(t, body, q.get("fieldManager"), force, scope, dryRun);
    }
    if (q.get("force") !== null) {
      throw new ApiError(
        422,
        "Invalid",
        "force: Invalid value: force may not be specified for non-apply patch",
      );
    }
    const current = this.mustGet(rt, ns, name);
    const base = this.render(rt, current, version);
    let patched: Json;
    try {
      switch (contentType) {
        case "application/merge-patch+json":
          patched = mergePatch(base, this.parseJson(body));
          break;
        case "application/strategic-merge-patch+json":
          // Simplified: a strategic merge patch is applied as a JSON merge patch (lists are replaced,
          // not merged by their patch merge key), with $-directives dropped.
          patched = mergePatch(base, stripDirectives(this.parseJson(body)));
          break;
        case "application/json-patch+json": {
          let ops: unknown;
          try {
            ops = JSON.parse(body);
          } catch (e) {
            throw new ApiError(
              400,
              "BadRequest",
              `the body of the request could not be decoded: ${String(e)}`,
            );
          }
          patched = jsonPatch(base, ops);
          break;
        }
        default:
          throw new ApiError(
            415,
            "UnsupportedMediaType",
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          );
      }
    } catch (e) {
      if (e instanceof PatchError) {
        throw new ApiError(422, "Invalid", e.message, { name, group: rt.group, kind: rt.plural });
      }
      throw e;
    }
    if (!isObject(patched)) throw new ApiError(422, "Invalid", "the patch made the object not an object");
    this.checkIdentity(rt, version, ns, name, patched);
    // A patch that leaves metadata.resourceVersion alone must not be refused for staleness.
    const pm = meta(patched);
    if (pm.resourceVersion === meta(base).resourceVersion) delete pm.resourceVersion;
    return [200, this.update(rt, version, current, patched, scope, manager, dryRun)];
  }

  /**
   * Server-side apply, coarsely: the applied configuration's leaf fields (lists are atomic) are owned by
   * the manager; fields another manager owns with a different value conflict (409) unless force, which
   * takes them over; fields this manager applied last time and omits now are removed unless someone else
   * owns them; everything else in the object is kept.
   */
  private apply(
    t: Target,
    body: string,
    fieldManager: string | null,
    force: boolean,
    scope: Scope,
    dryRun: boolean,
  ): [number, Json] {
    const { rt, version, ns, name } = t;
    if (!fieldManager) {
      throw new ApiError(400, "BadRequest", "PATCH /apply requires the fieldManager query parameter");
    }
    let applied: unknown;
    try {
      applied = YAML.parse(body);
    } catch (e) {
      throw new ApiError(400, "BadRequest", `error decoding YAML: ${String(e)}`);
    }
    if (!isObject(applied)) throw new ApiError(400, "BadRequest", "an apply patch must be an object");
    if (!applied.apiVersion || !applied.kind) {
      throw new ApiError(400, "BadRequest", "apiVersion and kind must be set in an apply configuration");
    }
    this.checkIdentity(rt, version, ns, name, applied);
    const nulls = leafPaths(applied).filter((p) => getPath(applied as Json, p) === null);
    const config = ownable(rt, applied, scope).filter((p) => getPath(applied as Json, p) !== null);
    const current = this.bucket(rt).get(objKey(ns, name));
    if (!current) {
      if (scope === "status") this.mustGet(rt, ns, name);
      t.mayCreate?.();
      const body2 = clone(applied);
      meta(body2).name = name;
      for (const p of nulls) deletePath(body2, p);
      return this.create(rt, version, ns, body2, fieldManager, dryRun, config);
    }
    const { next, managersFor } = applyTo(
      current,
      applied,
      config,
      nulls,
      fieldManager,
      scope,
      force,
      apiVersionOf(rt, version),
    );
    const out = this.finishWrite(rt, version, current, next, scope, managersFor, dryRun);
    return [200, out];
  }

  private remove(
    rt: ResourceType,
    version: string,
    current: Stored,
    body: string,
    dryRun: boolean,
  ): JsonObject {
    const cm = meta(current.obj);
    if (body.trim() !== "") {
      const opts = this.parseJson(body);
      const pre = isObject(opts.preconditions) ? opts.preconditions : {};
      if (
        (pre.resourceVersion && pre.resourceVersion !== cm.resourceVersion) ||
        (pre.uid && pre.uid !== cm.uid)
      ) {
        throw conflict(rt, String(cm.name), "the precondition does not hold");
      }
    }
    if (isNamespace(rt)) {
      // The namespace controller's part: the Namespace turns Terminating, everything in it is deleted,
      // and the Namespace goes once it is empty (sweepNamespaces, after each change).
      if (cm.deletionTimestamp) return this.render(rt, current, version);
      const next = clone(current.obj);
      meta(next).deletionTimestamp = nowIso();
      next.status = { ...(isObject(next.status) ? next.status : {}), phase: "Terminating" };
      const stored = { obj: next, managers: current.managers };
      if (dryRun) return this.render(rt, stored, version);
      this.commit(rt, stored, current, "MODIFIED");
      this.scheduleSweep();
      return this.render(rt, stored, version);
    }
    const fin = cm.finalizers;
    if (Array.isArray(fin) && fin.length > 0) {
      if (cm.deletionTimestamp) return this.render(rt, current, version);
      const next = clone(current.obj);
      const nm = meta(next);
      nm.deletionTimestamp = nowIso();
      nm.deletionGracePeriodSeconds = 0;
      nm.generation = Number(cm.generation ?? 1) + 1;
      const stored = { obj: next, managers: current.managers };
      if (!dryRun) this.commit(rt, stored, current, "MODIFIED");
      return this.render(rt, stored, version);
    }
    if (!dryRun) this.commit(rt, undefined, current, "DELETED");
    return this.render(rt, current, version);
  }

  private sweepScheduled = false;

  private scheduleSweep(): void {
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(() => {
      this.sweepScheduled = false;
      this.sweepNamespaces();
    });
  }

  /** Deletes what terminating namespaces hold (finalizers honoured) and then the empty namespaces. */
  private sweepNamespaces(): void {
    const namespaces = this.bucket(this.mustFind("namespaces"));
    for (const nsStored of [...namespaces.values()]) {
      const nm = meta(nsStored.obj);
      if (!nm.deletionTimestamp) continue;
      const ns = String(nm.name);
      let left = 0;
      for (const rt of this.resources) {
        if (!rt.namespaced) continue;
        for (const s of [...this.bucket(rt).values()]) {
          if (meta(s.obj).namespace !== ns) continue;
          left++;
          if (!meta(s.obj).deletionTimestamp) this.remove(rt, rt.versions[0], s, "", false);
        }
      }
      if (left === 0) this.commit(this.mustFind("namespaces"), undefined, nsStored, "DELETED");
    }
  }

  /** Stores a change, bumps the global resourceVersion, records history and notifies watchers. */
  private commit(
    rt: ResourceType,
    next: Stored | undefined,
    prev: Stored | undefined,
    type: EventType,
    finalState?: JsonObject,
  ): void {
    this.rv++;
    this.mutations++;
    const gr = groupResource(rt);
    const b = this.bucket(rt);
    let eventObj: JsonObject;
    if (next) {
      meta(next.obj).resourceVersion = String(this.rv);
      const m = meta(next.obj);
      b.set(objKey(rt.namespaced ? String(m.namespace) : "", String(m.name)), next);
      eventObj = this.render(rt, next, rt.versions[0]);
    } else {
      const p = prev as Stored;
      const m = meta(p.obj);
      b.delete(objKey(rt.namespaced ? String(m.namespace) : "", String(m.name)));
      eventObj = this.render(rt, { obj: finalState ?? p.obj, managers: p.managers }, rt.versions[0]);
      meta(eventObj).resourceVersion = String(this.rv);
    }
    const ev: HistoryEvent = {
      rv: this.rv,
      gr,
      type,
      namespace: String(meta(eventObj).namespace ?? ""),
      obj: eventObj,
      prev: prev ? this.render(rt, prev, rt.versions[0]) : undefined,
    };
    this.watches.publish(ev);
    if (ev.namespace && !next) {
      const nsObj = this.bucket(this.mustFind("namespaces")).get(objKey("", ev.namespace));
      if (nsObj && meta(nsObj.obj).deletionTimestamp) this.scheduleSweep();
    }
  }
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}
