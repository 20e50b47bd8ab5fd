// A linear-time regular-expression matcher for RE2-style patterns with
// full-match semantics (what Envoy's safe_regex does for Istio's `regex`).
// The pattern compiles to a Thompson NFA (regex_syntax.ts, regex_program.ts).
// Matching never backtracks: a lazily built DFA (each state a set of NFA
// states, built on first use and cached, at most DFA_MAX_STATES of them)
// reads one character per step; patterns the DFA cannot express (\b, \B,
// (?m) anchors) and inputs that would overflow the cache run on a lock-step
// NFA simulation instead. Either way time is O(input length x program size).
// The input is read by code point (a surrogate pair is one character, a lone
// surrogate one character of its own value).

import {
  AT_BEGIN_LINE,
  AT_BEGIN_TEXT,
  AT_END_LINE,
  AT_END_TEXT,
  AT_WORD_BOUNDARY,
  AT_NOT_WORD_BOUNDARY,
  Parser,
  isWordChar,
  sortRecords,
} from "./regex_syntax";
import {
  Compiler,
  MAX_PROGRAM,
  OP_ANY,
  OP_ANY_NOT_NL,
  OP_ASSERT,
  OP_CHAR,
  OP_CLASS,
  OP_JMP,
  OP_MATCH,
  OP_SPLIT,
} from "./regex_program";
import { intText } from "./text";

const MAX_PATTERN_LENGTH: i32 = 1024;

/** Most DFA states cached per pattern; past it, matching continues on the NFA. */
const DFA_MAX_STATES: i32 = 256;
/** Most character equivalence classes for the DFA (the width of its transition table). */
const DFA_MAX_CLASSES: i32 = 64;
const DEAD: i32 = 1; // the DFA state with no live thread; state 0 is the start

/** A compiled pattern; see fullMatch. Matching reuses buffers: not reentrant (wasm is single-threaded). */
export class Regex {
  // The program: instruction i is (op[i], x[i], y[i]); the last one is OP_MATCH.
  private op: StaticArray<i32>;
  private x: StaticArray<i32>;
  private y: StaticArray<i32>;
  private classes: Array<StaticArray<i32>>;
  // NFA scratch: thread lists, per-generation visit marks and the closure stack.
  private cur: StaticArray<i32>;
  private next: StaticArray<i32>;
  private mark: StaticArray<i32>;
  private stack: StaticArray<i32>;
  private gen: i32 = 0;
  // Lazy DFA.
  private dfa: bool = false;
  private bounds: StaticArray<i32> = new StaticArray<i32>(0); // sorted starts of character classes
  private asciiClass: StaticArray<i32> = new StaticArray<i32>(128);
  private width: i32 = 1; // number of character classes
  private trans: Array<i32> = new Array<i32>(0); // state * width + class -> state, -1 unknown
  private members: Array<StaticArray<i32>> = new Array<StaticArray<i32>>(0); // NFA states per DFA state
  private accept: Array<i32> = new Array<i32>(0); // per state: match at end of input? -1 unknown
  // u32 values: the same Map instance type as filter.ts's, so the module carries one copy of its code.
  private index: Map<string, u32> = new Map<string, u32>();

  constructor(op: Array<i32>, x: Array<i32>, y: Array<i32>, classes: Array<StaticArray<i32>>) {
    const m = op.length;
    this.op = StaticArray.fromArray<i32>(op);
    this.x = StaticArray.fromArray<i32>(x);
    this.y = StaticArray.fromArray<i32>(y);
    this.classes = classes;
    this.cur = new StaticArray<i32>(m);
    this.next = new StaticArray<i32>(m);
    this.mark = new StaticArray<i32>(m);
    this.stack = new StaticArray<i32>(m);
    this.initDfa();
  }

  /** Number of instructions in the program. */
  get size(): i32 {
    return this.op.length;
  }

  /** Number of DFA states built so far (0 when the pattern runs on the NFA only). */
  get dfaStates(): i32 {
    return this.dfa ? this.members.length : 0;
  }

