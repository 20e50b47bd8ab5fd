import { bytesAre, indexOfByte, indexOfEither, itemAt, owsAt, strLen, unitAt, utf8Is } from "../lib/raw";

class Box {
  constructor(public v: i32) {}
}

describe("raw accessors agree with the checked forms", () => {
  it("strLen and unitAt on ASCII, non-ASCII, surrogate pairs and empty strings", () => {
    const samples = ["", "a", "x-lane", "héllo wörld", "😀 lane", "line\nbreak\u0000nul"];
    for (let k = 0; k < samples.length; k++) {
      const s = samples[k];
      expect(strLen(s)).toBe(s.length);
      for (let i = 0; i < s.length; i++) expect(unitAt(s, i)).toBe(s.charCodeAt(i));
    }
    // A string built at run time, not a static one.
    const built = "cookie-" + (12345).toString();
    expect(strLen(built)).toBe(12);
    expect(unitAt(built, 11)).toBe(0x35);
  });

  it("itemAt reads references and numbers, also after the array grew", () => {
    const boxes = new Array<Box>();
    const nums = new Array<u64>();
    for (let i = 0; i < 100; i++) {
      boxes.push(new Box(i * 3));
      nums.push(<u64>i * 0x1_0000_0001);
    }
    for (let i = 0; i < 100; i++) {
      expect(itemAt(boxes, i).v).toBe(i * 3);
      expect(itemAt(nums, i)).toBe(<u64>i * 0x1_0000_0001);
    }
  });

  it("owsAt is space or tab only", () => {
    const buf = String.UTF8.encode(" \ta\r\n\u000b");
    const p = changetype<usize>(buf);
    expect(owsAt(p, 0)).toBe(true);
    expect(owsAt(p, 1)).toBe(true);
    for (let i = 2; i < buf.byteLength; i++) expect(owsAt(p, i)).toBe(false);
  });

  it("bytesAre: each byte against each unit, at every length and every differing position", () => {
    const name = "x-forwarded-for:authority";
    for (let n = 0; n <= name.length; n++) {
      const s = name.substring(0, n);
      const buf = String.UTF8.encode(s);
      const p = changetype<usize>(buf);
      expect(bytesAre(p, s, n)).toBe(true);
      for (let at = 0; at < n; at++) {
        const keep = load<u8>(p + <usize>at);
        store<u8>(p + <usize>at, keep ^ 0x20);
        expect(bytesAre(p, s, n)).toBe(false);
        store<u8>(p + <usize>at, keep);
      }
    }
    // A unit above 0xff never equals a byte; the byte 0xe9 equals the unit U+00E9 (callers compare
    // ASCII names only).
    const b = String.UTF8.encode("ab");
    expect(bytesAre(changetype<usize>(b), "a\u0162", 2)).toBe(false);
  });

  it("indexOfByte and indexOfEither find the first match in range, across words", () => {
    const text = "abc;def=ghi;jklmnopq=rstuvwxyz#end&more";
    const buf = String.UTF8.encode(text);
    const p = changetype<usize>(buf);
    const n = buf.byteLength;
    for (let from = 0; from < n; from++) {
      for (let to = from; to <= n; to++) {
        const sub = text.substring(from, to);
        const semi = sub.indexOf(";");
        expect(indexOfByte(p, from, to, 0x3b)).toBe(semi < 0 ? to : from + semi);
        const eq = sub.indexOf("=");
        const hash = sub.indexOf("#");
        let either = eq < 0 ? hash : hash < 0 ? eq : min(eq, hash);
        expect(indexOfEither(p, from, to, 0x3d, 0x23)).toBe(either < 0 ? to : from + either);
      }
    }
  });

  it("utf8Is: exactly the UTF-8 encoding, one, two, three and four bytes, and nothing else", () => {
    const names = ["", "groups", "prénom", "équipe.rôle", "中文", "😀", "a😀b", "Zoé"];
    for (let i = 0; i < names.length; i++) {
      for (let k = 0; k < names.length; k++) {
        const buf = String.UTF8.encode(names[k]);
        expect(utf8Is(changetype<usize>(buf), buf.byteLength, names[i])).toBe(i == k);
      }
      // One byte less, one byte more, one byte changed: never.
      const own = String.UTF8.encode(names[i] + "x");
      const p = changetype<usize>(own);
      const n = own.byteLength - 1;
      if (n > 0) expect(utf8Is(p, n - 1, names[i])).toBe(false);
      expect(utf8Is(p, n + 1, names[i])).toBe(false);
      for (let at = 0; at < n; at++) {
        const keep = load<u8>(p + <usize>at);
        store<u8>(p + <usize>at, keep ^ 0x01);
        expect(utf8Is(p, n, names[i])).toBe(false);
        store<u8>(p + <usize>at, keep);
      }
    }
    // A lone surrogate matches nothing, not even what an encoder makes of it.
    const lone = String.fromCharCode(0xd83d);
    const enc = String.UTF8.encode(lone);
    expect(utf8Is(changetype<usize>(enc), enc.byteLength, lone)).toBe(false);
  });
});
