import {
  StrBuf,
  isTchar,
  intText,
  uintText,
  hasControlChars,
  indexOfUnit,
  isLaneName,
  isToken,
  percentDecode,
  percentEncode,
  regionEquals,
  skipOws,
  toLowerAscii,
  trimOws,
  trimOwsEnd,
  utf8Length,
  utf8Text,
} from "../lib/text";

describe("percentDecode", () => {
  it("decodes escapes and keeps plain text", () => {
    expect(percentDecode("two%20words", false)).toBe("two words");
    expect(percentDecode("canary", false)).toBe("canary");
    expect(percentDecode("", false)).toBe("");
    expect(percentDecode("%41%62c", false)).toBe("Abc");
  });

  it("turns '+' into a space only in form mode", () => {
    expect(percentDecode("a+b", true)).toBe("a b");
    expect(percentDecode("a+b", false)).toBe("a+b");
    expect(percentDecode("a%2Bb", true)).toBe("a+b");
  });

  it("decodes multi-byte UTF-8", () => {
    expect(percentDecode("caf%C3%A9", false)).toBe("café");
    expect(percentDecode("%E2%82%AC", false)).toBe("€");
    expect(percentDecode("%F0%9F%98%80", false)).toBe("😀");
  });

  it("keeps malformed escapes literally", () => {
    expect(percentDecode("100%", false)).toBe("100%");
    expect(percentDecode("%zz", false)).toBe("%zz");
    expect(percentDecode("%4", false)).toBe("%4");
    expect(percentDecode("a%2", false)).toBe("a%2");
  });

  it("returns null for invalid UTF-8", () => {
    expect(percentDecode("%ff", false)).toBeNull();
    expect(percentDecode("%C3", false)).toBeNull(); // truncated sequence
    expect(percentDecode("%C3x", false)).toBeNull(); // cut by a plain character
    expect(percentDecode("%C0%AF", false)).toBeNull(); // overlong
    expect(percentDecode("%ED%A0%80", false)).toBeNull(); // surrogate
    expect(percentDecode("%F4%90%80%80", false)).toBeNull(); // above U+10FFFF
    expect(percentDecode("%80", false)).toBeNull(); // lone continuation
  });

  it("handles a 64 KiB input of escapes", () => {
    const s = "%41".repeat(21845);
    const d = percentDecode(s, false);
    expect(d).not.toBeNull();
    expect(d!.length).toBe(21845);
  });
});

describe("percentEncode", () => {
  it("keeps baggage-octets", () => {
    expect(percentEncode("canary")).toBe("canary");
    expect(percentEncode("a-b_c.d~e!#$&'()*+/:<=>?@[]^`{|}")).toBe("a-b_c.d~e!#$&'()*+/:<=>?@[]^`{|}");
  });

  it("escapes separators, quotes, percent, controls and non-ASCII", () => {
    expect(percentEncode("a b")).toBe("a%20b");
    expect(percentEncode('a,b;c"d\\e%f')).toBe("a%2Cb%3Bc%22d%5Ce%25f");
    expect(percentEncode("\n")).toBe("%0A");
    expect(percentEncode("é")).toBe("%C3%A9");
    expect(percentEncode("😀")).toBe("%F0%9F%98%80");
    expect(percentEncode("\x7f")).toBe("%7F");
  });

  it("round-trips through percentDecode", () => {
    const s = 'lane, with; odd "chars" % and ünïcode';
    expect(percentDecode(percentEncode(s), false)).toBe(s);
  });

  it("writes a lone surrogate as U+FFFD", () => {
    expect(percentEncode(String.fromCharCode(0xd800))).toBe("%EF%BF%BD");
  });
});

describe("toLowerAscii", () => {
  it("lowers A-Z only", () => {
    expect(toLowerAscii("X-Lane")).toBe("x-lane");
    expect(toLowerAscii("already")).toBe("already");
    expect(toLowerAscii("ÉCOLE")).toBe("École");
    expect(toLowerAscii("")).toBe("");
  });
});

