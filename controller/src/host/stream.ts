// One HTTP request/response through the filter, as Envoy's wasm Context drives it: headers, bodies
// and trailers delivered to the proxy_on_* callbacks with Envoy's conversion of their results, header
// maps the module may touch only while the callback that delivered them may, local replies, the
// failure policy once the VM has failed, and proxy_on_log/done/delete at the end.

import {
  BufferType,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  GRPC_STATUS_MAX_KNOWN,
  GRPC_STATUS_UNAVAILABLE,
  LogLevel,
  WasmResult,
} from "./abi.js";
import { ContextBase, type ContextVm, type Plugin, type WasmFn } from "./context.js";
import { HeaderMap, type HeaderPairs } from "./headers.js";
import { byteLength } from "./memory.js";
import { stringValue, type PropertyInput, type PropertyResult, type PropertyTree } from "./properties.js";
import { headerProperty, streamProperties } from "./stream-properties.js";
import { WasmTrap } from "./trap.js";

/** A local reply: sent by the filter (proxy_send_local_response) or by the failure policy. */
export interface LocalReply {
  status: number;
  body: string;
  /** Response code details; Envoy replaces whitespace with "_". */
  details: string;
  /** Additional response headers the filter asked for. */
  headers: HeaderPairs;
  /** gRPC status, or null when the filter passed none (e.g. -1). */
  grpcStatus: number | null;
  source: "filter" | "wasm_fail_stream";
}

const EMPTY = new Uint8Array(0);
const EMPTY_PAIRS: HeaderPairs = [];

function headersStatus(raw: number, stop: boolean): number {
  // Context::convertVmCallResultToFilterHeadersStatus: StopIteration and anything out of range (or a
  // local reply sent during the call) become StopAllIterationAndWatermark.
  if (
    stop ||
    raw > FilterHeadersStatus.StopAllIterationAndWatermark ||
    raw === FilterHeadersStatus.StopIteration
  ) {
    return FilterHeadersStatus.StopAllIterationAndWatermark;
  }
  return raw;
}
function dataStatus(raw: number, stop: boolean): number {
  return stop || raw > FilterDataStatus.StopIterationNoBuffer ? FilterDataStatus.StopIterationNoBuffer : raw;
}
function trailersStatus(raw: number, stop: boolean): number {
  return stop || raw !== FilterTrailersStatus.Continue
    ? FilterTrailersStatus.StopIteration
    : FilterTrailersStatus.Continue;
}

type Phase = "headers" | "data" | "trailers";

/** One HTTP request/response through the filter. */
export class HttpStream extends ContextBase {
  /** Effective action of on_request_headers (after Envoy's conversion), or null if not called. */
  requestHeadersAction: number | null = null;
  /** Effective action of on_response_headers, or null. */
  responseHeadersAction: number | null = null;
  /** Local reply sent by the filter or by the failure policy, or null. */
  localReply: LocalReply | null = null;
  /** Fail-open: the VM had failed and the filter was skipped for this stream. */
  skipped = false;
  /** The trap this stream ran into, if any. */
  trap: WasmTrap | null = null;
  private streamCallList: { op: "continue" | "close"; streamType: number }[] | null = null;
  /** True after finish(). */
  finished = false;

  /** on_context_create was called. */
  private created = false;
  private readonly props: PropertyTree | null;
  private req: HeaderMap | null = null;
  private reqLive = false;
  private reqTrailers: HeaderMap | null = null;
  private reqTrailersLive = false;
  private resp: HeaderMap | null = null;
  private respLive = false;
  private respFromLocalReply = false;
  private respTrailers: HeaderMap | null = null;
  private respTrailersLive = false;
  private reqBody: Uint8Array | null = null;
  private respBody: Uint8Array | null = null;
  private stopNext = false;
  private streamFailed = false;
  private pendingTrap: WasmTrap | null = null;

  /**
   * Opens a stream on `root` (RootContext.newStream): a new context id, reachable by id, and
   * proxy_on_context_create(stream, root) unless the VM has failed. Throws WasmTrap on a trap.
   */
  static open(vm: ContextVm, root: Plugin, properties?: readonly PropertyInput[]): HttpStream {
    const s = new HttpStream(vm, vm.nextContextId(), root, properties);
    vm.addContext(s);
    const f = vm.callbacks.onContextCreate;
    if (!vm.failed) {
      s.created = true;
      if (f) vm.call("proxy_on_context_create", f, s, s.id, root.id);
    }
    return s;
  }

