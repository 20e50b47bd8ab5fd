import { Regex, compileRegex } from "../lib/regex";
import { sortRecords } from "../lib/regex_syntax";

function re(pattern: string): Regex {
  const c = compileRegex(pattern);
  expect(c.error).toBe("");
  expect(c.regex).not.toBeNull();
  return c.regex!;
}

function matches(pattern: string, s: string): bool {
  return re(pattern).fullMatch(s);
}

function rejects(pattern: string): string {
  const c = compileRegex(pattern);
  expect(c.regex).toBeNull();
  expect(c.error.length).toBeGreaterThan(0);
  return c.error;
}

describe("regex: full-match semantics", () => {
  it("matches the whole input only", () => {
    expect(matches("abc", "abc")).toBe(true);
    expect(matches("abc", "abcd")).toBe(false);
    expect(matches("abc", "xabc")).toBe(false);
    expect(matches("b", "abc")).toBe(false);
    expect(matches("", "")).toBe(true);
    expect(matches("", "a")).toBe(false);
  });

  it("accepts anchors at the ends", () => {
    expect(matches("^abc$", "abc")).toBe(true);
    expect(matches("^abc", "abc")).toBe(true);
    expect(matches("abc$", "abcd")).toBe(false);
    expect(matches("a^b", "ab")).toBe(false);
    expect(matches("a$b", "ab")).toBe(false);
    expect(matches("\\Aabc\\z", "abc")).toBe(true);
  });

  it("matches Istio-style user-agent patterns", () => {
    const chrome = re(".*Chrome/[0-9]+.*");
    expect(chrome.fullMatch("Mozilla/5.0 (X11) Chrome/120.0 Safari/537")).toBe(true);
    expect(chrome.fullMatch("Mozilla/5.0 Firefox/121.0")).toBe(false);
    const pc = re("(pc|desktop)-[a-z]+");
    expect(pc.fullMatch("pc-linux")).toBe(true);
    expect(pc.fullMatch("desktop-mac")).toBe(true);
    expect(pc.fullMatch("mobile-ios")).toBe(false);
  });
});

describe("regex: atoms", () => {
  it("dot matches any character but newline", () => {
    expect(matches("a.c", "abc")).toBe(true);
    expect(matches("a.c", "a\nc")).toBe(false);
    expect(matches("(?s)a.c", "a\nc")).toBe(true);
    expect(matches("...", "a😀b")).toBe(true); // one character per code point
    expect(matches("..", "😀")).toBe(false);
  });

  it("classes, ranges and negation", () => {
    expect(matches("[a-z0-9_]+", "user_42")).toBe(true);
    expect(matches("[a-z0-9_]+", "User")).toBe(false);
    expect(matches("[^0-9]+", "abc")).toBe(true);
    expect(matches("[^0-9]+", "ab1")).toBe(false);
    expect(matches("[^a]", "\n")).toBe(true);
    expect(matches("[]a]+", "]a]")).toBe(true);
    expect(matches("[^]a]", "b")).toBe(true);
    expect(matches("[a-]+", "a-a")).toBe(true);
    expect(matches("[-a]+", "-a")).toBe(true);
    expect(matches("[.]", "x")).toBe(false);
    expect(matches("[é-ë]", "ê")).toBe(true);
  });

  it("perl classes inside and outside brackets", () => {
    expect(matches("\\d+", "2024")).toBe(true);
    expect(matches("\\d+", "20a4")).toBe(false);
    expect(matches("\\w+", "a_Z9")).toBe(true);
    expect(matches("\\w", "-")).toBe(false);
    expect(matches("\\s", "\t")).toBe(true);
    expect(matches("\\D\\W\\S", "a-b")).toBe(true);
    expect(matches("\\D", "5")).toBe(false);
    expect(matches("[\\d.]+", "10.0.1")).toBe(true);
    expect(matches("[^\\d]+", "abc")).toBe(true);
    expect(matches("[\\W]", "a")).toBe(false);
    expect(matches("[[:alpha:]]+[[:digit:]]", "ab1")).toBe(true);
    expect(matches("[[:^digit:]]", "1")).toBe(false);
  });

  it("escapes", () => {
    expect(matches("a\\.b", "a.b")).toBe(true);
    expect(matches("a\\.b", "axb")).toBe(false);
    expect(matches("\\\\", "\\")).toBe(true);
    expect(matches("\\/api\\/v1", "/api/v1")).toBe(true);
    expect(matches("a\\-b", "a-b")).toBe(true);
    expect(matches("\\t\\n\\r", "\t\n\r")).toBe(true);
    expect(matches("\\x41\\x{1F600}", "A😀")).toBe(true);
    expect(matches("[\\-\\]]+", "-]")).toBe(true);
    expect(matches("[\\t\\n]+", "\t\n")).toBe(true);
    expect(matches("[\\t]", "t")).toBe(false);
    expect(matches("[\\x41-\\x43]+", "ABC")).toBe(true);
    expect(matches("\\Qa.b*\\E", "a.b*")).toBe(true);
    expect(matches("\\Qa.b*\\E", "axbb")).toBe(false);
    expect(matches("\\Q(a|b)\\E", "(a|b)")).toBe(true);
    expect(matches("x\\Qab\\E*", "xabbb")).toBe(true); // the quantifier takes the last quoted character
    expect(matches("x\\Qab\\E*", "xabab")).toBe(false);
    expect(matches("\\Q)*", ")*")).toBe(true); // \Q without \E runs to the end
    expect(matches("a\\Q\\Eb", "ab")).toBe(true);
    expect(matches("\\(\\)\\[\\]\\{\\}\\*\\+\\?\\|\\^\\$", "()[]{}*+?|^$")).toBe(true);
  });

  it("word boundaries", () => {
    expect(matches(".*\\bbeta\\b.*", "group beta users")).toBe(true);
    expect(matches(".*\\bbeta\\b.*", "alphabeta")).toBe(false);
    expect(matches("a\\Bb", "ab")).toBe(true);
  });
});

