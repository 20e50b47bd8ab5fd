// The filter's contexts: a root context per plugin configuration and a stream context per request.
// This is the only lane code that talks to the proxy (through ./abi); deciding is done by the pure
// modules. Nothing here throws: a missing header is null, a malformed value is "no lane".
import * as abi from "./abi";
import {
  Config,
  JWT_FROM_HEADER,
  ROLE_EDGE,
  ROLE_SIDECAR,
  parseConfig,
} from "./config";
import { RequestView, inAny } from "./match";
import { Decision, Rng, SOURCE_BAGGAGE, SOURCE_HEADER, SOURCE_MEMORY, SOURCE_NONE, decide, sourceName } from "./dye";
import { IpAddr, parseSocketAddress } from "./lib/cidr";
import { getCookie } from "./lib/cookie";
import { getBaggage, removeBaggage, setBaggage } from "./lib/baggage";
import { getQueryParam } from "./lib/query";
import { JValue } from "./lib/json";
import { claimValues, jwtPayload } from "./lib/jwt";
import { decodeStruct, jwtAuthnPayload } from "./claims";
import { traceKey } from "./trace";
import { recall, remember } from "./memory";

export const DIRECTION_UNKNOWN: i32 = 0;
export const DIRECTION_INBOUND: i32 = 1;
export const DIRECTION_OUTBOUND: i32 = 2;

const MAX_SERIES = 512;
const JWT_METADATA = "metadata\0filter_metadata\0envoy.filters.http.jwt_authn";

@external("wasi_snapshot_preview1", "random_get")
declare function random_get(buf: usize, len: usize): u16;

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
  private metricIds: Map<string, u32> = new Map();
  private series: i32 = 0;

  constructor(public id: u32) {}

  configure(text: string): bool {
    abi.refreshLogLevel();
    const result = parseConfig(text);
    const cfg = result.config;
    if (cfg === null) {
      abi.log(abi.LOG_ERROR, "meshlane: rejected plugin configuration: " + result.error);
      return false;
    }
    this.config = cfg;
    this.rng = new Rng(seed());
    abi.log(
      abi.LOG_INFO,
      "meshlane: configured role=" + (cfg.role == ROLE_EDGE ? "edge" : "sidecar") + " rules=" + cfg.rules.length.toString(),
    );
    return true;
  }

  /** Counts a request in meshlane_requests_total, in Istio's tag form. Lane values are bounded by
   * the allow-list or the lane-name syntax; past MAX_SERIES distinct series, lanes count as "other". */
  count(lane: string, role: string, direction: string, source: string): void {
    let l = lane.length > 0 ? lane : "none";
    let name =
      "meshlane_requests_total_lane=.=" + l + ";.;role=.=" + role + ";.;direction=.=" + direction + ";.;source=.=" + source + ";.;";
    let id: u32;
    if (this.metricIds.has(name)) {
      id = this.metricIds.get(name);
    } else {
      if (this.series >= MAX_SERIES) {
        l = "other";
        name =
          "meshlane_requests_total_lane=.=" + l + ";.;role=.=" + role + ";.;direction=.=" + direction + ";.;source=.=" + source + ";.;";
        if (this.metricIds.has(name)) {
          abi.incrementCounter(this.metricIds.get(name));
          return;
        }
      }
      id = abi.defineCounter(name);
      this.metricIds.set(name, id);
      this.series++;
    }
    abi.incrementCounter(id);
  }
}

/** The request as rules see it, read lazily from the proxy and cached for the request. */
class HostRequest extends RequestView {
  private cookieHeader: string | null = null;
  private cookieRead: bool = false;
  private pathValue: string | null = null;
  private pathRead: bool = false;
  private baggageHeader: string | null = null;
  private baggageRead: bool = false;
  private ip: IpAddr | null = null;
  private ipRead: bool = false;
  private payload: JValue | null = null;
  private payloadRead: bool = false;