  private constructor(
    vm: ContextVm,
    id: number,
    /** The plugin this stream runs on. */ readonly root: Plugin,
    properties?: readonly PropertyInput[],
  ) {
    super(vm, id);
    this.props = properties && properties.length > 0 ? streamProperties(properties) : null;
  }

  override rootContext(): Plugin {
    return this.root;
  }

  /**
   * Delivers request headers (Envoy decodeHeaders): keys lower-cased, pseudo-headers first, `host`
   * as `:authority`; calls proxy_on_request_headers(stream, entry count, end_of_stream) and returns
   * the effective action (StopIteration and out-of-range values become StopAllIterationAndWatermark,
   * as does a call that sent a local reply). The map stays readable and writable by the module until
   * a headers callback returns Continue. A local reply sent here is then encoded through
   * on_response_headers, as Envoy runs it through the encoder filters.
   */
  requestHeaders(headers: Iterable<readonly [string, string]>, endOfStream = false): number {
    this.assertOpen();
    if (this.req !== null) throw new Error(`stream ${this.id}: request headers were already delivered`);
    this.req = HeaderMap.fromCaller(headers);
    this.reqLive = true;
    const action = this.run(
      "headers",
      "proxy_on_request_headers",
      this.vm.callbacks.onRequestHeaders,
      this.req.count,
      endOfStream,
    );
    this.requestHeadersAction = action;
    if (action === FilterHeadersStatus.Continue) this.reqLive = false;
    if (this.localReply?.source === "filter" && this.resp === null) this.encodeLocalReply();
    this.raise();
    return action;
  }

  /** Request headers as they stand now (after the filter's changes), pseudo-headers first. */
  requestHeaderPairs(): HeaderPairs {
    return this.req?.pairs() ?? EMPTY_PAIRS;
  }

  /**
   * Delivers a request body chunk (buffer type 0) to proxy_on_request_body(stream, size, eos) and
   * returns the effective FilterDataStatus. The body can be changed with proxy_set_buffer_bytes.
   */
  requestBody(data: string | Uint8Array, endOfStream = true): number {
    this.assertOpen();
    this.reqBody = typeof data === "string" ? stringValue(data) : data;
    const action = this.run(
      "data",
      "proxy_on_request_body",
      this.vm.callbacks.onRequestBody,
      this.reqBody.length,
      endOfStream,
    );
    this.raise();
    return action;
  }

  /** The request body as it stands after the filter. */
  requestBodyBytes(): Uint8Array {
    return this.reqBody ?? EMPTY;
  }

  /** Delivers request trailers (map type 1) to proxy_on_request_trailers; returns the effective status. */
  requestTrailers(trailers: Iterable<readonly [string, string]>): number {
    this.assertOpen();
    this.reqTrailers = HeaderMap.fromCaller(trailers);
    this.reqTrailersLive = true;
    const action = this.run(
      "trailers",
      "proxy_on_request_trailers",
      this.vm.callbacks.onRequestTrailers,
      this.reqTrailers.count,
      false,
    );
    if (action === FilterTrailersStatus.Continue) this.reqTrailersLive = false;
    this.raise();
    return action;
  }

  /** Request trailers as they stand now. */
  requestTrailerPairs(): HeaderPairs {
    return this.reqTrailers?.pairs() ?? EMPTY_PAIRS;
  }

  /**
   * Delivers response headers (Envoy encodeHeaders) to proxy_on_response_headers and returns the
   * effective action; same lifetime rule as request headers. After a local reply the upstream
   * response never reaches the filter: this returns the action recorded for the local reply.
   */
  responseHeaders(headers: Iterable<readonly [string, string]>, endOfStream = false): number {
    this.assertOpen();
    if (this.respFromLocalReply) return this.responseHeadersAction ?? FilterHeadersStatus.Continue;
    if (this.resp !== null) throw new Error(`stream ${this.id}: response headers were already delivered`);
    const action = this.encodeHeaders(HeaderMap.fromCaller(headers), endOfStream);
    this.raise();
    return action;
  }

  /** Response headers as they stand now (the local reply's, if one was sent). */
  responseHeaderPairs(): HeaderPairs {
    return this.resp?.pairs() ?? EMPTY_PAIRS;
  }

  /** Delivers a response body chunk (buffer type 1) to proxy_on_response_body. */
  responseBody(data: string | Uint8Array, endOfStream = true): number {
    this.assertOpen();
    this.respBody = typeof data === "string" ? stringValue(data) : data;
    const action = this.run(
      "data",
      "proxy_on_response_body",
      this.vm.callbacks.onResponseBody,
      this.respBody.length,
      endOfStream,
    );
    this.raise();
    return action;
  }