describe("regex: groups, alternation and quantifiers", () => {
  it("alternation", () => {
    expect(matches("canary|beta|", "beta")).toBe(true);
    expect(matches("canary|beta|", "")).toBe(true);
    expect(matches("a(b|c)d", "acd")).toBe(true);
    expect(matches("a(?:b|c)d", "abd")).toBe(true);
    expect(matches("a(?P<x>b)c", "abc")).toBe(true);
    expect(matches("a(?<x>b)c", "abc")).toBe(true);
    expect(matches("()", "")).toBe(true);
  });

  it("star, plus, optional", () => {
    expect(matches("ab*c", "ac")).toBe(true);
    expect(matches("ab*c", "abbbc")).toBe(true);
    expect(matches("ab+c", "ac")).toBe(false);
    expect(matches("ab?c", "abbc")).toBe(false);
    expect(matches("ab*?c", "abbc")).toBe(true);
    expect(matches("ab+?c", "abc")).toBe(true);
    expect(matches("(ab)*", "ababab")).toBe(true);
    expect(matches("(ab)*", "ababa")).toBe(false);
  });

  it("counted repetition", () => {
    expect(matches("a{3}", "aaa")).toBe(true);
    expect(matches("a{3}", "aa")).toBe(false);
    expect(matches("a{2,}", "aaaaa")).toBe(true);
    expect(matches("a{2,}", "a")).toBe(false);
    expect(matches("a{2,4}", "aaaa")).toBe(true);
    expect(matches("a{2,4}", "aaaaa")).toBe(false);
    expect(matches("a{0}", "")).toBe(true);
    expect(matches("(ab){1,2}?", "abab")).toBe(true);
    expect(matches("\\d{1,3}(\\.\\d{1,3}){3}", "10.1.2.3")).toBe(true);
    expect(matches("a{1000}", "a".repeat(1000))).toBe(true);
  });

  it("treats a brace that is not a count as a literal", () => {
    expect(matches("a{", "a{")).toBe(true);
    expect(matches("a{x}", "a{x}")).toBe(true);
    expect(matches("a{,3}", "a{,3}")).toBe(true);
    expect(matches("}", "}")).toBe(true);
  });

  it("case-insensitive flag", () => {
    expect(matches("(?i)canary", "CaNaRy")).toBe(true);
    expect(matches("(?i)[a-c]+", "AbC")).toBe(true);
    expect(matches("(?i)é", "É")).toBe(true);
    expect(matches("canary", "Canary")).toBe(false);
    expect(matches("a(?i:b)c", "aBc")).toBe(true);
    expect(matches("a(?i:b)c", "aBC")).toBe(false);
    expect(matches("(a(?i)b)c", "aBc")).toBe(true);
    expect(matches("(a(?i)b)c", "aBC")).toBe(false);
    expect(matches("(?i)x(?-i)y", "Xy")).toBe(true);
    expect(matches("(?i)x(?-i)y", "XY")).toBe(false);
  });

  it("case-insensitive flag beyond ASCII: one-to-one pairs of Latin-1, Latin Extended-A, Greek, Cyrillic", () => {
    expect(matches("(?i)straße", "STRAßE")).toBe(true);
    expect(matches("(?i)ß", "SS")).toBe(false); // no multi-character folds
    expect(matches("(?i)ÿ", "Ÿ")).toBe(true);
    expect(matches("(?i)łódź", "ŁÓDŹ")).toBe(true);
    expect(matches("(?i)ĺž", "ĹŽ")).toBe(true);
    expect(matches("(?i)ωμέγα", "ΩΜΈΓΑ")).toBe(true);
    expect(matches("(?i)σ", "Σ")).toBe(true);
    expect(matches("(?i)ς", "Σ")).toBe(false); // final sigma stays alone
    expect(matches("(?i)привет", "ПРИВЕТ")).toBe(true);
    expect(matches("(?i)ёґ", "ЁҐ")).toBe(true);
    expect(matches("(?i)[а-я]+", "ЖУК")).toBe(true);
    expect(matches("(?i)[α-ω]+", "ΑΒΓ")).toBe(true);
    expect(matches("(?i)[^а-я]", "Ж")).toBe(false);
    expect(matches("(?i)×", "÷")).toBe(false);
    expect(matches("(?i)ı", "I")).toBe(false); // dotless i, long s, micro sign: not folded
    expect(matches("(?i)ſ", "S")).toBe(false);
    expect(matches("(?i)ǆ", "Ǆ")).toBe(false); // Latin Extended-B: not folded
    expect(matches("(?i)ա", "Ա")).toBe(false); // other scripts: not folded
    expect(matches("ж", "Ж")).toBe(false);
  });

  it("multi-line flag", () => {
    expect(matches("(?m)a$\\n^b", "a\nb")).toBe(true);
    expect(matches("a$\\n^b", "a\nb")).toBe(false);
  });
});

