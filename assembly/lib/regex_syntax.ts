// RE2 pattern syntax: parses a pattern into a small syntax tree (Node) with
// character classes resolved to sorted code-point ranges. Used by regex.ts.
import { intText } from "./text";

const MAX_REPEAT: i32 = 1000;
const MAX_NESTING: i32 = 200;
const MAX_CODE_POINT: i32 = 0x10ffff;

// Empty-width assertions.
export const AT_BEGIN_TEXT: i32 = 0;
export const AT_END_TEXT: i32 = 1;
export const AT_BEGIN_LINE: i32 = 2;
export const AT_END_LINE: i32 = 3;
export const AT_WORD_BOUNDARY: i32 = 4;
export const AT_NOT_WORD_BOUNDARY: i32 = 5;

// Syntax tree node kinds.
export const N_EMPTY: i32 = 0;
export const N_CHAR: i32 = 1;
export const N_CLASS: i32 = 2;
export const N_ANY: i32 = 3;
export const N_ANY_NOT_NL: i32 = 4;
export const N_ASSERT: i32 = 5;
export const N_CONCAT: i32 = 6;
export const N_ALT: i32 = 7;
export const N_REPEAT: i32 = 8;

// Flags.
const F_FOLD: i32 = 1; // (?i)
const F_DOTNL: i32 = 2; // (?s)
const F_MULTILINE: i32 = 4; // (?m)

/** A syntax tree node; kids for concatenation, alternation and repetition. */
export class Node {
  kids: Array<Node> | null = null;
  a: i32 = 0; // char, class index or assertion kind; repeat min
  b: i32 = 0; // folded char; repeat max (-1: unbounded)
  constructor(public kind: i32) {}

  static leaf(kind: i32, a: i32, b: i32): Node {
    const n = new Node(kind);
    n.a = a;
    n.b = b;
    return n;
  }

  static list(kind: i32): Node {
    const n = new Node(kind);
    n.kids = new Array<Node>(0);
    return n;
  }
}

/** True for an ASCII word character [0-9A-Za-z_]. */
export function isWordChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

class ClassBuilder {
  ranges: Array<i32> = new Array<i32>(0); // lo, hi pairs, unsorted until finish()

  add(lo: i32, hi: i32): void {
    this.ranges.push(lo);
    this.ranges.push(hi);
  }

  addAll(other: StaticArray<i32>, negate: bool): void {
    if (!negate) {
      for (let k = 0; k + 1 < other.length; k += 2) this.add(other[k], other[k + 1]);
      return;
    }
    let lo = 0;
    for (let k = 0; k + 1 < other.length; k += 2) {
      if (other[k] > lo) this.add(lo, other[k] - 1);
      lo = other[k + 1] + 1;
    }
    if (lo <= MAX_CODE_POINT) this.add(lo, MAX_CODE_POINT);
  }

  /** Adds the other case of every folding character in the ranges (see otherCase). */
  addFolds(): void {
    const n = this.ranges.length;
    for (let k = 0; k + 1 < n; k += 2) {
      const lo = this.ranges[k];
      const hi = min(this.ranges[k + 1], FOLD_MAX);
      for (let c = lo; c <= hi; c++) {
        const f = otherCase(c);
        if (f != c) this.add(f, f);
      }
    }
  }

  /** Sorted, merged ranges, complemented when negate. */
  finish(negate: bool): StaticArray<i32> {
    const r = this.ranges;
    const pairs = r.length >> 1;
    // Sort the (lo, hi) pairs by lo: O(n log n) even for large folded classes.
    sortRecords(r, 2);
    const merged = new Array<i32>(0);
    for (let i = 0; i < pairs; i++) {
      const lo = r[i << 1];
      const hi = r[(i << 1) + 1];
      const m = merged.length;
      if (m > 0 && lo <= merged[m - 1] + 1) {
        if (hi > merged[m - 1]) merged[m - 1] = hi;
      } else {
        merged.push(lo);
        merged.push(hi);
      }
    }
    const sorted = StaticArray.fromArray<i32>(merged);
    if (!negate) return sorted;
    const out = new ClassBuilder();
    out.addAll(sorted, true);
    return StaticArray.fromArray<i32>(out.ranges);
  }
}

/** Highest code point otherCase folds (the end of the Cyrillic pairs). */
const FOLD_MAX: i32 = 0x52f;

