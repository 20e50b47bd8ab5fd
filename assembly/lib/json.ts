// A strict (RFC 8259), non-throwing JSON parser and a string quoter.
// Malformed input gives an error message, never a trap.

import { StrBuf, hexValue, intText } from "./text";

export const enum JKind {
  Null = 0,
  Bool = 1,
  Number = 2,
  String = 3,
  Array = 4,
  Object = 5,
}

/**
 * A JSON value. `kind` says which fields are meaningful: b (Bool), n (Number),
 * s (String), items (Array), keys/values (Object, parallel, in document order,
 * duplicates kept). Every value owns its (possibly empty) arrays, created on
 * first access, so code may build values by setting `kind` and pushing onto
 * them directly.
 */
export class JValue {
  kind: JKind;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  // The arrays are created on first access, so scalars cost one allocation.
  private itemsArr: Array<JValue> | null = null;
  private keysArr: Array<string> | null = null;
  private valuesArr: Array<JValue> | null = null;

  constructor(kind: JKind = JKind.Null) {
    this.kind = kind;
  }

  /** Elements of an Array value (empty otherwise). */
  get items(): Array<JValue> {
    let a = this.itemsArr;
    if (a === null) {
      a = new Array<JValue>(0);
      this.itemsArr = a;
    }
    return a;
  }

  set items(a: Array<JValue>) {
    this.itemsArr = a;
  }

  /** Member names of an Object value, in document order (empty otherwise). */
  get keys(): Array<string> {
    let a = this.keysArr;
    if (a === null) {
      a = new Array<string>(0);
      this.keysArr = a;
    }
    return a;
  }

  set keys(a: Array<string>) {
    this.keysArr = a;
  }

  /** Member values of an Object value, parallel to keys (empty otherwise). */
  get values(): Array<JValue> {
    let a = this.valuesArr;
    if (a === null) {
      a = new Array<JValue>(0);
      this.valuesArr = a;
    }
    return a;
  }

  set values(a: Array<JValue>) {
    this.valuesArr = a;
  }

  static ofBool(b: bool): JValue {
    const v = new JValue(JKind.Bool);
    v.b = b;
    return v;
  }

  static ofNumber(n: f64): JValue {
    const v = new JValue(JKind.Number);
    v.n = n;
    return v;
  }

  static ofString(s: string): JValue {
    const v = new JValue(JKind.String);
    v.s = s;
    return v;
  }

  /** Appends an element to an Array value; false (and no change) for other kinds. */
  push(item: JValue): bool {
    if (this.kind != JKind.Array) return false;
    this.items.push(item);
    return true;
  }

  /** Appends a member to an Object value (duplicates kept); false for other kinds. */
  put(key: string, value: JValue): bool {
    if (this.kind != JKind.Object) return false;
    this.keys.push(key);
    this.values.push(value);
    return true;
  }

  /** The first member named `key`; null if this is not an object or has no such member. */
  get(key: string): JValue | null {
    if (this.kind != JKind.Object) return null;
    const keys = this.keysArr;
    const values = this.valuesArr;
    if (keys === null || values === null) return null;
    const n = min(keys.length, values.length);
    for (let i = 0; i < n; i++) {
      if (keys[i] == key) return values[i];
    }
    return null;
  }

  /** True for a finite Number with no fractional part. */
  isInteger(): bool {
    if (this.kind != JKind.Number) return false;
    const n = this.n;
    return isFinite(n) && Math.floor(n) == n;
  }
}

/** m stays below this so that m * 10 + 9 fits in a u64. */
const MANTISSA_LIMIT: u64 = 1844674407370955161;

/** 10^k for 0 <= k <= 22 (exact in f64); 1 for k <= 0. */
export function pow10(k: i32): f64 {
  let p: f64 = 1;
  for (let i = 0; i < k; i++) p *= 10;
  return p;
}

/** 2^k for -1022 <= k <= 1023 (clamped), built from its bits. */
function pow2(k: i32): f64 {
  const e = k < -1022 ? -1022 : k > 1023 ? 1023 : k;
  return reinterpret<f64>((<u64>(e + 1023)) << 52);
}

/** The low 64 bits of the last mulHigh product. */
let mulLow: u64 = 0;

