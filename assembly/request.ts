// The request as rules see it, read from the proxy once per request: headers from one get-pairs call
// matched in place where they are ASCII, properties fetched lazily. Pure over the header bytes; the
// only host calls go through ./abi. Nothing here throws on malformed input.
import * as abi from "./abi";
import { Config, JWT_FROM_HEADER } from "./config";
import { RequestView, StringMatch, isAsciiBytes } from "./match";
import { stickyBucketAscii } from "./lib/hash";
import { IpAddr, parseSocketAddress } from "./lib/cidr";
import { getCookie } from "./lib/cookie";
import { getBaggage } from "./lib/baggage";
import { getQueryParam } from "./lib/query";
import { owsAt, strLen, unitAt } from "./lib/raw";
import { JValue } from "./lib/json";
import { HeaderBlock } from "./abi";
import { claimValues, jwtPayload } from "./lib/jwt";
import { metadataClaimMatches, metadataClaims } from "./claims";

const JWT_METADATA = abi.propertyPath("metadata\0filter_metadata\0envoy.filters.http.jwt_authn");
const SOURCE_ADDRESS = abi.propertyPath("source\0address");

/** The request as rules see it: headers from one get-pairs call, the rest read lazily from the proxy
 * and cached for the request. One instance is reused for every request of the VM (see reset()). */
export class HostRequest extends RequestView {
  private cookieHeader: string | null = null;
  private cookieRead: bool = false;
  private pathValue: string | null = null;
  private pathRead: bool = false;
  private baggageHeader: string | null = null;
  private baggageRead: bool = false;
  private ip: IpAddr | null = null;
  private ipScratch: IpAddr = new IpAddr();
  private ipRead: bool = false;
  private payload: JValue | null = null;
  private payloadRead: bool = false;
  private metadata: abi.HeldBytes = new abi.HeldBytes();
  private metadataSize: i32 = 0;
  /** Set once the incoming lane header was stripped: rules then see it as absent. */
  laneStripped: bool = false;

  cfg: Config = new Config();
  headers: HeaderBlock = new HeaderBlock();

  /** Starts a new request on this (reused) object: requests run one at a time in a VM. */
  reset(cfg: Config, map: i32): void {
    this.cfg = cfg;
    this.headers.load(map);
    this.cookieHeader = null;
    this.cookieRead = false;
    this.cookieState = COOKIE_UNREAD;
    this.pathValue = null;
    this.pathRead = false;
    this.baggageHeader = null;
    this.baggageRead = false;
    this.ip = null;
    this.ipRead = false;
    this.payload = null;
    this.payloadRead = false;
    this.metadata.release();
    this.metadataSize = 0;
    this.laneStripped = false;
  }

  header(name: string): string | null {
    if (this.laneStripped && name == this.cfg.laneHeader) return null;
    return this.headers.get(name);
  }

  // Header matches read the value's bytes in the proxy's block: no string is decoded (and so
  // nothing allocated) unless the value is not ASCII.
  headerMatches(name: string, m: StringMatch): bool {
    if (this.laneStripped && name == this.cfg.laneHeader) return m.matches(null);
    return this.blockMatches(name, m);
  }
  pathMatches(m: StringMatch): bool {
    return this.blockMatches(":path", m);
  }
  methodMatches(m: StringMatch): bool {
    return this.blockMatches(":method", m);
  }
  authorityMatches(m: StringMatch): bool {
    return this.blockMatches(":authority", m);
  }
  private blockMatches(name: string, m: StringMatch): bool {
    const h = this.headers;
    if (!h.find(name)) return m.matches(null);
    const r = m.matchesAscii(h.valuePtr, h.valueLen);
    if (r >= 0) return r == 1;
    return m.matches(String.UTF8.decodeUnsafe(h.valuePtr, <usize>h.valueLen));
  }
  // The cookie header's bytes in the block, when it is one ASCII entry (COOKIE_BYTES): cookies are
  // then found and matched in place; otherwise (several `cookie` entries, or not ASCII) through
  // every entry decoded and joined with "; ", and getCookie.
  private cookieState: i32 = COOKIE_UNREAD;
  private cookiePtr: usize = 0;
  private cookieLen: i32 = 0;

