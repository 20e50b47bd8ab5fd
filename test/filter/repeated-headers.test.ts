// Several `cookie` or `baggage` headers (docs/host.md, "Several headers of one name"). A stock Envoy keeps
// them as separate entries (as our host and Envoy's own host library do); an Envoy build where an
// extension makes cookie inline, or an HTTP/2 client's cookie crumbs, deliver one joined header. The
// filter must read every entry in either form: cookies as one "; "-joined header, baggage as one list.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configured, exchange, inbound, outbound, requests } from "../support/filter.js";

const BETA_COOKIE = {
  role: "edge",
  lanes: ["base", "beta"],
  rules: [{ lane: "beta", when: { cookies: { beta: { exact: "yes" } } } }],
};

test("repeated-cookie: `cookie: uid=u1` + `cookie: beta=yes` matches a beta cookie rule, as does the joined form", async () => {
  const { vm, root } = await configured(BETA_COOKIE);
  const separate = exchange(root, [
    ["cookie", "uid=u1"],
    ["cookie", "beta=yes"],
  ]);
  assert.deepEqual(
    separate.request.filter(([k]) => k === "cookie"),
    [
      ["cookie", "uid=u1"],
      ["cookie", "beta=yes"],
    ],
    "the host delivers two entries, as a stock Envoy does",
  );
  assert.equal(separate.lane, "beta");
  assert.equal(exchange(root, [["cookie", "uid=u1; beta=yes"]]).lane, "beta");
  // The first cookie of a name wins across entries, as in one joined header.
  assert.equal(
    exchange(root, [
      ["cookie", "beta=no"],
      ["cookie", "beta=yes"],
    ]).lane,
    null,
  );
  assert.equal(exchange(root, [["cookie", "beta=no; beta=yes"]]).lane, null);
  assert.equal(requests(vm, "beta", "edge", "gateway", "rule"), 2);
});

test("repeated-cookie: every entry counts for regex, sticky percentages and non-ASCII values", async () => {
  const { root } = await configured({
    role: "edge",
    lanes: ["base", "beta", "sticky"],
    rules: [
      { lane: "beta", when: { cookies: { group: { regex: "be+ta" } } } },
      { lane: "sticky", percent: 50, stickyBy: { cookie: "user" } },
    ],
  });
  assert.equal(
    exchange(root, [
      ["cookie", "theme=sombre-é"],
      ["cookie", ""],
      ["cookie", "group=beeta"],
    ]).lane,
    "beta",
  );
  // A sticky cookie in a second entry gives the same answer as in one joined header.
  let admitted = 0;
  for (let i = 0; i < 200; i++) {
    const joined = exchange(root, [["cookie", `theme=dark; user=u-${i}`]]).lane;
    const split = exchange(root, [
      ["cookie", "theme=dark"],
      ["cookie", `user=u-${i}`],
    ]).lane;
    assert.equal(split, joined, `user u-${i}`);
    if (joined === "sticky") admitted++;
  }
  assert.ok(admitted > 50 && admitted < 150, `${admitted} of 200 admitted at 50 %`);
});

test("repeated-cookie: malformed entries never trap and never change a lane", async () => {
  const { vm, root } = await configured(BETA_COOKIE);
  const junk = ["", ";;;", "=", "beta", "beta yes", "\u00ff\u00fe", "a=\u0001", " ; beta ; ="];
  for (const j of junk) {
    assert.equal(
      exchange(root, [
        ["cookie", j],
        ["cookie", "beta=yes"],
      ]).lane,
      "beta",
      JSON.stringify(j),
    );
    assert.equal(exchange(root, [["cookie", j]]).lane, null, JSON.stringify(j));
  }
  assert.equal(vm.failed, false);
});

