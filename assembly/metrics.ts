// The filter's metrics (docs/contracts.md, "Metrics"), named in Istio's tag form with the tags first
// (`tag=.=value;.;...;.;name`) so that extraStatTags turns the tags into labels and leaves exactly
// `name`: Envoy cuts each whole `tag=.=value;.;` out of the stat name, so a name written before its
// tags would keep the `_` that joined them (`name_`).
//
// Each plugin configuration keeps its own ids: a series is defined with the proxy the first time it is
// used and its id cached, so a request builds no metric name.
//
// Cardinality is bounded: lane values come from the allow-list (or the lane-name syntax without
// one); a lane the configuration does not allow, and every lane past MAX_SERIES, counts as
// "other". A request without a lane counts as "none".
import * as abi from "./abi";
import { Config } from "./config";
import { sourceName } from "./dye";
import { intText } from "./lib/text";
import { sameString } from "./lib/raw";

export const DIRECTION_UNKNOWN: i32 = 0;
export const DIRECTION_INBOUND: i32 = 1;
export const DIRECTION_OUTBOUND: i32 = 2;
/** The edge's requests and responses (tag value "gateway"). */
export const DIRECTION_GATEWAY: i32 = 3;

/** Response code classes: the first digit of a three-digit `:status` from 2 to 5, else OTHER. */
export const CLASS_OTHER: i32 = 4;

const MAX_SERIES = 512;

// Each lane owns SLOTS consecutive slots, each the id + 1 of one series (0 until defined: the proxy
// may hand out id 0): requests by direction and source, then responses by direction and class, then
// durations by direction.
const REQUEST_SLOTS = 0; // + direction * 8 + source
const RESPONSE_SLOTS = 32; // + direction * 5 + class
const DURATION_SLOTS = 52; // + direction
const SLOTS = 56;

export function directionName(d: i32): string {
  if (d == DIRECTION_INBOUND) return "inbound";
  if (d == DIRECTION_OUTBOUND) return "outbound";
  if (d == DIRECTION_GATEWAY) return "gateway";
  return "unknown";
}

function className(c: i32): string {
  return c < CLASS_OTHER ? intText(c + 2) + "xx" : "other";
}

function laneTags(lane: string, role: string, direction: i32): string {
  return "lane=.=" + lane + ";.;role=.=" + role + ";.;direction=.=" + directionName(direction) + ";.;";
}

/** One plugin configuration's metric ids. */
export class LaneMetrics {
  private index: Map<string, u32> = new Map();
  private slots: Array<u32> = [];
  // The last lane resolved and its first slot: most requests get the lane the previous one got
  // (often the very same string, a rule's or the default lane), so a comparison replaces hashing.
  private lastLane: string = "";
  private lastBase: i32 = -1;
  /** The lane name of the series the last base() resolved to. */
  private tag: string = "";

  /** The first slot of `lane`'s series, defining the lane on first use; `tag` is the lane value the
   * series carry. */
  private base(cfg: Config, lane: string): i32 {
    if (this.lastBase >= 0 && sameString(lane, this.lastLane)) return this.lastBase;
    const l = lane.length > 0 ? lane : "none";
    let base: i32;
    if (this.index.has(l)) {
      base = <i32>this.index.get(l);
    } else {
      if (l != "none" && l != "other" && (this.index.size >= MAX_SERIES || !cfg.allows(l)))
        return this.base(cfg, "other");
      base = this.slots.length;
      this.slots.length = base + SLOTS;
      this.index.set(l, <u32>base);
    }
    this.lastLane = lane;
    this.lastBase = base;
    this.tag = l;
    return base;
  }

  /** Defines the series of `slot` as `name` and returns its id (u32.MAX_VALUE if the proxy refused:
   * the slot stays undefined and the next use tries again). */
  private define(slot: i32, type: u32, name: string): u32 {
    const id = abi.defineMetric(type, name);
    unchecked((this.slots[slot] = id + 1));
    return id;
  }

  /** meshlane_requests_total: a request by lane, role, direction and lane source. */
  request(cfg: Config, lane: string, role: string, direction: i32, source: i32): void {
    const slot = this.base(cfg, lane) + REQUEST_SLOTS + (direction & 3) * 8 + (source & 7);
    let id = unchecked(this.slots[slot]) - 1;
    if (id == u32.MAX_VALUE) {
      id = this.define(
        slot,
        abi.METRIC_COUNTER,
        laneTags(this.tag, role, direction) + "source=.=" + sourceName(source) + ";.;meshlane_requests_total",
      );
    }
    abi.incrementCounter(id);
  }

  /** meshlane_responses_total and meshlane_request_duration_milliseconds: a response by lane, role,
   * direction and code class, and the whole milliseconds from the request headers to the response
   * headers. */
  response(cfg: Config, lane: string, role: string, direction: i32, cls: i32, ms: u64): void {
    const base = this.base(cfg, lane);
    const d = direction & 3;
    const slot = base + RESPONSE_SLOTS + d * 5 + cls;
    let id = unchecked(this.slots[slot]) - 1;
    if (id == u32.MAX_VALUE) {
      id = this.define(
        slot,
        abi.METRIC_COUNTER,
        laneTags(this.tag, role, direction) +
          "response_code_class=.=" +
          className(cls) +
          ";.;meshlane_responses_total",
      );
    }
    abi.incrementCounter(id);
    const h = base + DURATION_SLOTS + d;
    id = unchecked(this.slots[h]) - 1;
    if (id == u32.MAX_VALUE) {
      id = this.define(
        h,
        abi.METRIC_HISTOGRAM,
        laneTags(this.tag, role, direction) + "meshlane_request_duration_milliseconds",
      );
    }
    abi.recordMetric(id, ms);
  }
}
