// The edge's decision, pure: named scenarios shared with the host-driven tests (test/filter) and the demo.
import { parseConfig, Config } from "../config";
import { RequestView } from "../match";
import { decide, Rng, SOURCE_DEFAULT, SOURCE_NONE, SOURCE_RULE } from "../dye";
import { IpAddr, parseSocketAddress } from "../lib/cidr";
import { getCookie } from "../lib/cookie";
import { getQueryParam } from "../lib/query";
import { getBaggage } from "../lib/baggage";

class TestRequest extends RequestView {
  names: string[] = [];
  values: string[] = [];
  addr: string = "";
  claimName: string = "";
  claimValues: string[] = [];

  with(name: string, value: string): TestRequest {
    this.names.push(name);
    this.values.push(value);
    return this;
  }
  from(addr: string): TestRequest {
    this.addr = addr;
    return this;
  }
  claim(name: string, values: string[]): TestRequest {
    this.claimName = name;
    this.claimValues = values;
    return this;
  }
  header(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return null;
  }
  cookie(name: string): string | null {
    const h = this.header("cookie");
    return h === null ? null : getCookie(h, name);
  }
  query(name: string): string | null {
    const p = this.header(":path");
    return p === null ? null : getQueryParam(p, name);
  }
  path(): string | null {
    return this.header(":path");
  }
  method(): string | null {
    return this.header(":method");
  }
  authority(): string | null {
    return this.header(":authority");
  }
  sourceIp(): IpAddr | null {
    return this.addr.length > 0 ? parseSocketAddress(this.addr) : null;
  }
  baggage(key: string): string | null {
    const h = this.header("baggage");
    return h === null ? null : getBaggage(h, key);
  }
  claims(name: string): Array<string> {
    return name == this.claimName ? this.claimValues : [];
  }
}

function config(text: string): Config {
  const r = parseConfig(text);
  expect(r.error).toBe("");
  return r.config!;
}

function lane(cfg: Config, req: TestRequest): string {
  return decide(cfg, req, new Rng(42)).lane;
}

