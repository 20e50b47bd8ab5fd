// Envoy's HeaderMapImpl semantics, as seen through proxy-wasm (envoy source/common/http/
// header_map_impl.cc and source/extensions/common/wasm/context.cc):
// - keys are lower-cased; entries keep insertion order, except that pseudo-headers (":x") are kept
//   in front of all regular headers;
// - get returns the first value;
// - add (addCopy) appends a duplicate entry, except for Envoy's O(1) "inline" headers, whose value is
//   joined to the existing one with "," and an empty value is not appended;
// - so two `cookie` or `baggage` headers are two entries, as in a stock Envoy build (docs/host.md: cookie
//   is inline, joined with "; ", only in builds where some extension registers it; HTTP/2 cookie
//   crumbs are joined by the codec before any filter runs: deliver one joined header for those);
// - replace (setCopy) removes every entry of the key and adds one;
// - remove of an absent key is fine;
// - size is the byte size (sum of key and value lengths), which is what proxy_get_header_map_size
//   returns in Envoy, not the entry count.

import { byteLength } from "./memory.js";

export type HeaderPair = [string, string];
export type HeaderPairs = HeaderPair[];

/**
 * Envoy's inline headers for request and response maps (INLINE_REQ_HEADERS, INLINE_REQ_RESP_HEADERS,
 * INLINE_RESP_HEADERS, INLINE_RESP_HEADERS_TRAILERS in envoy/http/header_map.h). `cookie` is not one
 * of them: core Envoy does not register it (an extension may, in some builds), so repeated cookie
 * headers stay separate entries here, as in Envoy's own host library. Request and response lists are
 * merged: a response never carries the request-only ones, so the union is harmless.
 */
export const INLINE_HEADERS: ReadonlySet<string> = new Set([
  // request + response
  "connection",
  "content-type",
  "x-envoy-decorator-operation",
  "keep-alive",
  "proxy-connection",
  "proxy-status",
  "x-request-id",
  "transfer-encoding",
  "upgrade",
  "via",
  "content-length",
  "x-envoy-attempt-count",
  // request
  "x-client-trace-id",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-external-address",
  "x-envoy-force-trace",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-internal",
  "x-envoy-ip-tags",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-original-path",
  "x-envoy-original-url",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-alt-response",
  "expect",
  "x-forwarded-client-cert",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "grpc-timeout",
  ":authority",
  ":method",
  ":path",
  ":protocol",
  ":scheme",
  "te",
  "user-agent",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-max-retries",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-stream-duration-ms",
  // response
  "date",
  "x-envoy-degraded",
  "x-envoy-immediate-health-check-fail",
  "x-envoy-ratelimited",
  "x-envoy-upstream-canary",
  "x-envoy-upstream-healthchecked-cluster",
  "location",
  "server",
  "x-envoy-upstream-service-time",
  ":status",
  "grpc-status",
  "grpc-message",
]);

/** What a key means to the map: its lower-case form, pseudo-ness and inline join delimiter. */
interface KeyInfo {
  key: string;
  pseudo: boolean;
  /** "" for a regular header, else the delimiter an inline header joins values with. */
  join: string;
  /** For an inline header, its bit in HeaderMap's inline mask; 0 for a regular header. */
  bit: number;
  /** How a codec files this name: HTTP/1 `host` becomes `:authority`, anything else itself. */
  fromCodec: KeyInfo | null;
}

// Each inline header gets one of 32 bits (two names may share one: a bit only says "maybe").
const inlineBits = new Map<string, number>();
for (const name of INLINE_HEADERS) inlineBits.set(name, 1 << (inlineBits.size & 31));

// Header names repeat across requests, so their KeyInfo is memoized (bounded, so arbitrary names
// from untrusted traffic cannot grow it without limit).
const keyInfos = new Map<string, KeyInfo>();
const KEY_CACHE_MAX = 4096;

function keyInfo(raw: string): KeyInfo {
  let info = keyInfos.get(raw);
  if (info === undefined) {
    const key = raw.toLowerCase();
    const bit = inlineBits.get(key) ?? 0;
    info = {
      key,
      pseudo: key.charCodeAt(0) === 58 /* ':' */,
      join: bit === 0 ? "" : ",",
      bit,
      fromCodec: null,
    };
    if (key === "host") info.fromCodec = keyInfo(":authority");
    if (keyInfos.size < KEY_CACHE_MAX) keyInfos.set(raw, info);
  }
  return info;
}

