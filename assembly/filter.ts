// The filter's contexts: a root context per plugin configuration and a stream context per request.
// This is the only lane code that talks to the proxy (through ./abi); deciding is done by the pure
// modules. Nothing here throws: a missing header is null, a malformed value is "no lane".
//
// Sidecar trace keys: every configured trace header the request carries is a key (Envoy gives an
// outbound request without x-request-id a fresh one, so the header an app kept need not be the first
// present). Inbound, the lane is remembered (or, without a lane, forgotten) under each key. Outbound,
// the keys are tried in configured order and the first with a live record decides: its lane, or no
// lane when it is conflicted — later keys are not read, so a conflict (a forged or reused key) never
// lets another key's lane through. An inbound request counts one conflict however many keys clashed.
// A waypoint (ambient mode) sees each hop once: it remembers like inbound when the request carries
// its lane, and restores like outbound when it does not, through the same methods.
import * as abi from "./abi";
import { Config, ROLE_EDGE, ROLE_SIDECAR, ROLE_WAYPOINT, parseConfig } from "./config";
import { inAny } from "./match";
import {
  Decision,
  Rng,
  SOURCE_BAGGAGE,
  SOURCE_HEADER,
  SOURCE_MEMORY,
  SOURCE_NONE,
  decide,
  sourceName,
} from "./dye";
import { carriesOnly, removeBaggage, setBaggage } from "./lib/baggage";
import { traceKey } from "./trace";
import { CONFLICT, REMEMBER_CONFLICT, forget, recall, remember } from "./memory";
import { HostRequest } from "./request";
import { random_get } from "./wasi";
import { intText, isLaneName, isToken } from "./lib/text";
import { isNone, sameString, strLen } from "./lib/raw";
import {
  DIRECTION_GATEWAY,
  DIRECTION_INBOUND,
  DIRECTION_OUTBOUND,
  DIRECTION_UNKNOWN,
  LaneMetrics,
  directionName,
} from "./metrics";

const XDS_LISTENER_DIRECTION = abi.propertyPath("xds\0listener_direction");
const BAGGAGE = String.UTF8.encode("baggage");
const LISTENER_DIRECTION = abi.propertyPath("listener_direction");

function seed(): u64 {
  const buf = memory.data(8);
  store<u64>(buf, 0);
  random_get(buf, 8);
  return load<u64>(buf) ^ abi.nowNanos();
}

/** One plugin configuration. Envoy creates one per config and, on an update, a new one in the same
 * VM before retiring the old; each keeps its own config and metrics cache. */
export class Root {
  config: Config | null = null;
  rng: Rng = new Rng(0);
  metrics: LaneMetrics = new LaneMetrics();

  // What apply() writes, encoded once per lane rather than on every request: the lane header's name,
  // the last lane, and "key=lane" for a request without baggage (null when the key is not a token or
  // the lane not a lane name: then the general setBaggage applies).
  laneHeaderBytes: ArrayBuffer = new ArrayBuffer(0);
  private preparedLane: string = "";
  laneBytes: ArrayBuffer = new ArrayBuffer(0);
  memberBytes: ArrayBuffer | null = null;

  constructor(public id: u32) {}

  /** Makes laneBytes and memberBytes those of `lane` (the key is this root's config's). */
  prepare(key: string, lane: string): void {
    if (sameString(lane, this.preparedLane)) return;
    this.preparedLane = lane;
    this.laneBytes = String.UTF8.encode(lane);
    this.memberBytes = isToken(key) && isLaneName(lane) ? String.UTF8.encode(key + "=" + lane) : null;
  }

  configure(text: string): bool {
    abi.refreshLogLevel();
    const result = parseConfig(text);
    const cfg = result.config;
    if (cfg === null) {
      abi.log(abi.LOG_ERROR, "meshlane: rejected plugin configuration: " + result.error);
      return false;
    }
    this.config = cfg;
    this.laneHeaderBytes = String.UTF8.encode(cfg.laneHeader);
    this.preparedLane = "";
    this.rng = new Rng(seed());
    this.metrics = new LaneMetrics();
    abi.log(
      abi.LOG_INFO,
      "meshlane: configured role=" +
        (cfg.role == ROLE_EDGE ? "edge" : cfg.role == ROLE_SIDECAR ? "sidecar" : "waypoint") +
        " rules=" +
        intText(cfg.rules.length),
    );
    return true;
  }

  // Counter ids (id + 1; 0 until defined): meshlane_trace_conflicts_total by direction in slots 0-3,
  // meshlane_trace_lookups_total by result in slots 4-6.
  private traceIds: StaticArray<u32> = new StaticArray<u32>(7);

