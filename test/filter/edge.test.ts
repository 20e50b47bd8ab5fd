// The edge role through the host: the seeds' dye cases, by the scenario names the specs use.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configured, exchange, from, jwtPayload, requests, unsignedJwt } from "../support/filter.js";

test("header-dye: agent: pc → canary, everything else → base (seed 003)", async () => {
  const { vm, root } = await configured({
    role: "edge",
    lanes: ["base", "canary"],
    defaultLane: "base",
    rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
  });
  assert.equal(exchange(root, [["agent", "pc"]]).lane, "canary");
  assert.equal(exchange(root, [["agent", "mobile"]]).lane, "base");
  assert.equal(exchange(root, []).lane, "base");
  assert.equal(requests(vm, "canary", "edge", "gateway", "rule"), 1);
  assert.equal(requests(vm, "base", "edge", "gateway", "default"), 2);
});

test("x-canary: x-canary: true → canary, no default leaves the request undyed", async () => {
  const { vm, root } = await configured({
    role: "edge",
    rules: [{ lane: "canary", when: { headers: { "x-canary": { exact: "true" } } } }],
  });
  assert.equal(exchange(root, [["x-canary", "true"]]).lane, "canary");
  const plain = exchange(root, [["x-canary", "false"]]);
  assert.equal(plain.lane, null);
  assert.equal(plain.header("baggage"), null);
  assert.equal(requests(vm, "none", "edge", "gateway", "none"), 1);
});

test("stage-canary: stage: canary → canary (seed 001)", async () => {
  const { root } = await configured({
    role: "edge",
    rules: [{ lane: "canary", when: { headers: { stage: { exact: "canary" } } } }],
  });
  assert.equal(exchange(root, [["stage", "canary"]]).lane, "canary");
  assert.equal(exchange(root, [["stage", "prod"]]).lane, null);
});

test("mobile-regex: user-agent .*Mobile.* → canary (seed 004)", async () => {
  const { root } = await configured({
    role: "edge",
    rules: [{ lane: "canary", when: { headers: { "user-agent": { regex: ".*Mobile.*" } } } }],
  });
  assert.equal(
    exchange(root, [["user-agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Mobile/15E148"]]).lane,
    "canary",
  );
  assert.equal(exchange(root, [["user-agent", "Mozilla/5.0 (X11; Linux x86_64)"]]).lane, null);
});

test("a .*literal.* regex (refused early when the literal is absent) answers as the full pattern", async () => {
  // The filter skips the automaton when a value lacks the literal; where the literal is present the
  // automaton still decides (e.g. "." does not match a newline, and case matters).
  const { root } = await configured({
    role: "edge",
    rules: [{ lane: "canary", when: { headers: { "x-client": { regex: ".*Mobile.*" } } } }],
  });
  const cases: [string, string | null][] = [
    ["Mobile", "canary"],
    ["xMobile", "canary"],
    ["Mobilex", "canary"],
    ["MobilMobile", "canary"],
    ["mobile", null],
    ["Mobil", null],
    ["", null],
    ["Mobile\nnext", null],
    ["Mob ile", null],
  ];
  for (const [value, lane] of cases) {
    assert.equal(exchange(root, [["x-client", value]]).lane, lane, JSON.stringify(value));
  }
});

test("jwt-claim: a verified group from jwt_authn metadata (Istio ≥ 1.21 payload key)", async () => {
  const { root } = await configured({
    role: "edge",
    rules: [{ lane: "beta", when: { jwtClaims: { groups: { exact: "beta" } } } }],
  });
  assert.equal(exchange(root, [], [jwtPayload({ sub: "u1", groups: ["staff", "beta"] })]).lane, "beta");
  assert.equal(exchange(root, [], [jwtPayload({ sub: "u2", groups: ["staff"] })]).lane, null);
  assert.equal(exchange(root, []).lane, null);
});

test("jwt-claim: the older issuer-keyed metadata form (Istio ≤ 1.20)", async () => {
  const { root } = await configured({
    role: "edge",
    rules: [{ lane: "beta", when: { jwtClaims: { tier: { exact: "gold" } } } }],
  });
  const meta = {
    path: ["metadata", "filter_metadata", "envoy.filters.http.jwt_authn"],
    json: { "https://issuer.example.com": { sub: "u1", tier: "gold" } },
  };
  assert.equal(exchange(root, [], [meta]).lane, "beta");
});

