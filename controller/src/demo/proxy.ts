// The HTTP plumbing of the demo mesh: a small Envoy-like proxy stage. One request in, the filter (if
// any) runs on its headers the way Envoy's HTTP connection manager drives it, a route picks the
// upstream from the headers as the filter left them, the request goes upstream over a keep-alive
// agent, and the response comes back through the filter before it is written out. Bodies are small
// here, so both directions are buffered (that also gives every message a content-length).
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { HeaderPairs, HttpStream, PropertyInput, RootContext } from "../host/index.js";

/** Where a routed request goes: a port on 127.0.0.1 and a name for messages. */
export interface Upstream {
  port: number;
  name: string;
}

/** Decides the upstream from the request headers after the filter ran; null means no route (404). */
export type Router = (headers: HeaderPairs) => Upstream | null;

export interface ProxyOptions {
  /** Filter plugin to run, or null for a plain proxy (the benchmark's baseline). */
  root: RootContext | null;
  /** Value of xds.listener_direction for this listener (1 inbound, 2 outbound). */
  direction: number;
  agent: http.Agent;
  route: Router;
  /** Sees the request headers as they arrived, before the proxy or the filter touched them. */
  observe?: (headers: HeaderPairs) => void;
  /** Upstream timeout in milliseconds. */
  timeoutMs?: number;
}

const MAX_BODY = 1 << 20;

/** Connection-specific headers a proxy never forwards (RFC 9110 §7.6.1, as Envoy strips them). */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "content-length",
]);

/** The value of the first header named `name` (lower case), or undefined. */
export function headerValue(headers: HeaderPairs, name: string): string | undefined {
  for (const [k, v] of headers) if (k === name) return v;
  return undefined;
}

/** An incoming request as Envoy presents it to filters: pseudo-headers first, `host` as :authority. */
export function requestPairs(req: http.IncomingMessage): HeaderPairs {
  const raw = req.rawHeaders;
  const pairs: HeaderPairs = [
    [":method", req.method ?? "GET"],
    [":path", req.url ?? "/"],
    [":authority", req.headers.host ?? ""],
    [":scheme", "http"],
  ];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (k === "host" || HOP_BY_HOP.has(k)) continue;
    pairs.push([k, raw[i + 1]]);
  }
  return pairs;
}

/** Header pairs as Node's flat header list, pseudo-headers dropped (:authority becomes host). */
function flat(pairs: HeaderPairs, bodyLength: number): string[] {
  const out: string[] = [];
  for (const [k, v] of pairs) {
    if (k === ":authority") out.push("host", v);
    else if (!k.startsWith(":") && !HOP_BY_HOP.has(k)) out.push(k, v);
  }
  out.push("content-length", String(bodyLength));
  return out;
}

