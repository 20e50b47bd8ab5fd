// A fake Kubernetes API server over real HTTP, for tests that drive @kubernetes/client-node unmodified.
// See README.md beside this file for what it does and what it simplifies.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { randomUUID, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import YAML from "yaml";
import { KubeConfig } from "@kubernetes/client-node";
import { fromRoot } from "../../controller/src/paths.js";
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
  apiVersionOf,
  decodeError,
  defaultResources,
  groupResource,
  nameCauses,
  schemaValidator,
  type ResourceType,
} from "./resources.js";
import { Authorizer, forbiddenMessage, type Attributes, type Grant, type User } from "./rbac.js";
import { loadCrdSchema, pruneAndDefault, type Cause, type Schema } from "./schema.js";
import { GATEWAY_API_CRD } from "./gatewayapi.js";
import { fieldMatcher, labelMatcher, SelectorError, type Matcher } from "./selectors.js";
import { discovery } from "./discovery.js";
import { FailureRules, type FailureHandle, type FailureSpec } from "./failures.js";
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
import { recordMatches, WRITE_VERBS, type RequestFilter, type RequestRecord, type Verb } from "./records.js";
import {
  ApiError,
  conflict,
  deleteDetails,
  goTime,
  invalid,
  objectNotFound,
  pathNotFound,
  REASONS,
  statusBody,
  toMillis,
} from "./status.js";
import { WatchHub, type EventType, type HistoryEvent } from "./watch.js";

export interface FakeApiServerOptions {
  /** Watch events kept for resuming; a resourceVersion older than these gets 410 Gone. Default 1000. */
  historyLimit?: number;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Schema for meshlane.io Lanes; default: the CRD file's v1alpha1 schema, if the file exists. */
  laneSchema?: Schema;
  /** CRD file to read the Lane schema from; default manifests/crd/lanes.meshlane.io.yaml. */
  laneCrdFile?: string;
  /**
   * NamespaceLifecycle, as a real server: creating a namespaced object in a namespace that does not exist
   * is 404, in one being deleted 403. Default true; false only for tests of something else entirely.
   */
  requireNamespace?: boolean;
  /** Additional resource types to serve. */
  resources?: ResourceType[];
  /**
   * RBAC, enforced for the users named here by bearer token (any other token is a cluster admin, as the
   * fixtures' own clients are): `objects` are an RBAC manifest's Roles, ClusterRoles and bindings.
   */
  rbac?: { objects: JsonObject[]; users: Record<string, User> };
  port?: number;
}

const objKey = (ns: string, name: string): string => `${ns}/${name}`;

export class FakeApiServer {
  readonly resources: ResourceType[];
  /** Every request served (or failed by injection), in order. */
  readonly requests: RequestRecord[] = [];
  /** Requests that changed stored state (bumped the resourceVersion). */
  mutations = 0;

  private readonly opts: Required<Pick<FakeApiServerOptions, "historyLimit" | "bookmarkIntervalMs">> &
    FakeApiServerOptions;
  private readonly store = new Map<string, Map<string, Stored>>();
  private rv = 1000;
  private readonly watches: WatchHub;
  private readonly failures = new FailureRules();
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private readonly authorizer?: Authorizer;

  private constructor(opts: FakeApiServerOptions) {
    this.opts = { historyLimit: 1000, bookmarkIntervalMs: 1000, ...opts };
    this.watches = new WatchHub(this.opts, () => this.rv);
    this.resources = [...defaultResources(), ...(opts.resources ?? [])];
    const laneSchema =
      opts.laneSchema ??
      loadCrdSchema(opts.laneCrdFile ?? fromRoot("manifests", "crd", "lanes.meshlane.io.yaml"), "v1alpha1");
    if (laneSchema) this.setSchema("lanes.meshlane.io", laneSchema);
    const routeSchema = loadCrdSchema(GATEWAY_API_CRD, "v1");
    if (routeSchema) this.setSchema("httproutes.gateway.networking.k8s.io", routeSchema);
    if (opts.rbac) this.authorizer = new Authorizer(opts.rbac.objects);
  }

  /** With RBAC: every grant the roles hold (rule × verb × resource). */
  rbacGrants(): Grant[] {
    return this.authorizer?.grants() ?? [];
  }

