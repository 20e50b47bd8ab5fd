// Turning the proxy's encoding of a Struct property (proxy-wasm pairs, nested values serialized the
// same way) back into a JSON-like tree, so verified JWT claims from jwt_authn metadata are read by the
// same claim code as a decoded token. The ABI carries no types: a nested value that parses exactly as
// a pairs blob is a map (a list when every value is empty: lists are encoded as element keys), 8 bytes
// with a control byte are a double, 1 byte 0/1 is a bool, anything else is text.
import { JKind, JValue } from "./lib/json";
import { numberText } from "./lib/jwt";
import { StringMatch } from "./match";

const MAX_DEPTH = 16;

function readU32(buf: ArrayBuffer, at: i32): u32 {
  return load<u32>(changetype<usize>(buf) + <usize>at);
}

/** Whether `buf[start, end)` is exactly one well-formed pairs blob. */
function isPairs(buf: ArrayBuffer, start: i32, end: i32): bool {
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
    if (load<u8>(changetype<usize>(buf) + <usize>data) != 0) return false;
    data += 1 + <i32>v;
    if (load<u8>(changetype<usize>(buf) + <usize>data) != 0) return false;
    data += 1;
  }
  return data == end;
}

function text(buf: ArrayBuffer, start: i32, len: i32): string {
  return String.UTF8.decodeUnsafe(changetype<usize>(buf) + <usize>start, <usize>len);
}

function value(buf: ArrayBuffer, start: i32, end: i32, depth: i32): JValue {
  const v = new JValue();
  const len = end - start;
  if (depth < MAX_DEPTH && isPairs(buf, start, end)) {
    const n = <i32>readU32(buf, start);
    let data = start + 4 + n * 8;
    let allEmpty = n > 0;
    for (let i = 0; i < n; i++) if (readU32(buf, start + 8 + i * 8) != 0) allEmpty = false;
    v.kind = allEmpty ? JKind.Array : JKind.Object;
    for (let i = 0; i < n; i++) {
      const k = <i32>readU32(buf, start + 4 + i * 8);
      const vl = <i32>readU32(buf, start + 8 + i * 8);
      const key = text(buf, data, k);
      data += k + 1;
      if (allEmpty) {
        const item = new JValue();
        item.kind = JKind.String;
        item.s = key;
        v.items.push(item);
      } else {
        v.keys.push(key);
        v.values.push(value(buf, data, data + vl, depth + 1));
      }
      data += vl + 1;
    }
    return v;
  }
  if (len == 8) {
    let control = false;
    for (let i = 0; i < 8; i++)
      if (load<u8>(changetype<usize>(buf) + <usize>(start + i)) < 0x20) control = true;
    if (control) {
      v.kind = JKind.Number;
      v.n = load<f64>(changetype<usize>(buf) + <usize>start);
      return v;
    }
  }
  if (len == 1) {
    const b = load<u8>(changetype<usize>(buf) + <usize>start);
    if (b <= 1) {
      v.kind = JKind.Bool;
      v.b = b == 1;
      return v;
    }
  }
  v.kind = JKind.String;
  v.s = text(buf, start, len);
  return v;
}

/** Decodes a property value; a top-level value that is not a map gives null. */
export function decodeStruct(buf: ArrayBuffer): JValue | null {
  if (!isPairs(buf, 0, buf.byteLength)) return null;
  const v = value(buf, 0, buf.byteLength, 0);
  return v.kind == JKind.Object ? v : null;
}

/** The verified payload inside jwt_authn's metadata: Istio ≥ 1.21 keys it "payload"; older versions
 * key it by issuer, in which case the first issuer's payload is used. */
export function jwtAuthnPayload(meta: JValue): JValue | null {
  const p = meta.get("payload");
  if (p !== null && p.kind == JKind.Object) return p;
  for (let i = 0; i < meta.values.length; i++) {
    const v = unchecked(meta.values[i]);
    if (v.kind == JKind.Object) return v;
  }
  return null;
}