/** Reads a whole message body (bounded). */
export function readBody(msg: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    msg.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        msg.destroy(new Error(`body larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    msg.on("end", () => resolve(Buffer.concat(chunks)));
    msg.on("error", reject);
  });
}

interface UpstreamResponse {
  status: number;
  headers: HeaderPairs;
  body: Buffer;
}

/** Sends one request to 127.0.0.1:port and buffers the answer. */
/**
 * An app's GET to its upstream `name` through the listener on `port`: the text to append to the app's
 * own reply (the upstream's body, or `-> name(error: ...)`) and whether the call failed (an error or a
 * status other than 200), which the app answers with 502.
 */
export async function callUpstream(
  agent: http.Agent,
  port: number,
  name: string,
  headers: string[],
  timeoutMs: number,
): Promise<{ text: string; failed: boolean }> {
  try {
    const r = await send(agent, port, "GET", "/", headers, Buffer.alloc(0), timeoutMs);
    return { text: ` ${r.body.toString("utf8").trimEnd()}`, failed: r.status !== 200 };
  } catch (e) {
    return { text: ` -> ${name}(error: ${e instanceof Error ? e.message : String(e)})`, failed: true };
  }
}

export function send(
  agent: http.Agent,
  port: number,
  method: string,
  path: string,
  headers: string[],
  body: Buffer,
  timeoutMs: number,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path, headers, agent, timeout: timeoutMs },
      (res) => {
        readBody(res).then((b) => {
          const raw = res.rawHeaders;
          const pairs: HeaderPairs = [[":status", String(res.statusCode ?? 502)]];
          for (let i = 0; i + 1 < raw.length; i += 2) {
            const k = raw[i].toLowerCase();
            if (!HOP_BY_HOP.has(k)) pairs.push([k, raw[i + 1]]);
          }
          resolve({ status: res.statusCode ?? 502, headers: pairs, body: b });
        }, reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`upstream timeout after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** Envoy-style local answer of the proxy itself (no route, upstream failure). */
function localAnswer(status: number, body: string): UpstreamResponse {
  return {
    status,
    headers: [
      [":status", String(status)],
      ["content-type", "text/plain"],
    ],
    body: Buffer.from(body),
  };
}

/**
 * Handles one request end to end. Never throws: failures become 5xx answers, and the filter stream is
 * always finished (on_log → on_done → on_delete), whatever happened to the connection.
 */
export async function proxy(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  o: ProxyOptions,
): Promise<void> {
  let stream: HttpStream | null = null;
  try {
    let body = await readBody(req);
    let headers = requestPairs(req);
    o.observe?.(headers);
    // The connection manager adds a request id before any filter runs (generate_request_id).
    if (headerValue(headers, "x-request-id") === undefined) headers.push(["x-request-id", randomUUID()]);
    if (o.root !== null) {
      const source = `${req.socket.remoteAddress ?? "127.0.0.1"}:${req.socket.remotePort ?? 0}`;
      const properties: PropertyInput[] = [
        { path: ["xds", "listener_direction"], int: o.direction },
        { path: ["source", "address"], string: source },
      ];
      stream = o.root.newStream({ properties });
      stream.requestHeaders(headers, body.length === 0);
      if (body.length > 0 && stream.localReply === null) {
        stream.requestBody(body, true);
        body = Buffer.from(stream.requestBodyBytes());
      }
      headers = stream.requestHeaderPairs();
    }
    let answer: UpstreamResponse;
    const reply = stream?.localReply ?? null;
    if (reply !== null) {
      // The filter (or the failure policy) answered; Envoy already encoded its headers.
      answer = {
        status: reply.status,
        headers: stream?.responseHeaderPairs() ?? [],
        body: Buffer.from(reply.body),
      };
      write(res, answer);
      return;
    }
    const target = o.route(headers);
    if (target === null) {
      answer = localAnswer(404, `no route for ${headerValue(headers, ":authority") ?? "(no authority)"}\n`);
    } else {
      try {
        answer = await send(
          o.agent,
          target.port,
          headerValue(headers, ":method") ?? "GET",
          headerValue(headers, ":path") ?? "/",
          flat(headers, body.length),
          body,
          o.timeoutMs ?? 30_000,
        );
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        answer = localAnswer(
          503,
          `upstream connect error or disconnect/reset before headers (${target.name}: ${why})\n`,
        );
      }
    }
    if (stream !== null) {
      stream.responseHeaders(answer.headers, answer.body.length === 0);
      const headersOut = stream.responseHeaderPairs();
      if (answer.body.length > 0) {
        stream.responseBody(answer.body, true);
        answer = { ...answer, body: Buffer.from(stream.responseBodyBytes()) };
      }
      answer = { ...answer, headers: headersOut };
    }
    write(res, answer);
  } catch (e) {
    if (!res.headersSent && !res.destroyed) {
      write(res, localAnswer(500, `proxy error: ${e instanceof Error ? e.message : String(e)}\n`));
    } else {
      res.destroy();
    }
  } finally {
    try {
      stream?.finish();
    } catch {
      // A trap is recorded on the VM (vm.trap) and the failure policy applies to later streams.
    }
  }
}

function write(res: http.ServerResponse, answer: UpstreamResponse): void {
  if (res.destroyed) return;
  const status = Number(headerValue(answer.headers, ":status") ?? answer.status);
  res.writeHead(status, flat(answer.headers, answer.body.length));
  res.end(answer.body);
}