/** One Envoy header map. Parallel arrays keep the hot paths allocation-free. */
export class HeaderMap {
  private keys: string[] = [];
  private values: string[] = [];
  /** Number of pseudo-header entries at the front. */
  private pseudo = 0;
  /**
   * KeyInfo bits of the inline headers that may be in the map: set on every insert, reset only when
   * the map is cleared. A clear bit means the key is absent, so adding it needs no search for an
   * entry to join (most headers a codec delivers are inline ones).
   */
  private inline = 0;

  /**
   * Builds a map the way a codec hands headers to the filter chain: keys lower-cased, pseudo-headers
   * first, and HTTP/1 `host` stored as `:authority`.
   */
  static fromCaller(pairs: Iterable<readonly [string, string]>): HeaderMap {
    const m = new HeaderMap();
    if (Array.isArray(pairs)) {
      const list = pairs as readonly (readonly [string, string])[];
      for (let i = 0; i < list.length; i++) {
        const info = keyInfo(list[i][0]);
        m.insert(info.fromCodec ?? info, list[i][1]);
      }
    } else {
      for (const [k, v] of pairs) {
        const info = keyInfo(k);
        m.insert(info.fromCodec ?? info, v);
      }
    }
    // A map lives as long as its stream. Arrays grown by push keep room for 17 entries; small maps
    // (a response's few headers) are copied to their exact size, so thousands of streams in flight
    // keep less memory for the JS collector to trace and copy.
    if (m.keys.length <= 8) {
      m.keys = m.keys.slice();
      m.values = m.values.slice();
    }
    return m;
  }

  /** Number of entries (what Envoy passes as the `headers` argument of on_*_headers). */
  get count(): number {
    return this.keys.length;
  }

  /** Byte size: sum of key and value UTF-8 lengths (HeaderMap::byteSize). */
  byteSize(): number {
    let n = 0;
    for (let i = 0; i < this.keys.length; i++) n += byteLength(this.keys[i]) + byteLength(this.values[i]);
    return n;
  }

  /** First value of `key` (any case), or undefined. */
  get(key: string): string | undefined {
    const k = keyInfo(key).key;
    const keys = this.keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === k) return this.values[i];
    return undefined;
  }

  /** HeaderMapImpl::addCopy: duplicate entry, or join for inline headers. */
  add(key: string, value: string): void {
    this.insert(keyInfo(key), value);
  }

  private insert(info: KeyInfo, value: string): void {
    if ((this.inline & info.bit) !== 0) {
      const k = info.key;
      const keys = this.keys;
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] === k) {
          if (value.length === 0) return;
          const cur = this.values[i];
          this.values[i] = cur.length === 0 ? value : cur + info.join + value;
          return;
        }
      }
    }
    this.append(info, value);
  }

  /** Adds a new entry for a key known to be absent (or not inline): pseudo-headers go in front. */
  private append(info: KeyInfo, value: string): void {
    const keys = this.keys;
    this.inline |= info.bit;
    if (info.pseudo && this.pseudo !== keys.length) {
      keys.splice(this.pseudo, 0, info.key);
      this.values.splice(this.pseudo, 0, value);
    } else {
      keys.push(info.key);
      this.values.push(value);
    }
    if (info.pseudo) this.pseudo++;
  }

  /** HeaderMapImpl::remove: drops every entry of `key`; absent keys are fine. */
  remove(key: string): void {
    this.removeKey(keyInfo(key).key);
  }

  private removeKey(k: string): void {
    const keys = this.keys;
    // Usually the key is absent (a filter setting its own header): find the first entry before
    // moving any, so that case only reads.
    let w = 0;
    while (w < keys.length && keys[w] !== k) w++;
    if (w === keys.length) return;
    let removedPseudo = 0;
    for (let r = w; r < keys.length; r++) {
      if (keys[r] === k) {
        if (r < this.pseudo) removedPseudo++;
        continue;
      }
      keys[w] = keys[r];
      this.values[w] = this.values[r];
      w++;
    }
    if (w !== keys.length) {
      keys.length = w;
      this.values.length = w;
      this.pseudo -= removedPseudo;
    }
  }

  /** HeaderMapImpl::setCopy (current Envoy): remove all entries of `key`, then add one. */
  replace(key: string, value: string): void {
    const info = keyInfo(key);
    this.removeKey(info.key);
    // The key is gone now, so an inline header has nothing to join: append without searching.
    this.append(info, value);
  }

  /** Context::setHeaderMapPairs: clear the map, then addCopy every pair in order. */
  setPairs(pairs: Iterable<readonly [string, string]>): void {
    this.keys.length = 0;
    this.values.length = 0;
    this.pseudo = 0;
    this.inline = 0;
    for (const [k, v] of pairs) this.add(k, v);
  }

  /** The entries in Envoy's iteration order (pseudo-headers first), as fresh pairs. */
  pairs(): HeaderPairs {
    const out: HeaderPairs = new Array(this.keys.length);
    for (let i = 0; i < this.keys.length; i++) out[i] = [this.keys[i], this.values[i]];
    return out;
  }

  /** proxy-wasm pairs encoding of the whole map, in a scratch view: copy it out before the next call. */
  serialize(): Uint8Array {
    return serializePairsView(this.keys, this.values);
  }
}

