// The controller's own HTTP endpoints: /healthz (the process serves), /readyz (named checks, 503 with
// the failing ones), /metrics (Prometheus text format), and routes other parts register (for example the
// filter binary at /meshlane.wasm).
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { silentLogger, type Logger } from "./log.js";
import type { Registry } from "prom-client";

export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** A named readiness check: true when ready; or `{ ok, reason }` to say why it is not. */
export type ReadyCheck = () => boolean | { ok: boolean; reason?: string };

export interface OpsServerOptions {
  /** Port to listen on; 0 picks a free one. Default 8080. */
  port?: number;
  /** Address to listen on. Default "0.0.0.0" (a pod's probes come from the kubelet). */
  host?: string;
  /** The metrics served at /metrics (a prom-client registry). */
  registry?: Registry;
  /** Readiness checks by name; /readyz is 200 only when all pass. */
  checks?: Record<string, ReadyCheck>;
  logger?: Logger;
}

export class OpsServer {
  private readonly routes = new Map<string, RouteHandler>();
  private readonly checks: Record<string, ReadyCheck>;
  private readonly log: Logger;
  private readonly sockets = new Set<Socket>();
  private server?: http.Server;

  constructor(private readonly opts: OpsServerOptions = {}) {
    this.checks = { ...opts.checks };
    this.log = (opts.logger ?? silentLogger).child({ component: "ops-server" });
    this.route("GET", "/healthz", (_req, res) => text(res, 200, "ok\n"));
    this.route("GET", "/readyz", (req, res) => this.readyz(req, res));
    this.route("GET", "/metrics", async (_req, res) => {
      const registry = this.opts.registry;
      if (!registry) return text(res, 404, "no metrics\n");
      const body = await registry.metrics();
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(body);
    });
  }

  /** Adds or replaces a route; HEAD is served by the GET handler. */
  route(method: string, path: string, handler: RouteHandler): void {
    this.routes.set(`${method.toUpperCase()} ${path}`, handler);
  }

  /** Adds or replaces a readiness check. */
  check(name: string, fn: ReadyCheck): void {
    this.checks[name] = fn;
  }

  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => void this.dispatch(req, res));
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.opts.port ?? 8080, this.opts.host ?? "0.0.0.0", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    this.log.info("serving", { port: this.port });
  }

  /** Stops listening and closes idle keep-alive connections; in-flight requests finish. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const force = setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 5_000);
    await closed;
    clearTimeout(force);
  }

  private readyz(req: http.IncomingMessage, res: http.ServerResponse): void {
    const results = Object.entries(this.checks).map(([name, fn]) => {
      let ok = false;
      let reason: string | undefined;
      try {
        const r = fn();
        if (typeof r === "boolean") ok = r;
        else ({ ok, reason } = r);
      } catch {
        ok = false;
      }
      return [name, ok, reason] as const;
    });
    const failed = results.filter(([, ok]) => !ok);
    const verbose = new URL(req.url ?? "/", "http://x").searchParams.has("verbose");
    const lines = results
      .filter(([, ok]) => verbose || !ok)
      .map(
        ([name, ok, reason]) =>
          `[${ok ? "+" : "-"}]${name} ${ok ? "ok" : "failed"}${!ok && reason ? `: ${reason}` : ""}`,
      );
    lines.push(failed.length ? "readyz check failed" : "ok");
    text(res, failed.length ? 503 : 200, lines.join("\n") + "\n");
  }

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const handler = this.routes.get(`${method} ${path}`);
    try {
      if (!handler) {
        const known = [...this.routes.keys()].some((k) => k.endsWith(` ${path}`));
        return text(res, known ? 405 : 404, known ? "method not allowed\n" : "not found\n");
      }
      await handler(req, res);
    } catch (err) {
      this.log.error("route failed", { path, err });
      if (!res.headersSent) text(res, 500, "internal error\n");
      else res.destroy();
    }
  }
}

function text(res: http.ServerResponse, code: number, body: string): void {
  res.writeHead(code, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * The standard readiness checks: every informer has listed once and its watch is up now (an informer
 * that reports `connected`), and — with leader election — this replica is leading or standing by in
 * touch with the API server.
 */
export function readinessChecks(parts: {
  informers?: { synced: boolean; connected?: boolean }[];
  elector?: { healthy(): boolean };
}): Record<string, ReadyCheck> {
  const checks: Record<string, ReadyCheck> = {
    "informers-synced": () => (parts.informers ?? []).every((i) => i.synced),
    watches: () => (parts.informers ?? []).every((i) => i.connected !== false),
  };
  if (parts.elector) {
    const elector = parts.elector;
    checks["leader-election"] = () => elector.healthy();
  }
  return checks;
}