/** The high 64 bits of the 128-bit product a * b (the low ones go to mulLow). */
function mulHigh(a: u64, b: u64): u64 {
  const a0 = a & 0xffffffff;
  const a1 = a >> 32;
  const b0 = b & 0xffffffff;
  const b1 = b >> 32;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  mulLow = (mid << 32) | (p00 & 0xffffffff);
  return a1 * b1 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/**
 * m * 10^e10 as an f64 (Infinity past the largest double). Exact (correctly
 * rounded) when m <= 2^53 and |e10| <= 22: every integer up to 2^53, and
 * decimals such as 12.5 or 99.99 with up to 15 digits, which is what configs
 * and tokens hold; m alone (e10 = 0) is correctly rounded up to 2^64. Other
 * inputs scale a 64-bit binary mantissa one decimal digit at a time (the
 * truncation errors stay far below half an f64 ulp, then one final rounding),
 * so the result is the nearest double or, for a few percent of random
 * 17-digit inputs with large exponents, its neighbour: at most 1 ulp off,
 * where strtod would round exactly. Subnormal results round twice (still
 * <= 1 ulp).
 */
export function decimalToF64(m: u64, e10: i32): f64 {
  if (m == 0) return 0;
  if (e10 == 0) return <f64>m;
  if (m <= (<u64>1) << 53 && e10 >= -22 && e10 <= 22) {
    return e10 > 0 ? <f64>m * pow10(e10) : <f64>m / pow10(-e10);
  }
  if (e10 > 330) return Infinity; // m >= 1
  if (e10 < -360) return 0; // m < 2^64: below half the smallest subnormal
  // value = mant * 2^e2, mant normalized (top bit set).
  const s = <i32>clz(m);
  let mant = m << (<u64>s);
  let e2 = -s;
  let e = e10;
  // At most 360 steps; each multiplies by 10 = 0xA0..0 * 2^-60 or by
  // 0.1 ~ 0xCC..CD * 2^-67, both normalized, so the product has its top bit
  // in one of the two highest places.
  while (e != 0) {
    let f: u64;
    if (e > 0) {
      f = 0xa000000000000000;
      e2 += 4;
      e--;
    } else {
      f = 0xcccccccccccccccd;
      e2 -= 3;
      e++;
    }
    const hi = mulHigh(mant, f);
    if (hi >> 63 != 0) {
      mant = hi;
    } else {
      mant = (hi << 1) | (mulLow >> 63);
      e2--;
    }
  }
  // One rounding to 53 bits here, then exact power-of-two steps (the last
  // one rounds again only when the result is subnormal).
  let x = <f64>mant;
  if (e2 > 1023) {
    x *= pow2(1023);
    e2 -= 1023;
  } else if (e2 < -1022) {
    x *= pow2(-1022);
    e2 += 1022;
  }
  return x * pow2(e2);
}

/** Outcome of parseJson: value set and error "" on success; value null and error set otherwise. */
export class JsonResult {
  value: JValue | null = null;
  error: string = "";
}

/** Hard ceiling on nesting whatever the caller asks, to keep recursion shallow. */
const MAX_DEPTH_CEILING: i32 = 512;

class Parser {
  pos: i32 = 0;
  error: string = "";
  constructor(
    public text: string,
    public maxDepth: i32,
  ) {}

  fail(msg: string): JValue | null {
    if (this.error.length == 0) this.error = "at offset " + intText(this.pos) + ": " + msg;
    return null;
  }

  skipWs(): void {
    const t = this.text;
    const n = t.length;
    let i = this.pos;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      i++;
    }
    this.pos = i;
  }

  value(depth: i32): JValue | null {
    this.skipWs();
    const c = this.text.charCodeAt(this.pos);
    if (c == 0x7b) return this.object(depth + 1);
    if (c == 0x5b) return this.array(depth + 1);
    if (c == 0x22) {
      const s = this.string();
      if (s === null) return null;
      return JValue.ofString(s);
    }
    if (c == 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c == 0x74) return this.word("true", JValue.ofBool(true));
    if (c == 0x66) return this.word("false", JValue.ofBool(false));
    if (c == 0x6e) return this.word("null", new JValue(JKind.Null));
    if (c < 0) return this.fail("unexpected end of input");
    return this.fail("unexpected character");
  }

  word(w: string, v: JValue): JValue | null {
    const t = this.text;
    for (let i = 0; i < w.length; i++) {
      if (t.charCodeAt(this.pos + i) != w.charCodeAt(i)) {
        this.pos += i;
        return this.fail("invalid literal, expected '" + w + "'");
      }
    }
    this.pos += w.length;
    return v;
  }

  number(): JValue | null {
    const t = this.text;
    const start = this.pos;
    let i = start;
    let c = t.charCodeAt(i);
    const negative = c == 0x2d;
    if (negative) {
      i++;
      c = t.charCodeAt(i);
    }
    // The value is m * 10^e10: m takes the first 19 or 20 significant digits
    // (while it fits in a u64), later integer digits only raise e10.
    let m: u64 = 0;
    let e10 = 0;
    if (c == 0x30) {
      i++;
      c = t.charCodeAt(i);
      if (c >= 0x30 && c <= 0x39) {
        this.pos = i;
        return this.fail("leading zero in number");
      }
    } else if (c >= 0x31 && c <= 0x39) {
      while (c >= 0x30 && c <= 0x39) {
        if (m < MANTISSA_LIMIT) m = m * 10 + <u64>(c - 0x30);
        else e10++;
        i++;
        c = t.charCodeAt(i);
      }
    } else {
      this.pos = i;
      return this.fail("expected a digit");
    }
    if (c == 0x2e) {
      i++;
      c = t.charCodeAt(i);
      if (!(c >= 0x30 && c <= 0x39)) {
        this.pos = i;
        return this.fail("expected a digit after '.'");
      }
      while (c >= 0x30 && c <= 0x39) {
        // Leading zeros keep m at 0 and only lower e10: they use no mantissa room.
        if (m < MANTISSA_LIMIT) {
          m = m * 10 + <u64>(c - 0x30);
          e10--;
        }
        i++;
        c = t.charCodeAt(i);
      }
    }
    if (c == 0x65 || c == 0x45) {
      i++;
      c = t.charCodeAt(i);
      const negExp = c == 0x2d;
      if (c == 0x2b || c == 0x2d) {
        i++;
        c = t.charCodeAt(i);
      }
      if (!(c >= 0x30 && c <= 0x39)) {
        this.pos = i;
        return this.fail("expected a digit in exponent");
      }
      let exp = 0;
      while (c >= 0x30 && c <= 0x39) {
        if (exp < 100000) exp = exp * 10 + (c - 0x30); // saturates: beyond any f64 anyway
        i++;
        c = t.charCodeAt(i);
      }
      e10 += negExp ? -exp : exp;
    }
    this.pos = i;
    let value = decimalToF64(m, e10);
    if (negative) value = -value;
    if (!isFinite(value)) {
      this.pos = start;
      return this.fail("number out of range");
    }
    return JValue.ofNumber(value);
  }

  /** Parses a string at pos (which holds '"'); null and error on malformation. */
  string(): string | null {
    const t = this.text;
    const n = t.length;
    const start = this.pos + 1;
    let i = start;
    // Fast path: no escapes, the result is a substring.
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c == 0x22) {
        this.pos = i + 1;
        return t.substring(start, i);
      }
      if (c == 0x5c) break;
      if (c < 0x20) {
        this.pos = i;
        this.fail("control character in string");
        return null;
      }
      i++;
    }
    if (i >= n) {
      this.pos = n;
      this.fail("unterminated string");
      return null;
    }
    const out = new StrBuf(i - start + 16);
    out.pushRange(t, start, i);
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c == 0x22) {
        this.pos = i + 1;
        return out.toString();
      }
      if (c < 0x20) {
        this.pos = i;
        this.fail("control character in string");
        return null;
      }
      if (c != 0x5c) {
        out.pushUnit(c);
        i++;
        continue;
      }
      const e = t.charCodeAt(i + 1);
      if (e == 0x22 || e == 0x5c || e == 0x2f) out.pushUnit(e);
      else if (e == 0x62) out.pushUnit(0x08);
      else if (e == 0x66) out.pushUnit(0x0c);
      else if (e == 0x6e) out.pushUnit(0x0a);
      else if (e == 0x72) out.pushUnit(0x0d);
      else if (e == 0x74) out.pushUnit(0x09);
      else if (e == 0x75) {
        let u = 0;
        for (let k = 2; k < 6; k++) {
          const h = hexValue(t.charCodeAt(i + k));
          if (h < 0) {
            this.pos = i;
            this.fail("invalid \\u escape");
            return null;
          }
          u = (u << 4) | h;
        }
        // A surrogate pair arrives as two escapes; UTF-16 keeps both units as they are.
        out.pushUnit(u);
        i += 6;
        continue;
      } else {
        this.pos = i;
        this.fail(e < 0 ? "unterminated string" : "invalid escape");
        return null;
      }
      i += 2;
    }
    this.pos = n;
    this.fail("unterminated string");
    return null;
  }

  array(depth: i32): JValue | null {
    if (depth > this.maxDepth) return this.fail("nesting deeper than " + intText(this.maxDepth));
    this.pos++; // '['
    const v = new JValue(JKind.Array);
    this.skipWs();
    if (this.text.charCodeAt(this.pos) == 0x5d) {
      this.pos++;
      return v;
    }
    while (true) {
      const item = this.value(depth);
      if (item === null) return null;
      v.items.push(item);
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c == 0x2c) {
        this.pos++;
        continue;
      }
      if (c == 0x5d) {
        this.pos++;
        return v;
      }
      return this.fail(c < 0 ? "unexpected end of input" : "expected ',' or ']'");
    }
  }

  object(depth: i32): JValue | null {
    if (depth > this.maxDepth) return this.fail("nesting deeper than " + intText(this.maxDepth));
    this.pos++; // '{'
    const v = new JValue(JKind.Object);
    this.skipWs();
    if (this.text.charCodeAt(this.pos) == 0x7d) {
      this.pos++;
      return v;
    }
    while (true) {
      this.skipWs();
      const q = this.text.charCodeAt(this.pos);
      if (q != 0x22) return this.fail(q < 0 ? "unexpected end of input" : "expected a string key");
      const key = this.string();
      if (key === null) return null;
      this.skipWs();
      if (this.text.charCodeAt(this.pos) != 0x3a) return this.fail("expected ':'");
      this.pos++;
      const item = this.value(depth);
      if (item === null) return null;
      v.keys.push(key);
      v.values.push(item);
      this.skipWs();
      const c = this.text.charCodeAt(this.pos);
      if (c == 0x2c) {
        this.pos++;
        continue;
      }
      if (c == 0x7d) {
        this.pos++;
        return v;
      }
      return this.fail(c < 0 ? "unexpected end of input" : "expected ',' or '}'");
    }
  }
}

