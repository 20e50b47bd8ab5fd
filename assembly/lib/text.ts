// Shared string helpers for the matchers. Pure functions: no host calls, no
// throws, no out-of-range indexing. Indices are UTF-16 code units.

import { isAsciiBytes, strLen, unitAt } from "./raw";

/** A growable UTF-16 buffer: build a string without intermediate strings. */
export class StrBuf {
  private buf: StaticArray<u16>;
  length: i32 = 0;

  constructor(capacity: i32 = 16) {
    this.buf = new StaticArray<u16>(capacity < 8 ? 8 : capacity);
  }

  /** Appends one UTF-16 code unit. */
  pushUnit(unit: i32): void {
    if (this.length >= this.buf.length) this.grow();
    unchecked((this.buf[this.length] = <u16>unit)); // length < buf.length after grow
    this.length++;
  }

  /** Appends a code point, as a surrogate pair above 0xFFFF. */
  pushCodePoint(cp: i32): void {
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      this.pushUnit(0xd800 + (v >> 10));
      this.pushUnit(0xdc00 + (v & 0x3ff));
    } else {
      this.pushUnit(cp);
    }
  }

  /** Appends s[start, end) (clamped to s). */
  pushRange(s: string, start: i32, end: i32): void {
    if (start < 0) start = 0;
    if (end > s.length) end = s.length;
    for (let i = start; i < end; i++) this.pushUnit(s.charCodeAt(i));
  }

  pushString(s: string): void {
    this.pushRange(s, 0, s.length);
  }

  toString(): string {
    return String.UTF16.decodeUnsafe(changetype<usize>(this.buf), (<usize>this.length) << 1);
  }

  private grow(): void {
    const next = new StaticArray<u16>(this.buf.length * 2);
    memory.copy(changetype<usize>(next), changetype<usize>(this.buf), (<usize>this.length) << 1);
    this.buf = next;
  }
}

/**
 * Incremental UTF-8 decoder writing into a StrBuf. feed() returns false on the
 * first invalid byte (overlong forms, surrogates, > U+10FFFF, bad continuation);
 * finish() returns false if a sequence is left incomplete.
 */
export class Utf8Decoder {
  private need: i32 = 0;
  private cp: i32 = 0;
  private min: i32 = 0;

  constructor(public out: StrBuf) {}

  /** True while a multi-byte sequence is incomplete. */
  get pending(): bool {
    return this.need > 0;
  }

  feed(b: i32): bool {
    if (this.need == 0) {
      if (b < 0x80) {
        this.out.pushUnit(b);
        return true;
      }
      if (b >= 0xc2 && b <= 0xdf) {
        this.need = 1;
        this.cp = b & 0x1f;
        this.min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        this.need = 2;
        this.cp = b & 0x0f;
        this.min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        this.need = 3;
        this.cp = b & 0x07;
        this.min = 0x10000;
      } else {
        return false;
      }
      return true;
    }
    if ((b & 0xc0) != 0x80) return false;
    this.cp = (this.cp << 6) | (b & 0x3f);
    this.need--;
    if (this.need > 0) return true;
    const cp = this.cp;
    if (cp < this.min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    this.out.pushCodePoint(cp);
    return true;
  }

  finish(): bool {
    return this.need == 0;
  }
}

/** Value of an ASCII hex digit, or -1. */
export function hexValue(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/**
 * Percent-decodes s; the decoded bytes are read as UTF-8. With plusAsSpace,
 * '+' becomes ' ' (form encoding). A '%' not followed by two hex digits is
 * kept literally. Characters that are not escapes are kept as they are.
 * Returns null when the escapes form invalid UTF-8. Returns s itself when it
 * holds nothing to decode.
 */
export function percentDecode(s: string, plusAsSpace: bool): string | null {
  const n = s.length;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x25 || (plusAsSpace && c == 0x2b)) {
      first = i;
      break;
    }
  }
  if (first < 0) return s;
  const out = new StrBuf(n);
  out.pushRange(s, 0, first);
  const dec = new Utf8Decoder(out);
  let i = first;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c == 0x25 && i + 2 < n && hexValue(s.charCodeAt(i + 1)) >= 0 && hexValue(s.charCodeAt(i + 2)) >= 0) {
      if (!dec.feed((hexValue(s.charCodeAt(i + 1)) << 4) | hexValue(s.charCodeAt(i + 2)))) return null;
      i += 3;
      continue;
    }
    if (dec.pending) return null; // an escaped sequence cut short by a plain character
    if (plusAsSpace && c == 0x2b) out.pushUnit(0x20);
    else out.pushUnit(c);
    i++;
  }
  if (!dec.finish()) return null;
  return out.toString();
}