  constructor(private cfg: Config) {
    super();
  }

  header(name: string): string | null {
    return abi.getHeader(abi.REQUEST_HEADERS, name);
  }
  cookie(name: string): string | null {
    if (!this.cookieRead) {
      this.cookieHeader = abi.getHeader(abi.REQUEST_HEADERS, "cookie");
      this.cookieRead = true;
    }
    const h = this.cookieHeader;
    return h === null ? null : getCookie(h, name);
  }
  query(name: string): string | null {
    const p = this.path();
    return p === null ? null : getQueryParam(p, name);
  }
  path(): string | null {
    if (!this.pathRead) {
      this.pathValue = abi.getHeader(abi.REQUEST_HEADERS, ":path");
      this.pathRead = true;
    }
    return this.pathValue;
  }
  method(): string | null {
    return abi.getHeader(abi.REQUEST_HEADERS, ":method");
  }
  authority(): string | null {
    return abi.getHeader(abi.REQUEST_HEADERS, ":authority");
  }
  sourceIp(): IpAddr | null {
    if (!this.ipRead) {
      const addr = abi.getPropertyString("source\0address");
      this.ip = addr === null ? null : parseSocketAddress(addr);
      this.ipRead = true;
    }
    return this.ip;
  }
  baggageValue(): string | null {
    if (!this.baggageRead) {
      this.baggageHeader = abi.getHeader(abi.REQUEST_HEADERS, "baggage");
      this.baggageRead = true;
    }
    return this.baggageHeader;
  }
  /** Call after changing the baggage header so later reads see the new value. */
  setBaggageValue(v: string | null): void {
    this.baggageHeader = v;
    this.baggageRead = true;
  }
  baggage(key: string): string | null {
    const h = this.baggageValue();
    return h === null ? null : getBaggage(h, key);
  }
  claims(name: string): Array<string> {
    if (!this.payloadRead) {
      this.payloadRead = true;
      if (this.cfg.jwtFrom == JWT_FROM_HEADER) {
        const h = abi.getHeader(abi.REQUEST_HEADERS, this.cfg.jwtHeader);
        if (h !== null) this.payload = jwtPayload(h);
      } else {
        const raw = abi.getProperty(JWT_METADATA);
        if (raw !== null) {
          const meta = decodeStruct(raw);
          if (meta !== null) this.payload = jwtAuthnPayload(meta);
        }
      }
    }
    const p = this.payload;
    return p === null ? new Array<string>() : claimValues(p, name);
  }
}

/** One request. */
export class Stream {
  lane: string = "";

  constructor(
    public id: u32,
    public root: Root,
  ) {}

  onRequestHeaders(): void {
    const cfg = this.root.config;
    if (cfg === null) return;
    const req = new HostRequest(cfg);
    if (cfg.role == ROLE_SIDECAR) this.sidecar(cfg, req);
    else this.edge(cfg, req);
  }

  onResponseHeaders(): void {
    const cfg = this.root.config;
    if (cfg === null || cfg.echoHeader.length == 0 || this.lane.length == 0) return;
    abi.replaceHeader(abi.RESPONSE_HEADERS, cfg.echoHeader, this.lane);
  }

  /** The incoming lane from header, else baggage, when allowed; null otherwise. */
  private incoming(cfg: Config, req: HostRequest, d: Decision): void {
    const h = abi.getHeader(abi.REQUEST_HEADERS, cfg.laneHeader);
    if (h !== null && cfg.allows(h)) {
      d.lane = h;
      d.source = SOURCE_HEADER;
      return;
    }
    if (cfg.baggageKey.length > 0) {
      const b = req.baggage(cfg.baggageKey);
      if (b !== null && cfg.allows(b)) {
        d.lane = b;
        d.source = SOURCE_BAGGAGE;
      }
    }
  }

