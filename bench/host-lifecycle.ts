// Per-request cost of a filter through the host: the whole lifecycle Envoy drives for one HTTP
// request — context create, request headers (8 typical headers), response headers, on_log, on_done,
// on_delete — with `inFlight` streams alive at once (a sliding window: each iteration opens a stream
// and completes the oldest), so a dispatch whose cost grows with live contexts shows it.

import type { PropertyInput, RootContext } from "../controller/src/host/index.js";

type Pairs = readonly (readonly [string, string])[];

/** Eight headers a typical browser/API request carries past an Istio ingress. */
export const TYPICAL_REQUEST_HEADERS: Pairs = [
  [":method", "GET"],
  [":path", "/api/v1/items?page=2"],
  [":authority", "shop.example.com"],
  [":scheme", "https"],
  ["user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"],
  ["accept", "application/json"],
  ["x-request-id", "7f3c2a8e-6f0b-4d3e-9b7a-2c1d5e4f6a7b"],
  ["x-forwarded-for", "203.0.113.7"],
];

/** A typical upstream response. */
export const TYPICAL_RESPONSE_HEADERS: Pairs = [
  [":status", "200"],
  ["content-type", "application/json"],
  ["content-length", "1234"],
];

export interface LifecycleOptions {
  /** Timed requests. */
  requests: number;
  /** Streams alive at the same time (≥ 1). Default 1. */
  inFlight?: number;
  /** Untimed requests first (JIT warm-up). Default min(requests, 2000). */
  warmup?: number;
  requestHeaders?: Pairs;
  responseHeaders?: Pairs;
  /** Per-stream properties (e.g. source.address, xds.listener_direction). */
  properties?: readonly PropertyInput[];
}

/**
 * Runs `requests` full request lifecycles through the root's VM and returns the mean wall-clock
 * nanoseconds per request. `root` is a root context, or a factory for one (e.g.
 * `async () => (await WasmVm.load(bytes)).createRoot(config)`).
 */
export async function perRequestNs(
  root: RootContext | (() => RootContext | Promise<RootContext>),
  options: LifecycleOptions,
): Promise<number> {
  const r = typeof root === "function" ? await root() : root;
  const inFlight = Math.max(1, options.inFlight ?? 1);
  const reqHeaders = options.requestHeaders ?? TYPICAL_REQUEST_HEADERS;
  const respHeaders = options.responseHeaders ?? TYPICAL_RESPONSE_HEADERS;
  const streamOptions = options.properties ? { properties: options.properties } : {};
  type Stream = ReturnType<RootContext["newStream"]>;
  // A ring of the streams in flight: slot i holds the stream opened inFlight-1 requests ago.
  const ring = new Array<Stream | undefined>(inFlight).fill(undefined);
  let next = 0;

  const one = (): void => {
    const s = r.newStream(streamOptions);
    s.requestHeaders(reqHeaders, true);
    const slot = next;
    next = next + 1 === inFlight ? 0 : next + 1;
    const oldest = inFlight === 1 ? s : ring[next];
    ring[slot] = s;
    if (oldest !== undefined) {
      oldest.responseHeaders(respHeaders, true);
      oldest.finish();
      if (oldest !== s) ring[next] = undefined;
    }
  };

  const warmup = options.warmup ?? Math.min(options.requests, 2000);
  for (let i = 0; i < warmup; i++) one();
  const start = process.hrtime.bigint();
  for (let i = 0; i < options.requests; i++) one();
  const elapsed = process.hrtime.bigint() - start;
  for (const s of ring) {
    if (s !== undefined && !s.finished) {
      s.responseHeaders(respHeaders, true);
      s.finish();
    }
  }
  return Number(elapsed) / options.requests;
}
