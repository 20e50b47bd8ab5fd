// Request parts read in place from their UTF-8 bytes (a header value in the proxy's block, a property
// the proxy handed over): each function gives exactly the answer of its string counterpart in
// ./cookie, ./query and ./cidr for the usual ASCII input, and says so when the string path must
// decide instead. No allocation and no host call: the filter's request view (request.ts) uses them on
// every request, and the tests compare them with the string functions on generated input.
import { IpAddr } from "./cidr";
import { bytesAre, digitAt, indexOfByte, indexOfEither, owsAt, strLen } from "./raw";

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
  const end = indexOfByte(ptr, q + 1, n, 0x23);
  // Any '%' or '+' in it sends the whole lookup to the decoder.
  if (indexOfEither(ptr, q + 1, end, 0x25, 0x2b) < end) return QUERY_DECODE;
  // Parameters split on '&', each name before its first '='; the first named `name` answers.
  let start = q + 1;
  while (start <= end) {
    const amp = indexOfByte(ptr, start, end, 0x26);
    const eq = indexOfByte(ptr, start, amp, 0x3d);
    if (eq - start == nl && bytesAre(ptr + <usize>start, name, nl))
      return eq < amp ? ((<i64>(eq + 1)) << 32) | (<i64>amp) : ((<i64>amp) << 32) | (<i64>amp);
    start = amp + 1;
  }
  return -1;
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
  const n = <i32>len;
  let i = 0;
  let value: u32 = 0;
  for (let parts = 0; parts < 4; parts++) {
    let part = digitAt(ptr, i, n);
    if (part < 0) return -1;
    i++;
    if (part != 0) {
      let d = digitAt(ptr, i, n);
      if (d >= 0) {
        part = part * 10 + d;
        i++;
        d = digitAt(ptr, i, n);
        if (d >= 0) {
          part = part * 10 + d;
          i++;
        }
      }
    }
    if (part > 255) return -1;
    value = (value << 8) | (<u32>part);
    const sep = parts < 3 ? 0x2e : 0x3a;
    if (i >= n || load<u8>(ptr + <usize>i) != sep) return -1;
    i++;
  }
  const pl = n - i;
  if (pl < 1 || pl > 5) return -1;
  let port = 0;
  for (; i < n; i++) {
    const d = digitAt(ptr, i, n);
    if (d < 0) return -1;
    port = port * 10 + d;
  }
  if (port > 65535) return 0;
  out.v6 = false;
  out.hi = 0;
  out.lo = <u64>value;
  return 1;
}
