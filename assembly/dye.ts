// Deciding a request's lane at the edge: first matching rule, then the default. Pure: the request is
// a RequestView and randomness comes in as an Rng, so tests drive it with fixed values.
import { Config, Rule, STICKY_CLAIM, STICKY_COOKIE, STICKY_HEADER, STICKY_NONE } from "./config";
import { condHolds, RequestView } from "./match";
import { drawBucket, saltedBucket } from "./lib/hash";
import { itemAt } from "./lib/raw";
import { uintText } from "./lib/text";

export const SOURCE_NONE: i32 = 0;
export const SOURCE_RULE: i32 = 1;
export const SOURCE_HEADER: i32 = 2;
export const SOURCE_BAGGAGE: i32 = 3;
export const SOURCE_MEMORY: i32 = 4;
export const SOURCE_DEFAULT: i32 = 5;

export function sourceName(s: i32): string {
  switch (s) {
    case SOURCE_RULE:
      return "rule";
    case SOURCE_HEADER:
      return "header";
    case SOURCE_BAGGAGE:
      return "baggage";
    case SOURCE_MEMORY:
      return "memory";
    case SOURCE_DEFAULT:
      return "default";
  }
  return "none";
}

/** splitmix64: a small, fast generator for per-request draws, seeded by the proxy's randomness. */
export class Rng {
  constructor(public state: u64) {}
  next(): u64 {
    this.state += 0x9e3779b97f4a7c15;
    let z = this.state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
}

export class Decision {
  lane: string = "";
  source: i32 = SOURCE_NONE;
  /** Index of the rule that decided, or -1. */
  rule: i32 = -1;

  reset(): void {
    this.lane = "";
    this.source = SOURCE_NONE;
    this.rule = -1;
  }
}

/** The sticky key of a rule for this request, or null when the request has none. */
function stickyKey<V extends RequestView>(rule: Rule, req: V): string | null {
  if (rule.sticky == STICKY_HEADER) return req.header(rule.stickyName);
  if (rule.sticky == STICKY_COOKIE) return req.cookie(rule.stickyName);
  if (rule.sticky == STICKY_CLAIM) {
    const values = req.claims(rule.stickyName);
    return values.length > 0 ? unchecked(values[0]) : null;
  }
  const ip = req.sourceIp();
  if (ip === null) return null;
  return uintText(ip.hi, 16) + ":" + uintText(ip.lo, 16);
}

/** Whether the rule's percentage admits this request. Sticky rules hash the key with the lane as
 * salt, so raising a percentage only adds users and the same key always gets the same answer; a
 * request without the key is not admitted. Without stickyBy each request draws anew. */
export function admits<V extends RequestView>(rule: Rule, req: V, rng: Rng): bool {
  if (rule.percent < 0 || rule.percent >= 10000) return true;
  if (rule.percent == 0) return false;
  if (rule.sticky == STICKY_NONE) return drawBucket(rng.next()) < rule.percent;
  if (rule.sticky == STICKY_COOKIE) {
    const bucket = req.cookieBucket(rule.stickyName, rule.salt);
    return bucket >= 0 && bucket < rule.percent;
  }
  const key = stickyKey<V>(rule, req);
  if (key === null) return false;
  return saltedBucket(rule.salt, key) < rule.percent;
}

/** Evaluates the rules in order (first match wins), then the default lane. Writes into `into` when
 * given (the filter reuses one Decision), else into a new one. */
export function decide<V extends RequestView>(
  cfg: Config,
  req: V,
  rng: Rng,
  into: Decision | null = null,
): Decision {
  const d = into !== null ? into : new Decision();
  d.reset();
  // Down the rules' conditions: a failed one skips the rest of its rule; the last of a rule, held,
  // leaves the rule's percentage to decide.
  const conds = cfg.conds;
  const n = conds.length;
  let i = 0;
  while (i < n) {
    const c = itemAt(conds, i);
    if (!condHolds<V>(c, req)) {
      i = c.skip;
      continue;
    }
    i++;
    const r = c.rule;
    if (r < 0) continue;
    const rule = itemAt(cfg.rules, r);
    if (!admits<V>(rule, req, rng)) continue;
    d.lane = rule.lane;
    d.source = SOURCE_RULE;
    d.rule = r;
    return d;
  }
  if (cfg.defaultLane.length > 0) {
    d.lane = cfg.defaultLane;
    d.source = SOURCE_DEFAULT;
  }
  return d;
}