/** True for the W3C baggage-octet set, which a baggage value may hold unescaped. */
export function isBaggageOctet(c: i32): bool {
  return (
    c == 0x21 ||
    (c >= 0x23 && c <= 0x2b) ||
    (c >= 0x2d && c <= 0x3a) ||
    (c >= 0x3c && c <= 0x5b) ||
    (c >= 0x5d && c <= 0x7e)
  );
}

/** True for characters percentEncode leaves as they are: baggage-octets except '%'. */
function keptUnescaped(c: i32): bool {
  return c != 0x25 && isBaggageOctet(c);
}

const HEX_UPPER = "0123456789ABCDEF";

function pushEscapedByte(out: StrBuf, b: i32): void {
  out.pushUnit(0x25);
  out.pushUnit(HEX_UPPER.charCodeAt((b >> 4) & 0xf));
  out.pushUnit(HEX_UPPER.charCodeAt(b & 0xf));
}

/**
 * Percent-encodes s for a W3C baggage value: baggage-octets other than '%'
 * stay; everything else ('%', ' ', ',', ';', '"', '\\', controls, and
 * non-ASCII as UTF-8) becomes %XX. A lone surrogate is encoded as U+FFFD.
 * Returns s itself when nothing needs escaping.
 */
export function percentEncode(s: string): string {
  const n = s.length;
  let clean = true;
  for (let i = 0; i < n; i++) {
    if (!keptUnescaped(s.charCodeAt(i))) {
      clean = false;
      break;
    }
  }
  if (clean) return s;
  const out = new StrBuf(n + 16);
  let i = 0;
  while (i < n) {
    let c = s.charCodeAt(i);
    i++;
    if (keptUnescaped(c)) {
      out.pushUnit(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i < n) {
      const d = s.charCodeAt(i);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) {
      pushEscapedByte(out, c);
    } else if (c < 0x800) {
      pushEscapedByte(out, 0xc0 | (c >> 6));
      pushEscapedByte(out, 0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      pushEscapedByte(out, 0xe0 | (c >> 12));
      pushEscapedByte(out, 0x80 | ((c >> 6) & 0x3f));
      pushEscapedByte(out, 0x80 | (c & 0x3f));
    } else {
      pushEscapedByte(out, 0xf0 | (c >> 18));
      pushEscapedByte(out, 0x80 | ((c >> 12) & 0x3f));
      pushEscapedByte(out, 0x80 | ((c >> 6) & 0x3f));
      pushEscapedByte(out, 0x80 | (c & 0x3f));
    }
  }
  return out.toString();
}

/** ASCII lower-casing (A-Z only); returns s itself when it has no upper-case ASCII. */
export function toLowerAscii(s: string): string {
  const n = s.length;
  let first = -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      first = i;
      break;
    }
  }
  if (first < 0) return s;
  const out = new StrBuf(n);
  out.pushRange(s, 0, first);
  for (let i = first; i < n; i++) {
    const c = s.charCodeAt(i);
    out.pushUnit(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return out.toString();
}

/** The ASCII lower-case of one code unit (A-Z only). */
export function lowerUnit(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** True for HTTP optional whitespace: space or horizontal tab. */
export function isOws(c: i32): bool {
  return c == 0x20 || c == 0x09;
}

/** s.indexOf(String.fromCharCode(c), from): a plain scan, where String#indexOf compares a
 * substring at every position. */
export function indexOfUnit(s: string, c: i32, from: i32): i32 {
  const n = strLen(s);
  for (let i = max(from, 0); i < n; i++) if (unitAt(s, i) == c) return i;
  return -1;
}

/** First index in [start, end) that is not OWS, or end. */
export function skipOws(s: string, start: i32, end: i32): i32 {
  let i = start;
  const e = min(end, strLen(s));
  while (i >= 0 && i < e && isOws(unitAt(s, i))) i++;
  return i;
}

/** End index after dropping trailing OWS from [start, end); never below start. */
export function trimOwsEnd(s: string, start: i32, end: i32): i32 {
  let j = end;
  const n = strLen(s);
  while (j > start && j <= n && j > 0 && isOws(unitAt(s, j - 1))) j--;
  return j;
}

/** s with leading and trailing OWS removed from [start, end) (clamped to s). */
export function trimOws(s: string, start: i32, end: i32): string {
  if (start < 0) start = 0;
  if (end > s.length) end = s.length;
  if (start >= end) return "";
  const a = skipOws(s, start, end);
  const b = trimOwsEnd(s, a, end);
  if (a == 0 && b == s.length) return s;
  return s.substring(a, b);
}

/** True when s[start, end) equals t exactly, without allocating. */
export function regionEquals(s: string, start: i32, end: i32, t: string): bool {
  const tl = strLen(t);
  if (start < 0 || end > strLen(s) || end - start != tl) return false;
  for (let i = 0; i < tl; i++) {
    if (unitAt(s, start + i) != unitAt(t, i)) return false;
  }
  return true;
}

/** ASCII case-insensitive equality of a and b. */
export function equalsIgnoreCaseAscii(a: string, b: string): bool {
  const n = strLen(a);
  if (n != strLen(b)) return false;
  for (let i = 0; i < n; i++) {
    if (lowerUnit(unitAt(a, i)) != lowerUnit(unitAt(b, i))) return false;
  }
  return true;
}

/** True when s is a lane name: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])? (1 to 63 chars). */
export function isLaneName(s: string): bool {
  const n = strLen(s);
  if (n < 1 || n > 63) return false;
  for (let i = 0; i < n; i++) {
    const c = unitAt(s, i);
    const alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (alnum) continue;
    if (c == 0x2d && i > 0 && i < n - 1) continue;
    return false;
  }
  return true;
}

/** True when s holds a control character: U+0000-U+001F (tab included) or U+007F. */
export function hasControlChars(s: string): bool {
  const n = strLen(s);
  for (let i = 0; i < n; i++) {
    const c = unitAt(s, i);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

/** True for an RFC 9110 tchar (token character): ! # $ % & ' * + - . ^ _ ` | ~, digits and letters. */
export function isTchar(c: i32): bool {
  // Bit c of the mask (below 64: TCHAR_LO; 64 to 127: TCHAR_HI) is set for each tchar.
  if (<u32>c >= 128) return false;
  return (((c < 64 ? TCHAR_LO : TCHAR_HI) >> (<u64>(c & 63))) & 1) != 0;
}
const TCHAR_LO: u64 = 0x3ff6cfa00000000;
const TCHAR_HI: u64 = 0x57ffffffc7fffffe;

/** True when s is a non-empty RFC 9110 token. */
export function isToken(s: string): bool {
  const n = strLen(s);
  if (n == 0) return false;
  for (let i = 0; i < n; i++) {
    if (!isTchar(unitAt(s, i))) return false;
  }
  return true;
}

/** Number of bytes s takes in UTF-8 (a lone surrogate counts as 3). */
export function utf8Length(s: string): i32 {
  let len = 0;
  const n = strLen(s);
  let i = 0;
  while (i < n) {
    const c = unitAt(s, i);
    i++;
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i < n && (unitAt(s, i) & 0xfc00) == 0xdc00) {
      len += 4;
      i++;
    } else len += 3;
  }
  return len;
}

// Where uintText writes its digits: 20 decimal digits of a u64 at most, as UTF-16.
const DIGITS_END: usize = memory.data(40) + 40;

/** `v` in base 10 or 16 (lower-case hex, no leading zeros), as u64.toString(base) prints it. The
 * filter's one integer printer: the standard library's carries every radix's tables and code. */
export function uintText(v: u64, base: u32): string {
  let p = DIGITS_END;
  do {
    const d = <u32>(v % base);
    v /= base;
    p -= 2;
    store<u16>(p, d < 10 ? 0x30 + d : 0x57 + d);
  } while (v != 0);
  return String.UTF16.decodeUnsafe(p, DIGITS_END - p);
}

/** `n` in decimal, with "-" when negative (as i64.toString() prints it). */
export function intText(n: i64): string {
  return n < 0 ? "-" + uintText(<u64>0 - <u64>n, 10) : uintText(<u64>n, 10);
}

/**
 * The text of len bytes of UTF-8 at ptr, each ill-formed sequence read as one U+FFFD (the longest
 * start of a well-formed sequence it holds, as the WHATWG decoder and RE2 read it): bytes that are
 * not valid UTF-8 never turn into other characters (an overlong C1 B0 is not "p"). Valid UTF-8
 * gives the same string as String.UTF8.decodeUnsafe, which reads such bytes leniently.
 */
export function utf8Text(ptr: usize, len: i32): string {
  if (isAsciiBytes(ptr, len)) return String.UTF8.decodeUnsafe(ptr, <usize>len);
  // At most one UTF-16 unit per byte (a four-byte character is two units).
  const str = changetype<string>(__new((<usize>len) << 1, idof<string>()));
  const start = changetype<usize>(str);
  let o = start;
  let i = 0;
  while (i < len) {
    const b0 = <u32>load<u8>(ptr + <usize>i);
    i++;
    let cp = b0;
    if (b0 >= 0x80) {
      // The well-formed ranges (Unicode Table 3-7): the lead byte gives the length and the range
      // of the first continuation byte; later ones are 80-BF.
      let need = -1; // not a lead byte
      let lo: u32 = 0x80;
      let hi: u32 = 0xbf;
      if (b0 - 0xc2 <= 0xdf - 0xc2) {
        need = 1;
        cp = b0 & 0x1f;
      } else if (b0 - 0xe0 <= 0xef - 0xe0) {
        need = 2;
        cp = b0 & 0x0f;
        if (b0 == 0xe0) lo = 0xa0;
        else if (b0 == 0xed) hi = 0x9f;
      } else if (b0 - 0xf0 <= 0xf4 - 0xf0) {
        need = 3;
        cp = b0 & 0x07;
        if (b0 == 0xf0) lo = 0x90;
        else if (b0 == 0xf4) hi = 0x8f;
      }
      // A byte that does not continue the sequence is not consumed: it may start the next one.
      for (; need > 0 && i < len; need--) {
        const b = <u32>load<u8>(ptr + <usize>i);
        if (b < lo || b > hi) break;
        cp = (cp << 6) | (b & 0x3f);
        lo = 0x80;
        hi = 0xbf;
        i++;
      }
      if (need != 0) cp = 0xfffd;
    }
    if (cp < 0x10000) {
      store<u16>(o, <u16>cp);
      o += 2;
    } else {
      cp -= 0x10000;
      store<u16>(o, <u16>(0xd800 | (cp >> 10)));
      store<u16>(o, <u16>(0xdc00 | (cp & 0x3ff)), 2);
      o += 4;
    }
  }
  return changetype<string>(__renew(start, o - start));
}
