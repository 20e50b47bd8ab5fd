// StringMatch and the request matchers of a rule's `when`: pure functions over strings, no host calls.
import { Regex } from "./lib/regex";
import { Cidr, IpAddr } from "./lib/cidr";
import { toLowerAscii } from "./lib/text";
import { saltedBucket } from "./lib/hash";
import { isAsciiBytes, itemAt, zeroBytes } from "./lib/raw";

export { isAsciiBytes };

export const MATCH_EXACT: i32 = 0;
export const MATCH_PREFIX: i32 = 1;
export const MATCH_SUFFIX: i32 = 2;
export const MATCH_CONTAINS: i32 = 3;
export const MATCH_REGEX: i32 = 4;
export const MATCH_PRESENT: i32 = 5;
export const MATCH_ONE_OF: i32 = 6;

/** One StringMatch (docs/contracts.md, "StringMatch"). `value` and `values` are stored lower-cased when ignoreCase is set.
 * An absent value (null) matches only `present: false`; `invert` negates the whole result, so an
 * inverted value match also holds for an absent value (as Envoy's invert_match does). Call seal()
 * once the fields are set. */
export class StringMatch {
  kind: i32 = MATCH_EXACT;
  /** The text to compare; for a regex, a literal every match contains (a prefilter), or "". */
  value: string = "";
  values: Array<string> = [];
  regex: Regex | null = null;
  present: bool = true;
  ignoreCase: bool = false;
  invert: bool = false;
  /** `value` and `values` as UTF-8, as seal() encoded them. */
  private bytes: ArrayBuffer = new ArrayBuffer(0);
  private bytesList: Array<ArrayBuffer> = [];

  /** Encodes the values the byte matcher compares (matchesBytes). */
  seal(): void {
    this.bytes = String.UTF8.encode(this.value);
    const list = new Array<ArrayBuffer>();
    for (let i = 0; i < this.values.length; i++) list.push(String.UTF8.encode(unchecked(this.values[i])));
    this.bytesList = list;
  }

  matches(input: string | null): bool {
    return this.base(input) != this.invert;
  }

  /** matches(null), without a call: an absent value matches only `present: false` (or, inverted,
   * anything but `present: false`). */
  @inline absent(): bool {
    return (this.kind == MATCH_PRESENT && !this.present) != this.invert;
  }

  /**
   * matches() for a present value given as its UTF-8 bytes in place (a header in the proxy's block,
   * part of one, a claim in jwt_authn's metadata), without decoding it: 1 or 0, or -1 when only
   * matches() on the decoded text can answer (a regex over bytes that are not all ASCII).
   *
   * exact, prefix, suffix, contains and oneOf compare bytes with the value's UTF-8 bytes, A-Z read
   * as a-z with ignoreCase: for valid UTF-8 that is exactly matches() on the decoded text (ASCII
   * bytes never occur inside a multi-byte character), and bytes that are not valid UTF-8 match
   * only what they are byte for byte, as Envoy's own matchers compare them — a malformed value
   * cannot pass for another (an overlong encoding of "pc" is not "pc"). `ascii`: the caller knows
   * the bytes are all ASCII (part of an ASCII header); otherwise a regex checks, and only once its
   * prefilter has passed.
   */
  matchesBytes(ptr: usize, len: i32, ascii: bool): i32 {
    let r = false;
    switch (this.kind) {
      case MATCH_PRESENT:
        return this.present != this.invert ? 1 : 0;
      case MATCH_EXACT: {
        const b = this.bytes;
        r = len == b.byteLength && sameBytes(ptr, changetype<usize>(b), len, this.ignoreCase);
        break;
      }
      case MATCH_PREFIX: {
        const b = this.bytes;
        const n = b.byteLength;
        r = len >= n && sameBytes(ptr, changetype<usize>(b), n, this.ignoreCase);
        break;
      }
      case MATCH_SUFFIX: {
        const b = this.bytes;
        const n = b.byteLength;
        r = len >= n && sameBytes(ptr + <usize>(len - n), changetype<usize>(b), n, this.ignoreCase);
        break;
      }
      case MATCH_CONTAINS: {
        const b = this.bytes;
        r = bytesContain(ptr, len, changetype<usize>(b), b.byteLength, this.ignoreCase);
        break;
      }
      case MATCH_REGEX: {
        const re = this.regex;
        if (re === null) break;
        // A literal every match contains: without it the automaton need not run.
        const b = this.bytes;
        if (!bytesContain(ptr, len, changetype<usize>(b), b.byteLength, false)) break;
        if (!ascii && !isAsciiBytes(ptr, len)) return -1;
        const m = re.fullMatchAscii(ptr, len);
        if (m < 0) return -1;
        r = m == 1;
        break;
      }
      case MATCH_ONE_OF: {
        const list = this.bytesList;
        for (let i = 0; i < list.length; i++) {
          const b = itemAt(list, i);
          if (b.byteLength == len && sameBytes(ptr, changetype<usize>(b), len, this.ignoreCase)) {
            r = true;
            break;
          }
        }
        break;
      }
    }
    return r != this.invert ? 1 : 0;
  }

