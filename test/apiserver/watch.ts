// Watches: the history of changes kept for resuming, and the open watch streams each change is
// delivered to, filtered by namespace and selector as the real server filters them.
import type http from "node:http";
import { type JsonObject } from "./json.js";
import { apiVersionOf, groupResource, type ResourceType } from "./resources.js";
import { type Matcher } from "./selectors.js";
import { ApiError, statusBody } from "./status.js";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

/** One change: the object after it (as last stored, for a deletion) and before it. */
export interface HistoryEvent {
  rv: number;
  gr: string;
  type: EventType;
  namespace: string;
  obj: JsonObject;
  prev?: JsonObject;
}

interface Watcher {
  gr: string;
  rt: ResourceType;
  version: string;
  namespace: string;
  matches: Matcher;
  res: http.ServerResponse;
  timers: NodeJS.Timeout[];
}

/** What a new watch asks for. */
export interface WatchRequest {
  rt: ResourceType;
  version: string;
  /** "" for every namespace. */
  namespace: string;
  matches: Matcher;
  q: URLSearchParams;
  /** The objects a watch from now starts with (ADDED each), rendered in `version`. */
  existing: () => Iterable<JsonObject>;
}

export class WatchHub {
  private history: HistoryEvent[] = [];
  private compactedRv: number;
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly opts: { historyLimit: number; bookmarkIntervalMs: number },
    /** The server's current resourceVersion. */
    private readonly currentRv: () => number,
  ) {
    this.compactedRv = currentRv();
  }

  /** Open watch connections. */
  get size(): number {
    return this.watchers.size;
  }

  /** Records a change and delivers it to the watches of its resource. */
  publish(ev: HistoryEvent): void {
    this.history.push(ev);
    while (this.history.length > this.opts.historyLimit) {
      const dropped = this.history.shift() as HistoryEvent;
      this.compactedRv = dropped.rv;
    }
    for (const w of this.watchers) if (w.gr === ev.gr) this.deliver(w, ev);
  }

  /** Forgets the history: a resume from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.history = [];
    this.compactedRv = this.currentRv();
  }

  /** Ends every watch, cut (`abrupt`) or with a clean end of stream; returns how many. */
  closeAll(abrupt: boolean): number {
    const n = this.watchers.size;
    for (const w of [...this.watchers]) this.close(w, abrupt);
    return n;
  }

  /** Answers a watch request on `res`: from now (existing objects first) or from a resourceVersion. */
  open(res: http.ServerResponse, r: WatchRequest): void {
    const { rt, version, namespace: ns, matches, q } = r;
    const rvParam = q.get("resourceVersion") ?? "";
    const initial = q.get("sendInitialEvents") === "true";
    let from: number | undefined;
    if (rvParam !== "" && rvParam !== "0" && !initial) {
      from = Number(rvParam);
      if (!Number.isInteger(from) || from < 0) {
        throw new ApiError(400, "BadRequest", `invalid resource version: ${rvParam}`);
      }
    }
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-cache, private" });
    res.flushHeaders();
    const w: Watcher = { gr: groupResource(rt), rt, version, namespace: ns, matches, res, timers: [] };
    if (from !== undefined && from < this.compactedRv) {
      const msg = `too old resource version: ${from} (${this.compactedRv + 1})`;
      res.end(JSON.stringify({ type: "ERROR", object: statusBody(410, "Expired", msg) }) + "\n");
      return;
    }
    this.watchers.add(w);
    res.on("close", () => this.close(w, false));
    const bookmark = (extra: JsonObject = {}) =>
      this.write(w, "BOOKMARK", {
        kind: rt.kind,
        metadata: { resourceVersion: String(this.currentRv()), ...extra },
      });
    if (from === undefined) {
      for (const o of r.existing()) if (matches(o)) this.write(w, "ADDED", o);
      if (initial && q.get("allowWatchBookmarks") === "true") {
        bookmark({ annotations: { "k8s.io/initial-events-end": "true" } });
      }
    } else {
      for (const ev of this.history) if (ev.gr === w.gr && ev.rv > from) this.deliver(w, ev);
    }
    const timeout = Number(q.get("timeoutSeconds") ?? 0);
    if (timeout > 0) w.timers.push(setTimeout(() => this.close(w, false), timeout * 1000));
    if (q.get("allowWatchBookmarks") === "true") {
      w.timers.push(setInterval(() => bookmark(), this.opts.bookmarkIntervalMs));
    }
  }

  private write(w: Watcher, type: string, obj: JsonObject): void {
    if (w.res.destroyed || w.res.writableEnded) return;
    const o = type === "ERROR" ? obj : { ...obj, apiVersion: apiVersionOf(w.rt, w.version) };
    w.res.write(JSON.stringify({ type, object: o }) + "\n");
  }

  /** A change as this watch sees it: an object that starts or stops matching is ADDED or DELETED. */
  private deliver(w: Watcher, ev: HistoryEvent): void {
    if (w.namespace && ev.namespace !== w.namespace) return;
    const now = ev.type !== "DELETED" && w.matches(ev.obj);
    const before = ev.prev !== undefined && w.matches(ev.prev);
    let type: string | undefined;
    if (ev.type === "ADDED") type = now ? "ADDED" : undefined;
    else if (ev.type === "DELETED") type = w.matches(ev.obj) ? "DELETED" : undefined;
    else if (now && before) type = "MODIFIED";
    else if (now) type = "ADDED";
    else if (before) type = "DELETED";
    if (type) this.write(w, type, ev.obj);
  }

  private close(w: Watcher, abrupt: boolean): void {
    if (!this.watchers.delete(w)) return;
    for (const t of w.timers) clearTimeout(t);
    if (abrupt) w.res.destroy();
    else w.res.end();
  }
}
