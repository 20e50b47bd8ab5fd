import { MAX_BYTES, MAX_MEMBERS, carriesOnly, getBaggage, removeBaggage, setBaggage } from "../lib/baggage";

function members(count: i32, prefix: string): string {
  let s = "";
  for (let i = 0; i < count; i++) {
    if (i > 0) s += ",";
    s += prefix + i.toString() + "=v";
  }
  return s;
}

describe("getBaggage", () => {
  it("reads a member", () => {
    const h = "userId=alice,lane=canary,serverNode=DF%2028";
    expect(getBaggage(h, "lane")).toBe("canary");
    expect(getBaggage(h, "userId")).toBe("alice");
    expect(getBaggage(h, "serverNode")).toBe("DF 28");
    expect(getBaggage(h, "absent")).toBeNull();
    expect(getBaggage("", "lane")).toBeNull();
    expect(getBaggage(h, "")).toBeNull();
  });

  it("allows OWS around separators and properties after the value", () => {
    expect(getBaggage(" a=1 ,\t lane \t=\t canary ; p1 ; p2 = x ,b=2", "lane")).toBe("canary");
    expect(getBaggage("lane=canary;prop", "lane")).toBe("canary");
    expect(getBaggage("lane=", "lane")).toBe("");
  });

  it("decodes percent-encoded UTF-8", () => {
    expect(getBaggage("lane=caf%C3%A9", "lane")).toBe("café");
    expect(getBaggage("lane=a+b", "lane")).toBe("a+b"); // '+' is not a space in baggage
    expect(getBaggage("lane=100%", "lane")).toBe("100%"); // a bare '%' stays
  });

  it("returns null when the value is not valid UTF-8", () => {
    expect(getBaggage("lane=%FF", "lane")).toBeNull();
    expect(getBaggage("lane=%C3", "lane")).toBeNull();
  });

  it("skips malformed members", () => {
    expect(getBaggage("lane=can ary,lane=canary", "lane")).toBe("canary");
    expect(getBaggage('lane="canary",lane=beta', "lane")).toBe("beta");
    expect(getBaggage("lane,lane=canary", "lane")).toBe("canary");
    expect(getBaggage("lane=x;;,lane=y", "lane")).toBe("y");
    expect(getBaggage("lane=x;=p,lane=y", "lane")).toBe("y");
    expect(getBaggage("=x,lane=y", "lane")).toBe("y");
    expect(getBaggage("la ne=x", "la ne")).toBeNull();
    expect(getBaggage("lane=ca\\nary", "lane")).toBeNull();
    expect(getBaggage("lane=é", "lane")).toBeNull();
  });

  it("tolerates empty members", () => {
    expect(getBaggage(",,lane=canary,,", "lane")).toBe("canary");
    expect(getBaggage(" , ,", "lane")).toBeNull();
  });

  it("takes the first well-formed member of that key", () => {
    expect(getBaggage("lane=a,lane=b", "lane")).toBe("a");
  });

  it("matches keys exactly", () => {
    expect(getBaggage("Lane=x,lanes=y,xlane=z", "lane")).toBeNull();
  });

  it("reads at most 180 members", () => {
    expect(MAX_MEMBERS).toBe(180);
    expect(getBaggage(members(179, "k") + ",lane=canary", "lane")).toBe("canary");
    expect(getBaggage(members(180, "k") + ",lane=canary", "lane")).toBeNull();
  });

  it("survives a 64 KiB header", () => {
    expect(getBaggage(",".repeat(70000) + "lane=canary", "lane")).toBe("canary");
    expect(getBaggage("lane=" + "%".repeat(70000), "lane")!.length).toBe(70000);
    expect(getBaggage(";=,".repeat(25000), "lane")).toBeNull();
  });
});

