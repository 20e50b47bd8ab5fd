import { MATCH_CONTAINS, MATCH_REGEX, StringMatch } from "../match";
import { compileRegex } from "../lib/regex";

function contains(value: string, ignoreCase: bool = false): StringMatch {
  const m = new StringMatch();
  m.kind = MATCH_CONTAINS;
  m.value = value;
  m.ignoreCase = ignoreCase;
  return m;
}

/** matchesAscii on the text's bytes, which must agree with matches() on the text. */
function inPlace(m: StringMatch, text: string): bool {
  const buf = String.UTF8.encode(text);
  const r = m.matchesAscii(changetype<usize>(buf), buf.byteLength);
  expect(r).toBeGreaterThanOrEqual(0);
  return r == 1;
}

describe("matchesAscii agrees with matches for contains (eight bytes at a time)", () => {
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
    const texts = [
      "Mozilla/5.0 (iPhone) Mobile/15E148",
      "Mozilla/5.0 (X11; Linux x86_64)",
      "Mobile",
      "Mobil",
    ];
    for (let i = 0; i < texts.length; i++) expect(inPlace(re, texts[i])).toBe(re.matches(texts[i]));
  });
});
