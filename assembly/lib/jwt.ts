// Unverified JWT decoding and claim lookup. Verification is jwt_authn's job;
// this reads a token only when the config explicitly allows unverified claims.

import { base64UrlDecode } from "./base64";
import { JKind, JValue, parseJson, pow10 } from "./json";
import { intText, isOws, lowerUnit, uintText } from "./text";

/** Longest token (after the scheme) accepted, in UTF-16 units. */
export const MAX_TOKEN_LENGTH: i32 = 16384;
/** Nesting allowed in a decoded header or payload. */
const MAX_CLAIM_DEPTH: i32 = 32;

function isBase64UrlChar(c: i32): bool {
  return (
    (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f
  );
}

/** Decodes one segment as a JSON object, or null. */
function segmentObject(token: string, start: i32, end: i32): JValue | null {
  if (end <= start) return null;
  const text = base64UrlDecode(token.substring(start, end));
  if (text === null) return null;
  const parsed = parseJson(text, MAX_CLAIM_DEPTH);
  const v = parsed.value;
  if (v === null || v.kind != JKind.Object) return null;
  return v;
}

/**
 * The payload of a JWS in compact form, as a JSON object. Accepts a bare
 * token "h.p.s" or "Bearer <token>" (scheme case-insensitive, then spaces);
 * surrounding spaces are ignored. Exactly three dot-separated segments of
 * base64url characters (no padding); the header and payload must decode to
 * JSON objects; the signature may be empty. Nothing is verified. Null on any
 * malformation or when the token exceeds MAX_TOKEN_LENGTH.
 */
export function jwtPayload(token: string): JValue | null {
  let start = 0;
  let end = token.length;
  while (start < end && isOws(token.charCodeAt(start))) start++;
  while (end > start && isOws(token.charCodeAt(end - 1))) end--;
  // Optional "Bearer" scheme.
  if (end - start > 7) {
    const scheme = "bearer";
    let match = true;
    for (let k = 0; k < 6; k++) {
      if (lowerUnit(token.charCodeAt(start + k)) != scheme.charCodeAt(k)) {
        match = false;
        break;
      }
    }
    if (match && isOws(token.charCodeAt(start + 6))) {
      start += 7;
      while (start < end && isOws(token.charCodeAt(start))) start++;
    }
  }
  if (end - start > MAX_TOKEN_LENGTH || end <= start) return null;
  let dot1 = -1;
  let dot2 = -1;
  for (let i = start; i < end; i++) {
    const c = token.charCodeAt(i);
    if (c == 0x2e) {
      if (dot1 < 0) dot1 = i;
      else if (dot2 < 0) dot2 = i;
      else return null; // a fourth segment (JWE has five)
    } else if (!isBase64UrlChar(c)) {
      return null;
    }
  }
  if (dot2 < 0) return null;
  if (segmentObject(token, start, dot1) === null) return null;
  return segmentObject(token, dot1 + 1, dot2);
}

const ZEROS = "00000000000000000000";

/** x * 10^p, in steps of exact powers of ten (at most 10^22 each). */
function scale10(x: f64, p: i32): f64 {
  let v = x;
  let k = p;
  for (let i = 0; i < 16 && k > 22; i++) {
    v *= 1e22;
    k -= 22;
  }
  for (let i = 0; i < 16 && k < -22; i++) {
    v /= 1e22;
    k += 22;
  }
  return k >= 0 ? v * pow10(k) : v / pow10(-k);
}

/**
 * n as a claim string. Integers below 2^63 in magnitude print exactly ("42",
 * "-3"). Any other number prints rounded to 15 significant digits, trailing
 * zeros dropped, laid out as JavaScript does: plain from 1e-6 up to 1e21
 * ("1.5", "0.001", "100000000000000000000"), else with an exponent ("1e-7",
 * "1.5e+21"). That is JavaScript's shortest form for every number that has a
 * decimal form of at most 15 significant digits (whatever a token issuer
 * wrote by hand); others differ: 0.30000000000000004 prints "0.3".
 */
export function numberText(n: f64): string {
  if (!isFinite(n)) return n != n ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
  if (Math.floor(n) == n && Math.abs(n) < 9.2e18) return intText(<i64>n);
  const x = Math.abs(n);
  // The decimal exponent e (10^e <= x < 10^(e+1)): estimated from the binary
  // one (low by at most one), then set by where x * 10^(14 - e) falls.
  const bits = reinterpret<u64>(x);
  const be = <i32>(bits >> 52);
  const e2 = be != 0 ? be - 1023 : 63 - <i32>clz(bits) - 1074;
  let e = <i32>Math.floor(<f64>e2 * 0.3010299956639812);
  let v = scale10(x, 14 - e);
  for (let k = 0; k < 2; k++) {
    if (v >= 1e15) e++;
    else if (v < 1e14) e--;
    else break;
    v = scale10(x, 14 - e);
  }
  let m = <u64>(v + 0.5); // v < 2^50: exact, then rounds half up
  if (m >= 1000000000000000) {
    m = 100000000000000;
    e++;
  } else if (m < 100000000000000) {
    m = 100000000000000; // only when x is a hair below a power of ten
  }
  // 15 digits; trailing zeros dropped, k of them kept.
  const all = uintText(m, 10); // the integer printer, already used above
  let k = 15;
  while (k > 1 && all.charCodeAt(k - 1) == 0x30) k--;
  const digits = all.substring(0, k);
  const sign = n < 0 ? "-" : "";
  const point = e + 1; // the decimal point sits after this many digits
  if (point > 0 && point <= 21) {
    if (point >= k) return sign + digits + ZEROS.substring(0, point - k);
    return sign + digits.substring(0, point) + "." + digits.substring(point);
  }
  if (point <= 0 && point > -6) return sign + "0." + ZEROS.substring(0, -point) + digits;
  const mantissa = k > 1 ? digits.substring(0, 1) + "." + digits.substring(1) : digits;
  return sign + mantissa + (point > 0 ? "e+" : "e-") + intText(point > 0 ? point - 1 : 1 - point);
}

function pushScalar(v: JValue, out: Array<string>): void {
  if (v.kind == JKind.String) out.push(v.s);
  else if (v.kind == JKind.Number) out.push(numberText(v.n));
  else if (v.kind == JKind.Bool) out.push(v.b ? "true" : "false");
}

/** Walks a dotted path ("realm_access.roles") through nested objects; null if a step is missing. */
function walk(payload: JValue, path: string): JValue | null {
  let cur: JValue | null = payload;
  let start = 0;
  const n = path.length;
  while (start <= n) {
    let end = path.indexOf(".", start);
    if (end < 0) end = n;
    if (end == start) return null; // empty segment
    if (cur === null) return null;
    cur = cur.get(path.substring(start, end));
    start = end + 1;
  }
  return cur;
}

/**
 * The string forms of claim `name` in a payload: a string gives [s]; an
 * integer ["42"]; another number its text from numberText ("1.5": 15
 * significant digits, so compare non-integral claims by that form); a bool
 * ["true"]/["false"]; an array each scalar element in order (nested arrays
 * and objects skipped). Objects, null and absent claims give []. When the
 * payload has no member `name` and name contains '.', it is read as a path
 * through nested objects (Istio's "realm_access.roles" form).
 */
export function claimValues(payload: JValue, name: string): Array<string> {
  const out = new Array<string>(0);
  let v = payload.get(name);
  if (v === null && name.indexOf(".") >= 0) v = walk(payload, name);
  if (v === null) return out;
  if (v.kind == JKind.Array) {
    const items = v.items;
    for (let i = 0; i < items.length; i++) pushScalar(items[i], out);
  } else {
    pushScalar(v, out);
  }
  return out;
}