test("jwt-claim: claim names beyond ASCII are found in the metadata as in the token", async () => {
  // jwt_authn's metadata keys are UTF-8; a name with non-ASCII characters (or one outside the BMP)
  // must find its key there, as it does in a decoded token, and no other key.
  const rules = [
    { lane: "beta", when: { jwtClaims: { prénom: { exact: "Zoé" } } } },
    { lane: "canary", when: { jwtClaims: { "équipe.rôle": { exact: "ops" } } } },
    { lane: "gold", when: { jwtClaims: { "😀": { present: true } } } },
  ];
  const fromMetadata = (await configured({ role: "edge", lanes: ["beta", "canary", "gold"], rules })).root;
  const fromToken = (
    await configured({
      role: "edge",
      lanes: ["beta", "canary", "gold"],
      jwt: { from: "header", allowUnverified: true },
      rules,
    })
  ).root;
  const payloads = [
    [{ prénom: "Zoé" }, "beta"],
    [{ prenom: "Zoé", "prénom ": "Zoé" }, null],
    [{ équipe: { rôle: "ops" } }, "canary"],
    [{ "équipe.rôle": "ops" }, "canary"],
    [{ "😀": 1 }, "gold"],
    [{ "😁": 1 }, null],
  ] as const;
  for (const [payload, lane] of payloads) {
    assert.equal(exchange(fromMetadata, [], [jwtPayload(payload)]).lane, lane, JSON.stringify(payload));
    const token = unsignedJwt(payload);
    assert.equal(
      exchange(fromToken, [["authorization", `Bearer ${token}`]]).lane,
      lane,
      JSON.stringify(payload),
    );
  }
});

test("jwt-claim: an unverified bearer token only with allowUnverified", async () => {
  const { root } = await configured({
    role: "edge",
    jwt: { from: "header", allowUnverified: true },
    rules: [{ lane: "beta", when: { jwtClaims: { groups: { exact: "beta" } } } }],
  });
  const token = unsignedJwt({ sub: "u1", groups: ["beta"] });
  assert.equal(exchange(root, [["authorization", `Bearer ${token}`]]).lane, "beta");
  assert.equal(exchange(root, [["authorization", "Bearer not.a.token"]]).lane, null);
  assert.equal(exchange(root, [["authorization", `Bearer ${token.replace(".", "!.")}`]]).lane, null);
});

test("office-cidr: source addresses in the office ranges, IPv4 and IPv6", async () => {
  const { root } = await configured({
    role: "edge",
    rules: [{ lane: "canary", when: { sourceIp: ["198.51.100.0/24", "2001:db8:1::/48"] } }],
  });
  assert.equal(exchange(root, [], [from("198.51.100.7:51000")]).lane, "canary");
  assert.equal(exchange(root, [], [from("[2001:db8:1::42]:443")]).lane, "canary");
  assert.equal(exchange(root, [], [from("203.0.113.7:51000")]).lane, null);
});

test("sticky-cookie: 10 % by cookie — the same user always gets the same answer, ~10 % ± 1 of 10,000", async () => {
  const { root } = await configured({
    role: "edge",
    defaultLane: "base",
    rules: [{ lane: "canary", percent: 10, stickyBy: { cookie: "user" } }],
  });
  let canary = 0;
  for (let i = 0; i < 10_000; i++) {
    const cookie: [string, string] = ["cookie", `theme=dark; user=user-${i}`];
    const first = exchange(root, [cookie]).lane;
    assert.equal(exchange(root, [cookie]).lane, first, `user-${i} changed lanes`);
    if (first === "canary") canary++;
  }
  assert.ok(canary >= 900 && canary <= 1100, `${canary} of 10,000 users in canary`);
});

test("cookies, query, path, method and authority", async () => {
  const { root } = await configured({
    role: "edge",
    rules: [
      { lane: "qa", when: { query: { lane: { exact: "qa" } }, method: { oneOf: ["GET", "HEAD"] } } },
      { lane: "beta", when: { cookies: { beta: { exact: "yes" } }, authority: { suffix: ".example.com" } } },
      { lane: "docs", when: { path: { prefix: "/docs/" } } },
    ],
  });
  const stream = root.newStream();
  stream.requestHeaders(
    [
      [":method", "GET"],
      [":path", "/p?x=1&lane=qa"],
      [":authority", "shop"],
    ],
    true,
  );
  assert.equal(stream.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1], "qa");
  stream.finish();
  assert.equal(exchange(root, [["cookie", "a=1; beta=yes"]]).lane, null); // authority "shop" does not match
  const s2 = root.newStream();
  s2.requestHeaders(
    [
      [":method", "POST"],
      [":path", "/"],
      [":authority", "www.example.com"],
      ["cookie", "beta=yes"],
    ],
    true,
  );
  assert.equal(s2.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1], "beta");
  s2.finish();
  const s3 = root.newStream();
  s3.requestHeaders(
    [
      [":method", "GET"],
      [":path", "/docs/intro"],
      [":authority", "shop"],
    ],
    true,
  );
  assert.equal(s3.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1], "docs");
  s3.finish();
});