describe("ows scanners", () => {
  it("skip and trim spaces and tabs", () => {
    const s = " \t a b \t ";
    expect(skipOws(s, 0, s.length)).toBe(3);
    expect(trimOwsEnd(s, 0, s.length)).toBe(6);
    expect(trimOws(s, 0, s.length)).toBe("a b");
    expect(trimOws("   ", 0, 3)).toBe("");
    expect(trimOws("abc", 0, 3)).toBe("abc");
  });

  it("clamp out-of-range bounds", () => {
    expect(trimOws("abc", -5, 99)).toBe("abc");
    expect(trimOws("abc", 2, 1)).toBe("");
    expect(skipOws("", 0, 0)).toBe(0);
  });

  it("compare regions without allocating", () => {
    expect(regionEquals("a=canary;", 2, 8, "canary")).toBe(true);
    expect(regionEquals("a=canary;", 2, 7, "canary")).toBe(false);
    expect(regionEquals("abc", 2, 9, "c")).toBe(false);
  });
});

describe("isLaneName", () => {
  it("accepts DNS-label-like names", () => {
    expect(isLaneName("canary")).toBe(true);
    expect(isLaneName("a")).toBe(true);
    expect(isLaneName("feature-x")).toBe(true);
    expect(isLaneName("v2")).toBe(true);
    expect(isLaneName("a".repeat(63))).toBe(true);
  });

  it("rejects everything else", () => {
    expect(isLaneName("")).toBe(false);
    expect(isLaneName("-a")).toBe(false);
    expect(isLaneName("a-")).toBe(false);
    expect(isLaneName("Canary")).toBe(false);
    expect(isLaneName("can ary")).toBe(false);
    expect(isLaneName("a_b")).toBe(false);
    expect(isLaneName("a".repeat(64))).toBe(false);
    expect(isLaneName("canary\n")).toBe(false);
  });
});

describe("hasControlChars", () => {
  it("flags C0 controls, tab and DEL", () => {
    expect(hasControlChars("canary")).toBe(false);
    expect(hasControlChars("")).toBe(false);
    expect(hasControlChars("a\tb")).toBe(true);
    expect(hasControlChars("a\r\nb")).toBe(true);
    expect(hasControlChars("\x00")).toBe(true);
    expect(hasControlChars("a\x7f")).toBe(true);
    expect(hasControlChars("é")).toBe(false);
  });
});

describe("tokens and lengths", () => {
  it("recognises RFC 9110 tokens", () => {
    expect(isToken("lane")).toBe(true);
    expect(isToken("x-my_key.v1")).toBe(true);
    expect(isToken("")).toBe(false);
    expect(isToken("a b")).toBe(false);
    expect(isToken("a=b")).toBe(false);
  });

  it("counts UTF-8 bytes", () => {
    expect(utf8Length("abc")).toBe(3);
    expect(utf8Length("é")).toBe(2);
    expect(utf8Length("€")).toBe(3);
    expect(utf8Length("😀")).toBe(4);
    expect(utf8Length(String.fromCharCode(0xdc00))).toBe(3);
  });

  it("builds strings past the initial capacity", () => {
    const b = new StrBuf(1);
    for (let i = 0; i < 1000; i++) b.pushUnit(0x61 + (i % 26));
    b.pushCodePoint(0x1f600);
    const s = b.toString();
    expect(s.length).toBe(1002);
    expect(s.startsWith("abcdef")).toBe(true);
    expect(s.endsWith("😀")).toBe(true);
  });
});