  private cookieBytes(): i32 {
    if (this.cookieState == COOKIE_UNREAD) {
      const h = this.headers;
      if (!h.find("cookie")) this.cookieState = COOKIE_ABSENT;
      else {
        const ptr = h.valuePtr;
        const len = h.valueLen;
        if (h.findNext("cookie") || !isAsciiBytes(ptr, len)) this.cookieState = COOKIE_STRING;
        else {
          this.cookieState = COOKIE_BYTES;
          this.cookiePtr = ptr;
          this.cookieLen = len;
        }
      }
    }
    return this.cookieState;
  }
  queryMatches(name: string, m: StringMatch): bool {
    const h = this.headers;
    if (!h.find(":path")) return m.matches(null);
    const at = findQueryParam(h.valuePtr, h.valueLen, name);
    if (at == QUERY_DECODE) return m.matches(this.query(name));
    if (at < 0) return m.matches(null);
    const vs = <i32>(at >> 32);
    const vp = h.valuePtr + <usize>vs;
    const vl = <i32>(at & 0xffffffff) - vs;
    const r = m.matchesAscii(vp, vl);
    return r >= 0 ? r == 1 : m.matches(String.UTF8.decodeUnsafe(vp, <usize>vl));
  }
  cookieMatches(name: string, m: StringMatch): bool {
    const state = this.cookieBytes();
    if (state == COOKIE_STRING) return m.matches(this.cookie(name));
    const at = state == COOKIE_ABSENT ? -1 : findCookie(this.cookiePtr, this.cookieLen, name);
    if (at < 0) return m.matches(null);
    const vs = <i32>(at >> 32);
    const vp = this.cookiePtr + <usize>vs;
    const vl = <i32>(at & 0xffffffff) - vs;
    const r = m.matchesAscii(vp, vl);
    // -1: a regex only the string matcher can finish (see matchesAscii).
    return r >= 0 ? r == 1 : m.matches(String.UTF8.decodeUnsafe(vp, <usize>vl));
  }
  cookieBucket(name: string, salt: u64): i32 {
    const state = this.cookieBytes();
    if (state == COOKIE_STRING) return super.cookieBucket(name, salt);
    const at = state == COOKIE_ABSENT ? -1 : findCookie(this.cookiePtr, this.cookieLen, name);
    if (at < 0) return -1;
    const vs = <i32>(at >> 32);
    return stickyBucketAscii(this.cookiePtr + <usize>vs, <i32>(at & 0xffffffff) - vs, salt);
  }
  cookie(name: string): string | null {
    if (!this.cookieRead) {
      // Two `cookie` headers arrive as two entries unless the proxy's build joins them (HTTP/2
      // cookie crumbs always arrive joined): read every entry, as one header joined with "; ".
      this.cookieHeader = this.headers.getAll("cookie", "; ");
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
      this.pathValue = this.headers.get(":path");
      this.pathRead = true;
    }
    return this.pathValue;
  }
  method(): string | null {
    return this.headers.get(":method");
  }
  authority(): string | null {
    return this.headers.get(":authority");
  }
  sourceIp(): IpAddr | null {
    if (!this.ipRead) {
      this.ipRead = true;
      // The usual "a.b.c.d:port" is parsed from the property's bytes into a reused IpAddr; anything
      // else (IPv6, brackets, non-ASCII) goes through parseSocketAddress on the decoded string.
      const ip = this.ipScratch;
      const r = abi.withProperty(SOURCE_ADDRESS, ip, parseV4SocketBytes);
      if (r == abi.PROPERTY_ABSENT) this.ip = null;
      else if (r == 1) this.ip = ip;
      else if (r == 0) this.ip = null;
      else {
        const addr = abi.getPropertyString(SOURCE_ADDRESS);
        this.ip = addr === null ? null : parseSocketAddress(addr);
      }
    }
    return this.ip;
  }
  /** Every `baggage` entry as one list (W3C: several baggage headers form one list), or null. */
  baggageValue(): string | null {
    if (!this.baggageRead) {
      this.baggageHeader = this.headers.getAll("baggage", ",");
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
  claimMatches(name: string, m: StringMatch): bool {
    if (this.cfg.jwtFrom == JWT_FROM_HEADER) return super.claimMatches(name, m);
    // Verified claims are matched in jwt_authn's encoding, in place.
    const meta = this.metadataBytes();
    return meta == 0 ? m.matches(null) : metadataClaimMatches(meta, this.metadataSize, name, m);
  }
  /** Where jwt_authn's metadata sits (0 when absent), fetched once per request and read in place:
   * the proxy's buffer is held until reset(). */
  private metadataBytes(): usize {
    if (!this.payloadRead) {
      this.payloadRead = true;
      const held = this.metadata;
      if (abi.holdProperty(JWT_METADATA, held)) this.metadataSize = held.size;
    }
    return this.metadata.ptr;
  }
  claims(name: string): Array<string> {
    if (this.cfg.jwtFrom == JWT_FROM_HEADER) {
      if (!this.payloadRead) {
        this.payloadRead = true;
        const h = this.headers.get(this.cfg.jwtHeader);
        if (h !== null) this.payload = jwtPayload(h);
      }
      const p = this.payload;
      return p === null ? new Array<string>() : claimValues(p, name);
    }
    const m = this.metadataBytes();
    return m == 0 ? new Array<string>() : metadataClaims(m, this.metadataSize, name);
  }
}

const COOKIE_UNREAD: i32 = 0;
const COOKIE_ABSENT: i32 = 1;
const COOKIE_BYTES: i32 = 2;
const COOKIE_STRING: i32 = 3;

/**
 * getCookie (lib/cookie.ts) on a cookie header given as ASCII bytes, in place, step for step:
 * the value's [start, end) packed as (start << 32 | end), or -1 when absent or name is empty.
 */
function findCookie(ptr: usize, n: i32, name: string): i64 {
  const nl = strLen(name);
  if (nl == 0) return -1;
  let start = 0;
  while (start < n) {
    let end = start;
    while (end < n && load<u8>(ptr + <usize>end) != 0x3b) end++;
    let a = start;
    while (a < end && owsAt(ptr, a)) a++;
    let eq = -1;
    for (let k = a; k < end; k++) {
      if (load<u8>(ptr + <usize>k) == 0x3d) {
        eq = k;
        break;
      }
    }
    if (eq > a) {
      let ke = eq;
      while (ke > a && owsAt(ptr, ke - 1)) ke--;
      let same = ke - a == nl;
      for (let j = 0; same && j < nl; j++) {
        if (<i32>load<u8>(ptr + <usize>(a + j)) != unitAt(name, j)) same = false;
      }
      if (same) {
        let vs = eq + 1;
        while (vs < end && owsAt(ptr, vs)) vs++;
        let ve = end;
        while (ve > vs && owsAt(ptr, ve - 1)) ve--;
        if (ve - vs >= 2 && load<u8>(ptr + <usize>vs) == 0x22 && load<u8>(ptr + <usize>(ve - 1)) == 0x22) {
          vs++;
          ve--;
        }
        return ((<i64>vs) << 32) | (<i64>ve);
      }
    }
    start = end + 1;
  }
  return -1;
}

/** findQueryParam: the query needs percent- or form-decoding (or is not ASCII). */
const QUERY_DECODE: i64 = -2;

/**
 * getQueryParam (lib/query.ts) on a :path given as bytes, in place, for the usual query that needs
 * no decoding: the raw value's [start, end) packed as (start << 32 | end), -1 when absent (or name
 * is empty), QUERY_DECODE when the path is not ASCII or its query holds '%' or '+'.
 */
function findQueryParam(ptr: usize, n: i32, name: string): i64 {
  const nl = strLen(name);
  if (nl == 0) return -1;
  if (!isAsciiBytes(ptr, n)) return QUERY_DECODE;
  let q = -1;
  let hash = -1;
  for (let i = 0; i < n; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c == 0x23) {
      hash = i;
      break;
    }
    if (c == 0x3f && q < 0) q = i;
  }
  if (q < 0) return -1; // no '?' before the first '#' (or at all)
  const qEnd = hash < 0 ? n : hash;
  for (let i = q + 1; i < qEnd; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c == 0x25 || c == 0x2b) return QUERY_DECODE;
  }
  let start = q + 1;
  while (start < qEnd) {
    let end = start;
    while (end < qEnd && load<u8>(ptr + <usize>end) != 0x26) end++;
    if (end > start) {
      let eq = -1;
      for (let k = start; k < end; k++) {
        if (load<u8>(ptr + <usize>k) == 0x3d) {
          eq = k;
          break;
        }
      }
      const keyEnd = eq < 0 ? end : eq;
      let same = keyEnd - start == nl;
      for (let j = 0; same && j < nl; j++) {
        if (<i32>load<u8>(ptr + <usize>(start + j)) != unitAt(name, j)) same = false;
      }
      if (same) return eq < 0 ? ((<i64>end) << 32) | (<i64>end) : ((<i64>(eq + 1)) << 32) | (<i64>end);
    }
    start = end + 1;
  }
  return -1;
}