describe("regex: linear time", () => {
  it("(a*)*b against 10 000 a's", () => {
    const s = "a".repeat(10000);
    expect(matches("(a*)*b", s)).toBe(false);
    expect(matches("(a*)*b", s + "b")).toBe(true);
  });

  it("(a|aa)*c against 10 000 a's", () => {
    const s = "a".repeat(10000);
    expect(matches("(a|aa)*c", s)).toBe(false);
    expect(matches("(a|aa)*c", s + "c")).toBe(true);
  });

  it("(x+x+)+y and nested counts against 10 000 characters", () => {
    expect(matches("(x+x+)+y", "x".repeat(10000))).toBe(false);
    expect(matches("(a{1,10}){1,10}b", "a".repeat(10000))).toBe(false);
    expect(matches(".*.*.*=.*", "x".repeat(10000))).toBe(false);
  });

  it("falls back to the NFA when the DFA cache is full, with the same answers", () => {
    // The 10th character from the end is an 'a': a DFA needs 2^10 states.
    const r = re("(a|b)*a(a|b){9}");
    let x: u32 = 12345;
    let agree = 0;
    for (let i = 0; i < 300; i++) {
      let s = "";
      for (let k = 0; k < 40; k++) {
        x = x * 1103515245 + 12345;
        s += (x >> 16) & 1 ? "a" : "b";
      }
      const expected = s.charCodeAt(s.length - 10) == 0x61;
      if (r.fullMatch(s) == expected && r.fullMatchNfa(s) == expected) agree++;
    }
    expect(agree).toBe(300);
    expect(r.dfaStates).toBe(256);
    expect(r.fullMatch("a" + "b".repeat(9))).toBe(true);
    expect(r.fullMatch("b".repeat(10))).toBe(false);
  });

  it("uses the DFA for anchors at the ends and the NFA for word boundaries", () => {
    const anchored = re("^(canary|beta)$");
    expect(anchored.fullMatch("beta")).toBe(true);
    expect(anchored.dfaStates).toBeGreaterThan(0);
    const bounded = re(".*\\bbeta\\b.*");
    expect(bounded.fullMatch("a beta b")).toBe(true);
    expect(bounded.dfaStates).toBe(0);
  });

  it("handles empty-width assertions at both ends of empty input", () => {
    expect(matches("^$", "")).toBe(true);
    expect(matches("$^", "")).toBe(true);
    expect(matches("(^|a)*$", "")).toBe(true);
    expect(matches("(a|^)b", "b")).toBe(true);
    expect(matches("(a|^)b", "ab")).toBe(true);
    expect(matches("a(^|b)", "a")).toBe(false);
    expect(matches("a($|b)", "a")).toBe(true);
    expect(matches("a($|b)c", "ac")).toBe(false);
  });

  it("reuses its buffers across many calls", () => {
    const r = re("(canary|beta)-\\d+");
    for (let i = 0; i < 2000; i++) {
      expect(r.fullMatch("canary-" + i.toString())).toBe(true);
      expect(r.fullMatch("stable-" + i.toString())).toBe(false);
    }
  });
});