  /** Increments the counter of `slot`, defined on first use as `tag=.=value;.;name` (tags first, as
   * metrics.ts explains). */
  private bump(slot: i32, tag: string, value: string, name: string): void {
    let id = unchecked(this.traceIds[slot]) - 1;
    if (id == u32.MAX_VALUE) {
      id = abi.defineMetric(abi.METRIC_COUNTER, tag + "=.=" + value + ";.;" + name);
      unchecked((this.traceIds[slot] = id + 1));
    }
    abi.incrementCounter(id);
  }

  /** Counts a trace key seen with two lanes, in meshlane_trace_conflicts_total (Istio's tag form):
   * direction inbound when a request found its key live with another lane, outbound when a lane
   * was not restored for a conflicted key. */
  countConflict(direction: i32): void {
    this.bump(direction & 3, "direction", directionName(direction), "meshlane_trace_conflicts_total");
  }

  /** Counts one trace memory lookup in meshlane_trace_lookups_total (Istio's tag form), tag result
   * hit (a lane restored), miss (no live record, or a lane off the allow-list), conflict. */
  countLookup(result: i32): void {
    this.bump(
      4 + result,
      "result",
      result == LOOKUP_HIT ? "hit" : result == LOOKUP_MISS ? "miss" : "conflict",
      "meshlane_trace_lookups_total",
    );
  }
}

const LOOKUP_HIT: i32 = 0;
const LOOKUP_MISS: i32 = 1;
const LOOKUP_CONFLICT: i32 = 2;

// One request is handled at a time in a VM, so its scratch objects are reused rather than allocated.
const REQUEST = new HostRequest();
const DECISION = new Decision();
const DONE = new Config();

/** One request. */
export class Stream {
  lane: string = "";
  /** Where the response is measured (DIRECTION_GATEWAY or DIRECTION_INBOUND), DIRECTION_UNKNOWN when
   * it is not; and when the request headers arrived (the proxy's clock, nanoseconds). */
  timed: i32 = DIRECTION_UNKNOWN;
  startNs: u64 = 0;
  /** Next finished stream kept for reuse (see dispatch.ts). */
  spare: Stream | null = null;

  constructor(
    public id: u32,
    public root: Root,
  ) {}

  /** Makes a finished stream's object the context of a new request. */
  reuse(id: u32, root: Root): void {
    this.id = id;
    this.root = root;
    this.lane = "";
    this.timed = DIRECTION_UNKNOWN;
    this.spare = null;
  }

  onRequestHeaders(): void {
    const cfg = this.root.config;
    if (cfg === null) return;
    const req = REQUEST;
    req.reset(cfg, abi.REQUEST_HEADERS);
    if (cfg.role == ROLE_SIDECAR) this.sidecar(cfg, req);
    else if (cfg.role == ROLE_WAYPOINT) this.waypoint(cfg, req);
    else this.edge(cfg, req);
    req.headers.release();
    req.reset(DONE, -1);
  }

  onResponseHeaders(): void {
    const cfg = this.root.config;
    if (cfg === null) return;
    if (strLen(cfg.echoHeader) > 0 && strLen(this.lane) > 0)
      abi.replaceHeader(abi.RESPONSE_HEADERS, cfg.echoHeader, this.lane);
    const direction = this.timed;
    if (direction == DIRECTION_UNKNOWN) return;
    // Measured once: a second response-headers call (none in Envoy) is not counted again.
    this.timed = DIRECTION_UNKNOWN;
    const cls = abi.responseStatusClass();
    const now = abi.nowNanos();
    // The proxy's clock is wall time: a step back during the request counts as 0 ms.
    const ms = now > this.startNs ? (now - this.startNs) / 1_000_000 : 0;
    this.root.metrics.response(
      cfg,
      this.lane,
      cfg.role == ROLE_EDGE ? "edge" : cfg.role == ROLE_SIDECAR ? "sidecar" : "waypoint",
      direction,
      cls,
      ms,
    );
  }

  /** The incoming lane from header, else baggage, when allowed; null otherwise. */
  private incoming(cfg: Config, req: HostRequest, d: Decision): void {
    const h = req.header(cfg.laneHeader);
    if (h !== null && cfg.allows(h)) {
      d.lane = h;
      d.source = SOURCE_HEADER;
      return;
    }
    if (strLen(cfg.baggageKey) > 0) {
      const b = req.baggage(cfg.baggageKey);
      if (b !== null && cfg.allows(b)) {
        d.lane = b;
        d.source = SOURCE_BAGGAGE;
      }
    }
  }