/**
 * Parses one JSON text (RFC 8259, strict: no comments, no trailing commas, no
 * leading zeros, no raw control characters in strings; whitespace around the
 * value allowed, anything else after it is an error). Arrays/objects nested
 * deeper than maxDepth (clamped to 1..512) are an error. Numbers that overflow
 * f64 are an error. \u escapes are kept as UTF-16 units, so surrogate pairs
 * combine and a lone surrogate is kept. Never traps: on failure `value` is null
 * and `error` reads like "at offset 17: expected ':'" (offsets in UTF-16 units).
 */
export function parseJson(text: string, maxDepth: i32 = 64): JsonResult {
  let depth = maxDepth;
  if (depth < 1) depth = 1;
  if (depth > MAX_DEPTH_CEILING) depth = MAX_DEPTH_CEILING;
  const p = new Parser(text, depth);
  const result = new JsonResult();
  const v = p.value(0);
  if (v === null) {
    result.error = p.error.length > 0 ? p.error : "at offset " + intText(p.pos) + ": invalid JSON";
    return result;
  }
  p.skipWs();
  if (p.pos < text.length) {
    p.fail("unexpected data after the value");
    result.error = p.error;
    return result;
  }
  result.value = v;
  return result;
}

const HEX_LOWER = "0123456789abcdef";

