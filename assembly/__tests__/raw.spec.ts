import { itemAt, owsAt, strLen, unitAt } from "../lib/raw";

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
});
