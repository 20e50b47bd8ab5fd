import { JKind, JValue, decimalToF64, jsonString, parseJson } from "../lib/json";

function ok(text: string): JValue {
  const r = parseJson(text);
  expect(r.error).toBe("");
  expect(r.value).not.toBeNull();
  return r.value!;
}

function bad(text: string): string {
  const r = parseJson(text);
  expect(r.value).toBeNull();
  expect(r.error.length).toBeGreaterThan(0);
  return r.error;
}

describe("parseJson: valid documents", () => {
  it("reads scalars", () => {
    expect(ok("null").kind).toBe(JKind.Null);
    const t = ok("true");
    expect(t.kind).toBe(JKind.Bool);
    expect(t.b).toBe(true);
    expect(ok("false").b).toBe(false);
    expect(ok("42").n).toBe(42.0);
    expect(ok("-0").n).toBe(-0.0);
    expect(ok("3.25").n).toBe(3.25);
    expect(ok("-1.5e3").n).toBe(-1500.0);
    expect(ok("1E-2").n).toBe(0.01);
    expect(ok("12345678901234567890").n).toBe(12345678901234567890.0);
    expect(ok('"canary"').s).toBe("canary");
    expect(ok(" \t\r\n 7 \n").n).toBe(7.0);
  });

  it("converts decimals without strtod", () => {
    // Exact (correctly rounded) for what configs hold: integers, short decimals.
    expect(ok("99.99").n).toBe(99.99);
    expect(ok("0.01").n).toBe(0.01);
    expect(ok("-12.34").n).toBe(-12.34);
    expect(ok("0.1").n).toBe(0.1);
    expect(ok("123456.789012345").n).toBe(123456.789012345);
    expect(ok("9007199254740993").n).toBe(9007199254740992.0);
    expect(ok("18446744073709551615").n).toBe(18446744073709551615.0);
    expect(ok("-0.0").n).toBe(-0.0);
    expect(ok("0e999999999").n).toBe(0.0);
    expect(ok("0." + "0".repeat(400) + "1").n).toBe(0.0);
    expect(ok("1e-400").n).toBe(0.0);
    // Large exponents and long mantissas: the nearest double or its neighbour.
    expect(ok("1.7976931348623157e308").n).toBe(1.7976931348623157e308);
    expect(ok("5e-324").n).toBe(5e-324);
    expect(ok("1e300").n).toBe(1e300);
    expect(ok("2.2250738585072014e-308").n).toBe(2.2250738585072014e-308);
    expect(ok("123456789012345678901234567890").n).toBe(1.2345678901234568e29);
    expect(ok("0.000000000000000000001234").n).toBe(1.234e-21);
    expect(decimalToF64(5, -1)).toBe(0.5);
    expect(decimalToF64(0xffffffffffffffff, 0)).toBe(18446744073709551615.0);
  });

  it("reads the plugin config shape", () => {
    const v = ok('{"role":"edge","lanes":["canary","base"],"rules":[{"lane":"canary","percent":12.5}]}');
    expect(v.kind).toBe(JKind.Object);
    expect(v.keys).toStrictEqual(["role", "lanes", "rules"]);
    expect(v.get("role")!.s).toBe("edge");
    const lanes = v.get("lanes")!;
    expect(lanes.kind).toBe(JKind.Array);
    expect(lanes.items.length).toBe(2);
    expect(lanes.items[1].s).toBe("base");
    const rule = v.get("rules")!.items[0];
    expect(rule.get("percent")!.n).toBe(12.5);
    expect(v.get("missing")).toBeNull();
    expect(lanes.get("x")).toBeNull();
  });

  it("keeps key order and duplicate keys; get returns the first", () => {
    const v = ok('{"b":1,"a":2,"b":3}');
    expect(v.keys).toStrictEqual(["b", "a", "b"]);
    expect(v.values.length).toBe(3);
    expect(v.get("b")!.n).toBe(1.0);
  });

  it("reads empty containers", () => {
    expect(ok("[]").items.length).toBe(0);
    expect(ok("{}").keys.length).toBe(0);
    expect(ok("[ [ ] , { } ]").items.length).toBe(2);
  });

  it("decodes string escapes", () => {
    expect(ok('"a\\"b\\\\c\\/d"').s).toBe('a"b\\c/d');
    expect(ok('"\\b\\f\\n\\r\\t"').s).toBe("\b\f\n\r\t");
    expect(ok('"\\u0041\\u00e9\\u20AC"').s).toBe("Aé€");
    expect(ok('"\\ud83d\\ude00"').s).toBe("😀");
    expect(ok('"x😀y"').s).toBe("x😀y");
  });

  it("keeps a lone surrogate escape as one code unit", () => {
    const s = ok('"\\ud800"').s;
    expect(s.length).toBe(1);
    expect(s.charCodeAt(0)).toBe(0xd800);
  });

  it("tells integers apart", () => {
    expect(ok("42").isInteger()).toBe(true);
    expect(ok("-7").isInteger()).toBe(true);
    expect(ok("4.0").isInteger()).toBe(true);
    expect(ok("4.5").isInteger()).toBe(false);
    expect(ok('"4"').isInteger()).toBe(false);
  });

  it("accepts nesting up to the limit", () => {
    expect(ok("[".repeat(64) + "]".repeat(64)).kind).toBe(JKind.Array);
    const r = parseJson("[[[1]]]", 3);
    expect(r.error).toBe("");
  });
});