  private base(input: string | null): bool {
    if (this.kind == MATCH_PRESENT) return (input !== null) == this.present;
    if (input === null) return false;
    let v: string = input;
    if (this.ignoreCase) v = toLowerAscii(v);
    switch (this.kind) {
      case MATCH_EXACT:
        return v == this.value;
      case MATCH_PREFIX:
        return v.startsWith(this.value);
      case MATCH_SUFFIX:
        return v.endsWith(this.value);
      case MATCH_CONTAINS:
        return v.includes(this.value);
      case MATCH_REGEX: {
        const re = this.regex;
        return re !== null && re.fullMatch(v);
      }
      case MATCH_ONE_OF: {
        for (let i = 0; i < this.values.length; i++) if (unchecked(this.values[i]) == v) return true;
        return false;
      }
    }
    return false;
  }
}

/** Whether the n bytes at b occur in the len bytes at ptr (A-Z there read as a-z when `lower`). */
function bytesContain(ptr: usize, len: i32, b: usize, n: i32, lower: bool): bool {
  if (n == 0) return true;
  const first = <u32>load<u8>(b);
  let at = 0;
  const last = len - n;
  if (!lower) {
    // Eight bytes at a time: a word's bytes equal to the first byte are found at once (the lowest
    // flagged byte is exact; higher ones may be false alarms, which the comparison rejects).
    const spread = <u64>first * 0x0101010101010101;
    for (; at + 8 <= len && at <= last; at += 8) {
      const x = load<u64>(ptr + <usize>at) ^ spread;
      let t = zeroBytes(x);
      while (t != 0) {
        const k = at + <i32>(ctz(t) >> 3);
        if (k > last) return false;
        if (sameBytes(ptr + <usize>k, b, n, false)) return true;
        t &= t - 1;
      }
    }
  }
  for (; at <= last; at++) {
    let c = <u32>load<u8>(ptr + <usize>at);
    if (lower && c - 0x41 < 26) c += 0x20;
    if (c == first && sameBytes(ptr + <usize>at, b, n, lower)) return true;
  }
  return false;
}

/** Whether the n bytes at a are the n bytes at b, A-Z at a read as a-z when `lower` (the values
 * of ignoreCase matches are stored lower-cased). */
function sameBytes(a: usize, b: usize, n: i32, lower: bool): bool {
  let i = 0;
  if (!lower) for (; i + 8 <= n; i += 8) if (load<u64>(a + <usize>i) != load<u64>(b + <usize>i)) return false;
  for (; i < n; i++) {
    let c = <u32>load<u8>(a + <usize>i);
    if (lower && c - 0x41 < 26) c += 0x20;
    if (c != <u32>load<u8>(b + <usize>i)) return false;
  }
  return true;
}

/** A map entry of `when.headers`, `cookies`, `query`, `jwtClaims` or `baggage`. */
export class NamedMatch {
  constructor(
    public name: string,
    public match: StringMatch,
  ) {}
}

/** What a rule can ask of a request. The filter glue answers from the proxy (lazily, once per
 * request); tests answer from plain values. Absent is null. */
export abstract class RequestView {
  abstract header(name: string): string | null;
  abstract cookie(name: string): string | null;
  abstract query(name: string): string | null;
  abstract path(): string | null;
  abstract method(): string | null;
  abstract authority(): string | null;
  abstract sourceIp(): IpAddr | null;
  abstract baggage(key: string): string | null;
  /** Every value of a claim (a list claim gives each element); empty when absent. */
  abstract claims(name: string): Array<string>;

  // Whether a header (or :path, :method, :authority) satisfies a StringMatch. The defaults ask for
  // the value as a string; the filter's view overrides them to match the proxy's bytes in place.
  headerMatches(name: string, m: StringMatch): bool {
    return m.matches(this.header(name));
  }
  pathMatches(m: StringMatch): bool {
    return m.matches(this.path());
  }
  methodMatches(m: StringMatch): bool {
    return m.matches(this.method());
  }
  authorityMatches(m: StringMatch): bool {
    return m.matches(this.authority());
  }
  /** Whether query parameter `name` satisfies m. */
  queryMatches(name: string, m: StringMatch): bool {
    return m.matches(this.query(name));
  }
  /** Whether cookie `name` satisfies m. */
  cookieMatches(name: string, m: StringMatch): bool {
    return m.matches(this.cookie(name));
  }
  /** The cookie value's sticky bucket for a salt given as saltState(salt), or -1 when the request
   * has no such cookie. */
  cookieBucket(name: string, salt: u64): i32 {
    const c = this.cookie(name);
    return c === null ? -1 : saltedBucket(salt, c);
  }
  /** Whether a claim satisfies m (see claimMatches). */
  claimMatches(name: string, m: StringMatch): bool {
    return claimMatches(m, this.claims(name));
  }
}

