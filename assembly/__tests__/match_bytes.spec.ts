import {
  MATCH_CONTAINS,
  MATCH_EXACT,
  MATCH_ONE_OF,
  MATCH_PREFIX,
  MATCH_PRESENT,
  MATCH_REGEX,
  MATCH_SUFFIX,
  StringMatch,
} from "../match";
import { compileRegex } from "../lib/regex";
import { utf8Text } from "../lib/text";

function match(kind: i32, value: string, ignoreCase: bool = false, invert: bool = false): StringMatch {
  const m = new StringMatch();
  m.kind = kind;
  m.value = ignoreCase ? asciiLower(value) : value;
  m.ignoreCase = ignoreCase;
  m.invert = invert;
  m.seal();
  return m;
}

function contains(value: string, ignoreCase: bool = false): StringMatch {
  return match(MATCH_CONTAINS, value, ignoreCase);
}

/** matchesBytes on the text's UTF-8 bytes, which must agree with matches() on the text. */
function inPlace(m: StringMatch, text: string): bool {
  const buf = String.UTF8.encode(text);
  const r = m.matchesBytes(changetype<usize>(buf), buf.byteLength, false);
  expect(r).toBeGreaterThanOrEqual(0);
  return r == 1;
}

/** matchesBytes on raw bytes (not necessarily UTF-8). */
function onBytes(m: StringMatch, bytes: u8[]): i32 {
  const buf = new ArrayBuffer(bytes.length);
  for (let i = 0; i < bytes.length; i++) store<u8>(changetype<usize>(buf) + <usize>i, bytes[i]);
  return m.matchesBytes(changetype<usize>(buf), buf.byteLength, false);
}

describe("matchesBytes compares UTF-8 bytes, as matches() compares the decoded text", () => {
  it("every kind, both cases and inverted, on ASCII and non-ASCII values and texts", () => {
    const values = ["pc", "é", "café", "Beta", "x-Ü-1", "", "中文"];
    const texts = [
      "pc",
      "PC",
      "é",
      "É",
      "café",
      "CAFÉ",
      "le café noir",
      "beta",
      "BETA-1",
      "x-ü-1",
      "",
      "中文字",
      "p",
      "c",
    ];
    const kinds = [MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_CONTAINS];
    for (let k = 0; k < kinds.length; k++) {
      for (let v = 0; v < values.length; v++) {
        for (let ic = 0; ic < 2; ic++) {
          for (let inv = 0; inv < 2; inv++) {
            // ignoreCase folds A-Z only, as toLowerAscii does (É stays É).
            const m = match(kinds[k], values[v], ic == 1, inv == 1);
            for (let t = 0; t < texts.length; t++) expect(inPlace(m, texts[t])).toBe(m.matches(texts[t]));
          }
        }
      }
    }
    const one = new StringMatch();
    one.kind = MATCH_ONE_OF;
    one.values = ["true", "oui", "sí"];
    one.seal();
    const texts2 = ["true", "sí", "si", "oui ", "TRUE"];
    for (let t = 0; t < texts2.length; t++) expect(inPlace(one, texts2[t])).toBe(one.matches(texts2[t]));
    const present = new StringMatch();
    present.kind = MATCH_PRESENT;
    present.seal();
    expect(inPlace(present, "anything")).toBe(true);
  });

  it("bytes that are not valid UTF-8 match only what they are byte for byte", () => {
    // An overlong encoding of "pc" (C1 B0 C1 A3): a lenient decoder reads it as "pc"; Envoy's
    // matchers, and these, see four bytes that are not "pc".
    const overlong: u8[] = [0xc1, 0xb0, 0xc1, 0xa3];
    const exact = match(MATCH_EXACT, "pc");
    expect(onBytes(exact, overlong)).toBe(0);
    expect(onBytes(match(MATCH_PREFIX, "p"), overlong)).toBe(0);
    expect(onBytes(match(MATCH_CONTAINS, "c"), overlong)).toBe(0);
    expect(onBytes(match(MATCH_EXACT, "pc", false, true), overlong)).toBe(1);
    // The bytes themselves still match a value with those bytes' ASCII neighbours around them.
    expect(onBytes(match(MATCH_PREFIX, "a"), [0x61, 0xff, 0xfe])).toBe(1);
    expect(onBytes(match(MATCH_SUFFIX, "z"), [0xff, 0x7a])).toBe(1);
    // A regex reads text: non-ASCII bytes go to the string matcher (-1) once the prefilter passes.
    const re = new StringMatch();
    re.kind = MATCH_REGEX;
    re.value = "p";
    re.regex = compileRegex("p.*").regex;
    re.seal();
    expect(onBytes(re, [0x70, 0xc3, 0xa9])).toBe(-1);
    expect(onBytes(re, [0x70, 0x63])).toBe(1);
    expect(onBytes(re, overlong)).toBe(0);
    // A regex without a literal reads the text, in which each ill-formed sequence is U+FFFD: the
    // overlong "pc" is not lower-case letters, as the lenient decoder would have made it.
    const letters = new StringMatch();
    letters.kind = MATCH_REGEX;
    letters.regex = compileRegex("[a-z]+").regex;
    letters.seal();
    expect(onBytes(letters, overlong)).toBe(-1);
    const buf = new ArrayBuffer(4);
    for (let i = 0; i < 4; i++) store<u8>(changetype<usize>(buf) + <usize>i, overlong[i]);
    expect(letters.matches(utf8Text(changetype<usize>(buf), 4))).toBe(false);
    expect(letters.matches(String.UTF8.decodeUnsafe(changetype<usize>(buf), 4))).toBe(true);
  });
});

