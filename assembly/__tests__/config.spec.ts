import { parseConfig, ROLE_EDGE, ROLE_SIDECAR, STICKY_COOKIE } from "../config";
import { MATCH_CONTAINS, MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, StringMatch } from "../match";

function errorOf(text: string): string {
  const r = parseConfig(text);
  expect(r.config).toBeNull();
  return r.error;
}

describe("parseConfig: accepted configs", () => {
  it("applies the documented defaults (docs/contracts.md)", () => {
    const r = parseConfig('{"role":"edge"}');
    expect(r.error).toBe("");
    const c = r.config!;
    expect(c.role).toBe(ROLE_EDGE);
    expect(c.laneHeader).toBe("x-lane");
    expect(c.baggageKey).toBe("lane");
    expect(c.lanes).toBeNull();
    expect(c.defaultLane).toBe("");
    expect(c.rules.length).toBe(0);
    expect(c.traceHeaders.length).toBe(2);
    expect(c.ttlSeconds).toBe(60);
    expect(c.capacity).toBe(65536);
    expect(c.echoHeader).toBe("");
    expect(c.responseMetrics).toBe(true);
  });

  it("reads responseMetrics for both roles, and refuses anything but a boolean", () => {
    expect(parseConfig('{"role":"edge","responseMetrics":false}').config!.responseMetrics).toBe(false);
    expect(parseConfig('{"role":"sidecar","responseMetrics":true}').config!.responseMetrics).toBe(true);
    expect(errorOf('{"role":"sidecar","responseMetrics":"false"}')).toBe(
      "responseMetrics: expected a boolean, got a string",
    );
    expect(errorOf('{"role":"edge","responseMetrics":0}')).toBe(
      "responseMetrics: expected a boolean, got a number",
    );
  });

  it("reads every edge field", () => {
    const r = parseConfig(
      '{"role":"edge","laneHeader":"X-Lane","baggageKey":"","lanes":["base","canary"],"defaultLane":"base",' +
        '"trustedSources":["10.0.0.0/8","2001:db8::/32"],"jwt":{"from":"header","header":"x-token","allowUnverified":true},' +
        '"echoHeader":"x-served-lane","rules":[{"lane":"canary","when":{"cookies":{"user":{"present":true}}},' +
        '"percent":12.5,"stickyBy":{"cookie":"user"}}]}',
    );
    expect(r.error).toBe("");
    const c = r.config!;
    expect(c.laneHeader).toBe("x-lane");
    expect(c.baggageKey).toBe("");
    expect(c.lanes!.length).toBe(2);
    expect(c.trustedSources.length).toBe(2);
    expect(c.jwtHeader).toBe("x-token");
    expect(c.rules[0].percent).toBe(1250);
    expect(c.rules[0].sticky).toBe(STICKY_COOKIE);
    expect(c.rules[0].stickyName).toBe("user");
  });

  it("reads a sidecar config with propagation bounds", () => {
    const r = parseConfig(
      '{"role":"sidecar","propagation":{"traceHeaders":["my-request-id"],"ttlSeconds":30,"capacity":1024}}',
    );
    expect(r.error).toBe("");
    expect(r.config!.role).toBe(ROLE_SIDECAR);
    expect(r.config!.traceHeaders[0]).toBe("my-request-id");
    expect(r.config!.capacity).toBe(1024);
  });
});