  /** Removes the lane header and baggage member (no host call when neither is there). */
  private strip(cfg: Config, req: HostRequest): void {
    if (req.headers.find(cfg.laneHeader)) {
      abi.removeHeader(abi.REQUEST_HEADERS, cfg.laneHeader);
      req.laneStripped = true;
    }
    if (strLen(cfg.baggageKey) == 0) return;
    const v = req.baggageValue();
    if (isNone(v)) return;
    const b = changetype<string>(v);
    if (b.indexOf(cfg.baggageKey) < 0) return;
    const rest = removeBaggage(b, cfg.baggageKey);
    if (rest.length == 0) {
      abi.removeHeader(abi.REQUEST_HEADERS, "baggage");
      req.setBaggageValue(null);
    } else if (rest != b) {
      abi.replaceHeader(abi.REQUEST_HEADERS, "baggage", rest);
      req.setBaggageValue(rest);
    }
  }

  /** Puts the lane on the request: the header, and the baggage member when baggage is on. */
  private apply(cfg: Config, req: HostRequest, lane: string): void {
    const root = this.root;
    root.prepare(cfg.baggageKey, lane);
    abi.replaceHeaderBytes(abi.REQUEST_HEADERS, root.laneHeaderBytes, root.laneBytes);
    if (strLen(cfg.baggageKey) == 0) return;
    const b = req.baggageValue();
    const member = root.memberBytes;
    if (isNone(b) && member !== null) {
      // No baggage yet: setBaggage("", key, lane) is exactly "key=lane" (a lane name needs no
      // percent-encoding and is far below the size limits). Nothing reads the baggage after apply().
      abi.replaceHeaderBytes(abi.REQUEST_HEADERS, BAGGAGE, member);
      return;
    }
    // Baggage that already carries the lane in exactly one member is left as it is (in one entry or
    // several); otherwise every entry is replaced by one list: the lane member first, then every
    // other member in order, within W3C's limits.
    if (b !== null && carriesOnly(b, cfg.baggageKey, lane)) return;
    const merged = setBaggage(b === null ? "" : b, cfg.baggageKey, lane);
    if (merged === null) {
      abi.log(abi.LOG_DEBUG, "meshlane: baggage full; lane kept in the header only");
      return;
    }
    abi.replaceHeader(abi.REQUEST_HEADERS, "baggage", merged);
    req.setBaggageValue(merged);
  }

  /** Edge: keep a trusted incoming lane, else strip it and dye by the rules. */
  private edge(cfg: Config, req: HostRequest): void {
    if (cfg.responseMetrics) {
      this.timed = DIRECTION_GATEWAY;
      this.startNs = abi.nowNanos();
    }
    let d = DECISION;
    d.reset();
    let trusted = false;
    if (cfg.trustedSources.length > 0) trusted = inAny(cfg.trustedSources, req.sourceIp());
    if (trusted) this.incoming(cfg, req, d);
    if (d.source == SOURCE_NONE) {
      this.strip(cfg, req);
      decide<HostRequest>(cfg, req, this.root.rng, d);
    }
    this.finish(cfg, req, d, "edge", DIRECTION_GATEWAY);
  }

  /** The key of the i-th configured trace header, or null when the request lacks it or its value
   * makes no key. */
  private traceKeyAt(cfg: Config, req: HostRequest, i: i32): string | null {
    const name = unchecked(cfg.traceHeaders[i]);
    const v = req.headers.get(name);
    return v === null ? null : traceKey(name, v);
  }

  /** Inbound: remembers `lane` under the key of every configured trace header the request has ("":
   * forgets, as for a request without a lane). `nowNs`: the clock already read, or 0. Whether any of
   * those keys became conflicted. */
  private rememberAll(cfg: Config, req: HostRequest, lane: string, nowNs: u64): bool {
    const now = <i64>((nowNs != 0 ? nowNs : abi.nowNanos()) / 1_000_000_000);
    let conflict = false;
    for (let i = 0; i < cfg.traceHeaders.length; i++) {
      const key = this.traceKeyAt(cfg, req, i);
      if (key === null) continue;
      const r =
        lane.length > 0
          ? remember(key, lane, cfg.capacity, now, cfg.ttlSeconds, false)
          : forget(key, cfg.capacity, now, cfg.ttlSeconds);
      if (r == REMEMBER_CONFLICT) conflict = true;
    }
    return conflict;
  }

  /** Outbound: what the first key (in configured order) of the request's trace headers that has a
   * live record holds: its lane, or CONFLICT. Later keys are not read once one has a record, so a
   * conflicted key is never passed over for another key's lane. Null when no key has a record. */
  private recallFirst(cfg: Config, req: HostRequest): string | null {
    const now = nowSeconds();
    for (let i = 0; i < cfg.traceHeaders.length; i++) {
      const key = this.traceKeyAt(cfg, req, i);
      if (key === null) continue;
      const lane = recall(key, cfg.capacity, now);
      if (lane !== null) return lane;
    }
    return null;
  }

