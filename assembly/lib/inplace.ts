// Request parts read in place from their UTF-8 bytes (a header value in the proxy's block, a property
// the proxy handed over): each function gives exactly the answer of its string counterpart in
// ./cookie, ./query and ./cidr for the usual ASCII input, and says so when the string path must
// decide instead. No allocation and no host call: the filter's request view (request.ts) uses them on
// every request, and the tests compare them with the string functions on generated input.
import { IpAddr } from "./cidr";
import { bytesAre, indexOfByte, indexOfEither, owsAt, strLen } from "./raw";

// The pairs of the request's cookie header, filed by splitCookies() in one pass: per pair its name's
// start and end and its value's start and end (quotes stripped), as offsets into the header.
const MAX_PAIRS: i32 = 32;
const PAIRS: usize = memory.data(32 * 16, 4);

/**
 * Files the pairs of a cookie header given as ASCII bytes as getCookie (lib/cookie.ts) reads them:
 * split on ';', spaces and tabs around names and values ignored, segments without a name before
 * '=' skipped, one pair of surrounding double quotes stripped from the value. Each name asked for
 * then costs a look at the pairs (pairValue) rather than a walk over the header. Returns how many,
 * or -1 when there are more than MAX_PAIRS (then getCookie on the decoded header answers).
 */
export function splitCookies(ptr: usize, n: i32): i32 {
  let count = 0;
  let start = 0;
  while (start < n) {
    let a = start;
    while (a < n && owsAt(ptr, a)) a++;
    // The pair's end (';' or the header's end), then its first '=' before that.
    const end = indexOfByte(ptr, a, n, 0x3b);
    const eq = indexOfByte(ptr, a, end, 0x3d);
    if (eq > a && eq < end) {
      let ke = eq;
      while (ke > a && owsAt(ptr, ke - 1)) ke--;
      let vs = eq + 1;
      while (vs < end && owsAt(ptr, vs)) vs++;
      let ve = end;
      while (ve > vs && owsAt(ptr, ve - 1)) ve--;
      if (ve - vs >= 2 && load<u8>(ptr + <usize>vs) == 0x22 && load<u8>(ptr + <usize>(ve - 1)) == 0x22) {
        vs++;
        ve--;
      }
      if (count == MAX_PAIRS) return -1;
      const at = PAIRS + ((<usize>count) << 4);
      store<i32>(at, a);
      store<i32>(at, ke, 4);
      store<i32>(at, vs, 8);
      store<i32>(at, ve, 12);
      count++;
    }
    start = end + 1;
  }
  return count;
}

/** getCookie() over the `count` pairs splitCookies() filed for the header at ptr: the first value
 * of `name` as its [start, end) packed as (start << 32 | end), or -1 when absent or name is empty. */
export function pairValue(ptr: usize, count: i32, name: string): i64 {
  const nl = strLen(name);
  if (nl == 0) return -1;
  for (let i = 0; i < count; i++) {
    const at = PAIRS + ((<usize>i) << 4);
    const a = load<i32>(at);
    if (load<i32>(at, 4) - a != nl) continue;
    if (bytesAre(ptr + <usize>a, name, nl)) return ((<i64>load<i32>(at, 8)) << 32) | (<i64>load<i32>(at, 12));
  }
  return -1;
}

/** findQueryParam: the query needs percent- or form-decoding (or is not ASCII). */
export const QUERY_DECODE: i64 = -2;

// The bytes with a role in a query, all below 64: '#', '%', '&', '+' and '='.
const QUERY_BYTES: u64 = (1 << 0x23) | (1 << 0x25) | (1 << 0x26) | (1 << 0x2b) | (1 << 0x3d);

/**
 * getQueryParam (lib/query.ts) on a :path given as ASCII bytes (the caller checks), in place, for
 * the usual query that needs no decoding: the raw value's [start, end) packed as (start << 32 |
 * end), -1 when absent (or name is empty), QUERY_DECODE when its query holds '%' or '+'.
 */
export function findQueryParam(ptr: usize, n: i32, name: string): i64 {
  const nl = strLen(name);
  if (nl == 0) return -1;
  // The query: after the first '?' that comes before any '#', up to the next '#' (or the end).
  const q = indexOfEither(ptr, 0, n, 0x3f, 0x23);
  if (q >= n || load<u8>(ptr + <usize>q) == 0x23) return -1;
  // One walk over it: parameters split on '&', each named by what comes before its first '='; the
  // first named `name` answers, unless a '%' or '+' anywhere in the query sends the whole lookup to
  // the decoder.
  let found: i64 = -1;
  let start = q + 1;
  let eq = -1;
  for (let i = start; i <= n; i++) {
    let c: u32 = 0x23; // the end reads as a '#'
    if (i < n) {
      c = load<u8>(ptr + <usize>i);
      if (c >= 64 || ((QUERY_BYTES >> c) & 1) == 0) continue;
    }
    if (c == 0x3d) {
      if (eq < 0) eq = i;
      continue;
    }
    if (c == 0x25 || c == 0x2b) return QUERY_DECODE;
    // '&' or '#': the parameter [start, i) is complete.
    if (found < 0 && (eq < 0 ? i : eq) - start == nl && bytesAre(ptr + <usize>start, name, nl))
      found = eq < 0 ? ((<i64>i) << 32) | (<i64>i) : ((<i64>(eq + 1)) << 32) | (<i64>i);
    if (c == 0x23) return found;
    start = i + 1;
    eq = -1;
  }
  return found; // not reached: the end reads as a '#'
}

/**
 * parseSocketAddress for the common IPv4 "a.b.c.d:port" form, read from UTF-8 bytes in place: 1
 * (parsed into `out`), 0 (that form with a port above 65535: parseSocketAddress gives null), or
 * -1 (anything else, malformed forms included: parseSocketAddress on the text decides). Same rules
 * for that form: four decimal parts 0-255 without leading zeros, a port of 1-5 digits.
 */
export function parseV4SocketBytes(ptr: usize, len: usize, out: IpAddr): i32 {
  // The usual well-formed "a.b.c.d:port" in one walk; anything else (including every malformed
  // form: a leading zero or a fourth digit stops the walk where a '.' or ':' must follow) is left
  // to the string parser.
  const end = ptr + len;
  let p = ptr;
  let value: u32 = 0;
  for (let parts = 0; parts < 4; parts++) {
    if (p >= end) return -1;
    let part = <u32>load<u8>(p++) - 0x30;
    if (part > 9) return -1;
    // Up to two more digits after a first that is not 0.
    if (part != 0 && p < end) {
      let d = <u32>load<u8>(p) - 0x30;
      if (d <= 9) {
        part = part * 10 + d;
        if (++p < end) {
          d = <u32>load<u8>(p) - 0x30;
          if (d <= 9) {
            part = part * 10 + d;
            p++;
          }
        }
      }
    }
    if (part > 255 || p >= end || <u32>load<u8>(p++) != (parts < 3 ? 0x2e : 0x3a)) return -1;
    value = (value << 8) | part;
  }
  const pl = end - p;
  if (pl < 1 || pl > 5) return -1;
  let port: u32 = 0;
  for (; p < end; p++) {
    const d = <u32>load<u8>(p) - 0x30;
    if (d > 9) return -1;
    port = port * 10 + d;
  }
  if (port > 65535) return 0;
  out.v6 = false;
  out.hi = 0;
  out.lo = <u64>value;
  return 1;
}