/** Where key `key` sits in the pairs blob `[start, end)`: its value's [start, end) packed as
 * (start << 32 | end), or -1. The blob must already have passed isPairs. */
function find(buf: ArrayBuffer, start: i32, end: i32, key: string): i64 {
  const n = <i32>readU32(buf, start);
  let data = start + 4 + n * 8;
  const kl0 = key.length;
  for (let i = 0; i < n; i++) {
    const k = <i32>readU32(buf, start + 4 + i * 8);
    const vl = <i32>readU32(buf, start + 8 + i * 8);
    if (k == kl0) {
      let same = true;
      for (let j = 0; j < k; j++) {
        if (<i32>load<u8>(changetype<usize>(buf) + <usize>(data + j)) != key.charCodeAt(j)) {
          same = false;
          break;
        }
      }
      if (same) return ((<i64>(data + k + 1)) << 32) | (<i64>(data + k + 1 + vl));
    }
    data += k + vl + 2;
  }
  return -1;
}

/** The values of a claim read straight from jwt_authn's metadata encoding, without decoding the
 * rest of the payload: the payload map ("payload", else the first issuer's), then the claim by its
 * name, else by a dotted path through nested maps. Empty when absent or malformed. */
export function metadataClaims(buf: ArrayBuffer, name: string): Array<string> {
  const leaf = locateClaim(buf, name);
  if (leaf < 0) return new Array<string>();
  return leafValues(buf, <i32>(leaf >> 32), <i32>(leaf & 0xffffffff));
}

/**
 * claimMatches(m, metadataClaims(buf, name)) without building the values: list elements and
 * text are matched in place (see StringMatch.matchesAscii); only numbers, booleans and non-ASCII
 * text become strings.
 */
export function metadataClaimMatches(buf: ArrayBuffer, name: string, m: StringMatch): bool {
  const leaf = locateClaim(buf, name);
  if (leaf < 0) return m.matches(null);
  const start = <i32>(leaf >> 32);
  const end = <i32>(leaf & 0xffffffff);
  const base = changetype<usize>(buf);
  if (isPairs(buf, start, end)) {
    const n = <i32>readU32(buf, start);
    // A map, or an empty list, has no values.
    if (n == 0) return m.matches(null);
    for (let i = 0; i < n; i++) if (readU32(buf, start + 8 + i * 8) != 0) return m.matches(null);
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
  const r = m.matchesAscii(ptr, len);
  if (r >= 0) return r == 1;
  return m.matches(String.UTF8.decodeUnsafe(ptr, <usize>len));
}

/** Where claim `name` sits in the metadata (see metadataClaims): its value's [start, end) packed
 * as (start << 32 | end), or -1. */
function locateClaim(buf: ArrayBuffer, name: string): i64 {
  const total = buf.byteLength;
  if (!isPairs(buf, 0, total)) return -1;
  let at = find(buf, 0, total, "payload");
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
  if (!isPairs(buf, ps, pe)) return -1;
  let leaf = find(buf, ps, pe, name);
  if (leaf < 0 && name.indexOf(".") > 0) {
    let from = 0;
    while (true) {
      let dot = name.indexOf(".", from);
      const last = dot < 0;
      if (last) dot = name.length;
      if (dot == from) return -1;
      const step = find(buf, ps, pe, name.substring(from, dot));
      if (step < 0) return -1;
      ps = <i32>(step >> 32);
      pe = <i32>(step & 0xffffffff);
      if (last) {
        leaf = step;
        break;
      }
      if (!isPairs(buf, ps, pe)) return -1;
      from = dot + 1;
    }
  }
  return leaf;
}

/** A claim's values as strings, straight from its encoding (the same typing rules as value()): a
 * list gives its elements, a scalar itself, a map nothing. */
function leafValues(buf: ArrayBuffer, start: i32, end: i32): Array<string> {
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
  const base = changetype<usize>(buf) + <usize>start;
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