  /** Starts a server on 127.0.0.1 (random port unless `port` is given). */
  static async start(opts: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const s = new FakeApiServer(opts);
    await s.listen(opts.port ?? 0);
    return s;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  /** The current (latest) resourceVersion. */
  get resourceVersion(): string {
    return String(this.rv);
  }

  /** Number of open watch connections. */
  get openWatches(): number {
    return this.watches.size;
  }

  /** A KubeConfig pointing at this server (client-node needs skipTLSVerify to allow plain http). */
  kubeConfig(namespace = "default", token = "t"): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "fake", server: this.url, skipTLSVerify: true }],
      users: [{ name: "u", token }],
      contexts: [{ name: "fake", cluster: "fake", user: "u", namespace }],
      currentContext: "fake",
    });
    return kc;
  }

  async stop(): Promise<void> {
    await this.closeListener();
  }

  /**
   * Closes every connection (watches are cut mid-stream), stops listening, runs `whileDown` (e.g. to
   * change objects or compact the history while clients are cut off), waits `downtimeMs`, and listens
   * again on the same port. The store, history and resourceVersion survive.
   */
  async restart(opts: { downtimeMs?: number; whileDown?: () => void | Promise<void> } = {}): Promise<void> {
    const port = this.boundPort;
    await this.closeListener();
    await opts.whileDown?.();
    if (opts.downtimeMs) await sleep(opts.downtimeMs);
    await this.listen(port);
  }

  /** Cuts every open watch connection (without a clean end of stream); returns how many. */
  dropWatches(): number {
    return this.watches.closeAll(true);
  }

  /** Forgets the watch history: any resume from an older resourceVersion now gets 410 Gone. */
  compactHistory(): void {
    this.watches.compact();
  }

  /** Makes matching requests fail (or stall); the newest matching rule wins. */
  injectFailures(spec: FailureSpec): FailureHandle {
    return this.failures.inject(spec);
  }

  clearFailures(): void {
    this.failures.clear();
  }

  /** Counts recorded requests matching the filter. */
  count(filter: RequestFilter = {}): number {
    return this.requests.filter((r) => recordMatches(r, filter)).length;
  }

  /** Counts write requests (create, update, patch, delete, deletecollection) matching the filter. */
  writes(filter: RequestFilter = {}): number {
    return this.requests.filter((r) => WRITE_VERBS.includes(r.verb as Verb) && recordMatches(r, filter))
      .length;
  }

  resetCounters(): void {
    this.requests.length = 0;
    this.mutations = 0;
  }

  /** Replaces the schema a custom resource is validated against ("lanes.meshlane.io" or "lanes"). */
  setSchema(resource: string, schema: Schema | undefined): void {
    const rt = this.findByName(resource);
    if (!rt) throw new Error(`unknown resource ${resource}`);
    rt.schema = schema;
  }

  // ---- direct store access for fixtures (no HTTP; watch events are emitted) ----

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

  // ---- HTTP ----

  private async listen(port: number): Promise<void> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) this.sendJson(res, 500, statusBody(500, "InternalError", String(e)));
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 2000;
    server.on("connection", (sock: Socket) => {
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as AddressInfo).port;
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.watches.closeAll(true);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  private sendJson(res: http.ServerResponse, code: number, body: Json, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(code, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(text),
      ...headers,
    });
    res.end(text);
  }

  private async readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://x");
    const q = url.searchParams;
    const segs = url.pathname.split("/").filter((s) => s !== "");
    const record: RequestRecord = {
      method: req.method ?? "GET",
      path: url.pathname,
      verb: "discovery",
      group: "",
      version: "",
      resource: "",
      subresource: "",
      namespace: "",
      name: "",
      code: 200,
      injected: false,
      fieldManager: q.get("fieldManager") ?? undefined,
      contentType: req.headers["content-type"],
    };
    const finish = (code: number, body: Json, headers?: Record<string, string>) => {
      record.code = code;
      this.requests.push(record);
      this.sendJson(res, code, body, headers);
    };
    try {
      const disc = discovery(this.resources, segs);
      if (disc !== undefined) {
        if (req.method !== "GET")
          throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method");
        return finish(200, disc);
      }
      const target = this.parsePath(segs, req.method ?? "GET", q);
      Object.assign(record, {
        verb: target.verb,
        group: target.rt.group,
        version: target.version,
        resource: target.rt.plural,
        subresource: target.sub,
        namespace: target.ns,
        name: target.name,
      });
      const user = this.userOf(req);
      if (user) {
        const attrs: Attributes = { ...record, verb: target.verb };
        record.user = user.name;
        record.grants = this.authorizer?.matching(user, attrs) ?? [];
        if (record.grants.length === 0) {
          throw new ApiError(403, "Forbidden", forbiddenMessage(user, attrs), {
            name: target.name,
            group: target.rt.group,
            kind: target.rt.plural,
          });
        }
      }
      const fault = this.failures.match(record);
      if (fault) {
        if (fault.delayMs) {
          // Stall, but give up as soon as the client (or stop()) closes the connection.
          const gone = new AbortController();
          const onClose = () => gone.abort();
          res.on("close", onClose);
          try {
            await sleep(fault.delayMs, undefined, { signal: gone.signal });
          } catch {
            return;
          } finally {
            res.off("close", onClose);
          }
        }
        if (fault.status === "reset") {
          record.code = 0;
          record.injected = true;
          this.requests.push(record);
          req.socket.destroy();
          return;
        }
        if (fault.status !== undefined) {
          record.injected = true;
          const code = fault.status;
          const reason = fault.reason ?? REASONS[code] ?? "Unknown";
          const headers: Record<string, string> = {};
          const details: JsonObject = { name: target.name, group: target.rt.group, kind: target.rt.plural };
          if (fault.retryAfterSeconds !== undefined) {
            headers["retry-after"] = String(fault.retryAfterSeconds);
            details.retryAfterSeconds = fault.retryAfterSeconds;
          }
          return finish(
            code,
            statusBody(code, reason, fault.message ?? `injected ${code} ${reason}`, details),
            headers,
          );
        }
      }
      if (target.verb === "watch") {
        const { rt, version, ns } = target;
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
        this.requests.push(record);
        return;
      }
      const body = ["POST", "PUT", "PATCH", "DELETE"].includes(req.method ?? "")
        ? await this.readBody(req)
        : "";
      const [code, out] = this.dispatch(
        { ...target, user, grants: record.grants },
        body,
        req.headers["content-type"] ?? "",
        q,
        req.headers,
      );
      return finish(code, out);
    } catch (e) {
      if (e instanceof ApiError) {
        return finish(e.code, statusBody(e.code, e.reason, e.message, e.details), e.headers);
      }
      throw e;
    }
  }

  /** The RBAC-checked user a request authenticates as (undefined: no RBAC, or an admin). */
  private userOf(req: http.IncomingMessage): User | undefined {
    if (!this.opts.rbac) return undefined;
    const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ""));
    return m ? this.opts.rbac.users[m[1].trim()] : undefined;
  }

  // ---- routing ----

  private find(group: string, version: string, plural: string): ResourceType | undefined {
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

  private parsePath(segs: string[], method: string, q: URLSearchParams) {
    let group: string;
    let version: string;
    let rest: string[];
    if (segs[0] === "api" && segs.length >= 2) {
      group = "";
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === "apis" && segs.length >= 3) {
      group = segs[1];
      version = segs[2];
      rest = segs.slice(3);
    } else throw pathNotFound();
    let legacyWatch = false;
    if (rest[0] === "watch") {
      legacyWatch = true;
      rest = rest.slice(1);
    }
    let ns = "";
    if (rest[0] === "namespaces" && rest.length >= 3 && this.find(group, version, rest[2])?.namespaced) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const rt = this.find(group, version, rest[0] ?? "");
    if (!rt || rest.length > 3) throw pathNotFound();
    const name = rest[1] ?? "";
    const sub = rest[2] ?? "";
    if (sub !== "" && !(sub === "status" && rt.status)) throw pathNotFound();
    if (rt.namespaced === false && ns !== "") throw pathNotFound();
    const watch = legacyWatch || q.get("watch") === "true" || q.get("watch") === "1";
    let verb: Verb;
    switch (method) {
      case "GET":
        verb = watch ? "watch" : name ? "get" : "list";
        if (watch && name)
          throw new ApiError(400, "BadRequest", "watch of a single object: use fieldSelector");
        break;
      case "POST":
        if (name) throw new ApiError(405, "MethodNotAllowed", "POST is not allowed on a named object");
        verb = "create";
        break;
      case "PUT":
        verb = "update";
        break;
      case "PATCH":
        verb = "patch";
        break;
      case "DELETE":
        verb = name ? "delete" : "deletecollection";
        break;
      default:
        throw new ApiError(405, "MethodNotAllowed", `method ${method} is not allowed`);
    }
    if (rt.namespaced && ns === "" && verb !== "list" && verb !== "watch") throw pathNotFound();
    if ((verb === "update" || verb === "patch") && !name) {
      throw new ApiError(405, "MethodNotAllowed", `${method} needs an object name`);
    }
    return { rt, version, ns, name, sub, verb };
  }

  private dispatch(
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

  // ---- store helpers ----

  private bucket(rt: ResourceType): Map<string, Stored> {
    const gr = groupResource(rt);
    let b = this.store.get(gr);
    if (!b) {
      b = new Map();
      this.store.set(gr, b);
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
    const listMeta: JsonObject = { resourceVersion: this.resourceVersion };
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
    if (rt.namespaced && this.opts.requireNamespace !== false) this.admitToNamespace(rt, ns, name);
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
      if (t.user) {
        // An apply that creates the object needs create as well as patch (the real server's check,
        // with its bare message).
        const attrs: Attributes = {
          verb: "create",
          group: rt.group,
          resource: rt.plural,
          subresource: t.sub,
          namespace: ns,
          name,
        };
        const grants = this.authorizer?.matching(t.user, attrs) ?? [];
        if (grants.length === 0) {
          throw new ApiError(403, "Forbidden", forbiddenMessage(t.user, attrs, false), {
            name,
            group: rt.group,
            kind: rt.plural,
          });
        }
        t.grants?.push(...grants);
      }
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

const isNamespace = (rt: ResourceType): boolean => rt.group === "" && rt.kind === "Namespace";

/** A parsed request, with the RBAC-checked user and the grants that allowed it. */
type Target = ReturnType<FakeApiServer["parsePath"]> & { user?: User; grants?: Grant[] };

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith("$")) out[k] = stripDirectives(x);
  return out;
}
