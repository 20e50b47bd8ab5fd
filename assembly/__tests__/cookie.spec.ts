import { getCookie } from "../lib/cookie";

describe("getCookie", () => {
  it("finds a cookie in the usual form", () => {
    const h = "session=abc123; lane=canary; theme=dark";
    expect(getCookie(h, "lane")).toBe("canary");
    expect(getCookie(h, "session")).toBe("abc123");
    expect(getCookie(h, "theme")).toBe("dark");
    expect(getCookie(h, "missing")).toBeNull();
  });

  it("tolerates missing spaces, extra whitespace and empty segments", () => {
    expect(getCookie("a=1;lane=canary", "lane")).toBe("canary");
    expect(getCookie(";; lane=canary ;", "lane")).toBe("canary");
    expect(getCookie("a=1; \t lane \t= \tcanary\t ; b=2", "lane")).toBe("canary");
    expect(getCookie("", "lane")).toBeNull();
    expect(getCookie(";;;", "lane")).toBeNull();
  });

  it("skips segments without '='", () => {
    expect(getCookie("lane; lane=canary", "lane")).toBe("canary");
    expect(getCookie("justtext", "justtext")).toBeNull();
  });

  it('returns an empty value as ""', () => {
    expect(getCookie("lane=; b=2", "lane")).toBe("");
    expect(getCookie("lane=", "lane")).toBe("");
  });

  it("strips one pair of surrounding double quotes", () => {
    expect(getCookie('lane="canary"', "lane")).toBe("canary");
    expect(getCookie('lane=""', "lane")).toBe("");
    expect(getCookie('lane=""x""', "lane")).toBe('"x"');
    expect(getCookie('lane="canary', "lane")).toBe('"canary');
    expect(getCookie('lane="', "lane")).toBe('"');
  });

  it("matches the name exactly and case-sensitively", () => {
    expect(getCookie("Lane=x; lane=y", "lane")).toBe("y");
    expect(getCookie("xlane=x; lanex=y", "lane")).toBeNull();
    expect(getCookie("lane=x", "")).toBeNull();
    expect(getCookie("=x", "")).toBeNull();
  });

  it("takes the first occurrence", () => {
    expect(getCookie("lane=first; lane=second", "lane")).toBe("first");
  });

  it("keeps '=' inside the value and does not decode it", () => {
    expect(getCookie("tok=a=b==; lane=c%20d", "tok")).toBe("a=b==");
    expect(getCookie("lane=c%20d", "lane")).toBe("c%20d");
  });

  it("does not split on commas", () => {
    expect(getCookie("a=1, lane=canary", "lane")).toBeNull();
    expect(getCookie("a=1, lane=canary", "a")).toBe("1, lane=canary");
  });

  it("survives a 64 KiB header of junk", () => {
    const junk = ';=;\x00"=\t;;a'.repeat(7000) + "; lane=canary";
    expect(junk.length).toBeGreaterThan(65536);
    expect(getCookie(junk, "lane")).toBe("canary");
    expect(getCookie("=".repeat(70000), "lane")).toBeNull();
    expect(getCookie(";".repeat(70000), "lane")).toBeNull();
    expect(getCookie("lane=" + "v".repeat(70000), "lane")!.length).toBe(70000);
  });
});
