// Plain-load accessors for the request path's inner loops. The release build is tuned for size
// (shrinkLevel 2), so the standard library's String#length, String#charCodeAt and Array's indexed
// read stay function calls there, one per byte compared; these are inlined loads instead. Callers
// must know the index is in range (the checked forms remain the default everywhere else). Also the
// byte scans those loops share: a string's units against bytes, and a search eight bytes at a time.
// `@inline` on a function is AssemblyScript syntax that Prettier cannot parse: see .prettierignore.

/** s.length */
@inline export function strLen(s: string): i32 {
  // The runtime header's last word is the payload size in bytes (two per UTF-16 unit).
  return <i32>(load<u32>(changetype<usize>(s) - 4) >> 1);
}

/** s.charCodeAt(i), 0 <= i < s.length */
@inline export function unitAt(s: string, i: i32): i32 {
  return <i32>load<u16>(changetype<usize>(s) + ((<usize>i) << 1));
}

/** unchecked(a[i]), 0 <= i < a.length */
@inline export function itemAt<T>(a: Array<T>, i: i32): T {
  return load<T>(a.dataStart + ((<usize>i) << alignof<T>()));
}

/** a == b for strings, without a call when they are the same object (the usual case on the request
 * path: a rule's lane, the default lane). */
@inline export function sameString(a: string, b: string): bool {
  return changetype<usize>(a) == changetype<usize>(b) || a == b;
}

/** Whether the n bytes at ptr are the first n UTF-16 code units of s (n <= s.length), each byte
 * compared with one unit: four at a time, each group of four bytes spread to four 16-bit lanes, then
 * two, then one. */
export function bytesAre(ptr: usize, s: string, n: i32): bool {
  const sp = changetype<usize>(s);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    let x = <u64>load<u32>(ptr + <usize>j);
    x = (x | (x << 16)) & 0x0000ffff0000ffff;
    x = (x | (x << 8)) & 0x00ff00ff00ff00ff;
    if (x != load<u64>(sp + ((<usize>j) << 1))) return false;
  }
  if (j + 2 <= n) {
    const x = <u32>load<u16>(ptr + <usize>j);
    if (((x | (x << 8)) & 0x00ff00ff) != load<u32>(sp + ((<usize>j) << 1))) return false;
    j += 2;
  }
  return j == n || <u32>load<u8>(ptr + <usize>j) == <u32>load<u16>(sp + ((<usize>j) << 1));
}

/** Whether the n bytes at ptr are exactly s encoded as UTF-8 (a surrogate pair as one four-byte
 * character; a lone surrogate matches nothing): unit by unit, stopping at the first difference. */
export function utf8Is(ptr: usize, n: i32, s: string): bool {
  const len = strLen(s);
  let j = 0;
  for (let i = 0; i < len; i++) {
    const c = <u32>unitAt(s, i);
    if (c < 0x80) {
      if (j >= n || <u32>load<u8>(ptr + <usize>j) != c) return false;
      j++;
    } else {
      const at = utf8CharIs(ptr, n, j, s, i);
      if (at < 0) return false;
      // A surrogate pair is two units and four bytes.
      if (at - j == 4) i++;
      j = at;
    }
  }
  return j == n;
}

/** utf8Is for the character starting at unit i of s (not ASCII) against the bytes from j: the
 * byte after it, or -1. */
function utf8CharIs(ptr: usize, n: i32, j: i32, s: string, i: i32): i32 {
  let c = <u32>unitAt(s, i);
  let k = c < 0x800 ? 2 : 3;
  if (c - 0xd800 < 0x800) {
    // A high surrogate followed by a low one is one character; anything else matches nothing.
    if (c >= 0xdc00 || i + 1 >= strLen(s)) return -1;
    const lo = <u32>unitAt(s, i + 1);
    if (lo - 0xdc00 >= 0x400) return -1;
    c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
    k = 4;
  }
  if (j + k > n) return -1;
  // The lead byte, then k - 1 continuation bytes of six bits each.
  const lead = k == 2 ? 0xc0 | (c >> 6) : k == 3 ? 0xe0 | (c >> 12) : 0xf0 | (c >> 18);
  if (<u32>load<u8>(ptr + <usize>j) != lead) return -1;
  for (let t = 1; t < k; t++) {
    const cont = 0x80 | ((c >> (<u32>(k - 1 - t) * 6)) & 0x3f);
    if (<u32>load<u8>(ptr + <usize>(j + t)) != cont) return -1;
  }
  return j + k;
}

/** s === null, without a call: String's equality operator compares values, even with null. */
@inline export function isNone(s: string | null): bool {
  return changetype<usize>(s) == 0;
}

/** Whether byte i at ptr is HTTP optional whitespace (space or tab). */
@inline export function owsAt(ptr: usize, i: i32): bool {
  const c = load<u8>(ptr + <usize>i);
  return c == 0x20 || c == 0x09;
}

/** Whether bytes [ptr, ptr + len) are all ASCII: eight at a time, the last eight (or the last four
 * of a short run) read once more rather than byte by byte. */
export function isAsciiBytes(ptr: usize, len: i32): bool {
  if (len >= 8) {
    for (let i = 0; i + 8 <= len; i += 8) if ((load<u64>(ptr + <usize>i) & 0x8080808080808080) != 0) return false;
    return (load<u64>(ptr + <usize>(len - 8)) & 0x8080808080808080) == 0;
  }
  if (len >= 4) return ((load<u32>(ptr) | load<u32>(ptr + <usize>(len - 4))) & 0x80808080) == 0;
  for (let i = 0; i < len; i++) if (load<u8>(ptr + <usize>i) >= 0x80) return false;
  return true;
}

// Word-at-a-time search: a byte equal to c in a word x is one whose (x ^ c·0x01…01) is zero, and
// (y - 0x01…01) & ~y & 0x80…80 flags the zero bytes of y. The lowest flag is always exact (borrows
// only run upward), so its position is the first such byte.
const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** The zero bytes of y flagged (0x80 in each); the lowest flag is exact. */
@inline export function zeroBytes(y: u64): u64 {
  return (y - ONES) & ~y & HIGHS;
}

/** Index of the first byte in [from, to) at ptr that is c1 or c2 (both ASCII), or `to`: eight
 * bytes at a time. */
export function indexOfEither(ptr: usize, from: i32, to: i32, c1: u32, c2: u32): i32 {
  const s1 = ONES * <u64>c1;
  const s2 = ONES * <u64>c2;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const x = load<u64>(ptr + <usize>i);
    const t = zeroBytes(x ^ s1) | zeroBytes(x ^ s2);
    if (t != 0) return i + <i32>(ctz(t) >> 3);
  }
  for (; i < to; i++) {
    const c = <u32>load<u8>(ptr + <usize>i);
    if (c == c1 || c == c2) return i;
  }
  return to;
}

/** Index of the first byte in [from, to) at ptr that is c (ASCII), or `to`: eight bytes at a time. */
export function indexOfByte(ptr: usize, from: i32, to: i32, c: u32): i32 {
  const s = ONES * <u64>c;
  let i = from;
  for (; i + 8 <= to; i += 8) {
    const t = zeroBytes(load<u64>(ptr + <usize>i) ^ s);
    if (t != 0) return i + <i32>(ctz(t) >> 3);
  }
  for (; i < to; i++) if (<u32>load<u8>(ptr + <usize>i) == c) return i;
  return to;
}