/**
 * parseSocketAddress for the common IPv4 "a.b.c.d:port" form, read from UTF-8 bytes in place: 1
 * (parsed into `out`), 0 (parseSocketAddress would give null), or -1 (another form: use
 * parseSocketAddress on the string). Same rules: at most 80 characters, four decimal parts 0-255
 * without leading zeros, a port of 1-5 digits up to 65535.
 */
function parseV4SocketBytes(ptr: usize, len: usize, out: IpAddr): i32 {
  const n = <i32>len;
  if (n == 0 || n > 80) return -1;
  // Exactly one ':', no '[' first, ASCII only; otherwise not this form.
  if (load<u8>(ptr) == 0x5b) return -1;
  let colon = -1;
  for (let i = 0; i < n; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c >= 0x80) return -1;
    if (c == 0x3a) {
      if (colon >= 0) return -1;
      colon = i;
    }
  }
  if (colon < 0) return -1;
  // Port: 1-5 digits, at most 65535.
  const pl = n - colon - 1;
  if (pl < 1 || pl > 5) return 0;
  let port = 0;
  for (let i = colon + 1; i < n; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c < 0x30 || c > 0x39) return 0;
    port = port * 10 + (c - 0x30);
  }
  if (port > 65535) return 0;
  // Dotted quad in [0, colon).
  let value: u64 = 0;
  let i = 0;
  for (let parts = 0; parts < 4; parts++) {
    let part = 0;
    let digits = 0;
    while (i < colon) {
      const c = <i32>load<u8>(ptr + <usize>i);
      if (c < 0x30 || c > 0x39) break;
      if (digits > 0 && part == 0) return 0; // leading zero
      part = part * 10 + (c - 0x30);
      digits++;
      if (digits > 3 || part > 255) return 0;
      i++;
    }
    if (digits == 0) return 0;
    value = (value << 8) | (<u64>part);
    if (parts < 3) {
      if (i >= colon || load<u8>(ptr + <usize>i) != 0x2e) return 0;
      i++;
    }
  }
  if (i != colon) return 0;
  out.v6 = false;
  out.hi = 0;
  out.lo = value;
  return 1;
}

// One request is handled at a time in a VM, so its scratch objects are reused rather than allocated.
