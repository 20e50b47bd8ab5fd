// Unverified JWT decoding and claim lookup. Verification is jwt_authn's job;
// this reads a token only when the config explicitly allows unverified claims.

import { base64UrlDecode } from "./base64";
import { JKind, JValue, parseJson } from "./json";
import { isOws, lowerUnit } from "./text";

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

/** f64 as a claim string: integers without a fraction ("42"), others in shortest form. */
function numberText(n: f64): string {
  const integral = isFinite(n) && Math.floor(n) == n;
  if (integral && Math.abs(n) < 9.2e18) return (<i64>n).toString();
  const s = n.toString();
  // AS prints integral doubles below 1e21 with a trailing ".0"; JS (and JSON) do not.
  return integral && s.endsWith(".0") ? s.substring(0, s.length - 2) : s;
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
 * integer ["42"]; another number its shortest form ("1.5"); a bool
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