  /**
   * True when the whole of s matches the pattern (RE2 FullMatch). Runs in time
   * linear in s.length for a given pattern; never traps.
   */
  fullMatch(s: string): bool {
    if (!this.dfa) return this.fullMatchNfa(s);
    const n = s.length;
    const width = this.width;
    let state = 0;
    let i = 0;
    while (i < n) {
      const c = s.codePointAt(i);
      const cls = c < 128 ? this.asciiClass[c] : this.classOf(c);
      // In range: state < states, cls < width, and trans holds states * width entries.
      let to = unchecked(this.trans[state * width + cls]);
      if (to < 0) {
        to = this.addTransition(state, c, cls);
        if (to < 0) return this.resumeOnNfa(s, i, state); // the cache is full
      }
      if (to == DEAD) return false;
      state = to;
      i += c >= 0x10000 ? 2 : 1;
    }
    return this.acceptsAtEnd(state);
  }

  /**
   * fullMatch for a text given as ASCII bytes in place (the caller checked every byte < 0x80, so
   * each byte is one character): 1 or 0, or -1 when only fullMatch on the decoded string can tell
   * (no DFA for this pattern, or its state cache is full). Allocates nothing once the states exist.
   */
  fullMatchAscii(ptr: usize, len: i32): i32 {
    if (!this.dfa) return -1;
    const width = this.width;
    let state = 0;
    for (let i = 0; i < len; i++) {
      const c = <i32>load<u8>(ptr + <usize>i);
      const cls = unchecked(this.asciiClass[c & 0x7f]);
      // In range: state < states, cls < width, and trans holds states * width entries.
      let to = unchecked(this.trans[state * width + cls]);
      if (to < 0) {
        to = this.addTransition(state, c, cls);
        if (to < 0) return -1;
      }
      if (to == DEAD) return 0;
      state = to;
    }
    return this.acceptsAtEnd(state) ? 1 : 0;
  }

  /** Same answer as fullMatch, always by NFA simulation (for tests and as the fallback). */
  fullMatchNfa(s: string): bool {
    this.bump();
    const count = this.closure(this.cur, 0, 0, -1, s.codePointAt(0), false);
    return this.runNfa(s, 0, count);
  }

  /** Continues on the NFA from position i with the threads of DFA state `state`. */
  private resumeOnNfa(s: string, i: i32, state: i32): bool {
    const threads = this.members[state];
    const count = threads.length;
    for (let t = 0; t < count; t++) this.cur[t] = threads[t];
    return this.runNfa(s, i, count);
  }

  /** NFA simulation from position i, with cur[0, count) the threads there. */
  private runNfa(s: string, start: i32, threads: i32): bool {
    const n = s.length;
    let count = threads;
    let i = start;
    while (i < n) {
      if (count == 0) return false;
      const c = s.codePointAt(i);
      i += c >= 0x10000 ? 2 : 1;
      const after = s.codePointAt(i);
      this.bump();
      let ncount = 0;
      for (let t = 0; t < count; t++) {
        const pc = this.cur[t];
        if (this.consumes(pc, c)) ncount = this.closure(this.next, ncount, pc + 1, c, after, false);
      }
      const swap = this.cur;
      this.cur = this.next;
      this.next = swap;
      count = ncount;
    }
    for (let t = 0; t < count; t++) {
      if (this.op[this.cur[t]] == OP_MATCH) return true;
    }
    return false;
  }

  /** Starts a new visit generation (marks of older ones no longer count). */
  private bump(): void {
    if (this.gen > 0x3fffffff) {
      for (let k = 0; k < this.mark.length; k++) this.mark[k] = 0;
      this.gen = 0;
    }
    this.gen++;
  }

  private consumes(pc: i32, c: i32): bool {
    const op = this.op[pc];
    if (op == OP_CHAR) return c == this.x[pc] || c == this.y[pc];
    if (op == OP_ANY) return true;
    if (op == OP_ANY_NOT_NL) return c != 0x0a;
    if (op == OP_CLASS) return classHas(this.classes[this.x[pc]], c);
    return false;
  }

  /**
   * Adds pc and everything reachable from it by empty moves to list (from index
   * count), given the characters before (prev) and after (after) the current
   * position (-1 at the text's ends). With pendingEnd, end-of-text assertions
   * are not evaluated but kept in the list (the DFA settles them at the end).
   * Returns the new count. Each pc enters at most once per generation, so the
   * list and the stack never exceed the program size.
   */
  private closure(list: StaticArray<i32>, count: i32, pc: i32, prev: i32, after: i32, pendingEnd: bool): i32 {
    const gen = this.gen;
    if (pc < 0 || pc >= this.op.length || this.mark[pc] == gen) return count;
    let sp = 0;
    this.mark[pc] = gen;
    this.stack[sp++] = pc;
    while (sp > 0) {
      const p = this.stack[--sp];
      const op = this.op[p];
      if (op == OP_JMP) {
        sp = this.push(sp, this.x[p], gen);
      } else if (op == OP_SPLIT) {
        sp = this.push(sp, this.y[p], gen);
        sp = this.push(sp, this.x[p], gen);
      } else if (op == OP_ASSERT) {
        const kind = this.x[p];
        if (pendingEnd && kind == AT_END_TEXT) list[count++] = p;
        else if (assertionHolds(kind, prev, after)) sp = this.push(sp, p + 1, gen);
      } else {
        list[count++] = p;
      }
    }
    return count;
  }