test("repeated-baggage: a rule reads members of every baggage header (W3C: they form one list)", async () => {
  const { root } = await configured({
    role: "edge",
    lanes: ["base", "beta"],
    rules: [{ lane: "beta", when: { baggage: { tier: { exact: "gold" } } } }],
  });
  assert.equal(
    exchange(root, [
      ["baggage", "userId=alice"],
      ["baggage", "tier=gold"],
    ]).lane,
    "beta",
  );
  assert.equal(exchange(root, [["baggage", "userId=alice,tier=gold"]]).lane, "beta");
});

test("repeated-baggage at the edge: the lane member is merged into one header keeping every other member", async () => {
  const { root } = await configured({ role: "edge", lanes: ["base", "canary"], defaultLane: "canary" });
  const r = exchange(root, [
    ["baggage", "userId=alice,lane=evil"],
    ["baggage", "tier=gold;ttl=5, lane=base"],
    ["baggage", "region=eu"],
  ]);
  assert.equal(r.lane, "canary");
  assert.deepEqual(
    r.request.filter(([k]) => k === "baggage"),
    [["baggage", "lane=canary,userId=alice,tier=gold;ttl=5,region=eu"]],
    "one baggage header: the lane member once, first, then every other member in order",
  );
});

test("repeated-baggage in a sidecar: the lane from a second entry is kept, remembered and restored", async () => {
  const { vm, root } = await configured({ role: "sidecar", lanes: ["base", "canary"] });
  const inb = exchange(
    root,
    [
      ["baggage", "userId=alice"],
      ["baggage", "lane=canary"],
      ["x-request-id", "rb-1"],
    ],
    [inbound],
  );
  assert.equal(inb.lane, "canary");
  assert.equal(requests(vm, "canary", "sidecar", "inbound", "baggage"), 1);
  // Already carrying the lane exactly once: the entries are left as they came.
  assert.deepEqual(
    inb.request.filter(([k]) => k === "baggage"),
    [
      ["baggage", "userId=alice"],
      ["baggage", "lane=canary"],
    ],
  );
  const out = exchange(
    root,
    [
      ["baggage", "userId=alice"],
      ["baggage", "region=eu"],
      ["x-request-id", "rb-1"],
    ],
    [outbound],
  );
  assert.equal(out.lane, "canary");
  assert.deepEqual(
    out.request.filter(([k]) => k === "baggage"),
    [["baggage", "lane=canary,userId=alice,region=eu"]],
  );
});

test("repeated-baggage: a lane member written twice is written once; a disallowed one is dropped from every entry", async () => {
  const { root } = await configured({ role: "sidecar", lanes: ["base", "canary"] });
  const dup = exchange(
    root,
    [
      ["x-lane", "canary"],
      ["baggage", "lane=canary"],
      ["baggage", "a=1,lane=canary"],
    ],
    [outbound],
  );
  assert.deepEqual(
    dup.request.filter(([k]) => k === "baggage"),
    [["baggage", "lane=canary,a=1"]],
  );
  const evil = exchange(
    root,
    [
      ["baggage", "lane=evil,a=1"],
      ["baggage", "b=2"],
    ],
    [outbound],
  );
  assert.equal(evil.lane, null);
  assert.deepEqual(
    evil.request.filter(([k]) => k === "baggage"),
    [["baggage", "a=1,b=2"]],
  );
});

test("repeated-baggage: past W3C's limits together, the entries are left alone and the header carries the lane", async () => {
  const { vm, root } = await configured({ role: "edge", lanes: ["base", "canary"], defaultLane: "canary" });
  const half = Array.from({ length: 100 }, (_, i) => `k${i}=v${i}`).join(",");
  const other = Array.from({ length: 100 }, (_, i) => `m${i}=v${i}`).join(",");
  const r = exchange(root, [
    ["baggage", half],
    ["baggage", other],
  ]);
  assert.equal(r.lane, "canary");
  assert.deepEqual(
    r.request.filter(([k]) => k === "baggage"),
    [
      ["baggage", half],
      ["baggage", other],
    ],
  );
  assert.equal(vm.failed, false);
});