describe("regex: rejected patterns", () => {
  it("backreferences and lookaround", () => {
    expect(rejects("(a)\\1")).toBe("at offset 3: backreferences are not supported");
    expect(rejects("(?=a)")).toBe("at offset 0: lookahead is not supported");
    rejects("(?!a)");
    expect(rejects("(?<=a)b")).toBe("at offset 0: lookbehind is not supported");
    rejects("(?<!a)b");
    rejects("(?P=x)");
  });

  it("bad quantifiers", () => {
    expect(rejects("*a")).toBe("at offset 0: missing argument to repetition operator");
    rejects("+");
    rejects("a|*");
    rejects("(*)");
    rejects("{2}");
    rejects("(?i)*");
    expect(rejects("a**")).toBe("at offset 2: bad repetition operator (repeated quantifier)");
    expect(rejects("a*+")).toBe("at offset 2: possessive quantifiers are not supported");
    rejects("a++");
    rejects("a{2}{3}");
    rejects("a???");
  });

  it("counts out of range", () => {
    expect(rejects("a{1001}")).toBe("at offset 1: repetition count exceeds 1000");
    rejects("a{1,1001}");
    rejects("a{99999999999}");
    expect(rejects("a{3,2}")).toBe("at offset 1: invalid repetition range (max below min)");
  });

  it("unbalanced groups and classes", () => {
    expect(rejects("(ab")).toBe("at offset 0: missing closing )");
    expect(rejects("ab)")).toBe("at offset 2: unexpected ) without a matching (");
    expect(rejects("[ab")).toBe("at offset 0: missing closing ]");
    rejects("[");
    rejects("[]");
    rejects("[^");
    rejects("((a)");
  });

  it("bad ranges, escapes and groups", () => {
    expect(rejects("[z-a]")).toBe("at offset 1: invalid character class range");
    rejects("[a-\\d]");
    expect(rejects("a\\")).toBe("at offset 1: trailing backslash at end of pattern");
    expect(rejects("\\q")).toBe("at offset 0: invalid escape sequence \\q");
    rejects("\\pL");
    rejects("\\x4");
    rejects("\\x{}");
    rejects("\\x{110000}");
    rejects("[[:nope:]]");
    rejects("(?x)");
    rejects("(?)");
    rejects("(?i-)");
    rejects("(?P<>a)");
    rejects("[\\b]");
  });

  it("size limits", () => {
    expect(rejects("a".repeat(1025))).toBe("pattern longer than 1024 characters");
    expect(compileRegex("a".repeat(1024)).error).toBe("");
    expect(rejects("(abcdefghij){600}")).toBe("pattern too large (more than 5000 program states)");
    rejects("((a{100}){100}){100}");
    expect(rejects("(".repeat(300) + ")".repeat(300))).toBe("at offset 200: groups nested too deeply");
    expect(rejects("(((){1000}){1000}){1000}")).toBe("pattern too large (more than 5000 program states)");
  });

  it("compiles large case-folded classes quickly", () => {
    const big = "(?i)[" + "\\x00-\\x{24f}".repeat(80) + "]";
    expect(big.length).toBeLessThan(1024);
    expect(matches(big, "É")).toBe(true);
    expect(matches(big, "\u0250")).toBe(false);
  });

  it("sorts records by their first value", () => {
    const a = [5, 3, 9, 1, 3, 0, 7];
    sortRecords(a, 1);
    expect(a).toStrictEqual([0, 1, 3, 3, 5, 7, 9]);
    const pairs = [30, 31, 10, 12, 20, 29, 0, 5, 99];
    sortRecords(pairs, 2);
    expect(pairs).toStrictEqual([0, 5, 10, 12, 20, 29, 30, 31, 99]);
    const none = new Array<i32>(0);
    sortRecords(none, 2);
    expect(none.length).toBe(0);
    sortRecords(a, 0);
    const big = new Array<i32>(0);
    for (let i = 0; i < 5000; i++) big.push((i * 7919) % 5003);
    sortRecords(big, 1);
    let sorted = true;
    for (let i = 1; i < big.length; i++) if (big[i - 1] > big[i]) sorted = false;
    expect(sorted).toBe(true);
  });

  it("never traps on junk", () => {
    compileRegex("\x00\x01[\x7f-\x00]");
    compileRegex(String.fromCharCode(0xd800) + "*");
    compileRegex("(?");
    compileRegex("(?P<");
    compileRegex("[[:");
    compileRegex("\\x{");
    compileRegex("a{1,");
    expect(matches(String.fromCharCode(0xd800), String.fromCharCode(0xd800))).toBe(true);
  });
});
