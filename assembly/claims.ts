// Verified JWT claims read in place from the proxy's encoding of jwt_authn's metadata (a Struct
// property: proxy-wasm pairs, nested values serialized the same way), with the same answers the
// claim code gives for a decoded token. The ABI carries no types: a nested value that parses exactly as
// a pairs blob is a map (a list when every value is empty: lists are encoded as element keys), 8 bytes
// with a control byte are a double, 1 byte 0/1 is a bool, anything else is text.
import { numberText } from "./lib/jwt";
import { utf8Text } from "./lib/text";
import { StringMatch } from "./match";
import { bytesAre, isAsciiBytes, strLen, utf8Is } from "./lib/raw";

function readU32(buf: usize, at: i32): u32 {
  return load<u32>(buf + <usize>at);
}

/** Whether `buf[start, end)` is exactly one well-formed pairs blob. */
function isPairs(buf: usize, start: i32, end: i32): bool {
  const len = end - start;
  if (len < 4) return false;
  const n = readU32(buf, start);
  if (n == 0) return len == 4;
  if (<u64>n > <u64>(len - 4) / 10) return false;
  let data = start + 4 + <i32>n * 8;
  if (data > end) return false;
  for (let i: i32 = 0; i < <i32>n; i++) {
    const k = readU32(buf, start + 4 + i * 8);
    const v = readU32(buf, start + 8 + i * 8);
    if (<u64>data + <u64>k + <u64>v + 2 > <u64>end) return false;
    data += <i32>k;
    if (load<u8>(buf + <usize>data) != 0) return false;
    data += 1 + <i32>v;
    if (load<u8>(buf + <usize>data) != 0) return false;
    data += 1;
  }
  return data == end;
}

function text(buf: usize, start: i32, len: i32): string {
  return utf8Text(buf + <usize>start, len);
}

// findIn's answers besides a position.
const NOT_FOUND: i64 = -1;
const NOT_PAIRS: i64 = -2;

/** Whether the k bytes of a key at p are `name` (kl units) in UTF-8. A name of kl units is kl bytes
 * only when it is ASCII: then the bytes are compared with the units directly. */
function keyIs(p: usize, k: i32, name: string, kl: i32): bool {
  if (k == kl) return bytesAre(p, name, kl) && isAsciiBytes(p, kl);
  return k > kl && utf8Is(p, k, name);
}

/** isPairs and a key lookup in one walk: where the first key `key` of the pairs blob
 * `[start, end)` sits, its value's [start, end) packed as (start << 32 | end); NOT_FOUND when the
 * blob is well formed without that key; NOT_PAIRS when `[start, end)` is not exactly one
 * well-formed pairs blob (the same test as isPairs). */
function findIn(buf: usize, start: i32, end: i32, key: string): i64 {
  const len = end - start;
  if (len < 4) return NOT_PAIRS;
  const n = readU32(buf, start);
  if (n == 0) return len == 4 ? NOT_FOUND : NOT_PAIRS;
  if (<u64>n > <u64>(len - 4) / 10) return NOT_PAIRS;
  let data = start + 4 + <i32>n * 8;
  if (data > end) return NOT_PAIRS;
  const kl = strLen(key);
  let found = NOT_FOUND;
  for (let i: i32 = 0; i < <i32>n; i++) {
    const k = readU32(buf, start + 4 + i * 8);
    const v = readU32(buf, start + 8 + i * 8);
    if (<u64>data + <u64>k + <u64>v + 2 > <u64>end) return NOT_PAIRS;
    if (found < 0 && keyIs(buf + <usize>data, <i32>k, key, kl))
      found = ((<i64>(data + <i32>k + 1)) << 32) | (<i64>(data + <i32>k + 1 + <i32>v));
    data += <i32>k;
    if (load<u8>(buf + <usize>data) != 0) return NOT_PAIRS;
    data += 1 + <i32>v;
    if (load<u8>(buf + <usize>data) != 0) return NOT_PAIRS;
    data += 1;
  }
  return data == end ? found : NOT_PAIRS;
}

/** The values of a claim read straight from jwt_authn's metadata encoding, without decoding the
 * rest of the payload: the payload map ("payload", else the first issuer's), then the claim by its
 * name, else by a dotted path through nested maps. Empty when absent or malformed. */
export function metadataClaims(buf: usize, total: i32, name: string): Array<string> {
  const leaf = locateClaim(buf, total, name);
  if (leaf < 0) return new Array<string>();
  return leafValues(buf, <i32>(leaf >> 32), <i32>(leaf & 0xffffffff));
}

/**
 * claimMatches(m, metadataClaims(buf, name)) without building the values: list elements and
 * text are matched in place (see StringMatch.matchesBytes); only numbers, booleans and non-ASCII
 * text become strings.
 */