describe("indexOfUnit", () => {
  it("agrees with String#indexOf for one code unit, from any start", () => {
    const samples = ["", ",", "a,b,,c", "1732 x-request-id=abc canary", "ü,😀,end", ",,,"];
    const units: i32[] = [0x2c, 0x20, 0x61, 0xfc, 0xd83d, 0x7a];
    for (let k = 0; k < samples.length; k++) {
      const s = samples[k];
      for (let u = 0; u < units.length; u++) {
        const c = units[u];
        for (let from = -2; from <= s.length + 2; from++) {
          expect(indexOfUnit(s, c, from)).toBe(s.indexOf(String.fromCharCode(c), from));
        }
      }
    }
  });
});

describe("intText / uintText", () => {
  it("print what the standard library's toString prints, in decimal and hex", () => {
    const values: u64[] = [
      0,
      1,
      9,
      10,
      15,
      16,
      99,
      100,
      255,
      65535,
      1000000007,
      u32.MAX_VALUE,
      <u64>i64.MAX_VALUE,
      u64.MAX_VALUE,
    ];
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      expect(uintText(v, 10)).toBe(v.toString());
      expect(uintText(v, 16)).toBe(v.toString(16));
    }
    const signed: i64[] = [0, -1, 7, -42, 1234567890123, -1234567890123, i64.MAX_VALUE, i64.MIN_VALUE];
    for (let i = 0; i < signed.length; i++) expect(intText(signed[i])).toBe(signed[i].toString());
  });
});

describe("isTchar", () => {
  it("accepts exactly RFC 9110's token characters", () => {
    const extra = "!#$%&'*+-.^_`|~";
    for (let c = -1; c < 0x180; c++) {
      const letter = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
      const digit = c >= 0x30 && c <= 0x39;
      const expected = letter || digit || (c >= 0 && c < 0x80 && extra.includes(String.fromCharCode(c)));
      expect(isTchar(c)).toBe(expected, c.toString());
    }
  });
});

function textOf(bytes: u8[]): string {
  const buf = new ArrayBuffer(bytes.length);
  for (let i = 0; i < bytes.length; i++) store<u8>(changetype<usize>(buf) + <usize>i, bytes[i]);
  return utf8Text(changetype<usize>(buf), buf.byteLength);
}

describe("utf8Text", () => {
  it("valid UTF-8 reads as the lenient decoder reads it", () => {
    const samples = ["", "x-lane", "prénom", "Zoé ü 中文", "😀 a😀b", "\u0000\u007f\u0080\u07ff\u0800\uffff"];
    for (let i = 0; i < samples.length; i++) {
      const buf = String.UTF8.encode(samples[i]);
      const p = changetype<usize>(buf);
      expect(utf8Text(p, buf.byteLength)).toBe(String.UTF8.decodeUnsafe(p, buf.byteLength));
      expect(utf8Text(p, buf.byteLength)).toBe(samples[i]);
    }
  });

  it("each ill-formed sequence is one U+FFFD, and never another character", () => {
    const R = "\ufffd";
    // Overlong "pc": the lenient decoder reads "pc".
    expect(textOf([0xc1, 0xb0, 0xc1, 0xa3])).toBe(R + R + R + R);
    expect(textOf([0x61, 0xff, 0x62])).toBe("a" + R + "b");
    // A lead byte whose next byte is out of its range: the next byte is read again.
    expect(textOf([0xe0, 0x80, 0x41])).toBe(R + R + "A");
    // A surrogate encoded in three bytes.
    expect(textOf([0xed, 0xa0, 0x80])).toBe(R + R + R);
    // A truncated four-byte character: its longest well-formed start is one U+FFFD.
    expect(textOf([0xf0, 0x9f, 0x98])).toBe(R);
    expect(textOf([0xf0, 0x9f, 0x98, 0x41])).toBe(R + "A");
    expect(textOf([0xf0, 0x9f, 0x98, 0x80])).toBe("😀");
    // Above U+10FFFF, and lone continuation bytes.
    expect(textOf([0xf4, 0x90, 0x80, 0x80])).toBe(R + R + R + R);
    expect(textOf([0x80, 0xbf])).toBe(R + R);
  });
});