/** A rule's `when`: every present entry must hold. Config.addRule lays its entries out as Conds. */
export class Match {
  headers: Array<NamedMatch> = [];
  cookies: Array<NamedMatch> = [];
  query: Array<NamedMatch> = [];
  jwtClaims: Array<NamedMatch> = [];
  baggage: Array<NamedMatch> = [];
  path: StringMatch | null = null;
  method: StringMatch | null = null;
  authority: StringMatch | null = null;
  sourceIp: Array<Cidr> | null = null;

  /** Appends the conditions set, in the order they are tested (headers, path, method, authority,
   * query, cookies, source address, baggage, claims): the first that fails decides, so a request
   * that fails an earlier one never has its later ones read. */
  addConds(out: Array<Cond>): void {
    named(out, COND_HEADER, this.headers);
    one(out, COND_PATH, this.path);
    one(out, COND_METHOD, this.method);
    one(out, COND_AUTHORITY, this.authority);
    named(out, COND_QUERY, this.query);
    named(out, COND_COOKIE, this.cookies);
    if (this.sourceIp !== null) out.push(new Cond(COND_SOURCE_IP, "", null, this.sourceIp));
    named(out, COND_BAGGAGE, this.baggage);
    named(out, COND_CLAIM, this.jwtClaims);
  }
}

function named(out: Array<Cond>, kind: i32, list: Array<NamedMatch>): void {
  for (let i = 0; i < list.length; i++) {
    const m = unchecked(list[i]);
    out.push(new Cond(kind, m.name, m.match, null));
  }
}

function one(out: Array<Cond>, kind: i32, m: StringMatch | null): void {
  if (m !== null) out.push(new Cond(kind, "", m, null));
}

// Every rule's conditions as one flat list (Config.conds): decide() walks it testing one condition
// at a time, and on a failed one goes on at the next rule's first, without a call per rule or a
// test per kind of condition a rule could have.
export const COND_HEADER: i32 = 0;
export const COND_PATH: i32 = 1;
export const COND_METHOD: i32 = 2;
export const COND_AUTHORITY: i32 = 3;
export const COND_QUERY: i32 = 4;
export const COND_COOKIE: i32 = 5;
export const COND_SOURCE_IP: i32 = 6;
export const COND_BAGGAGE: i32 = 7;
export const COND_CLAIM: i32 = 8;
/** The one condition of a rule without any (a plain percentage): always holds. */
export const COND_NONE: i32 = 9;

/** One condition of one rule. */
export class Cond {
  /** Where to go on when this condition fails: the index of the next rule's first condition. */
  skip: i32 = 0;
  /** The rule this condition is the last of (all its conditions held), or -1. */
  rule: i32 = -1;

  constructor(
    public kind: i32,
    public name: string,
    public match: StringMatch | null,
    public cidrs: Array<Cidr> | null,
  ) {}
}

/** Whether one condition holds for the request. Generic in the view's class, so the filter's calls
 * go straight to its own view's methods. */
export function condHolds<V extends RequestView>(c: Cond, req: V): bool {
  const m = changetype<StringMatch>(c.match);
  switch (c.kind) {
    case COND_HEADER:
      return req.headerMatches(c.name, m);
    case COND_PATH:
      return req.pathMatches(m);
    case COND_METHOD:
      return req.methodMatches(m);
    case COND_AUTHORITY:
      return req.authorityMatches(m);
    case COND_QUERY:
      return req.queryMatches(c.name, m);
    case COND_COOKIE:
      return req.cookieMatches(c.name, m);
    case COND_SOURCE_IP:
      return inAny(changetype<Array<Cidr>>(c.cidrs), req.sourceIp());
    case COND_BAGGAGE:
      return m.matches(req.baggage(c.name));
    case COND_CLAIM:
      return req.claimMatches(c.name, m);
  }
  return true;
}

/** Whether an address lies in any of the ranges; an unknown address lies in none. */
export function inAny(cidrs: Array<Cidr>, ip: IpAddr | null): bool {
  if (ip === null) return false;
  for (let i = 0; i < cidrs.length; i++) if (itemAt(cidrs, i).contains(ip)) return true;
  return false;
}

/** A list-valued claim matches when any element does; an absent claim is matched as null. With
 * `invert`, the claim matches when no element matches the underlying condition. */
export function claimMatches(m: StringMatch, values: Array<string>): bool {
  if (values.length == 0) return m.matches(null);
  if (m.invert) {
    for (let i = 0; i < values.length; i++) if (!m.matches(unchecked(values[i]))) return false;
    return true;
  }
  for (let i = 0; i < values.length; i++) if (m.matches(unchecked(values[i]))) return true;
  return false;
}
