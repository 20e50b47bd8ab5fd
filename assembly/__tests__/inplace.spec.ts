// The in-place readers (lib/inplace.ts) against their string counterparts, on generated ASCII input
// built from the characters each grammar cares about: every answer the bytes path gives must be the
// string path's, and where it hands over (QUERY_DECODE, -1) the string path decides anyway.
import { QUERY_DECODE, findQueryParam, pairValue, parseV4SocketBytes, splitCookies } from "../lib/inplace";
import { getCookie } from "../lib/cookie";
import { getQueryParam } from "../lib/query";
import { IpAddr, parseSocketAddress } from "../lib/cidr";

let seed: u32 = 20261202;
function next(n: i32): i32 {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return <i32>(seed % <u32>n);
}

function pick(alphabet: string, maxLen: i32): string {
  const n = next(maxLen + 1);
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet.charAt(next(alphabet.length));
  return s;
}

/** The first disagreement seen ("" when none): one assertion per test, naming the input. */
let firstBad = "";
function same(got: string | null, want: string | null, input: string): void {
  if (firstBad.length > 0) return;
  if (got === null ? want !== null : want === null || got != want)
    firstBad = quoted(input) + ": got " + show(got) + ", want " + show(want);
}
function show(v: string | null): string {
  return v === null ? "null" : quoted(v);
}
function quoted(v: string): string {
  return '"' + v + '"';
}

/** The packed [start, end) of a reader as the substring it names, or null for -1. */
function slice(text: string, at: i64): string | null {
  if (at < 0) return null;
  return text.substring(<i32>(at >> 32), <i32>(at & 0xffffffff));
}

const COOKIE_NAMES = ["a", "b", "ab", "x", "", "a b"];

describe("cookies in place", () => {
  it("the filed pairs agree with getCookie on 20,000 generated headers", () => {
    firstBad = "";
    for (let i = 0; i < 20000; i++) {
      const h = pick('ab= ;\t"x', 40);
      const buf = String.UTF8.encode(h);
      const ptr = changetype<usize>(buf);
      const pairs = splitCookies(ptr, buf.byteLength);
      for (let k = 0; k < COOKIE_NAMES.length; k++) {
        const name = COOKIE_NAMES[k];
        const want = getCookie(h, name);
        if (pairs >= 0) same(slice(h, pairValue(ptr, pairs, name)), want, h);
      }
    }
    expect(firstBad).toBe("");
  });

  it("more pairs than it files: splitCookies says so (getCookie on the decoded header answers)", () => {
    let h = "";
    for (let i = 0; i < 40; i++) h += "c" + i.toString() + "=" + i.toString() + "; ";
    const buf = String.UTF8.encode(h + "last=yes");
    expect(splitCookies(changetype<usize>(buf), buf.byteLength)).toBe(-1);
    const few = String.UTF8.encode("a=1; b=2");
    expect(splitCookies(changetype<usize>(few), few.byteLength)).toBe(2);
  });
});

describe("query parameters in place", () => {
  it("findQueryParam agrees with getQueryParam on 20,000 generated paths", () => {
    firstBad = "";
    const names = ["a", "b", "ab", "", "="];
    let decoded = 0;
    for (let i = 0; i < 20000; i++) {
      const path = "/p" + pick("ab=&?#x", 30) + (next(50) == 0 ? "%41" : "") + (next(50) == 0 ? "+" : "");
      const buf = String.UTF8.encode(path);
      for (let k = 0; k < names.length; k++) {
        const at = findQueryParam(changetype<usize>(buf), buf.byteLength, names[k]);
        if (at == QUERY_DECODE) {
          decoded++;
          continue; // the decoder's answer (getQueryParam) is the one used
        }
        same(slice(path, at), getQueryParam(path, names[k]), path);
      }
    }
    expect(firstBad).toBe("");
    // The generated paths reach the hand-over too.
    expect(decoded).toBeGreaterThan(0);
  });
});

/** parseV4SocketBytes against parseSocketAddress on one address (compared as text: the dotted
 * quad, or the verdict). -1 leaves the address to parseSocketAddress, so it cannot disagree. */
function agrees(text: string): void {
  const buf = String.UTF8.encode(text);
  const ptr = changetype<usize>(buf);
  const out = new IpAddr();
  const fast = parseV4SocketBytes(ptr, buf.byteLength, out);
  if (fast < 0) return;
  const ref = parseSocketAddress(text);
  if (fast == 0) {
    same(null, ref === null ? null : (ref as IpAddr).toString(), text);
    return;
  }
  same(out.toString(), ref === null ? null : (ref as IpAddr).toString(), text);
}

describe("IPv4 socket addresses in place", () => {
  it("agrees with parseSocketAddress on 30,000 generated addresses and on the edge cases", () => {
    firstBad = "";
    for (let i = 0; i < 30000; i++) {
      // Mostly near-addresses: four parts of 0-4 digits, a port of 0-6 digits, with stray characters.
      let s = "";
      for (let p = 0; p < 4; p++) {
        if (p > 0) s += next(20) == 0 ? ":" : ".";
        s += pick("0123456789", 4);
      }
      if (next(10) != 0) s += ":" + pick("0123456789", 6);
      if (next(20) == 0) s = "[" + s;
      if (next(20) == 0) s += pick(".:a]", 2);
      agrees(s);
    }
    const edge = [
      "203.0.113.7:51000",
      "0.0.0.0:0",
      "255.255.255.255:65535",
      "255.255.255.255:65536",
      "256.1.1.1:80",
      "01.2.3.4:80",
      "1.2.3.4:080",
      "1.2.3.4:",
      "1.2.3.4",
      "1.2.3.4:123456",
      "1.2.3.4:80:90",
      "1.2.3:80",
      "1.2.3.4.5:80",
      "1..3.4:80",
      ":80",
      "",
      "[::1]:80",
      "1.2.3.4:8a",
      "1234.1.1.1:1",
    ];
    for (let i = 0; i < edge.length; i++) agrees(edge[i]);
    expect(firstBad).toBe("");
    // The usual form is read in place; the rest goes to the string parser.
    const verdicts = ["203.0.113.7:51000", "255.255.255.255:65536", "01.2.3.4:80", "[::1]:80", "1.2.3.4"];
    const want: i32[] = [1, 0, -1, -1, -1];
    for (let i = 0; i < verdicts.length; i++) {
      const buf = String.UTF8.encode(verdicts[i]);
      expect(parseV4SocketBytes(changetype<usize>(buf), buf.byteLength, new IpAddr())).toBe(want[i]);
    }
  });
});
