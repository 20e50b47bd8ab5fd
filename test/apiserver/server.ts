// A fake Kubernetes API server over real HTTP, for tests that drive @kubernetes/client-node unmodified.
// See README.md beside this file for what it does and what it simplifies.
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeConfig } from "@kubernetes/client-node";
import { fromRoot } from "../../controller/src/paths.js";
import { discovery } from "./discovery.js";
import { FailureRules, type FailureHandle, type FailureSpec } from "./failures.js";
import { type Json, type JsonObject } from "./json.js";
import { Authorizer, forbiddenMessage, type Attributes, type Grant, type User } from "./rbac.js";
import { recordMatches, WRITE_VERBS, type RequestFilter, type RequestRecord, type Verb } from "./records.js";
import { defaultResources, type ResourceType } from "./resources.js";
import { loadCrdSchema, type Schema } from "./schema.js";
import { GATEWAY_API_CRD } from "./gatewayapi.js";
import { ApiError, pathNotFound, REASONS, statusBody } from "./status.js";
import { ObjectStore, type Target } from "./store.js";

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

export class FakeApiServer {
  readonly resources: ResourceType[];
  /** Every request served (or failed by injection), in order. */
  readonly requests: RequestRecord[] = [];

  private readonly opts: Required<Pick<FakeApiServerOptions, "historyLimit" | "bookmarkIntervalMs">> &
    FakeApiServerOptions;
  private readonly objects: ObjectStore;
  private readonly failures = new FailureRules();
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private boundPort = 0;
  private readonly authorizer?: Authorizer;

  private constructor(opts: FakeApiServerOptions) {
    this.opts = { historyLimit: 1000, bookmarkIntervalMs: 1000, ...opts };
    this.resources = [...defaultResources(), ...(opts.resources ?? [])];
    this.objects = new ObjectStore(this.resources, this.opts, opts.requireNamespace !== false);
    const laneSchema =
      opts.laneSchema ??
      loadCrdSchema(opts.laneCrdFile ?? fromRoot("manifests", "crd", "lanes.meshlane.io.yaml"), "v1alpha1");
    if (laneSchema) this.setSchema("lanes.meshlane.io", laneSchema);
    const routeSchema = loadCrdSchema(GATEWAY_API_CRD, "v1");
    if (routeSchema) this.setSchema("httproutes.gateway.networking.k8s.io", routeSchema);
    if (opts.rbac) this.authorizer = new Authorizer(opts.rbac.objects);
  }

  /** Requests that changed stored state (bumped the resourceVersion). */
  get mutations(): number {
    return this.objects.mutations;
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
    return String(this.objects.rv);
  }

  /** Number of open watch connections. */
  get openWatches(): number {
    return this.objects.watches.size;
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
    return this.objects.watches.closeAll(true);
  }

  /** Forgets the watch history: any resume from an older resourceVersion now gets 410 Gone. */
  compactHistory(): void {
    this.objects.watches.compact();
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
    this.objects.mutations = 0;
  }

  /** Replaces the schema a custom resource is validated against ("lanes.meshlane.io" or "lanes"). */
  setSchema(resource: string, schema: Schema | undefined): void {
    this.objects.setSchema(resource, schema);
  }

  // ---- direct store access for fixtures (no HTTP; watch events are emitted) ----

  /**
   * Creates or replaces an object as given (status included, no validation), like a controller of the
   * cluster would have written it. Returns the stored object.
   */
  seed(obj: JsonObject): JsonObject {
    return this.objects.seed(obj);
  }

  /** The stored object, rendered in the resource's preferred version, or undefined. */
  getObject(resource: string, namespace: string, name: string): JsonObject | undefined {
    return this.objects.getObject(resource, namespace, name);
  }

  listObjects(resource: string, namespace?: string): JsonObject[] {
    return this.objects.listObjects(resource, namespace);
  }

  /** Removes an object at once (finalizers ignored); returns whether it existed. */
  removeObject(resource: string, namespace: string, name: string): boolean {
    return this.objects.removeObject(resource, namespace, name);
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
    this.objects.watches.closeAll(true);
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
        this.objects.watch(res, target, q);
        this.requests.push(record);
        return;
      }
      const body = ["POST", "PUT", "PATCH", "DELETE"].includes(req.method ?? "")
        ? await this.readBody(req)
        : "";
      const mayCreate = user ? () => this.authorizeCreate(user, target, record) : undefined;
      const [code, out] = this.objects.serve(
        { ...target, mayCreate },
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

  /** An apply that creates the object needs create as well as patch (the real server's check, with
   * its bare message); the grants found join the request's record. */
  private authorizeCreate(user: User, t: Target, record: RequestRecord): void {
    const attrs: Attributes = {
      verb: "create",
      group: t.rt.group,
      resource: t.rt.plural,
      subresource: t.sub,
      namespace: t.ns,
      name: t.name,
    };
    const grants = this.authorizer?.matching(user, attrs) ?? [];
    if (grants.length === 0) {
      throw new ApiError(403, "Forbidden", forbiddenMessage(user, attrs, false), {
        name: t.name,
        group: t.rt.group,
        kind: t.rt.plural,
      });
    }
    record.grants?.push(...grants);
  }

  // ---- routing ----

  private parsePath(segs: string[], method: string, q: URLSearchParams): Target {
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
    if (
      rest[0] === "namespaces" &&
      rest.length >= 3 &&
      this.objects.find(group, version, rest[2])?.namespaced
    ) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const rt = this.objects.find(group, version, rest[0] ?? "");
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
}