  /** Removes the lane header and baggage member. */
  private strip(cfg: Config, req: HostRequest): void {
    abi.removeHeader(abi.REQUEST_HEADERS, cfg.laneHeader);
    if (cfg.baggageKey.length == 0) return;
    const b = req.baggageValue();
    if (b === null) return;
    if (getBaggage(b, cfg.baggageKey) === null && b.indexOf(cfg.baggageKey) < 0) return;
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
    abi.replaceHeader(abi.REQUEST_HEADERS, cfg.laneHeader, lane);
    if (cfg.baggageKey.length == 0) return;
    const b = req.baggageValue();
    if (b !== null && getBaggage(b, cfg.baggageKey) == lane) return;
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
    let d = new Decision();
    let trusted = false;
    if (cfg.trustedSources.length > 0) trusted = inAny(cfg.trustedSources, req.sourceIp());
    if (trusted) this.incoming(cfg, req, d);
    if (d.source == SOURCE_NONE) {
      this.strip(cfg, req);
      d = decide(cfg, req, this.root.rng);
    }
    if (d.lane.length > 0) this.apply(cfg, req, d.lane);
    this.lane = d.lane;
    if (abi.logEnabled(abi.LOG_DEBUG)) {
      abi.log(
        abi.LOG_DEBUG,
        "meshlane: lane=" + (d.lane.length > 0 ? d.lane : "(none)") + " source=" + sourceName(d.source) + (d.rule >= 0 ? " rule=" + d.rule.toString() : ""),
      );
    }
    this.root.count(d.lane, "edge", "gateway", sourceName(d.source));
  }

  /** The first trace header's key, or null. */
  private traceKey(cfg: Config): string | null {
    for (let i = 0; i < cfg.traceHeaders.length; i++) {
      const name = unchecked(cfg.traceHeaders[i]);
      const v = abi.getHeader(abi.REQUEST_HEADERS, name);
      if (v !== null) {
        const k = traceKey(name, v);
        if (k !== null) return k;
      }
    }
    return null;
  }

  /** Sidecar: inbound remembers trace → lane; outbound restores a lane the application dropped. */
  private sidecar(cfg: Config, req: HostRequest): void {
    let direction = <i32>abi.getPropertyInt("xds\0listener_direction", -1);
    if (direction < 0) direction = <i32>abi.getPropertyInt("listener_direction", DIRECTION_UNKNOWN);
    if (direction != DIRECTION_INBOUND && direction != DIRECTION_OUTBOUND) direction = DIRECTION_UNKNOWN;
    const d = new Decision();
    this.incoming(cfg, req, d);
    if (d.source == SOURCE_NONE) {
      // Values outside the allow-list (or not lane names) go no further.
      this.strip(cfg, req);
      if (direction != DIRECTION_INBOUND) {
        const key = this.traceKey(cfg);
        if (key !== null) {
          const lane = recall(key, cfg.capacity, nowSeconds());
          if (lane !== null && cfg.allows(lane)) {
            d.lane = lane;
            d.source = SOURCE_MEMORY;
          }
        }
      }
    } else if (direction != DIRECTION_OUTBOUND) {
      const key = this.traceKey(cfg);
      if (key !== null) remember(key, d.lane, cfg.capacity, nowSeconds(), cfg.ttlSeconds);
    }
    if (d.lane.length > 0) this.apply(cfg, req, d.lane);
    this.lane = d.lane;
    const dir = direction == DIRECTION_INBOUND ? "inbound" : direction == DIRECTION_OUTBOUND ? "outbound" : "unknown";
    if (abi.logEnabled(abi.LOG_DEBUG)) {
      abi.log(abi.LOG_DEBUG, "meshlane: " + dir + " lane=" + (d.lane.length > 0 ? d.lane : "(none)") + " source=" + sourceName(d.source));
    }
    this.root.count(d.lane, "sidecar", dir, sourceName(d.source));
  }
}

function nowSeconds(): i64 {
  return <i64>(abi.nowNanos() / 1_000_000_000);
}
