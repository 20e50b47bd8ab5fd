// Malformed-input sweeps across the matcher libraries: every call must return
// (null, false, "" or a value), never trap. Inputs come from a fixed-seed
// generator, so a failure reproduces.
import { base64UrlDecode } from "../lib/base64";
import { getBaggage, removeBaggage, setBaggage } from "../lib/baggage";
import { parseCidr, parseIp, parseSocketAddress } from "../lib/cidr";
import { getCookie } from "../lib/cookie";
import { stickyBucket } from "../lib/hash";
import { JKind, jsonString, parseJson } from "../lib/json";
import { claimValues, jwtPayload } from "../lib/jwt";
import { getQueryParam, pathOnly } from "../lib/query";
import { compileRegex } from "../lib/regex";
import { percentDecode, percentEncode } from "../lib/text";

let seed: u64 = 0x2545f4914f6cdd1d;

function next(): u32 {
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return <u32>(seed >> 32);
}

// Characters that matter to one parser or another, plus odd code units.
const ALPHABET =
  "aZ09.:/[]{}()<>=;,&?#%+-_*|^$\\\"' \t\r\n\x00\x7fé€" +
  String.fromCharCode(0xd800) +
  String.fromCharCode(0xdc00) +
  "😀uU1fFeE";

function randomString(maxLen: i32): string {
  const len = <i32>(next() % <u32>(maxLen + 1));
  let s = "";
  for (let i = 0; i < len; i++) {
    s += ALPHABET.charAt(i32(next() % u32(ALPHABET.length)));
  }
  return s;
}

/** seed with a few characters replaced, inserted or removed. */
function mutate(base: string): string {
  let s = base;
  const edits = 1 + <i32>(next() % 4);
  for (let e = 0; e < edits; e++) {
    const at = s.length == 0 ? 0 : <i32>(next() % <u32>s.length);
    const c = ALPHABET.charAt(i32(next() % u32(ALPHABET.length)));
    const kind = next() % 3;
    if (kind == 0) s = s.substring(0, at) + c + s.substring(at + 1);
    else if (kind == 1) s = s.substring(0, at) + c + s.substring(at);
    else s = s.substring(0, at) + s.substring(at + 1);
  }
  return s;
}

function hasLoneSurrogate(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

const JSON_SEEDS = ['{"a":[1,2.5e3,true,null,"x\\u00e9"]}', '["\\ud83d\\ude00",{}]', '{"k":{"n":-0.1}}'];
const REGEX_SEEDS = ["(a|b)*c{2,3}", "[^a-z\\d]+?", "(?i)x\\.y$", "^(?:ab|[[:alpha:]])\\b"];
const IP_SEEDS = ["10.1.2.3", "2001:db8::1", "::ffff:1.2.3.4", "[::1]:443", "10.0.0.0/8", "fe80::/10"];
const HEADER_SEEDS = ["a=1; lane=canary", "lane=canary;p=1, b = 2", "/p?x=1&lane=c%20d#f"];
const JWT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImdyb3VwcyI6WyJiZXRhIl0sInIiOnsicm9sZXMiOlsieCJdfX0.c2ln";

describe("robustness", () => {
  it("parseJson and jsonString", () => {
    for (let i = 0; i < 2000; i++) {
      const s = i % 2 == 0 ? randomString(40) : mutate(JSON_SEEDS[i % JSON_SEEDS.length]);
      const r = parseJson(s);
      expect(r.value === null).toBe(r.error.length > 0);
      const q = parseJson(jsonString(s));
      expect(q.value!.s).toBe(s);
    }
  });

  it("compileRegex and fullMatch", () => {
    for (let i = 0; i < 2000; i++) {
      const p = i % 2 == 0 ? randomString(24) : mutate(REGEX_SEEDS[i % REGEX_SEEDS.length]);
      const c = compileRegex(p);
      expect(c.regex === null).toBe(c.error.length > 0);
      if (c.regex !== null) {
        const r = c.regex!;
        for (let k = 0; k < 4; k++) {
          const input = k == 0 ? "" : k == 1 ? randomString(30) : mutate(p);
          // The lazy DFA and the NFA simulation must agree.
          expect(r.fullMatch(input)).toBe(r.fullMatchNfa(input));
        }
      }
    }
  });

  it("IP and CIDR parsers", () => {
    for (let i = 0; i < 2000; i++) {
      const s = i % 2 == 0 ? randomString(24) : mutate(IP_SEEDS[i % IP_SEEDS.length]);
      const a = parseIp(s);
      if (a !== null) expect(parseIp(a.toString())!.toString()).toBe(a.toString());
      parseSocketAddress(s);
      const c = parseCidr(s);
      if (c !== null) expect(parseCidr(c.toString())!.toString()).toBe(c.toString());
    }
  });

  it("cookie, baggage, query and text helpers", () => {
    for (let i = 0; i < 2000; i++) {
      const s = i % 2 == 0 ? randomString(40) : mutate(HEADER_SEEDS[i % HEADER_SEEDS.length]);
      const k = i % 3 == 0 ? randomString(4) : "lane";
      getCookie(s, k);
      getBaggage(s, k);
      removeBaggage(s, k);
      const set = setBaggage(s, k, s);
      if (set !== null) {
        const got = getBaggage(set, k);
        // A value with a lone surrogate is written as U+FFFD; otherwise it round-trips.
        if (got !== null && !hasLoneSurrogate(s)) {
          expect(got).toBe(s);
        }
      }
      getQueryParam(s, k);
      pathOnly(s);
      percentDecode(s, true);
      percentEncode(s);
      expect(stickyBucket(s, k)).toBeLessThan(10000);
    }
  });

  it("base64 and JWT", () => {
    for (let i = 0; i < 2000; i++) {
      const s = i % 2 == 0 ? randomString(40) : mutate(JWT);
      base64UrlDecode(s);
      const p = jwtPayload(s);
      if (p !== null) {
        expect(p.kind).toBe(JKind.Object);
        claimValues(p, "groups");
        claimValues(p, "r.roles");
      }
    }
    expect(claimValues(jwtPayload(JWT)!, "r.roles")).toStrictEqual(["x"]);
  });
});