/** The partner of c in a run of alternating case pairs starting at lo (lo pairs with lo + 1). */
function pairUp(c: i32, lo: i32): i32 {
  return ((c - lo) & 1) == 0 ? c + 1 : c - 1;
}

/**
 * The other case of c for (?i), or c itself. Only one-to-one simple case
 * pairs of a few scripts, computed on ranges (no Unicode tables), so that
 * otherCase(otherCase(c)) == c always:
 *  - ASCII A-Z / a-z;
 *  - Latin-1 Supplement U+00C0-U+00DE / U+00E0-U+00FE (not × and ÷), and
 *    ÿ U+00FF / Ÿ U+0178;
 *  - Latin Extended-A U+0100-U+017E: Ā/ā ... Ž/ž;
 *  - Greek U+0391-U+03AB / U+03B1-U+03CB and the tonos letters Ά Έ Ή Ί Ό Ύ Ώ;
 *  - Cyrillic U+0400-U+042F / U+0430-U+045F and the pairs U+0460-U+052F
 *    (Ѡ/ѡ ... Ґ/ґ ... Ӑ/ӑ ...).
 * Not folded: ß, ſ, ı and İ, µ, final sigma ς, ĸ, ŉ, Ӏ, Latin Extended-B,
 * IPA, archaic Greek and Coptic letters, and every other script.
 */
function otherCase(c: i32): i32 {
  if (c < 0x41) return c;
  if (c <= 0x5a) return c + 0x20;
  if (c < 0x61) return c;
  if (c <= 0x7a) return c - 0x20;
  if (c < 0xc0) return c;
  if (c < 0x100) {
    if (c == 0xff) return 0x178;
    if (c == 0xd7 || c == 0xf7 || c == 0xdf) return c;
    return c ^ 0x20;
  }
  if (c < 0x180) {
    if (c == 0x178) return 0xff;
    if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17f) return c;
    // Even/odd pairs (Ā ā), but odd/even in U+0139-U+0148 and U+0179-U+017E.
    return (c >= 0x139 && c <= 0x148) || c >= 0x179 ? pairUp(c, 0x139) : pairUp(c, 0x100);
  }
  if (c >= 0x386 && c <= 0x3ce) {
    if (c == 0x386) return 0x3ac;
    if (c == 0x3ac) return 0x386;
    if (c == 0x38c) return 0x3cc;
    if (c == 0x3cc) return 0x38c;
    if (c >= 0x388 && c <= 0x38a) return c + 0x25;
    if (c >= 0x3ad && c <= 0x3af) return c - 0x25;
    if (c == 0x38e || c == 0x38f) return c + 0x3f;
    if (c == 0x3cd || c == 0x3ce) return c - 0x3f;
    if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) return c + 0x20;
    if (c >= 0x3b1 && c <= 0x3cb && c != 0x3c2) return c - 0x20;
    return c;
  }
  if (c < 0x400 || c > FOLD_MAX) return c;
  if (c < 0x410) return c + 0x50;
  if (c < 0x430) return c + 0x20;
  if (c < 0x450) return c - 0x20;
  if (c < 0x460) return c - 0x50;
  if (c < 0x482 || (c >= 0x48a && c < 0x4c0) || c >= 0x4d0) return pairUp(c, 0x460);
  if (c >= 0x4c1 && c <= 0x4ce) return pairUp(c, 0x4c1);
  return c;
}

/**
 * Sorts a in place as consecutive records of `stride` values (1: plain
 * values; 2: (lo, hi) pairs), ordered by each record's first value; a
 * trailing partial record is left alone. Heapsort: O(n log n), no recursion,
 * no allocation (and none of the standard library's sort code).
 */
export function sortRecords(a: Array<i32>, stride: i32): void {
  if (stride < 1) return;
  const n = a.length / stride;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(a, i, n, stride);
  for (let end = n - 1; end > 0; end--) {
    swapRecords(a, 0, end, stride);
    siftDown(a, 0, end, stride);
  }
}

function siftDown(a: Array<i32>, root: i32, n: i32, stride: i32): void {
  let i = root;
  // Each step at least doubles i, so this ends after log2(n) steps.
  while (i < n) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && unchecked(a[(child + 1) * stride]) > unchecked(a[child * stride])) child++;
    if (unchecked(a[i * stride]) >= unchecked(a[child * stride])) break;
    swapRecords(a, i, child, stride);
    i = child;
  }
}

