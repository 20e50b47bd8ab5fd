// Envoy's HeaderMapImpl semantics, as seen through proxy-wasm (envoy source/common/http/
// header_map_impl.cc and source/extensions/common/wasm/context.cc):
// - keys are lower-cased; entries keep insertion order, except that pseudo-headers (":x") are kept
//   in front of all regular headers;
// - get returns the first value;
// - add (addCopy) appends a duplicate entry, except for Envoy's O(1) "inline" headers, whose value is
//   joined to the existing one (",", or "; " for cookie) and an empty value is not appended;
// - replace (setCopy) removes every entry of the key and adds one;
// - remove of an absent key is fine;
// - size is the byte size (sum of key and value lengths), which is what proxy_get_header_map_size
//   returns in Envoy, not the entry count.

import { byteLength } from "./memory.js";

export type HeaderPair = [string, string];
export type HeaderPairs = HeaderPair[];

/**
 * Envoy's inline headers for request and response maps (INLINE_REQ_HEADERS, INLINE_REQ_RESP_HEADERS,
 * INLINE_RESP_HEADERS, INLINE_RESP_HEADERS_TRAILERS in envoy/http/header_map.h), plus `cookie`,
 * which Envoy registers as a custom inline request header and joins with "; ". Request and response
 * lists are merged: a response never carries the request-only ones, so the union is harmless.
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
  "cookie",
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
  /** How a codec files this name: HTTP/1 `host` becomes `:authority`, anything else itself. */
  fromCodec: KeyInfo | null;
}

// Header names repeat across requests, so their KeyInfo is memoized (bounded, so arbitrary names
// from untrusted traffic cannot grow it without limit).
const keyInfos = new Map<string, KeyInfo>();
const KEY_CACHE_MAX = 4096;

function keyInfo(raw: string): KeyInfo {
  let info = keyInfos.get(raw);
  if (info === undefined) {
    const key = raw.toLowerCase();
    info = {
      key,
      pseudo: key.charCodeAt(0) === 58 /* ':' */,
      join: INLINE_HEADERS.has(key) ? (key === "cookie" ? "; " : ",") : "",
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
    const k = info.key;
    const keys = this.keys;
    if (info.join !== "") {
      for (let i = 0; i < keys.length; i++) {
        if (keys[i] === k) {
          if (value.length === 0) return;
          const cur = this.values[i];
          this.values[i] = cur.length === 0 ? value : cur + info.join + value;
          return;
        }
      }
    }
    if (info.pseudo && this.pseudo !== keys.length) {
      keys.splice(this.pseudo, 0, k);
      this.values.splice(this.pseudo, 0, value);
    } else {
      keys.push(k);
      this.values.push(value);
    }
    if (info.pseudo) this.pseudo++;
  }

  /** HeaderMapImpl::remove: drops every entry of `key`; absent keys are fine. */
  remove(key: string): void {
    const k = keyInfo(key).key;
    const keys = this.keys;
    let w = 0;
    let removedPseudo = 0;
    for (let r = 0; r < keys.length; r++) {
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
    this.remove(key);
    this.add(key, value);
  }

  /** Context::setHeaderMapPairs: clear the map, then addCopy every pair in order. */
  setPairs(pairs: Iterable<readonly [string, string]>): void {
    this.keys.length = 0;
    this.values.length = 0;
    this.pseudo = 0;
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
    const h = 4 + 8 * i;
    out[h] = kl & 0xff;
    out[h + 1] = (kl >>> 8) & 0xff;
    out[h + 2] = (kl >>> 16) & 0xff;
    out[h + 3] = kl >>> 24;
    out[h + 4] = vl & 0xff;
    out[h + 5] = (vl >>> 8) & 0xff;
    out[h + 6] = (vl >>> 16) & 0xff;
    out[h + 7] = vl >>> 24;
  }
  out[0] = n & 0xff;
  out[1] = (n >>> 8) & 0xff;
  out[2] = (n >>> 16) & 0xff;
  out[3] = n >>> 24;
  return out.subarray(0, p);
}

let scratch = new Uint8Array(4096);
const utf8 = new TextEncoder();

/** Writes `s` as UTF-8 at `at` (ASCII byte by byte, anything else through the native encoder). */
function putStr(out: Uint8Array, s: string, at: number): number {
  // One pass that writes while it checks; a non-ASCII string is rewritten from `at` by the encoder.
  const n = s.length;
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