  private push(sp: i32, pc: i32, gen: i32): i32 {
    if (pc < 0 || pc >= this.op.length || this.mark[pc] == gen) return sp;
    this.mark[pc] = gen;
    this.stack[sp] = pc;
    return sp + 1;
  }

  // ---- lazy DFA ----

  /**
   * Sets up the DFA when the program allows it: no assertions but begin/end
   * of text, and at most DFA_MAX_CLASSES character classes. Characters are
   * grouped into classes that every instruction treats alike, split at each
   * boundary of each instruction's character set.
   */
  private initDfa(): void {
    const m = this.op.length;
    const cuts = new Array<i32>(0);
    for (let pc = 0; pc < m; pc++) {
      const op = this.op[pc];
      if (op == OP_ASSERT) {
        const kind = this.x[pc];
        if (kind != AT_BEGIN_TEXT && kind != AT_END_TEXT) return;
      } else if (op == OP_CHAR) {
        cuts.push(this.x[pc]);
        cuts.push(this.x[pc] + 1);
        cuts.push(this.y[pc]);
        cuts.push(this.y[pc] + 1);
      } else if (op == OP_ANY_NOT_NL) {
        cuts.push(0x0a);
        cuts.push(0x0b);
      } else if (op == OP_CLASS) {
        const r = this.classes[this.x[pc]];
        for (let k = 0; k + 1 < r.length; k += 2) {
          cuts.push(r[k]);
          cuts.push(r[k + 1] + 1);
        }
      }
    }
    sortRecords(cuts, 1);
    const unique = new Array<i32>(0);
    for (let k = 0; k < cuts.length; k++) {
      if (unique.length == 0 || unique[unique.length - 1] != cuts[k]) unique.push(cuts[k]);
    }
    if (unique.length + 1 > DFA_MAX_CLASSES) return;
    this.bounds = StaticArray.fromArray<i32>(unique);
    this.width = unique.length + 1;
    for (let c = 0; c < 128; c++) this.asciiClass[c] = this.classOf(c);
    // State 0: the start, kept out of the index (begin-of-text holds only there).
    this.bump();
    const count = this.closure(this.next, 0, 0, -1, 0, true);
    this.newState(this.sortedThreads(count), -1);
    // State 1: dead, every transition loops.
    this.newState(new Array<i32>(0), 0);
    for (let k = 0; k < this.width; k++) this.trans[DEAD * this.width + k] = DEAD;
    this.index.set("", <u32>DEAD);
    this.dfa = true;
  }