/** Swaps records i and j (both below a.length / stride). */
function swapRecords(a: Array<i32>, i: i32, j: i32, stride: i32): void {
  const p = i * stride;
  const q = j * stride;
  for (let k = 0; k < stride; k++) {
    const t = unchecked(a[p + k]);
    unchecked((a[p + k] = a[q + k]));
    unchecked((a[q + k] = t));
  }
}

const DIGIT_RANGES: StaticArray<i32> = [0x30, 0x39];
const WORD_RANGES: StaticArray<i32> = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE_RANGES: StaticArray<i32> = [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];

/** Ranges of a POSIX class name (as in [[:alpha:]]), or null if unknown. */
function posixRanges(name: string): StaticArray<i32> | null {
  if (name == "alnum") return [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a];
  if (name == "alpha") return [0x41, 0x5a, 0x61, 0x7a];
  if (name == "ascii") return [0x00, 0x7f];
  if (name == "blank") return [0x09, 0x09, 0x20, 0x20];
  if (name == "cntrl") return [0x00, 0x1f, 0x7f, 0x7f];
  if (name == "digit") return [0x30, 0x39];
  if (name == "graph") return [0x21, 0x7e];
  if (name == "lower") return [0x61, 0x7a];
  if (name == "print") return [0x20, 0x7e];
  if (name == "punct") return [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e];
  if (name == "space") return [0x09, 0x0d, 0x20, 0x20];
  if (name == "upper") return [0x41, 0x5a];
  if (name == "word") return [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
  if (name == "xdigit") return [0x30, 0x39, 0x41, 0x46, 0x61, 0x66];
  return null;
}

// ---- parser ----

/** Recursive-descent parser; on failure `error` reads "at offset N: ...". */
export class Parser {
  pos: i32 = 0;
  flags: i32 = 0;
  depth: i32 = 0;
  quoting: bool = false; // inside \Q...\E
  error: string = "";
  classes: Array<StaticArray<i32>> = new Array<StaticArray<i32>>(0);

  constructor(public p: string) {}

  fail(msg: string, at: i32): Node | null {
    if (this.error.length == 0) this.error = "at offset " + intText(at) + ": " + msg;
    return null;
  }

  peek(): i32 {
    return this.p.codePointAt(this.pos);
  }

  /** Reads one code point and advances past it (-1 at the end). */
  take(): i32 {
    const c = this.p.codePointAt(this.pos);
    if (c >= 0x10000) this.pos += 2;
    else if (c >= 0) this.pos += 1;
    return c;
  }

  lookingAt(s: string): bool {
    const p = this.p;
    for (let i = 0; i < s.length; i++) {
      if (p.charCodeAt(this.pos + i) != s.charCodeAt(i)) return false;
    }
    return true;
  }

  charNode(c: i32): Node {
    const f = (this.flags & F_FOLD) != 0 ? otherCase(c) : c;
    return Node.leaf(N_CHAR, c, f);
  }

  classNode(b: ClassBuilder, negate: bool): Node {
    if ((this.flags & F_FOLD) != 0) b.addFolds();
    const idx = this.classes.length;
    this.classes.push(b.finish(negate));
    return Node.leaf(N_CLASS, idx, 0);
  }

  /** alternation := concat ('|' concat)* */
  alternation(): Node | null {
    const first = this.concat();
    if (first === null) return null;
    if (this.peek() != 0x7c) return first;
    const alt = Node.list(N_ALT);
    alt.kids!.push(first);
    while (this.peek() == 0x7c) {
      this.pos++;
      const next = this.concat();
      if (next === null) return null;
      alt.kids!.push(next);
    }
    return alt;
  }

  /** concat := repeat*, up to '|', ')' or the end. */
  concat(): Node | null {
    const cat = Node.list(N_CONCAT);
    while (true) {
      const c = this.peek();
      if (c < 0 || (!this.quoting && (c == 0x7c || c == 0x29))) break;
      const start = this.pos;
      const atom = this.atom();
      if (this.error.length > 0) return null;
      if (atom === null) {
        // A flag group such as (?i) or a \Q yields no atom; nothing may repeat it.
        if (!this.quoting && this.isQuantifierStart()) {
          return this.fail("missing argument to repetition operator", this.pos);
        }
        continue;
      }
      // Inside \Q...\E every character is literal; a quantifier after \E applies to the last one.
      const node = this.quoting ? atom : this.quantified(atom, start);
      if (node === null) return null;
      cat.kids!.push(node);
    }
    const kids = cat.kids!;
    if (kids.length == 1) return kids[0];
    if (kids.length == 0) return new Node(N_EMPTY);
    return cat;
  }

  isQuantifierStart(): bool {
    const c = this.peek();
    if (c == 0x2a || c == 0x2b || c == 0x3f) return true;
    if (c == 0x7b) {
      const save = this.pos;
      const ok = this.braces();
      this.pos = save;
      return ok;
    }
    return false;
  }

  // Result of braces(): the counts read.
  repMin: i32 = 0;
  repMax: i32 = 0;

  /** Reads {n}, {n,} or {n,m} at pos into repMin/repMax; false (pos unspecified) if it is not one. */
  braces(): bool {
    if (this.peek() != 0x7b) return false;
    this.pos++;
    const lo = this.count();
    if (lo < 0) return false;
    let hi = lo;
    if (this.peek() == 0x2c) {
      this.pos++;
      if (this.peek() == 0x7d) hi = -1;
      else {
        hi = this.count();
        if (hi < 0) return false;
      }
    }
    if (this.peek() != 0x7d) return false;
    this.pos++;
    this.repMin = lo;
    this.repMax = hi;
    return true;
  }

  /** A decimal count (capped to stay in range), or -1 if no digit. */
  count(): i32 {
    let v = 0;
    let digits = 0;
    while (true) {
      const c = this.peek();
      if (c < 0x30 || c > 0x39) break;
      if (v <= 100000) v = v * 10 + (c - 0x30);
      digits++;
      this.pos++;
    }
    return digits == 0 ? -1 : v;
  }

  /** Applies the quantifiers following an atom. */
  quantified(atom: Node, atomStart: i32): Node | null {
    const c = this.peek();
    let lo = 0;
    let hi = 0;
    const at = this.pos;
    if (c == 0x2a) {
      this.pos++;
      lo = 0;
      hi = -1;
    } else if (c == 0x2b) {
      this.pos++;
      lo = 1;
      hi = -1;
    } else if (c == 0x3f) {
      this.pos++;
      lo = 0;
      hi = 1;
    } else if (c == 0x7b) {
      const save = this.pos;
      if (!this.braces()) {
        this.pos = save; // not a repetition: '{' is a literal, read by the next atom
        return atom;
      }
      lo = this.repMin;
      hi = this.repMax;
      if (lo > MAX_REPEAT || hi > MAX_REPEAT)
        return this.fail("repetition count exceeds " + intText(MAX_REPEAT), at);
      if (hi >= 0 && hi < lo) return this.fail("invalid repetition range (max below min)", at);
    } else {
      return atom;
    }
    if (this.peek() == 0x3f)
      this.pos++; // lazy: same answer for a full match
    else if (this.peek() == 0x2b) return this.fail("possessive quantifiers are not supported", this.pos);
    if (this.isQuantifierStart()) return this.fail("bad repetition operator (repeated quantifier)", this.pos);
    const rep = Node.list(N_REPEAT);
    rep.kids!.push(atom);
    rep.a = lo;
    rep.b = hi;
    return rep;
  }

  /** One atom; null with no error for a bare flag group, null with error on failure. */
  atom(): Node | null {
    const start = this.pos;
    const c = this.take();
    if (this.quoting) {
      if (this.lookingAt("\\E")) {
        this.pos += 2;
        this.quoting = false;
      }
      return this.charNode(c);
    }
    if (c == 0x28) return this.group(start);
    if (c == 0x5b) return this.charClass(start);
    if (c == 0x2e) return new Node((this.flags & F_DOTNL) != 0 ? N_ANY : N_ANY_NOT_NL);
    if (c == 0x5e)
      return Node.leaf(N_ASSERT, (this.flags & F_MULTILINE) != 0 ? AT_BEGIN_LINE : AT_BEGIN_TEXT, 0);
    if (c == 0x24) return Node.leaf(N_ASSERT, (this.flags & F_MULTILINE) != 0 ? AT_END_LINE : AT_END_TEXT, 0);
    if (c == 0x2a || c == 0x2b || c == 0x3f)
      return this.fail("missing argument to repetition operator", start);
    if (c == 0x7b && this.isQuantifierAfter(start))
      return this.fail("missing argument to repetition operator", start);
    if (c == 0x5c) return this.escape(start);
    return this.charNode(c);
  }

  isQuantifierAfter(start: i32): bool {
    const save = this.pos;
    this.pos = start;
    const ok = this.braces();
    this.pos = save;
    return ok;
  }

  group(start: i32): Node | null {
    if (this.depth >= MAX_NESTING) return this.fail("groups nested too deeply", start);
    const saved = this.flags;
    if (this.peek() == 0x3f) {
      this.pos++;
      if (this.lookingAt("=") || this.lookingAt("!")) return this.fail("lookahead is not supported", start);
      if (this.lookingAt("<=") || this.lookingAt("<!"))
        return this.fail("lookbehind is not supported", start);
      if (this.lookingAt("P=") || this.lookingAt("P>"))
        return this.fail("backreferences are not supported", start);
      if (this.lookingAt("P<") || this.lookingAt("<")) {
        // Named group: matched like a plain group.
        this.pos += this.lookingAt("P<") ? 2 : 1;
        let len = 0;
        while (true) {
          const c = this.take();
          if (c == 0x3e) break;
          if (c < 0 || !isWordChar(c)) return this.fail("invalid named group", start);
          len++;
        }
        if (len == 0) return this.fail("invalid named group", start);
      } else {
        // Flags: (?flags) or (?flags:re), flags from i m s U, '-' to clear.
        let negate = false;
        let sawFlag = false;
        let flags = this.flags;
        while (true) {
          const c = this.take();
          if (c == 0x69 || c == 0x6d || c == 0x73 || c == 0x55) {
            const bit = c == 0x69 ? F_FOLD : c == 0x6d ? F_MULTILINE : c == 0x73 ? F_DOTNL : 0;
            if (negate) flags &= ~bit;
            else flags |= bit;
            sawFlag = true;
          } else if (c == 0x2d && !negate) {
            negate = true;
            sawFlag = false;
          } else if (c == 0x29 && sawFlag) {
            this.flags = flags; // (?i): applies to the rest of the enclosing group
            return null;
          } else if (c == 0x3a && (sawFlag || !negate)) {
            this.flags = flags; // (?i:re) or plain (?:re)
            break;
          } else {
            return this.fail("invalid or unsupported group syntax", start);
          }
        }
      }
    }
    this.depth++;
    const inner = this.alternation();
    this.depth--;
    if (inner === null) return null;
    if (this.peek() != 0x29) return this.fail("missing closing )", start);
    this.pos++;
    this.flags = saved;
    return inner;
  }

  /** An escape outside a class (pos is after the backslash). */
  escape(start: i32): Node | null {
    const c = this.peek();
    if (c == 0x64 || c == 0x44 || c == 0x77 || c == 0x57 || c == 0x73 || c == 0x53) {
      this.pos++;
      const b = new ClassBuilder();
      b.addAll(perlClass(c), false);
      return this.classNode(b, c == 0x44 || c == 0x57 || c == 0x53);
    }
    if (c == 0x62) {
      this.pos++;
      return Node.leaf(N_ASSERT, AT_WORD_BOUNDARY, 0);
    }
    if (c == 0x42) {
      this.pos++;
      return Node.leaf(N_ASSERT, AT_NOT_WORD_BOUNDARY, 0);
    }
    if (c == 0x41) {
      this.pos++;
      return Node.leaf(N_ASSERT, AT_BEGIN_TEXT, 0);
    }
    if (c == 0x7a) {
      this.pos++;
      return Node.leaf(N_ASSERT, AT_END_TEXT, 0);
    }
    if (c == 0x51) {
      // \Q...\E (or \Q to the end): literal text, read one character per atom.
      this.pos++;
      if (this.lookingAt("\\E")) this.pos += 2;
      else this.quoting = true;
      return null;
    }
    const lit = this.escapedChar(start);
    if (lit < 0) return null;
    return this.charNode(lit);
  }

  /**
   * A single-character escape (pos after the backslash): punctuation, \t \n \r
   * \f \v \a, \0 octal, \xHH, \x{H..}. Returns the character or -1 with error.
   */
  escapedChar(start: i32): i32 {
    const c = this.take();
    if (c < 0) {
      this.fail("trailing backslash at end of pattern", start);
      return -1;
    }
    if (c < 0x80 && !isWordChar(c)) return c;
    if (c == 0x74) return 0x09;
    if (c == 0x6e) return 0x0a;
    if (c == 0x72) return 0x0d;
    if (c == 0x66) return 0x0c;
    if (c == 0x76) return 0x0b;
    if (c == 0x61) return 0x07;
    if (c == 0x30) {
      let v = 0;
      for (let k = 0; k < 2; k++) {
        const d = this.peek();
        if (d < 0x30 || d > 0x37) break;
        v = v * 8 + (d - 0x30);
        this.pos++;
      }
      return v;
    }
    if (c >= 0x31 && c <= 0x39) {
      this.fail("backreferences are not supported", start);
      return -1;
    }
    if (c == 0x78) {
      let v = 0;
      if (this.peek() == 0x7b) {
        this.pos++;
        let digits = 0;
        while (this.peek() != 0x7d) {
          const h = hexDigit(this.take());
          if (h < 0) {
            this.fail("invalid \\x{...} escape", start);
            return -1;
          }
          v = v * 16 + h;
          digits++;
          if (v > MAX_CODE_POINT) {
            this.fail("\\x{...} escape beyond U+10FFFF", start);
            return -1;
          }
        }
        this.pos++;
        if (digits == 0) {
          this.fail("invalid \\x{...} escape", start);
          return -1;
        }
        return v;
      }
      const h1 = hexDigit(this.take());
      const h2 = hexDigit(this.take());
      if (h1 < 0 || h2 < 0) {
        this.fail("invalid \\x escape (expected two hex digits)", start);
        return -1;
      }
      return h1 * 16 + h2;
    }
    if (c == 0x70 || c == 0x50) {
      this.fail("unicode classes \\p and \\P are not supported", start);
      return -1;
    }
    this.fail("invalid escape sequence \\" + String.fromCodePoint(c), start);
    return -1;
  }

  /** A bracketed class (pos after '['). */
  charClass(start: i32): Node | null {
    const b = new ClassBuilder();
    let negate = false;
    if (this.peek() == 0x5e) {
      negate = true;
      this.pos++;
    }
    let first = true;
    while (true) {
      const c = this.peek();
      if (c < 0) return this.fail("missing closing ]", start);
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (c == 0x5b && this.lookingAt("[:")) {
        const end = this.p.indexOf(":]", this.pos + 2);
        if (end > 0) {
          let name = this.p.substring(this.pos + 2, end);
          let neg = false;
          if (name.startsWith("^")) {
            neg = true;
            name = name.substring(1);
          }
          const r = posixRanges(name);
          if (r === null) return this.fail("invalid character class name [:" + name + ":]", this.pos);
          b.addAll(r, neg);
          this.pos = end + 2;
          continue;
        }
      }
      const itemStart = this.pos;
      if (c == 0x5c) {
        this.pos++;
        const e = this.peek();
        if (e == 0x64 || e == 0x44 || e == 0x77 || e == 0x57 || e == 0x73 || e == 0x53) {
          this.pos++;
          b.addAll(perlClass(e), e == 0x44 || e == 0x57 || e == 0x53);
          continue;
        }
        this.pos = itemStart; // a single-character escape: classChar reads it whole
      }
      const lo = this.classChar(itemStart);
      if (lo < 0) return null;
      if (this.peek() == 0x2d && this.p.charCodeAt(this.pos + 1) != 0x5d && this.pos + 1 < this.p.length) {
        this.pos++;
        const hiStart = this.pos;
        if (this.peek() == 0x5c) {
          const e = this.p.charCodeAt(this.pos + 1);
          if (e == 0x64 || e == 0x44 || e == 0x77 || e == 0x57 || e == 0x73 || e == 0x53) {
            return this.fail("invalid character class range", itemStart);
          }
        }
        const hi = this.classChar(hiStart);
        if (hi < 0) return null;
        if (hi < lo) return this.fail("invalid character class range", itemStart);
        b.add(lo, hi);
      } else {
        b.add(lo, lo);
      }
    }
    return this.classNode(b, negate);
  }

  /** One character inside a class, escapes included (pos at it); -1 with error. */
  classChar(start: i32): i32 {
    const c = this.take();
    if (c < 0) {
      this.fail("missing closing ]", start);
      return -1;
    }
    if (c != 0x5c) return c;
    if (this.peek() == 0x62) {
      this.fail("invalid escape sequence \\b in a character class", start);
      return -1;
    }
    return this.escapedChar(start);
  }
}

function perlClass(c: i32): StaticArray<i32> {
  if (c == 0x64 || c == 0x44) return DIGIT_RANGES;
  if (c == 0x77 || c == 0x57) return WORD_RANGES;
  return SPACE_RANGES;
}

function hexDigit(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}
