// W3C Baggage (https://www.w3.org/TR/baggage/): read, set and remove one member.
//
//   baggage-string = list-member *( OWS "," OWS list-member )
//   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
//   property       = key OWS "=" OWS value / key OWS
//   key            = token (RFC 9110);  value = *baggage-octet (percent-encoded)
//
// Limits: the spec asks a platform to propagate at least 64 members and 8192
// bytes. We accept up to MAX_MEMBERS (180, the figure of earlier drafts and of
// OpenTelemetry) and write at most MAX_BYTES (8192).

import {
  StrBuf,
  indexOfUnit,
  isBaggageOctet,
  isTchar,
  isToken,
  percentDecode,
  percentEncode,
  regionEquals,
  skipOws,
  trimOwsEnd,
  utf8Length,
} from "./text";
import { unitAt } from "./raw";

// Every index read below lies in [0, end) with end at most the header's length (memberEnd).

/** Members read or written at most; getBaggage ignores members past this many. */
export const MAX_MEMBERS: i32 = 180;
/** Largest baggage header setBaggage writes, in bytes. */
export const MAX_BYTES: i32 = 8192;

/** End of the token starting at i (i itself if none). */
function tokenEnd(s: string, i: i32, end: i32): i32 {
  while (i < end && isTchar(unitAt(s, i))) i++;
  return i;
}

/** End of the baggage-octet run starting at i. */
function octetsEnd(s: string, i: i32, end: i32): i32 {
  while (i < end && isBaggageOctet(unitAt(s, i))) i++;
  return i;
}

/** Bounds of a parsed list-member's value (valid after wellFormed returns true). */
class Member {
  valueStart: i32 = 0;
  valueEnd: i32 = 0;
}

/** One Member reused by every call (no call re-enters another). */
const MEMBER = new Member();

/** Parses the list-member s[start, end) (OWS-trimmed, non-empty); true if it follows the grammar. */
function wellFormed(s: string, start: i32, end: i32, m: Member): bool {
  const keyEnd = tokenEnd(s, start, end);
  if (keyEnd == start) return false;
  let i = skipOws(s, keyEnd, end);
  if (i >= end || unitAt(s, i) != 0x3d) return false;
  i = skipOws(s, i + 1, end);
  m.valueStart = i;
  i = octetsEnd(s, i, end);
  m.valueEnd = i;
  i = skipOws(s, i, end);
  while (i < end) {
    if (unitAt(s, i) != 0x3b) return false;
    i = skipOws(s, i + 1, end);
    const pk = tokenEnd(s, i, end);
    if (pk == i) return false;
    i = skipOws(s, pk, end);
    if (i < end && unitAt(s, i) == 0x3d) {
      i = skipOws(s, i + 1, end);
      i = skipOws(s, octetsEnd(s, i, end), end);
    }
  }
  return true;
}

/**
 * True when the member s[start, end) is keyed `key`: its leading token equals
 * key and is followed (after OWS) by '=', ';' or the end. Used for removal,
 * so a malformed member with our key is removed too.
 */
function hasKey(s: string, start: i32, end: i32, key: string): bool {
  const keyEnd = tokenEnd(s, start, end);
  if (!regionEquals(s, start, keyEnd, key)) return false;
  const i = skipOws(s, keyEnd, end);
  if (i >= end) return true;
  const c = unitAt(s, i);
  return c == 0x3d || c == 0x3b;
}

/** End of the member starting at start (the next ',' or the header's end). */
function memberEnd(s: string, start: i32): i32 {
  const comma = indexOfUnit(s, 0x2c, start);
  return comma < 0 ? s.length : comma;
}

/**
 * The percent-decoded value of the first well-formed member whose key is
 * exactly `key`, among the first MAX_MEMBERS non-empty members. Malformed
 * members are skipped. Null when absent, or when that member's value is not
 * valid UTF-8 once decoded.
 */
export function getBaggage(header: string, key: string): string | null {
  if (key.length == 0) return null;
  const n = header.length;
  const m = MEMBER;
  let start = 0;
  let seen = 0;
  while (start < n && seen < MAX_MEMBERS) {
    const end = memberEnd(header, start);
    const a = skipOws(header, start, end);
    const b = trimOwsEnd(header, a, end);
    if (a < b) {
      seen++;
      if (hasKey(header, a, b, key) && wellFormed(header, a, b, m)) {
        return percentDecode(header.substring(m.valueStart, m.valueEnd), false);
      }
    }
    start = end + 1;
  }
  return null;
}

/**
 * A new baggage header with `key=<percent-encoded value>` as its FIRST member
 * (so truncation by a later hop keeps it), followed by every other non-empty
 * member verbatim (OWS-trimmed) in order, joined with ","; members keyed `key`
 * are dropped. Null when key is not a token, or when the result would have
 * more than MAX_MEMBERS members or more than MAX_BYTES bytes (the caller then
 * leaves the header alone).
 */
export function setBaggage(header: string, key: string, value: string): string | null {
  if (!isToken(key)) return null;
  const out = new StrBuf(header.length + key.length + value.length + 8);
  out.pushString(key);
  out.pushUnit(0x3d);
  out.pushString(percentEncode(value));
  let count = 1;
  const n = header.length;
  let start = 0;
  while (start < n) {
    const end = memberEnd(header, start);
    const a = skipOws(header, start, end);
    const b = trimOwsEnd(header, a, end);
    if (a < b && !hasKey(header, a, b, key)) {
      count++;
      if (count > MAX_MEMBERS) return null;
      out.pushUnit(0x2c);
      out.pushRange(header, a, b);
      if (out.length > MAX_BYTES) return null; // UTF-16 units never exceed UTF-8 bytes
    }
    start = end + 1;
  }
  const result = out.toString();
  if (utf8Length(result) > MAX_BYTES) return null;
  return result;
}

/**
 * The header without members keyed `key`; the others stay verbatim (OWS-
 * trimmed), in order, joined with ",", empty members dropped. Returns the
 * header unchanged when it has no such member.
 */
export function removeBaggage(header: string, key: string): string {
  if (key.length == 0) return header;
  const n = header.length;
  let found = false;
  let start = 0;
  while (start < n) {
    const end = memberEnd(header, start);
    const a = skipOws(header, start, end);
    if (hasKey(header, a, trimOwsEnd(header, a, end), key)) {
      found = true;
      break;
    }
    start = end + 1;
  }
  if (!found) return header;
  const out = new StrBuf(n);
  start = 0;
  while (start < n) {
    const end = memberEnd(header, start);
    const a = skipOws(header, start, end);
    const b = trimOwsEnd(header, a, end);
    if (a < b && !hasKey(header, a, b, key)) {
      if (out.length > 0) out.pushUnit(0x2c);
      out.pushRange(header, a, b);
    }
    start = end + 1;
  }
  return out.toString();
}

/**
 * Whether the header already carries `key=value` as its only member keyed `key` (well-formed or not),
 * the value written as is: then setting the member again would change nothing that matters. Used
 * with lane names, which need no percent-encoding. No allocation.
 */
export function carriesOnly(header: string, key: string, value: string): bool {
  const n = header.length;
  const m = MEMBER;
  let found = false;
  let start = 0;
  while (start < n) {
    const end = memberEnd(header, start);
    const a = skipOws(header, start, end);
    const b = trimOwsEnd(header, a, end);
    if (a < b && hasKey(header, a, b, key)) {
      if (found || !wellFormed(header, a, b, m)) return false;
      if (!regionEquals(header, m.valueStart, m.valueEnd, value)) return false;
      found = true;
    }
    start = end + 1;
  }
  return found;
}