describe("dye scenarios", () => {
  it("header-dye: agent: pc → canary, else base (seed 003's Lua filter)", () => {
    const cfg = config(
      '{"role":"edge","defaultLane":"base","rules":[{"lane":"canary","when":{"headers":{"agent":{"exact":"pc"}}}}]}',
    );
    expect(lane(cfg, new TestRequest().with("agent", "pc"))).toBe("canary");
    expect(lane(cfg, new TestRequest().with("agent", "mobile"))).toBe("base");
    expect(lane(cfg, new TestRequest())).toBe("base");
    const d = decide(cfg, new TestRequest(), new Rng(1));
    expect(d.source).toBe(SOURCE_DEFAULT);
  });

  it("x-canary: x-canary: true → canary (Gloo seed)", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"canary","when":{"headers":{"x-canary":{"exact":"true"}}}}]}',
    );
    expect(lane(cfg, new TestRequest().with("x-canary", "true"))).toBe("canary");
    const d = decide(cfg, new TestRequest().with("x-canary", "false"), new Rng(1));
    expect(d.lane).toBe("");
    expect(d.source).toBe(SOURCE_NONE);
  });

  it("stage-canary: stage: canary → canary (two-phase Gloo seed)", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"canary","when":{"headers":{"stage":{"exact":"canary"}}}}]}',
    );
    expect(lane(cfg, new TestRequest().with("stage", "canary"))).toBe("canary");
    expect(lane(cfg, new TestRequest().with("stage", "Canary"))).toBe("");
  });

  it("mobile-regex: user-agent .*Mobile.* → canary (Flagger seed)", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"canary","when":{"headers":{"user-agent":{"regex":".*Mobile.*"}}}}]}',
    );
    expect(lane(cfg, new TestRequest().with("user-agent", "Mozilla/5.0 (iPhone) Mobile/15E148"))).toBe(
      "canary",
    );
    expect(lane(cfg, new TestRequest().with("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"))).toBe("");
  });

  it("jwt-claim: a list claim matches when any element does", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"beta","when":{"jwtClaims":{"groups":{"exact":"beta"}}}}]}',
    );
    expect(lane(cfg, new TestRequest().claim("groups", ["staff", "beta"]))).toBe("beta");
    expect(lane(cfg, new TestRequest().claim("groups", ["staff"]))).toBe("");
    expect(lane(cfg, new TestRequest())).toBe("");
  });

  it("office-cidr: source in 198.51.100.0/24 or 2001:db8::/32 → canary", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"canary","when":{"sourceIp":["198.51.100.0/24","2001:db8::/32"]}}]}',
    );
    expect(lane(cfg, new TestRequest().from("198.51.100.23:40000"))).toBe("canary");
    expect(lane(cfg, new TestRequest().from("[2001:db8::7]:443"))).toBe("canary");
    expect(lane(cfg, new TestRequest().from("203.0.113.9:40000"))).toBe("");
    expect(lane(cfg, new TestRequest())).toBe("");
  });

  it("sticky-cookie: 10 % by cookie is stable per user and close to 10 % overall", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"canary","percent":10,"stickyBy":{"cookie":"user"}}]}',
    );
    let admitted = 0;
    for (let i = 0; i < 10000; i++) {
      const req = new TestRequest().with("cookie", "user=u" + i.toString());
      const first = decide(cfg, req, new Rng(<u64>i)).lane;
      const again = decide(cfg, req, new Rng(<u64>(i * 7 + 1))).lane;
      expect(again).toBe(first);
      if (first == "canary") admitted++;
    }
    expect(admitted).toBeGreaterThanOrEqual(900);
    expect(admitted).toBeLessThanOrEqual(1100);
    // No cookie: not admitted by a sticky rule.
    expect(lane(cfg, new TestRequest())).toBe("");
  });

  it("percent without stickyBy draws per request", () => {
    const cfg = config('{"role":"edge","rules":[{"lane":"canary","percent":25}]}');
    const rng = new Rng(7);
    let admitted = 0;
    for (let i = 0; i < 10000; i++) if (decide(cfg, new TestRequest(), rng).lane == "canary") admitted++;
    expect(admitted).toBeGreaterThanOrEqual(2300);
    expect(admitted).toBeLessThanOrEqual(2700);
  });

  it("first match wins, in order", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"a","when":{"query":{"lane":{"exact":"a"}}}},' +
        '{"lane":"b","when":{"cookies":{"beta":{"present":true}},"method":{"oneOf":["GET","HEAD"]}}},{"lane":"c"}]}',
    );
    expect(lane(cfg, new TestRequest().with(":path", "/x?lane=a").with("cookie", "beta=1"))).toBe("a");
    expect(
      lane(cfg, new TestRequest().with(":path", "/x").with(":method", "GET").with("cookie", "beta=1")),
    ).toBe("b");
    expect(
      lane(cfg, new TestRequest().with(":path", "/x").with(":method", "POST").with("cookie", "beta=1")),
    ).toBe("c");
    const d = decide(cfg, new TestRequest(), new Rng(1));
    expect(d.rule).toBe(2);
    expect(d.source).toBe(SOURCE_RULE);
  });

  it("a rule that fails on any of its conditions hands over to the next rule, whatever held after", () => {
    // Rule a fails on its first condition although its last one holds; rule b's conditions all hold
    // but its percentage admits nobody; rule c has no conditions at all.
    const cfg = config(
      '{"role":"edge","defaultLane":"base","rules":[' +
        '{"lane":"a","when":{"headers":{"x-a":{"exact":"1"}},"path":{"prefix":"/"},"method":{"exact":"GET"}}},' +
        '{"lane":"b","percent":0,"when":{"headers":{"x-b":{"present":true}}}},' +
        '{"lane":"c","percent":100},{"lane":"d"}]}',
    );
    const req = new TestRequest().with(":path", "/x").with(":method", "GET").with("x-b", "1");
    let d = decide(cfg, req, new Rng(1));
    expect(d.lane).toBe("c");
    expect(d.rule).toBe(2);
    // Each of rule a's conditions failing on its own, the others holding: never a.
    expect(lane(cfg, new TestRequest().with("x-a", "1").with(":path", "x").with(":method", "GET"))).toBe("c");
    expect(lane(cfg, new TestRequest().with("x-a", "1").with(":path", "/").with(":method", "PUT"))).toBe("c");
    d = decide(cfg, new TestRequest().with("x-a", "1").with(":path", "/").with(":method", "GET"), new Rng(1));
    expect(d.lane).toBe("a");
    expect(d.rule).toBe(0);
  });

  it("ignoreCase and invert", () => {
    const cfg = config(
      '{"role":"edge","rules":[{"lane":"canary","when":{"headers":{"x-env":{"exact":"PROD","invert":true},"x-team":{"prefix":"Pay","ignoreCase":true}}}}]}',
    );
    expect(lane(cfg, new TestRequest().with("x-team", "payments"))).toBe("canary");
    expect(lane(cfg, new TestRequest().with("x-team", "PAYMENTS").with("x-env", "PROD"))).toBe("");
    expect(lane(cfg, new TestRequest().with("x-team", "search"))).toBe("");
  });
});