function asciiLower(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return out;
}

describe("matchesBytes agrees with matches for contains (eight bytes at a time)", () => {
  it("finds the value at every offset and length, across word boundaries", () => {
    const values = ["M", "Mo", "Mobile", "ab", "aab", "xyzxyzxyz"];
    for (let v = 0; v < values.length; v++) {
      const m = contains(values[v]);
      for (let len = 0; len < 30; len++) {
        for (let at = 0; at <= len; at++) {
          // Filler full of the value's first character (false alarms), the value placed at `at`.
          let text = "";
          for (let i = 0; i < len; i++) text += i % 3 == 0 ? values[v].charAt(0) : "-";
          text = text.substring(0, at) + values[v] + text.substring(at);
          expect(inPlace(m, text)).toBe(m.matches(text));
          expect(inPlace(m, text)).toBe(true);
          const cut = text.substring(0, text.length - 1);
          expect(inPlace(m, cut)).toBe(m.matches(cut));
        }
      }
    }
  });

  it("first characters with the high bit set in the haystack, bytes 0x80 above the value's", () => {
    const m = contains("Mobile");
    const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Mobil";
    expect(inPlace(m, ua)).toBe(false);
    expect(inPlace(m, ua + "e")).toBe(true);
    expect(inPlace(m, "Mobile")).toBe(true);
    expect(inPlace(m, "MMMMMMMMMMMMMMMMobile")).toBe(true);
    expect(inPlace(m, "NNNNNNNNMobileNNNN")).toBe(true);
    expect(inPlace(m, "LLLLLLLLLLLLLLLLLLMobil")).toBe(false);
  });

  it("ignoreCase and a regex's literal prefilter", () => {
    const ic = contains("mobile", true);
    expect(inPlace(ic, "Some MOBILE agent")).toBe(true);
    expect(inPlace(ic, "Some MOBIL agent")).toBe(false);
    const re = new StringMatch();
    re.kind = MATCH_REGEX;
    re.value = "Mobile";
    re.regex = compileRegex(".*Mobile.*").regex;
    re.seal();
    const texts = [
      "Mozilla/5.0 (iPhone) Mobile/15E148",
      "Mozilla/5.0 (X11; Linux x86_64)",
      "Mobile",
      "Mobil",
    ];
    for (let i = 0; i < texts.length; i++) expect(inPlace(re, texts[i])).toBe(re.matches(texts[i]));
  });
});