test("spoofed-lane: a lane header or baggage member from an untrusted client is stripped", async () => {
  const { vm, root } = await configured({
    role: "edge",
    trustedSources: ["10.0.0.0/8"],
    rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
  });
  const spoofed = exchange(
    root,
    [
      ["x-lane", "canary"],
      ["baggage", "lane=canary,userId=alice"],
    ],
    [from("203.0.113.7:51000")],
  );
  assert.equal(spoofed.lane, null);
  assert.equal(spoofed.header("baggage"), "userId=alice");
  const onlyBaggage = exchange(root, [["baggage", "lane=canary"]], [from("203.0.113.7:51000")]);
  assert.equal(onlyBaggage.header("baggage"), null);
  // The rules still run after stripping.
  assert.equal(
    exchange(
      root,
      [
        ["x-lane", "evil"],
        ["agent", "pc"],
      ],
      [from("203.0.113.7:51000")],
    ).lane,
    "canary",
  );
  assert.equal(requests(vm, "none", "edge", "gateway", "none"), 2);
});

test("trusted-lane: a trusted source keeps its lane header (or baggage member) and skips the rules", async () => {
  const { vm, root } = await configured({
    role: "edge",
    lanes: ["base", "canary"],
    trustedSources: ["10.0.0.0/8", "fd00::/8"],
    rules: [{ lane: "base" }],
  });
  assert.equal(exchange(root, [["x-lane", "canary"]], [from("10.1.2.3:4000")]).lane, "canary");
  assert.equal(exchange(root, [["baggage", "lane=canary"]], [from("[fd00::5]:4000")]).lane, "canary");
  // Outside the allow-list: treated as absent, stripped, the rules decide.
  assert.equal(exchange(root, [["x-lane", "evil"]], [from("10.1.2.3:4000")]).lane, "base");
  assert.equal(requests(vm, "canary", "edge", "gateway", "header"), 1);
  assert.equal(requests(vm, "canary", "edge", "gateway", "baggage"), 1);
});

test("baggage: the lane member is merged into an existing baggage header without losing members", async () => {
  const { root } = await configured({ role: "edge", rules: [{ lane: "canary" }] });
  const ex = exchange(root, [["baggage", "userId=alice, session=abc;prop=1"]]);
  assert.equal(ex.lane, "canary");
  const members = ex
    .header("baggage")!
    .split(",")
    .map((m) => m.trim());
  assert.deepEqual(members.sort(), ["lane=canary", "session=abc;prop=1", "userId=alice"]);
});

test('baggageKey "" turns baggage off; laneHeader renames the header', async () => {
  const { root } = await configured({
    role: "edge",
    laneHeader: "my-request-id",
    baggageKey: "",
    rules: [{ lane: "canary" }],
  });
  const ex = exchange(root, [], [], "my-request-id");
  assert.equal(ex.lane, "canary");
  assert.equal(ex.header("baggage"), null);
  assert.equal(ex.header("x-lane"), null);
});

test("echoHeader: the response carries the lane", async () => {
  const { root } = await configured({
    role: "edge",
    echoHeader: "x-served-lane",
    rules: [{ lane: "canary" }],
  });
  const ex = exchange(root, []);
  assert.deepEqual(
    ex.response.find(([k]) => k === "x-served-lane"),
    ["x-served-lane", "canary"],
  );
});

test("rejected config: configure returns false with the field path in one error log", async () => {
  const { filterVm } = await import("../support/filter.js");
  const vm = await filterVm();
  const root = vm.createRoot(
    JSON.stringify({
      role: "edge",
      rules: [{ lane: "x", when: { headers: { agent: { exact: "pc", prefix: "p" } } } }],
    }),
  );
  assert.equal(root.ok, false);
  const errors = vm.logs.filter((l) => l.levelName === "error");
  assert.equal(errors.length, 1);
  assert.equal(
    errors[0].msg,
    "meshlane: rejected plugin configuration: rules[0].when.headers.agent: expected exactly one of exact|prefix|suffix|contains|regex|present|oneOf",
  );
  assert.equal(vm.failed, false);
});