  /** The character class of c: the number of boundaries at or below it. */
  private classOf(c: i32): i32 {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (b[mid] <= c) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** next[0, count) sorted, as a new array. */
  private sortedThreads(count: i32): Array<i32> {
    const a = new Array<i32>(count);
    for (let t = 0; t < count; t++) a[t] = this.next[t];
    sortRecords(a, 1);
    return a;
  }

  private newState(threads: Array<i32>, accept: i32): i32 {
    const id = this.members.length;
    this.members.push(StaticArray.fromArray<i32>(threads));
    this.accept.push(accept);
    for (let k = 0; k < this.width; k++) this.trans.push(-1);
    return id;
  }

  /**
   * Computes, caches and returns the state after reading c (of class cls) in
   * `state`; -1 when that is a new state and the cache is full.
   */
  private addTransition(state: i32, c: i32, cls: i32): i32 {
    this.bump();
    const threads = this.members[state];
    let count = 0;
    for (let t = 0; t < threads.length; t++) {
      const pc = threads[t];
      // prev = c >= 0: begin-of-text no longer holds after a character.
      if (this.consumes(pc, c)) count = this.closure(this.next, count, pc + 1, c, 0, true);
    }
    const sorted = this.sortedThreads(count);
    const key = String.fromCharCodes(sorted);
    let to: i32;
    if (this.index.has(key)) {
      to = <i32>this.index.get(key);
    } else {
      if (this.members.length >= DFA_MAX_STATES) return -1;
      to = this.newState(sorted, -1);
      this.index.set(key, <u32>to);
    }
    this.trans[state * this.width + cls] = to;
    return to;
  }

  /** Whether `state` accepts at the end of the input (end-of-text assertions now hold). */
  private acceptsAtEnd(state: i32): bool {
    const known = this.accept[state];
    if (known >= 0) return known == 1;
    this.bump();
    const threads = this.members[state];
    const prev = state == 0 ? -1 : 0x61; // only begin-of-text looks at prev here
    let count = 0;
    for (let t = 0; t < threads.length; t++)
      count = this.closure(this.cur, count, threads[t], prev, -1, false);
    let ok = 0;
    for (let t = 0; t < count; t++) {
      if (this.op[this.cur[t]] == OP_MATCH) ok = 1;
    }
    this.accept[state] = ok;
    return ok == 1;
  }
}

function assertionHolds(kind: i32, prev: i32, after: i32): bool {
  if (kind == AT_BEGIN_TEXT) return prev < 0;
  if (kind == AT_END_TEXT) return after < 0;
  if (kind == AT_BEGIN_LINE) return prev < 0 || prev == 0x0a;
  if (kind == AT_END_LINE) return after < 0 || after == 0x0a;
  if (kind == AT_WORD_BOUNDARY) return isWordChar(prev) != isWordChar(after);
  if (kind == AT_NOT_WORD_BOUNDARY) return isWordChar(prev) == isWordChar(after);
  return false;
}

/** Binary search in sorted, disjoint [lo, hi] pairs. */
function classHas(ranges: StaticArray<i32>, c: i32): bool {
  let lo = 0;
  let hi = (ranges.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const a = ranges[mid << 1];
    const b = ranges[(mid << 1) + 1];
    if (c < a) hi = mid - 1;
    else if (c > b) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Outcome of compileRegex: regex set and error "" on success; regex null and error set otherwise. */
export class RegexCompile {
  regex: Regex | null = null;
  error: string = "";
}

/**
 * Compiles an RE2-syntax pattern for full matching. Supported: literals, '.',
 * classes ([a-z], [^...], [[:alpha:]], \d \w \s \D \W \S inside and outside),
 * escapes (\t \n \r \f \v \a \xHH \x{H..} \0oo, escaped punctuation), \Q..\E,
 * anchors ^ $ \A \z \b \B, groups ( ), (?: ), (?P<n> ), (?<n> ), flags (?i)
 * (?s) (?m) (?U) and (?flags: ), alternation, quantifiers * + ? {n} {n,}
 * {n,m} and their lazy forms. (?i) folds one-to-one case pairs of ASCII,
 * Latin-1, Latin Extended-A, basic Greek and Cyrillic (see otherCase in
 * regex_syntax.ts), in literals and classes alike.
 * Rejected with a message "at offset N: ...": backreferences, lookaround,
 * possessive or repeated quantifiers, \p classes, unbalanced ( ) or [ ], bad
 * ranges, counts > 1000, patterns > 1024 UTF-16 units, programs > 5000
 * instructions, groups nested > 200 deep. Never traps.
 */
export function compileRegex(pattern: string): RegexCompile {
  const result = new RegexCompile();
  if (pattern.length > MAX_PATTERN_LENGTH) {
    result.error = "pattern longer than " + intText(MAX_PATTERN_LENGTH) + " characters";
    return result;
  }
  const parser = new Parser(pattern);
  const tree = parser.alternation();
  if (tree === null || parser.error.length > 0) {
    result.error = parser.error.length > 0 ? parser.error : "invalid pattern";
    return result;
  }
  if (parser.pos < pattern.length) {
    // alternation() stops only at the end or at a ')' without its '('.
    result.error = "at offset " + intText(parser.pos) + ": unexpected ) without a matching (";
    return result;
  }
  const c = new Compiler();
  c.node(tree);
  c.emit(OP_MATCH, 0, 0);
  if (c.tooBig) {
    result.error = "pattern too large (more than " + intText(MAX_PROGRAM) + " program states)";
    return result;
  }
  result.regex = new Regex(c.op, c.x, c.y, parser.classes);
  return result;
}