export function metadataClaimMatches(buf: usize, total: i32, name: string, m: StringMatch): bool {
  const leaf = locateClaim(buf, total, name);
  if (leaf < 0) return m.absent();
  const start = <i32>(leaf >> 32);
  const end = <i32>(leaf & 0xffffffff);
  const base = buf;
  if (isPairs(buf, start, end)) {
    const n = <i32>readU32(buf, start);
    // A map, or an empty list, has no values.
    if (n == 0) return m.absent();
    for (let i = 0; i < n; i++) if (readU32(buf, start + 8 + i * 8) != 0) return m.absent();
    let data = start + 4 + n * 8;
    for (let i = 0; i < n; i++) {
      const k = <i32>readU32(buf, start + 4 + i * 8);
      const r = bytesMatch(base + <usize>data, k, m);
      // Any element matching (with invert: every element matching; see claimMatches).
      if (m.invert ? !r : r) return r;
      data += k + 2;
    }
    return m.invert;
  }
  const len = end - start;
  const at = base + <usize>start;
  if (len == 8) {
    for (let i = 0; i < 8; i++)
      if (load<u8>(at + <usize>i) < 0x20) return m.matches(numberText(load<f64>(at)));
  }
  if (len == 1 && load<u8>(at) <= 1) return m.matches(load<u8>(at) == 1 ? "true" : "false");
  return bytesMatch(at, len, m);
}

/** m.matches on UTF-8 text in place: ASCII without decoding, anything else decoded. */
function bytesMatch(ptr: usize, len: i32, m: StringMatch): bool {
  const r = m.matchesBytes(ptr, len, false);
  if (r >= 0) return r == 1;
  return m.matches(utf8Text(ptr, len));
}

/** Where claim `name` sits in the metadata (see metadataClaims): its value's [start, end) packed
 * as (start << 32 | end), or -1. */
function locateClaim(buf: usize, total: i32, name: string): i64 {
  let at = findIn(buf, 0, total, "payload");
  if (at == NOT_PAIRS) return -1;
  if (at < 0) {
    // Older Istio: keyed by issuer; take the first value that is itself a map.
    const n = <i32>readU32(buf, 0);
    let data = 4 + n * 8;
    for (let i = 0; i < n; i++) {
      const k = <i32>readU32(buf, 4 + i * 8);
      const vl = <i32>readU32(buf, 8 + i * 8);
      const vs = data + k + 1;
      if (isPairs(buf, vs, vs + vl)) {
        at = ((<i64>vs) << 32) | (<i64>(vs + vl));
        break;
      }
      data += k + vl + 2;
    }
    if (at < 0) return -1;
  }
  let ps = <i32>(at >> 32);
  let pe = <i32>(at & 0xffffffff);
  let leaf = findIn(buf, ps, pe, name);
  if (leaf == NOT_PAIRS) return -1;
  if (leaf < 0 && name.indexOf(".") > 0) {
    // A dotted path through nested maps: every step must be a map holding the next name.
    let from = 0;
    while (true) {
      let dot = name.indexOf(".", from);
      const last = dot < 0;
      if (last) dot = name.length;
      if (dot == from) return -1;
      const step = findIn(buf, ps, pe, name.substring(from, dot));
      if (step < 0) return -1;
      if (last) {
        leaf = step;
        break;
      }
      ps = <i32>(step >> 32);
      pe = <i32>(step & 0xffffffff);
      from = dot + 1;
    }
  }
  return leaf;
}

/** A claim's values as strings, straight from its encoding (the same typing rules as value()): a
 * list gives its elements, a scalar itself, a map nothing. */
function leafValues(buf: usize, start: i32, end: i32): Array<string> {
  const out = new Array<string>();
  const len = end - start;
  if (isPairs(buf, start, end)) {
    const n = <i32>readU32(buf, start);
    for (let i = 0; i < n; i++) if (readU32(buf, start + 8 + i * 8) != 0) return out; // a map
    let data = start + 4 + n * 8;
    for (let i = 0; i < n; i++) {
      const k = <i32>readU32(buf, start + 4 + i * 8);
      out.push(text(buf, data, k));
      data += k + 2;
    }
    return out;
  }
  const base = buf + <usize>start;
  if (len == 8) {
    for (let i = 0; i < 8; i++) {
      if (load<u8>(base + <usize>i) < 0x20) {
        out.push(numberText(load<f64>(base)));
        return out;
      }
    }
  }
  if (len == 1 && load<u8>(base) <= 1) {
    out.push(load<u8>(base) == 1 ? "true" : "false");
    return out;
  }
  out.push(text(buf, start, len));
  return out;
}
