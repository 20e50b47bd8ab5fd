import { getQueryParam, pathOnly } from "../lib/query";

describe("getQueryParam", () => {
  it("reads parameters from a :path", () => {
    const p = "/a/b?x=1&y=two%20words#frag";
    expect(getQueryParam(p, "x")).toBe("1");
    expect(getQueryParam(p, "y")).toBe("two words");
    expect(getQueryParam(p, "z")).toBeNull();
    expect(getQueryParam("/?lane=canary", "lane")).toBe("canary");
  });

  it("decodes '+' as a space and UTF-8 escapes", () => {
    expect(getQueryParam("/?q=a+b%2Bc", "q")).toBe("a b+c");
    expect(getQueryParam("/?q=caf%C3%A9", "q")).toBe("café");
  });

  it("compares decoded names", () => {
    expect(getQueryParam("/?my%20lane=canary", "my lane")).toBe("canary");
    expect(getQueryParam("/?my+lane=canary", "my lane")).toBe("canary");
    expect(getQueryParam("/?Lane=x&lane=y", "lane")).toBe("y");
    expect(getQueryParam("/?lanes=x", "lane")).toBeNull();
  });

  it("gives \"\" for a parameter without '=' or with an empty value", () => {
    expect(getQueryParam("/?debug&x=1", "debug")).toBe("");
    expect(getQueryParam("/?debug=", "debug")).toBe("");
    expect(getQueryParam("/?debug", "debug")).toBe("");
  });

  it("takes the first occurrence and keeps '=' in values", () => {
    expect(getQueryParam("/?a=1&a=2", "a")).toBe("1");
    expect(getQueryParam("/?t=a=b", "t")).toBe("a=b");
  });

  it("leaves invalid escapes as they are", () => {
    expect(getQueryParam("/?q=100%", "q")).toBe("100%");
    expect(getQueryParam("/?q=%zz", "q")).toBe("%zz");
    expect(getQueryParam("/?q=%FF", "q")).toBe("%FF"); // not UTF-8: raw text
    expect(getQueryParam("/?q=%C3", "q")).toBe("%C3");
  });

  it("ignores the fragment and empty parameters", () => {
    expect(getQueryParam("/?a=1#b=2", "b")).toBeNull();
    expect(getQueryParam("/?a=1#x&b=2", "b")).toBeNull();
    expect(getQueryParam("/#x?a=1", "a")).toBeNull();
    expect(getQueryParam("/?&&a=1&&", "a")).toBe("1");
    expect(getQueryParam("/?a=1#", "a")).toBe("1");
  });

  it("handles paths without a query and empty names", () => {
    expect(getQueryParam("/a/b", "a")).toBeNull();
    expect(getQueryParam("", "a")).toBeNull();
    expect(getQueryParam("/?", "a")).toBeNull();
    expect(getQueryParam("/?=1", "")).toBeNull();
    expect(getQueryParam("?a=1", "a")).toBe("1");
  });

  it("survives a 64 KiB query", () => {
    const p = "/?" + "&".repeat(30000) + "x=%%%".repeat(7000) + "&lane=canary";
    expect(getQueryParam(p, "lane")).toBe("canary");
    expect(getQueryParam("/?" + "=".repeat(70000), "lane")).toBeNull();
  });
});

describe("pathOnly", () => {
  it("strips the query and the fragment", () => {
    expect(pathOnly("/a/b?x=1#f")).toBe("/a/b");
    expect(pathOnly("/a/b#f?x")).toBe("/a/b");
    expect(pathOnly("/a/b")).toBe("/a/b");
    expect(pathOnly("?x=1")).toBe("");
    expect(pathOnly("")).toBe("");
  });
});