describe("parseConfig: rejected configs name the field and the reason", () => {
  it("not JSON", () => {
    expect(errorOf("{role:edge}").startsWith("configuration: not valid JSON")).toBe(true);
    expect(errorOf("[]")).toBe("configuration: expected a JSON object, got an array");
  });
  it("role", () => {
    expect(errorOf("{}")).toBe('role: required: "edge", "sidecar" or "waypoint"');
    expect(errorOf('{"role":"gateway"}')).toBe(
      'role: expected "edge", "sidecar" or "waypoint", got "gateway"',
    );
    expect(errorOf('{"role":1}')).toBe("role: expected a string, got a number");
  });
  it("unknown and repeated fields", () => {
    expect(errorOf('{"role":"edge","lane_header":"x"}').startsWith("lane_header: unknown field")).toBe(true);
    expect(errorOf('{"role":"edge","role":"edge"}')).toBe("role: field given twice");
  });
  it("edge-only fields in a sidecar", () => {
    expect(errorOf('{"role":"sidecar","rules":[]}')).toBe('rules: applies only to role "edge"');
    expect(errorOf('{"role":"waypoint","defaultLane":"base"}')).toBe(
      'defaultLane: applies only to role "edge"',
    );
  });
  it("lane names and the allow-list", () => {
    expect(errorOf('{"role":"edge","lanes":["Canary"]}').startsWith("lanes[0]: not a valid lane name")).toBe(
      true,
    );
    expect(errorOf('{"role":"edge","lanes":["base"],"defaultLane":"canary"}')).toBe(
      'defaultLane: "canary" is not in lanes',
    );
    expect(errorOf('{"role":"edge","lanes":["base"],"rules":[{"lane":"canary"}]}')).toBe(
      'rules[0].lane: "canary" is not in lanes',
    );
    expect(errorOf('{"role":"edge","rules":[{}]}')).toBe("rules[0].lane: required");
  });
  it("StringMatch needs exactly one kind", () => {
    expect(
      errorOf(
        '{"role":"edge","rules":[{"lane":"a","when":{"headers":{"agent":{"exact":"pc","prefix":"p"}}}}]}',
      ),
    ).toBe(
      "rules[0].when.headers.agent: expected exactly one of exact|prefix|suffix|contains|regex|present|oneOf",
    );
    expect(
      errorOf('{"role":"edge","rules":[{"lane":"a","when":{"headers":{"agent":{"ignoreCase":true}}}}]}'),
    ).toBe(
      "rules[0].when.headers.agent: expected exactly one of exact|prefix|suffix|contains|regex|present|oneOf",
    );
  });
  it("every when field and string kind names itself in an error, and parses into its own place", () => {
    const fields = ["headers", "cookies", "query", "jwtClaims", "baggage", "path", "method", "authority"];
    const kinds = ["exact", "prefix", "suffix", "contains"];
    for (let f = 0; f < fields.length; f++) {
      for (let k = 0; k < kinds.length; k++) {
        const map = f < 5;
        const bad = '{"' + kinds[k] + '":1}';
        const when = '{"' + fields[f] + '":' + (map ? '{"n":' + bad + "}" : bad) + "}";
        expect(errorOf('{"role":"edge","rules":[{"lane":"a","when":' + when + "}]}")).toBe(
          "rules[0].when." + fields[f] + (map ? ".n." : ".") + kinds[k] + ": expected a string, got a number",
        );
        const good = '{"' + kinds[k] + '":"v"}';
        const ok = '{"' + fields[f] + '":' + (map ? '{"n":' + good + "}" : good) + "}";
        const cfg = parseConfig('{"role":"edge","rules":[{"lane":"a","when":' + ok + "}]}").config!;
        const m = cfg.rules[0].when!;
        let sm: StringMatch | null = null;
        if (f == 0) sm = m.headers[0].match;
        else if (f == 1) sm = m.cookies[0].match;
        else if (f == 2) sm = m.query[0].match;
        else if (f == 3) sm = m.jwtClaims[0].match;
        else if (f == 4) sm = m.baggage[0].match;
        else if (f == 5) sm = m.path;
        else if (f == 6) sm = m.method;
        else sm = m.authority;
        expect(sm).not.toBeNull();
        expect(sm!.kind).toBe([MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_CONTAINS][k]);
        expect(sm!.value).toBe("v");
        const present =
          (m.headers.length > 0 ? 1 : 0) +
          (m.cookies.length > 0 ? 1 : 0) +
          (m.query.length > 0 ? 1 : 0) +
          (m.jwtClaims.length > 0 ? 1 : 0) +
          (m.baggage.length > 0 ? 1 : 0) +
          (m.path !== null ? 1 : 0) +
          (m.method !== null ? 1 : 0) +
          (m.authority !== null ? 1 : 0);
        expect(present).toBe(1);
      }
    }
  });
  it("a regex the engine cannot run in linear time", () => {
    const e = errorOf('{"role":"edge","rules":[{"lane":"a","when":{"path":{"regex":"(a)\\\\1"}}}]}');
    expect(e.startsWith("rules[0].when.path.regex: ")).toBe(true);
  });
  it("percent and stickyBy", () => {
    expect(errorOf('{"role":"edge","rules":[{"lane":"a","percent":101}]}')).toBe(
      "rules[0].percent: expected a number from 0 to 100",
    );
    expect(errorOf('{"role":"edge","rules":[{"lane":"a","percent":10.125}]}')).toBe(
      "rules[0].percent: at most two decimals",
    );
    expect(
      errorOf('{"role":"edge","rules":[{"lane":"a","stickyBy":{"cookie":"u"}}]}').startsWith(
        "rules[0].stickyBy: needs percent",
      ),
    ).toBe(true);
    expect(
      errorOf('{"role":"edge","rules":[{"lane":"a","percent":5,"stickyBy":{"cookie":"u","header":"h"}}]}'),
    ).toBe("rules[0].stickyBy: expected exactly one of header|cookie|jwtClaim|sourceIp");
    expect(errorOf('{"role":"edge","rules":[{"lane":"a","percent":5,"stickyBy":{"sourceIp":false}}]}')).toBe(
      "rules[0].stickyBy.sourceIp: must be true",
    );
  });
  it("CIDR ranges", () => {
    expect(errorOf('{"role":"edge","trustedSources":["10.0.0.0/33"]}')).toBe(
      'trustedSources[0]: not a CIDR range or address: "10.0.0.0/33"',
    );
  });
  it("unverified JWTs need an explicit opt-in", () => {
    expect(
      errorOf('{"role":"edge","jwt":{"from":"header"}}').startsWith(
        'jwt.from: "header" decodes tokens without verifying',
      ),
    ).toBe(true);
  });
  it("propagation bounds", () => {
    expect(errorOf('{"role":"sidecar","propagation":{"capacity":0}}')).toBe(
      "propagation.capacity: expected an integer from 1 to 4194304",
    );
    expect(errorOf('{"role":"sidecar","propagation":{"traceHeaders":[]}}')).toBe(
      "propagation.traceHeaders: needs at least one header",
    );
  });
});
