// Header lookups through the release .wasm. The filter files a request's headers by a hash of each
// name (length, first and last byte) and looks names up in their bucket; a request with more than 256
// headers is not filed and is read as a list. Both must give every rule the first value of its header,
// whatever the names share (buckets, lengths, prefixes) and however often a name repeats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configured, exchange } from "../support/filter.js";
import { rng } from "../support/rng.js";

// Short names over a small alphabet: many share a length and their first and last byte, so buckets
// hold several names and a lookup must compare them all.
const NAMES = ["a", "b", "ab", "ba", "aa", "a-a", "a-b", "b-a", "aba", "abba", "a--a", "x-ab", "x-ba"];
const LANES = NAMES.map((_, i) => `l${i}`);
const CONFIG = {
  role: "edge",
  lanes: LANES,
  rules: NAMES.map((name, i) => ({ lane: LANES[i], when: { headers: { [name]: { exact: "yes" } } } })),
};

/** The lane the rules give: the first rule whose header's first value is "yes". */
function expected(headers: [string, string][]): string | null {
  for (let i = 0; i < NAMES.length; i++) {
    const first = headers.find(([k]) => k === NAMES[i]);
    if (first?.[1] === "yes") return LANES[i];
  }
  return null;
}

const MANY_COOKIES = Array.from({ length: 40 }, (_, i) => `c${i}=${i}`).join("; ");
const FILLER: [string, string][] = Array.from({ length: 300 }, (_, i) => [`f-${i}`, "yes"]);

test("header lookups: 3,000 generated requests, filed and as a list, give each rule its header's first value", async () => {
  const r = rng(20261202);
  const { root } = await configured(CONFIG);
  let matched = 0;
  for (let i = 0; i < 3000; i++) {
    const headers: [string, string][] = [];
    const n = Math.floor(r() * 12);
    for (let k = 0; k < n; k++) {
      const name = NAMES[Math.floor(r() * NAMES.length)];
      headers.push([name, r() < 0.3 ? "yes" : r() < 0.5 ? "no" : ""]);
    }
    const want = expected(headers);
    if (want !== null) matched++;
    const filed = exchange(root, headers).lane;
    const listed = exchange(root, [...headers, ...FILLER]).lane;
    assert.equal(filed, want, JSON.stringify(headers));
    assert.equal(listed, want, `as a list: ${JSON.stringify(headers)}`);
  }
  // The generated requests reach both outcomes often.
  assert.ok(matched > 500 && matched < 2500, `${matched} of 3000 matched a rule`);
});

test("header lookups: repeated cookie and baggage entries are read in order, filed and as a list", async () => {
  const { root } = await configured({
    role: "edge",
    lanes: ["base", "beta", "qa"],
    rules: [
      { lane: "beta", when: { cookies: { beta: { exact: "yes" } } } },
      { lane: "qa", when: { baggage: { team: { exact: "qa" } } } },
    ],
  });
  const cases: [[string, string][], string | null][] = [
    [
      [
        ["cookie", "uid=1"],
        ["a", "x"],
        ["cookie", "beta=yes"],
      ],
      "beta",
    ],
    [
      [
        ["cookie", "beta=no"],
        ["cookie", "beta=yes"],
      ],
      null,
    ],
    [
      [
        ["baggage", "k=v"],
        ["ab", "x"],
        ["baggage", "team=qa"],
      ],
      "qa",
    ],
    [
      [
        ["baggage", "team=dev"],
        ["baggage", "team=qa"],
      ],
      null,
    ],
    // More pairs than the filter files in place: read through the decoded header.
    [[["cookie", `${MANY_COOKIES}; beta=yes`]], "beta"],
    [[["cookie", `${MANY_COOKIES}; beta=no`]], null],
  ];
  for (const [headers, want] of cases) {
    assert.equal(exchange(root, headers).lane, want, JSON.stringify(headers));
    assert.equal(exchange(root, [...headers, ...FILLER]).lane, want, `as a list: ${JSON.stringify(headers)}`);
  }
});