  /** The response body as it stands after the filter. */
  responseBodyBytes(): Uint8Array {
    return this.respBody ?? EMPTY;
  }

  /** Delivers response trailers (map type 3) to proxy_on_response_trailers. */
  responseTrailers(trailers: Iterable<readonly [string, string]>): number {
    this.assertOpen();
    this.respTrailers = HeaderMap.fromCaller(trailers);
    this.respTrailersLive = true;
    const action = this.run(
      "trailers",
      "proxy_on_response_trailers",
      this.vm.callbacks.onResponseTrailers,
      this.respTrailers.count,
      false,
    );
    if (action === FilterTrailersStatus.Continue) this.respTrailersLive = false;
    this.raise();
    return action;
  }

  /** Response trailers as they stand now. */
  responseTrailerPairs(): HeaderPairs {
    return this.respTrailers?.pairs() ?? EMPTY_PAIRS;
  }

  /**
   * Ends the stream as Envoy does: proxy_on_log (request and response maps readable, not writable),
   * then proxy_on_done, then proxy_on_delete; the context id is then gone. Nothing is called on a
   * failed VM. Idempotent. Throws WasmTrap on a trap.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const vm = this.vm;
    const f = vm.callbacks;
    if (this.created && !vm.failed) {
      try {
        if (f.onLog) {
          this.logPhase = true;
          try {
            vm.call("proxy_on_log", f.onLog, this, this.id);
          } finally {
            this.logPhase = false;
          }
        }
        if (f.onDone) vm.call("proxy_on_done", f.onDone, this, this.id);
        if (f.onDelete) vm.call("proxy_on_delete", f.onDelete, this, this.id);
      } catch (e) {
        if (!(e instanceof WasmTrap)) throw e;
        this.trap = e;
        this.pendingTrap = e;
      }
    }
    vm.removeContext(this.id);
    this.raise();
  }

  /** proxy_continue_stream / proxy_close_stream calls, in order. */
  get streamCalls(): { op: "continue" | "close"; streamType: number }[] {
    return (this.streamCallList ??= []);
  }

  /** Convenience: the stream's HTTP status (local reply first, else the response's :status), or null. */
  get status(): number | null {
    if (this.localReply !== null) return this.localReply.status;
    const s = this.resp?.get(":status");
    return s === undefined ? null : Number(s);
  }

  // ---- host-call side ----

  override headerMap(type: number, write: boolean): HeaderMap | null {
    switch (type) {
      case 0:
        return this.reqLive ? this.req : this.logPhase && !write ? this.req : null;
      case 1:
        return this.reqTrailersLive ? this.reqTrailers : null;
      case 2:
        return this.respLive ? this.resp : this.logPhase && !write ? this.resp : null;
      case 3:
        return this.respTrailersLive ? this.respTrailers : this.logPhase && !write ? this.respTrailers : null;
      default:
        return null;
    }
  }

  override buffer(type: number): Uint8Array | null {
    if (type === BufferType.HttpRequestBody) return this.reqBody ?? EMPTY;
    if (type === BufferType.HttpResponseBody) return this.respBody ?? EMPTY;
    return super.buffer(type);
  }

  /**
   * Envoy's Buffer::copyFrom on a body: start 0 drains `length` bytes and prepends the data (length
   * ≥ size replaces the whole body); start at or past the end appends; anything else is BadArgument.
   */
  override setBuffer(type: number, start: number, length: number, data: Uint8Array): WasmResult {
    const isReq = type === BufferType.HttpRequestBody;
    if (!isReq && type !== BufferType.HttpResponseBody) return WasmResult.NotFound;
    const cur = (isReq ? this.reqBody : this.respBody) ?? EMPTY;
    let next: Uint8Array;
    if (start === 0) next = Buffer.concat([data, cur.subarray(Math.min(length, cur.length))]);
    else if (start >= cur.length) next = Buffer.concat([cur, data]);
    else return WasmResult.BadArgument;
    if (isReq) this.reqBody = next;
    else this.respBody = next;
    return WasmResult.Ok;
  }

  override property(path: string): PropertyResult {
    if (this.props !== null) {
      const r = this.props.lookup(path);
      if (r.code !== WasmResult.NotFound) return r;
    }
    return super.property(path);
  }

