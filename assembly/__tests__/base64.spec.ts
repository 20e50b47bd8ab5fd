import { base64UrlDecode } from "../lib/base64";
import { b64url } from "./support/base64url";

describe("base64UrlDecode", () => {
  it("decodes base64url with and without padding", () => {
    expect(base64UrlDecode("")).toBe("");
    expect(base64UrlDecode("YQ")).toBe("a");
    expect(base64UrlDecode("YQ==")).toBe("a");
    expect(base64UrlDecode("YWI")).toBe("ab");
    expect(base64UrlDecode("YWI=")).toBe("ab");
    expect(base64UrlDecode("YWJj")).toBe("abc");
    expect(base64UrlDecode("eyJzdWIiOiJ1MSJ9")).toBe('{"sub":"u1"}');
  });

  it("accepts both alphabets", () => {
    // 0xfb 0xff 0xbf is not UTF-8, so use text whose encoding has '-'/'_' or '+'/'/'.
    expect(base64UrlDecode("Pz8_")).toBe("???");
    expect(base64UrlDecode("Pz8/")).toBe("???");
    expect(base64UrlDecode("Pj4-")).toBe(">>>");
    expect(base64UrlDecode("Pj4+")).toBe(">>>");
  });

  it("decodes UTF-8 text", () => {
    expect(base64UrlDecode(b64url("café 😀"))).toBe("café 😀");
    expect(base64UrlDecode("w6k")).toBe("é");
  });

  it("rejects bytes that are not UTF-8", () => {
    expect(base64UrlDecode("_w")).toBeNull(); // 0xff
    expect(base64UrlDecode("w6")).toBeNull(); // a truncated 0xc3
    expect(base64UrlDecode("7aCA")).toBeNull(); // an encoded surrogate
  });

  it("rejects bad characters, whitespace and lengths", () => {
    expect(base64UrlDecode("Y")).toBeNull();
    expect(base64UrlDecode("YWJjZ")).toBeNull();
    expect(base64UrlDecode("YW J")).toBeNull();
    expect(base64UrlDecode("YWJj\n")).toBeNull();
    expect(base64UrlDecode("YW*j")).toBeNull();
    expect(base64UrlDecode("YQ=")).toBeNull(); // padding that does not complete a quad
    expect(base64UrlDecode("YQ===")).toBeNull();
    expect(base64UrlDecode("Y=Q=")).toBeNull();
    expect(base64UrlDecode("=")).toBeNull();
    expect(base64UrlDecode("é")).toBeNull();
  });

  it("decodes 48 KiB", () => {
    const s = "x".repeat(49152);
    expect(base64UrlDecode(b64url(s))).toBe(s);
  });
});