function needsEscape(c: i32): bool {
  return c < 0x20 || c == 0x22 || c == 0x5c || (c >= 0xd800 && c <= 0xdfff);
}

/**
 * s as a JSON string literal, quotes included: escapes '"', '\\' and control
 * characters (\b \f \n \r \t, else \u00XX), and writes lone surrogates as \uXXXX
 * so the output is always valid UTF-8 once encoded. Surrogate pairs stay as is.
 */
export function jsonString(s: string): string {
  const n = s.length;
  let clean = true;
  for (let i = 0; i < n; i++) {
    if (needsEscape(s.charCodeAt(i))) {
      clean = false;
      break;
    }
  }
  if (clean) return '"' + s + '"';
  const out = new StrBuf(n + 16);
  out.pushUnit(0x22);
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    i++;
    if (!needsEscape(c)) {
      out.pushUnit(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out.pushUnit(c);
        out.pushUnit(d);
        i++;
        continue;
      }
    }
    out.pushUnit(0x5c);
    if (c == 0x22 || c == 0x5c) out.pushUnit(c);
    else if (c == 0x08) out.pushUnit(0x62);
    else if (c == 0x0c) out.pushUnit(0x66);
    else if (c == 0x0a) out.pushUnit(0x6e);
    else if (c == 0x0d) out.pushUnit(0x72);
    else if (c == 0x09) out.pushUnit(0x74);
    else {
      out.pushUnit(0x75);
      out.pushUnit(HEX_LOWER.charCodeAt((c >> 12) & 0xf));
      out.pushUnit(HEX_LOWER.charCodeAt((c >> 8) & 0xf));
      out.pushUnit(HEX_LOWER.charCodeAt((c >> 4) & 0xf));
      out.pushUnit(HEX_LOWER.charCodeAt(c & 0xf));
    }
  }
  out.pushUnit(0x22);
  return out.toString();
}
