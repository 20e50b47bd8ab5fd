// A resilient list+watch (an informer) over client-node's Watch.
//
// Why not client-node 1.4's makeInformer: it never asks for bookmarks (allowWatchBookmarks), it stops
// for good after a watch or list error (the caller has to restart it), it re-watches at once when a
// stream ends (no backoff: a server that closes every stream makes it spin), and it gives no "synced"
// signal. It does resume from the last resourceVersion and relist on 410, which this one does too.
//
// The contract: after start(), the cache converges on the server's state for `path` (with the
// selectors). Each change is delivered once to the handlers as add, update (resourceVersion changed) or
// delete, in the order the server sent it; a relist (first start, or after 410 Gone) delivers the
// difference between the cache and the fresh list. Handlers run synchronously and must not throw (a
// throw is logged and ignored).
//
// Health: `connected` is true from a successful list or a watch the server accepted until a list or
// watch fails (refused, cut off, unreachable); `lastError` says why it is not. A watch that ends cleanly
// (the server's timeout) and is resumed at once does not count as down. `onHealth` hears every flip.
import http from "node:http";
import https from "node:https";
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import { silentLogger, type Logger } from "./log.js";
import { backoffDelay, statusCode } from "./retry.js";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** "namespace/name" for namespaced objects, "name" for cluster-scoped ones (client-go's key). */
export function keyOf(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  return ns ? `${ns}/${obj.metadata?.name ?? ""}` : (obj.metadata?.name ?? "");
}

export interface InformerHandlers<T extends KubeObject> {
  add?: (obj: T) => void;
  update?: (obj: T, old: T) => void;
  delete?: (obj: T) => void;
}

export interface InformerOptions {
  kc: KubeConfig;
  /** Collection path: "/apis/meshlane.io/v1alpha1/lanes", "/api/v1/namespaces/shop/pods", ... */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  logger?: Logger;
  /** Backoff between failed lists or watches. Default 200 ms doubling to 30 s. */
  backoff?: { base?: number; max?: number };
  /** Server-side watch timeout. Default: random in [300, 600) s, so replicas do not re-watch in step. */
  watchTimeoutSeconds?: number;
  /** A watch that delivers nothing (not even a bookmark) for this long is restarted. Default timeout+60 s. */
  idleTimeoutMs?: number;
  /** Page size for lists. Default 500. */
  pageSize?: number;
  /**
   * Applied to every object before it is cached and handed to the handlers (as client-go's
   * SetTransform): drop what the caller never reads, to keep the cache small. Must keep metadata.name,
   * namespace and resourceVersion.
   */
  transform?: (obj: KubeObject) => KubeObject;
  /** Called when `connected` changes (`after` a failure, or the first time). */
  onHealth?: (connected: boolean, afterFailure: boolean) => void;
}

/** Why an informer is not connected: the HTTP status (when there was one) and the error's message. */
export interface InformerError {
  code?: number;
  message: string;
}

export interface InformerStats {
  lists: number;
  /** Relists caused by 410 Gone. */
  expired: number;
  watches: number;
  events: number;
  bookmarks: number;
  errors: number;
}

type Outcome =
  { kind: "closed"; events: number; ms: number } | { kind: "gone" } | { kind: "error"; err: unknown };

interface ListBody {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[];
}

/** GET a JSON document with the KubeConfig's TLS settings and credentials. */
async function getJson(
  kc: KubeConfig,
  path: string,
  query: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<unknown> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("no current cluster in the KubeConfig");
  const url = new URL(cluster.server.replace(/\/$/, "") + path);
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") url.searchParams.set(k, v);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const mod = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: "GET",
        headers: { ...opts.headers, accept: "application/json" },
        agent: opts.agent,
        auth: opts.auth,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 200) {
            try {
              resolve(JSON.parse(text));
            } catch (e) {
              reject(e);
            }
            return;
          }
          const err = Object.assign(new Error(`GET ${path}: HTTP ${res.statusCode}`), {
            statusCode: res.statusCode,
            body: text,
            headers: res.headers,
          });
          reject(err);
        });
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.on("error", reject);
    req.end();
  });
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly stats: InformerStats = { lists: 0, expired: 0, watches: 0, events: 0, bookmarks: 0, errors: 0 };
  private cache = new Map<string, T>();
  private rv = "";
  private needList = true;
  private stopped = true;
  private isSynced = false;
  private syncWaiters: (() => void)[] = [];
  private readonly handlers: InformerHandlers<T>[] = [];
  private readonly watch: Watch;
  private readonly log: Logger;
  private loop?: Promise<void>;
  private wake?: () => void;
  private endWatch?: () => void;
  private lifetime = new AbortController();
  /** undefined until the first list or watch succeeds or fails. */
  private up?: boolean;
  private failure?: InformerError;

  constructor(private readonly opts: InformerOptions) {
    this.watch = new Watch(opts.kc);
    this.log = (opts.logger ?? silentLogger).child({ component: "informer", path: opts.path });
  }

  /** Registers handlers; call before start() to see the initial adds. */
  on(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** In touch with the server (see the module comment). */
  get connected(): boolean {
    return this.up === true;
  }

  /** Why the last list or watch failed, while not connected. */
  get lastError(): InformerError | undefined {
    return this.up === true ? undefined : this.failure;
  }

  /** The collection path watched. */
  get path(): string {
    return this.opts.path;
  }

  private setHealth(up: boolean, err?: unknown): void {
    if (!up) {
      const code = statusCode(err);
      let message = err instanceof Error ? err.message : String(err);
      try {
        // The API server's Status says why (e.g. which user may not list what).
        const body = (err as { body?: unknown } | undefined)?.body;
        const status = typeof body === "string" ? (JSON.parse(body) as { message?: unknown }) : undefined;
        if (typeof status?.message === "string" && status.message) message = status.message;
      } catch {
        // not a Status: keep the error's own message
      }
      this.failure = code === undefined ? { message } : { code, message };
    }
    if (this.up === up) return;
    const afterFailure = this.up === false;
    this.up = up;
    this.opts.onHealth?.(up, afterFailure);
  }

  /** The newest resourceVersion seen (from a list, an event or a bookmark). */
  get resourceVersion(): string {
    return this.rv;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Cached objects, optionally of one namespace. */
  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lifetime = new AbortController();
    this.loop = this.run();
  }

  /** Resolves after the first complete list (rejects if `signal` aborts first). */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.isSynced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener("abort", () => reject(new Error("aborted waiting for the cache to sync")), {
        once: true,
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.up = false;
    this.lifetime.abort();
    this.wake?.();
    this.endWatch?.();
    await this.loop;
  }

  private emit(kind: "add" | "update" | "delete", obj: T, old?: T): void {
    for (const h of this.handlers) {
      try {
        if (kind === "add") h.add?.(obj);
        else if (kind === "update") h.update?.(obj, old as T);
        else h.delete?.(obj);
      } catch (err) {
        this.log.error("handler failed", { event: kind, key: keyOf(obj), err });
      }
    }
  }

  private shape(obj: KubeObject): T {
    return (this.opts.transform ? this.opts.transform(obj) : obj) as T;
  }

  private upsert(obj: T): void {
    const key = keyOf(obj);
    const old = this.cache.get(key);
    this.cache.set(key, obj);
    if (!old) this.emit("add", obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit("update", obj, old);
  }

  private async relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = "";
    do {
      const page = (await getJson(
        this.opts.kc,
        this.opts.path,
        {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          limit: String(this.opts.pageSize ?? 500),
          continue: cont,
        },
        this.lifetime.signal,
      )) as ListBody;
      const kind = page.kind?.replace(/List$/, "");
      for (const item of page.items ?? []) {
        // Lists of built-in kinds leave apiVersion and kind off their items; watch events carry them.
        const obj = this.shape({ apiVersion: page.apiVersion, kind, ...item });
        fresh.set(keyOf(obj), obj);
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?.continue || undefined;
    } while (cont && !this.stopped);
    this.stats.lists++;
    const before = this.cache;
    this.cache = new Map(before);
    for (const obj of fresh.values()) this.upsert(obj);
    for (const [key, old] of before) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit("delete", old);
      }
    }
    this.rv = rv;
    this.needList = false;
    this.log.debug("listed", { items: fresh.size, resourceVersion: rv });
    const first = !this.isSynced;
    this.isSynced = true;
    this.setHealth(true);
    if (first) for (const w of this.syncWaiters.splice(0)) w();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    const backoff = { base: this.opts.backoff?.base ?? 200, max: this.opts.backoff?.max ?? 30_000 };
    let failures = 0;
    while (!this.stopped) {
      if (this.needList) {
        try {
          await this.relist();
          failures = 0;
        } catch (err) {
          if (this.stopped) break;
          this.stats.errors++;
          this.setHealth(false, err);
          // The first failure of a run is a warning; the retries after it are debug, so an outage is
          // one line per kind rather than one per retry (recovery is logged by the state).
          const first = failures === 0;
          const delay = backoffDelay(failures++, backoff);
          this.log[first ? "warn" : "debug"]("list failed; retrying", { err, retryInMs: delay });
          await this.pause(delay);
          continue;
        }
      }
      if (this.stopped) break;
      const outcome = await this.watchOnce();
      if (this.stopped) break;
      if (outcome.kind === "gone") {
        this.stats.expired++;
        this.needList = true;
        this.log.info("resourceVersion expired (410 Gone); relisting", { resourceVersion: this.rv });
        continue;
      }
      if (outcome.kind === "error") {
        this.stats.errors++;
        this.setHealth(false, outcome.err);
        const first = failures === 0;
        const delay = backoffDelay(failures++, backoff);
        this.log[first ? "warn" : "debug"]("watch failed; resuming", {
          err: outcome.err,
          resourceVersion: this.rv,
          retryInMs: delay,
        });
        await this.pause(delay);
        continue;
      }
      // A clean end (the server's timeout, or a proxy closing the stream). A stream that ends at once
      // with nothing in it is treated like a failure so that it backs off instead of spinning.
      if (outcome.events === 0 && outcome.ms < 1000) await this.pause(backoffDelay(failures++, backoff));
      else failures = 0;
      this.log.debug("watch ended; resuming", { resourceVersion: this.rv });
    }
  }

  private watchOnce(): Promise<Outcome> {
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    const idleMs = this.opts.idleTimeoutMs ?? (timeoutSeconds + 60) * 1000;
    const query: Record<string, string | boolean | number | undefined> = {
      resourceVersion: this.rv,
      allowWatchBookmarks: true,
      timeoutSeconds,
      labelSelector: this.opts.labelSelector,
      fieldSelector: this.opts.fieldSelector,
    };
    this.stats.watches++;
    const started = Date.now();
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let events = 0;
      let ctl: AbortController | undefined;
      let idle: NodeJS.Timeout | undefined;
      const finish = (o: Outcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        this.endWatch = undefined;
        ctl?.abort();
        resolve(o);
      };
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(
          () => finish({ kind: "error", err: new Error(`watch sent nothing for ${idleMs} ms`) }),
          idleMs,
        );
      };
      this.endWatch = () => finish({ kind: "closed", events, ms: Date.now() - started });
      armIdle();
      const onEvent = (
        type: string,
        obj: KubeObject & { code?: number; reason?: string; message?: string },
      ) => {
        if (settled) return;
        armIdle();
        switch (type) {
          case "ADDED":
          case "MODIFIED":
            events++;
            this.stats.events++;
            this.upsert(this.shape(obj));
            break;
          case "DELETED": {
            events++;
            this.stats.events++;
            const key = keyOf(obj);
            if (this.cache.delete(key)) this.emit("delete", this.shape(obj));
            break;
          }
          case "BOOKMARK":
            this.stats.bookmarks++;
            break;
          case "ERROR":
            if (obj.code === 410) finish({ kind: "gone" });
            else {
              const err = Object.assign(new Error(`watch error: ${obj.message ?? obj.reason ?? "unknown"}`), {
                statusCode: obj.code,
              });
              finish({ kind: "error", err });
            }
            return;
          default:
            return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) this.rv = rv;
      };
      const onDone = (err: unknown) => {
        if (err && statusCode(err) === 410) finish({ kind: "gone" });
        else if (err) finish({ kind: "error", err });
        else finish({ kind: "closed", events, ms: Date.now() - started });
      };
      this.watch.watch(this.opts.path, query, onEvent, onDone).then(
        (c) => {
          ctl = c;
          if (settled) c.abort();
          else this.setHealth(true); // the server accepted the watch (a refusal ends it before this)
        },
        (err: unknown) => finish({ kind: "error", err }),
      );
    });
  }
}