describe("parseJson: malformed documents give an error, never a trap", () => {
  it("reports the offset and the expectation", () => {
    expect(bad('{"a" 1}')).toBe("at offset 5: expected ':'");
    expect(bad("[1,]")).toBe("at offset 3: unexpected character");
    expect(bad('{"a":1,}')).toBe("at offset 7: expected a string key");
  });

  it("rejects empty and truncated input", () => {
    bad("");
    bad("   ");
    bad("[");
    bad("[1");
    bad('{"a":');
    bad('{"a"');
    bad('"abc');
    bad('"abc\\');
    bad('"\\u12');
    bad("tru");
    bad("-");
    bad("1.");
    bad("1e");
    bad("1e+");
  });

  it("rejects non-JSON syntax", () => {
    bad("[1 2]");
    bad("{a:1}");
    bad("{'a':1}");
    bad("// c\n1");
    bad("[1]/*x*/");
    bad("01");
    bad("+1");
    bad(".5");
    bad("NaN");
    bad("Infinity");
    bad("nul");
    bad("True");
    bad('"\\x41"');
    bad('"\\uZZZZ"');
  });

  it("rejects raw control characters in strings", () => {
    bad('"a\nb"');
    bad('"\x00"');
    bad('"a\tb"');
  });

  it("rejects trailing data", () => {
    expect(bad("1 2")).toBe("at offset 2: unexpected data after the value");
    bad("{}x");
    bad("[]]");
    bad('"a""b"');
  });

  it("rejects numbers beyond f64", () => {
    expect(bad("1e400")).toBe("at offset 0: number out of range");
    bad("-1e999");
    bad("1.7976931348623159e308");
    expect(bad("1" + "0".repeat(400))).toBe("at offset 0: number out of range");
    expect(bad("[1e99999999999999999999]")).toBe("at offset 1: number out of range");
  });

  it("rejects nesting beyond the limit", () => {
    expect(bad("[".repeat(65) + "]".repeat(65))).toBe("at offset 64: nesting deeper than 64");
    bad('{"a":'.repeat(65) + "1" + "}".repeat(65));
    const r = parseJson("[[[1]]]", 2);
    expect(r.value).toBeNull();
  });

  it("clamps the depth limit to 512", () => {
    expect(parseJson("[".repeat(500) + "]".repeat(500), 100000).error).toBe("");
    expect(parseJson("[".repeat(600) + "]".repeat(600), 100000).error).toBe(
      "at offset 512: nesting deeper than 512",
    );
    expect(parseJson("[]", 0).error).toBe("");
    expect(parseJson("[[]]", 0).error).toBe("at offset 1: nesting deeper than 1");
  });

  it("survives 100 000 open brackets", () => {
    bad("[".repeat(100000));
    bad('{"a":['.repeat(20000));
  });

  it("survives odd bytes", () => {
    bad("\x00");
    bad("\uFEFF{}"); // a byte order mark is not whitespace
    bad(String.fromCharCode(0xd800));
    bad("[\x01]");
  });
});

describe("parseJson: large input", () => {
  it("reads an array of 10 000 numbers", () => {
    let text = "[";
    for (let i = 0; i < 10000; i++) {
      if (i > 0) text += ",";
      text += i.toString();
    }
    text += "]";
    const v = ok(text);
    expect(v.items.length).toBe(10000);
    expect(v.items[9999].n).toBe(9999.0);
  });
});

describe("jsonString", () => {
  it("quotes plain text", () => {
    expect(jsonString("canary")).toBe('"canary"');
    expect(jsonString("")).toBe('""');
    expect(jsonString("é😀")).toBe('"é😀"');
  });

  it("escapes quotes, backslashes and controls", () => {
    expect(jsonString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(jsonString("\n\r\t\b\f")).toBe('"\\n\\r\\t\\b\\f"');
    expect(jsonString("\x00\x1f")).toBe('"\\u0000\\u001f"');
  });

  it("escapes lone surrogates", () => {
    expect(jsonString(String.fromCharCode(0xd800) + "x")).toBe('"\\ud800x"');
    expect(jsonString("x" + String.fromCharCode(0xdc00))).toBe('"x\\udc00"');
  });

  it("round-trips through parseJson", () => {
    const s = 'mixed "text"\n\twith \\ and ' + String.fromCharCode(0xdbff) + " and 😀";
    expect(ok(jsonString(s)).s).toBe(s);
  });
});

describe("JValue built by hand", () => {
  it("has its own arrays", () => {
    const a = new JValue();
    a.kind = JKind.Array;
    a.items.push(JValue.ofString("x"));
    const b = new JValue();
    expect(b.items.length).toBe(0);
    const o = new JValue(JKind.Object);
    expect(o.put("k", JValue.ofNumber(1))).toBe(true);
    expect(o.get("k")!.n).toBe(1.0);
    expect(JValue.ofBool(true).push(a)).toBe(false);
  });
});