  /** Sidecar: inbound remembers trace → lane; outbound restores a lane the application dropped. */
  private sidecar(cfg: Config, req: HostRequest): void {
    let direction = <i32>abi.getPropertyInt(XDS_LISTENER_DIRECTION, -1);
    if (direction < 0) direction = <i32>abi.getPropertyInt(LISTENER_DIRECTION, DIRECTION_UNKNOWN);
    if (direction != DIRECTION_INBOUND && direction != DIRECTION_OUTBOUND) direction = DIRECTION_UNKNOWN;
    const nowNs: u64 = direction == DIRECTION_INBOUND ? this.inboundClock(cfg) : 0;
    const d = DECISION;
    d.reset();
    this.incoming(cfg, req, d);
    if (d.source == SOURCE_NONE) {
      // Values outside the allow-list (or not lane names) go no further.
      this.strip(cfg, req);
      if (direction == DIRECTION_INBOUND) this.rememberLane(cfg, req, "", nowNs);
      else this.restore(cfg, req, d, false);
    } else if (direction != DIRECTION_OUTBOUND) {
      this.rememberLane(cfg, req, d.lane, nowNs);
    }
    this.finish(cfg, req, d, "sidecar", direction);
  }

  /** An inbound request (sidecar inbound, waypoint) reads the proxy's clock once: the trace memory's
   * now and, with response metrics on, the start of its response's duration. */
  private inboundClock(cfg: Config): u64 {
    const nowNs = abi.nowNanos();
    if (cfg.responseMetrics) {
      this.timed = DIRECTION_INBOUND;
      this.startNs = nowNs;
    }
    return nowNs;
  }

  /** Waypoint (ambient mode): it sees each request once, on its way to one of its services, and no
   * separate outbound call of the app. So a request that carries its lane (header, else baggage) is
   * remembered as a sidecar's inbound does, and one that carries none is restored as a sidecar's
   * outbound does (from the trace memory; baggage was already read). Counted as inbound. */
  private waypoint(cfg: Config, req: HostRequest): void {
    const nowNs = this.inboundClock(cfg);
    const d = DECISION;
    d.reset();
    this.incoming(cfg, req, d);
    if (d.source == SOURCE_NONE) {
      this.strip(cfg, req);
      this.restore(cfg, req, d, true);
    } else {
      this.rememberLane(cfg, req, d.lane, nowNs);
    }
    this.finish(cfg, req, d, "waypoint", DIRECTION_INBOUND);
  }

  /** Remembers `lane` ("": forgets) under the request's trace keys; counts an inbound conflict.
   * `nowNs`: the clock already read, or 0. */
  private rememberLane(cfg: Config, req: HostRequest, lane: string, nowNs: u64): void {
    if (this.rememberAll(cfg, req, lane, nowNs)) this.root.countConflict(DIRECTION_INBOUND);
  }

  /** Restores the lane from the trace memory into `d` (source memory) when the deciding key holds an
   * allowed lane; a conflicted key gives no lane and counts an outbound conflict. `lookups`: count the
   * outcome in meshlane_trace_lookups_total (the waypoint's hit rate). */
  private restore(cfg: Config, req: HostRequest, d: Decision, lookups: bool): void {
    const lane = this.recallFirst(cfg, req);
    let result = LOOKUP_MISS;
    if (lane === null) {
      // nothing remembered: no lane
    } else if (lane == CONFLICT) {
      this.root.countConflict(DIRECTION_OUTBOUND);
      result = LOOKUP_CONFLICT;
    } else if (cfg.allows(lane)) {
      d.lane = lane;
      d.source = SOURCE_MEMORY;
      result = LOOKUP_HIT;
    }
    if (lookups) this.root.countLookup(result);
  }

  /** Puts the decided lane on the request, logs and counts it. */
  private finish(cfg: Config, req: HostRequest, d: Decision, role: string, direction: i32): void {
    if (strLen(d.lane) > 0) this.apply(cfg, req, d.lane);
    this.lane = d.lane;
    if (abi.logEnabled(abi.LOG_DEBUG)) {
      abi.log(
        abi.LOG_DEBUG,
        "meshlane: " +
          directionName(direction) +
          " lane=" +
          (d.lane.length > 0 ? d.lane : "(none)") +
          " source=" +
          sourceName(d.source) +
          (d.rule >= 0 ? " rule=" + intText(d.rule) : ""),
      );
    }
    this.root.metrics.request(cfg, d.lane, role, direction, d.source);
  }
}

function nowSeconds(): i64 {
  return <i64>(abi.nowNanos() / 1_000_000_000);
}