  /** request.* and response.code from the headers (see headerProperty), then the plugin's. */
  protected override derived(path: string): PropertyResult | undefined {
    return headerProperty(path, this.req, this.reqLive || this.logPhase, this.resp) ?? super.derived(path);
  }

  override setProperty(path: string, value: Uint8Array): WasmResult {
    (this.setProps ??= new Map()).set(path, value);
    return WasmResult.Ok;
  }

  /**
   * proxy_send_local_response: the first reply wins; details get whitespace replaced by "_"; a gRPC
   * status outside 0..16 means none. The callback's result becomes a Stop.
   */
  override sendLocalResponse(
    status: number,
    body: string,
    details: string,
    headers: HeaderPairs,
    grpc: number,
  ): void {
    this.stopNext = true;
    if (this.localReply !== null) {
      this.vm.hostLog(LogLevel.debug, `second local reply (${status}) ignored`, this);
      return;
    }
    this.localReply = {
      status,
      body,
      details: details.replace(/\s/g, "_"),
      headers,
      grpcStatus: grpc >= 0 && grpc <= GRPC_STATUS_MAX_KNOWN ? grpc : null,
      source: "filter",
    };
  }

  override streamCall(op: "continue" | "close", type: number): void {
    (this.streamCallList ??= []).push({ op, streamType: type });
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.finished) throw new Error(`stream ${this.id} is finished`);
  }

  private encodeHeaders(map: HeaderMap, endOfStream: boolean): number {
    this.resp = map;
    this.respLive = true;
    const action = this.run(
      "headers",
      "proxy_on_response_headers",
      this.vm.callbacks.onResponseHeaders,
      map.count,
      endOfStream,
    );
    this.responseHeadersAction = action;
    if (action === FilterHeadersStatus.Continue) this.respLive = false;
    return action;
  }

  /** Envoy's local reply headers (:status, content-length/-type for a body, then the extras). */
  private encodeLocalReply(): void {
    const lr = this.localReply as LocalReply;
    const pairs: HeaderPairs = [[":status", String(lr.status)]];
    if (lr.body.length > 0)
      pairs.push(["content-length", String(byteLength(lr.body))], ["content-type", "text/plain"]);
    pairs.push(...lr.headers);
    this.respFromLocalReply = true;
    this.encodeHeaders(HeaderMap.fromCaller(pairs), lr.body.length === 0);
  }

  /** Runs one stream callback with Envoy's CHECK_FAIL before and after it. */
  private run(
    phase: Phase,
    name: string,
    fn: WasmFn | undefined,
    size: number,
    endOfStream: boolean,
  ): number {
    const vm = this.vm;
    if (vm.failed || !this.created) return this.failurePolicy(phase);
    if (fn === undefined) return 0;
    this.stopNext = false;
    let raw: number;
    try {
      raw = vm.call(name, fn, this, this.id, size, endOfStream ? 1 : 0) >>> 0;
    } catch (e) {
      if (!(e instanceof WasmTrap)) throw e;
      this.trap = e;
      this.pendingTrap = e;
      return this.failurePolicy(phase);
    }
    const stop = this.stopNext;
    this.stopNext = false;
    if (phase === "headers") return headersStatus(raw, stop);
    if (phase === "data") return dataStatus(raw, stop);
    return trailersStatus(raw, stop);
  }

  /** CHECK_FAIL: fail-open continues without the filter; fail-closed answers 503 wasm_fail_stream once. */
  private failurePolicy(phase: Phase): number {
    const vm = this.vm;
    if (vm.failOpen) {
      if (!this.skipped) {
        this.skipped = true;
        vm.hostLog(LogLevel.warn, `wasm VM failed (${vm.trap}): fail-open, filter skipped`, this);
      }
      return 0;
    }
    if (!this.streamFailed) {
      this.streamFailed = true;
      if (this.localReply === null || this.localReply.source === "filter") {
        this.localReply = {
          status: 503,
          body: "",
          details: "wasm_fail_stream",
          headers: [],
          grpcStatus: GRPC_STATUS_UNAVAILABLE,
          source: "wasm_fail_stream",
        };
      }
    }
    if (phase === "headers") return FilterHeadersStatus.StopAllIterationAndWatermark;
    if (phase === "data") return FilterDataStatus.StopIterationNoBuffer;
    return FilterTrailersStatus.StopIteration;
  }

  private raise(): void {
    const t = this.pendingTrap;
    if (t !== null) {
      this.pendingTrap = null;
      if (this.vm.throwOnTrap) throw t;
    }
  }
}