/**
 * proxy-wasm pairs encoding (cpp-host marshalPairs): u32 count, then (u32 key_len, u32 value_len)
 * per pair, then each key and value followed by a NUL. All integers little-endian.
 */
export function serializePairs(keys: readonly string[], values: readonly string[]): Uint8Array {
  return serializePairsView(keys, values).slice();
}

/**
 * serializePairs into a scratch buffer shared by all maps: the view is valid only until the next
 * call, so the caller copies it out at once (get-pairs copies it into guest memory). One pass over
 * the text, sizes back-filled: this runs on every get-pairs call.
 */
export function serializePairsView(keys: readonly string[], values: readonly string[]): Uint8Array {
  const n = keys.length;
  let need = 4 + 8 * n;
  for (let i = 0; i < n; i++) need += 3 * (keys[i].length + values[i].length) + 2;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const out = scratch;
  let p = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const kl = putStr(out, keys[i], p);
    p += kl;
    out[p++] = 0;
    const vl = putStr(out, values[i], p);
    p += vl;
    out[p++] = 0;
    putU32(out, 4 + 8 * i, kl);
    putU32(out, 8 + 8 * i, vl);
  }
  putU32(out, 0, n);
  return out.subarray(0, p);
}

let scratch = new Uint8Array(4096);
const utf8 = new TextEncoder();
/** From this length on a string goes to the native encoder, whose fixed cost per call is by then
 * less than copying character by character: a long cookie or bearer token is encoded several times
 * faster. (Joining all the text first and encoding it in one call is no faster for typical headers
 * and allocates the joined string on every call.) */
const NATIVE_FROM = 64;

/** Writes `s` as UTF-8 at `at` (short ASCII byte by byte, anything else through the native encoder). */
function putStr(out: Uint8Array, s: string, at: number): number {
  // One pass that writes while it checks; a non-ASCII string is rewritten from `at` by the encoder.
  const n = s.length;
  if (n >= NATIVE_FROM) return utf8.encodeInto(s, out.subarray(at)).written;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8.encodeInto(s, out.subarray(at)).written;
    out[at + i] = c;
  }
  return n;
}

/** Pairs encoding of byte-valued entries (used for maps/lists in property values). */
export function serializeBytePairs(entries: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array {
  // Indexed loops and a plain Uint8Array: a stream's metadata properties are encoded on lookup.
  const n = entries.length;
  let size = 4 + 8 * n;
  for (let i = 0; i < n; i++) size += entries[i][0].length + entries[i][1].length + 2;
  const out = new Uint8Array(size);
  putU32(out, 0, n);
  let p = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const k = entries[i][0];
    const v = entries[i][1];
    putU32(out, 4 + 8 * i, k.length);
    putU32(out, 8 + 8 * i, v.length);
    out.set(k, p);
    p += k.length + 1;
    out.set(v, p);
    p += v.length + 1;
  }
  return out;
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = v >>> 24;
}

/**
 * Decodes the pairs encoding (cpp-host toPairs). Like Envoy, a buffer whose header does not fit
 * yields an empty list rather than an error.
 */
export function deserializePairs(data: Uint8Array): HeaderPairs {
  if (data.length < 4) return [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = dv.getUint32(0, true);
  if (4 + n * 8 > data.length) return [];
  const out: HeaderPairs = [];
  let p = 4 + n * 8;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) {
    const kl = dv.getUint32(4 + i * 8, true);
    const vl = dv.getUint32(8 + i * 8, true);
    if (p + kl + 1 + vl + 1 > data.length) return out;
    const k = buf.toString("utf8", p, p + kl);
    p += kl + 1;
    const v = buf.toString("utf8", p, p + vl);
    p += vl + 1;
    out.push([k, v]);
  }
  return out;
}