describe("setBaggage", () => {
  it("puts the member first and keeps the others verbatim", () => {
    expect(setBaggage("", "lane", "canary")).toBe("lane=canary");
    expect(setBaggage("a=1", "lane", "canary")).toBe("lane=canary,a=1");
    expect(setBaggage("a=1 ; p, b = 2 ,lane=beta;x", "lane", "canary")).toBe("lane=canary,a=1 ; p,b = 2");
  });

  it("replaces every member with that key, malformed ones included", () => {
    expect(setBaggage("lane=a,x=1,lane=b,lane,lane;p,lane bad", "lane", "c")).toBe("lane=c,x=1,lane bad");
    expect(setBaggage("lanes=a", "lane", "c")).toBe("lane=c,lanes=a");
  });

  it("drops empty members", () => {
    expect(setBaggage(" ,a=1,, ,b=2,", "lane", "c")).toBe("lane=c,a=1,b=2");
  });

  it("percent-encodes the value", () => {
    expect(setBaggage("", "lane", "a b,c;d%")).toBe("lane=a%20b%2Cc%3Bd%25");
    const h = setBaggage("", "lane", "café 😀")!;
    expect(getBaggage(h, "lane")).toBe("café 😀");
  });

  it("refuses a key that is not a token", () => {
    expect(setBaggage("a=1", "", "x")).toBeNull();
    expect(setBaggage("a=1", "la ne", "x")).toBeNull();
    expect(setBaggage("a=1", "lane=", "x")).toBeNull();
  });

  it("refuses results beyond 180 members", () => {
    expect(setBaggage(members(179, "k"), "lane", "c")).not.toBeNull();
    expect(setBaggage(members(180, "k"), "lane", "c")).toBeNull();
    // Replacing an existing member does not add one.
    expect(setBaggage(members(179, "k") + ",lane=old", "lane", "c")).not.toBeNull();
  });

  it("refuses results beyond 8192 bytes", () => {
    expect(MAX_BYTES).toBe(8192);
    const big = "k=" + "v".repeat(8192 - 2 - "lane=c,".length);
    expect(setBaggage(big, "lane", "c")!.length).toBe(8192);
    expect(setBaggage(big + "v", "lane", "c")).toBeNull();
    expect(setBaggage("", "lane", "v".repeat(9000))).toBeNull();
    expect(setBaggage("k=" + "é".repeat(4095), "lane", "c")).toBeNull(); // bytes, not characters
    expect(setBaggage("x=" + "v".repeat(70000), "lane", "c")).toBeNull();
  });
});

describe("removeBaggage", () => {
  it("removes members of that key and keeps the others", () => {
    expect(removeBaggage("a=1,lane=canary,b=2", "lane")).toBe("a=1,b=2");
    expect(removeBaggage("lane=canary", "lane")).toBe("");
    expect(removeBaggage("lane=x, a=1 ;p ,lane=y,lane", "lane")).toBe("a=1 ;p");
  });

  it("returns the header unchanged when the key is absent", () => {
    const h = " a=1 ,, b=2 ";
    expect(removeBaggage(h, "lane")).toBe(h);
    expect(removeBaggage("", "lane")).toBe("");
    expect(removeBaggage("lanes=1", "lane")).toBe("lanes=1");
    expect(removeBaggage("a=1", "")).toBe("a=1");
  });

  it("survives a 64 KiB header", () => {
    const h = "lane=x,".repeat(10000) + "a=1";
    expect(removeBaggage(h, "lane")).toBe("a=1");
  });
});

describe("carriesOnly", () => {
  it("holds when exactly one member is keyed so and carries the value as written", () => {
    expect(carriesOnly("lane=canary", "lane", "canary")).toBe(true);
    expect(carriesOnly(" a=1 , lane = canary ;p ,lanes=2", "lane", "canary")).toBe(true);
    expect(carriesOnly("a=1", "lane", "canary")).toBe(false);
    expect(carriesOnly("", "lane", "canary")).toBe(false);
    expect(carriesOnly("lane=base", "lane", "canary")).toBe(false);
    // Two baggage entries joined with "," are one list: a second lane member, even equal, is one too many.
    expect(carriesOnly("lane=canary" + "," + "a=1,lane=canary", "lane", "canary")).toBe(false);
    expect(carriesOnly("lane=canary,lane", "lane", "canary")).toBe(false);
    expect(carriesOnly("lane=can%61ry", "lane", "canary")).toBe(false);
    expect(carriesOnly("lane=canary x", "lane", "canary")).toBe(false);
  });
});
