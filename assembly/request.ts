// The request as rules see it, read from the proxy once per request: headers from one get-pairs call
// matched in place where they are ASCII, properties fetched lazily. Pure over the header bytes; the
// only host calls go through ./abi. Nothing here throws on malformed input.
import * as abi from "./abi";
import { Config, JWT_FROM_HEADER } from "./config";
import { RequestView, StringMatch } from "./match";
import { stickyBucketAscii } from "./lib/hash";
import { IpAddr, parseSocketAddress } from "./lib/cidr";
import { QUERY_DECODE, findQueryParam, pairValue, parseV4SocketBytes, splitCookies } from "./lib/inplace";
import { getCookie } from "./lib/cookie";
import { getBaggage } from "./lib/baggage";
import { getQueryParam } from "./lib/query";
import { JValue } from "./lib/json";
import { HeaderBlock } from "./abi";
import { claimValues, jwtPayload } from "./lib/jwt";
import { isAsciiBytes, isNone } from "./lib/raw";
import { utf8Text } from "./lib/text";
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
  private addressBytes: abi.HeldBytes = new abi.HeldBytes();
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
    if (this.laneStripped && name == this.cfg.laneHeader) return m.absent();
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
    if (!h.find(name)) return m.absent();
    const r = m.matchesBytes(h.valuePtr, h.valueLen, false);
    if (r >= 0) return r == 1;
    return m.matches(utf8Text(h.valuePtr, h.valueLen));
  }
  // The cookie header's bytes in the block, when it is one ASCII entry of at most MAX_PAIRS pairs
  // (COOKIE_BYTES): its pairs are filed once and cookies matched in place; otherwise (several
  // `cookie` entries, not ASCII, or more pairs) through every entry decoded and joined with "; ",
  // and getCookie.
  private cookieState: i32 = COOKIE_UNREAD;
  private cookiePtr: usize = 0;
  /** How many pairs splitCookies() filed for the COOKIE_BYTES header. */
  private cookiePairs: i32 = 0;

  /** getCookie() for the COOKIE_BYTES header, from its filed pairs: see pairValue. */
  private cookieAt(name: string): i64 {
    return pairValue(this.cookiePtr, this.cookiePairs, name);
  }

  private cookieBytes(): i32 {
    if (this.cookieState == COOKIE_UNREAD) {
      const h = this.headers;
      if (!h.find("cookie")) this.cookieState = COOKIE_ABSENT;
      else {
        const ptr = h.valuePtr;
        const pairs = isAsciiBytes(ptr, h.valueLen) ? splitCookies(ptr, h.valueLen) : -1;
        if (pairs < 0 || h.findNext("cookie")) this.cookieState = COOKIE_STRING;
        else {
          this.cookieState = COOKIE_BYTES;
          this.cookiePtr = ptr;
          this.cookiePairs = pairs;
        }
      }
    }
    return this.cookieState;
  }
  queryMatches(name: string, m: StringMatch): bool {
    const h = this.headers;
    if (!h.find(":path")) return m.absent();
    const at = isAsciiBytes(h.valuePtr, h.valueLen)
      ? findQueryParam(h.valuePtr, h.valueLen, name)
      : QUERY_DECODE;
    if (at == QUERY_DECODE) return m.matches(this.query(name));
    if (at < 0) return m.absent();
    const vs = <i32>(at >> 32);
    const vp = h.valuePtr + <usize>vs;
    const vl = <i32>(at & 0xffffffff) - vs;
    const r = m.matchesBytes(vp, vl, true); // part of an ASCII header
    return r >= 0 ? r == 1 : m.matches(utf8Text(vp, vl));
  }
  cookieMatches(name: string, m: StringMatch): bool {
    const state = this.cookieBytes();
    if (state == COOKIE_STRING) return m.matches(this.cookie(name));
    const at = state == COOKIE_ABSENT ? -1 : this.cookieAt(name);
    if (at < 0) return m.absent();
    const vs = <i32>(at >> 32);
    const vp = this.cookiePtr + <usize>vs;
    const vl = <i32>(at & 0xffffffff) - vs;
    const r = m.matchesBytes(vp, vl, true); // part of an ASCII header
    // -1: a regex only the string matcher can finish (see matchesBytes).
    return r >= 0 ? r == 1 : m.matches(utf8Text(vp, vl));
  }
  cookieBucket(name: string, salt: u64): i32 {
    const state = this.cookieBytes();
    if (state == COOKIE_STRING) return super.cookieBucket(name, salt);
    const at = state == COOKIE_ABSENT ? -1 : this.cookieAt(name);
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
    return isNone(h) ? null : getCookie(changetype<string>(h), name);
  }
  query(name: string): string | null {
    const p = this.path();
    return isNone(p) ? null : getQueryParam(changetype<string>(p), name);
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
      // else (IPv6, brackets, non-ASCII) goes through parseSocketAddress on the decoded bytes.
      const held = this.addressBytes;
      if (!abi.holdProperty(SOURCE_ADDRESS, held)) this.ip = null;
      else {
        const ip = this.ipScratch;
        const r = parseV4SocketBytes(held.ptr, <usize>held.size, ip);
        if (r >= 0) this.ip = r == 1 ? ip : null;
        else this.ip = parseSocketAddress(utf8Text(held.ptr, held.size));
        held.release();
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
    return isNone(h) ? null : getBaggage(changetype<string>(h), key);
  }
  claimMatches(name: string, m: StringMatch): bool {
    if (this.cfg.jwtFrom == JWT_FROM_HEADER) return super.claimMatches(name, m);
    // Verified claims are matched in jwt_authn's encoding, in place.
    const meta = this.metadataBytes();
    return meta == 0 ? m.absent() : metadataClaimMatches(meta, this.metadataSize, name, m);
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

// One request is handled at a time in a VM, so its scratch objects are reused rather than allocated.
