// Bad input never traps the VM and never changes a lane: 100,000+ random and mutated requests through
// the release .wasm (edge and sidecar), with a fixed seed so any failure reproduces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configured, exchange, inbound, outbound, unsignedJwt, from } from "../support/filter.js";
import { rng } from "../support/rng.js";

const ALPHABET = "abcXYZ019=;,.-_ %\"'\\/:@\t\u0000\u0001\u007f\u0080\u00ff\u00e9\u4e2d\ud83d\ude00";

function junk(r: () => number, max: number): string {
  const n = Math.floor(r() * max);
  let s = "";
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

function mutate(r: () => number, s: string): string {
  const chars = [...s];
  const edits = 1 + Math.floor(r() * 4);
  for (let i = 0; i < edits && chars.length > 0; i++) {
    const at = Math.floor(r() * chars.length);
    const op = r();
    if (op < 0.4) chars[at] = ALPHABET[Math.floor(r() * ALPHABET.length)];
    else if (op < 0.7) chars.splice(at, 1);
    else chars.splice(at, 0, ALPHABET[Math.floor(r() * ALPHABET.length)]);
  }
  return chars.join("");
}

const EDGE = {
  role: "edge",
  lanes: ["base", "canary", "beta"],
  defaultLane: "base",
  jwt: { from: "header", allowUnverified: true },
  rules: [
    { lane: "canary", when: { headers: { agent: { exact: "pc" } } } },
    { lane: "beta", when: { jwtClaims: { groups: { exact: "beta" } } } },
    { lane: "beta", when: { headers: { "user-agent": { regex: "(a|aa)*b.*Mobile[0-9]{2,}" } } } },
    { lane: "beta", when: { query: { beta: { exact: "1" } } } },
  ],
};

test("edge: 60,000 malformed requests — no trap, and junk never changes the lane", async () => {
  const r = rng(20261122);
  const { vm, root } = await configured(EDGE);
  const token = unsignedJwt({ sub: "u", groups: ["beta"] });
  const bigCookie = `user=${"x".repeat(64 * 1024)}; other=1`;
  for (let i = 0; i < 60_000; i++) {
    const pc = r() < 0.5;
    const headers: [string, string][] = [["agent", pc ? "pc" : junk(r, 8)]];
    // Junk the rules must not be moved by: spoofed lanes, broken baggage, cookies, tokens, trace headers.
    headers.push(["x-lane", r() < 0.5 ? "canary" : junk(r, 20)]);
    headers.push(["baggage", r() < 0.3 ? `lane=beta,${junk(r, 60)}` : junk(r, 200)]);
    headers.push(["cookie", r() < 0.01 ? bigCookie : junk(r, 80)]);
    headers.push([
      "authorization",
      r() < 0.5 ? `Bearer ${junk(r, 60)}` : `Bearer ${mutate(r, token.slice(0, 36))}`,
    ]);
    headers.push(["traceparent", mutate(r, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]);
    headers.push([`x-${junk(r, 6).replace(/[^a-z]/g, "") || "j"}`, junk(r, 40)]);
    const ex = exchange(root, headers, [from(r() < 0.5 ? junk(r, 30) : "203.0.113.7:1234")]);
    assert.equal(ex.stream.trap, null);
    assert.equal(ex.lane, pc ? "canary" : "base", `request ${i}: ${JSON.stringify(headers).slice(0, 300)}`);
  }
  assert.equal(vm.failed, false);
});

test("edge: 20,000 mutated tokens and user agents — no trap, only allowed lanes", async () => {
  const r = rng(7);
  const { vm, root } = await configured(EDGE);
  const token = unsignedJwt({ sub: "u", groups: ["beta", 42, { nested: true }], exp: 1.5e9 });
  for (let i = 0; i < 20_000; i++) {
    const ex = exchange(root, [
      ["authorization", `Bearer ${mutate(r, token)}`],
      ["user-agent", mutate(r, "aaab Mozilla Mobile12")],
      [":path", mutate(r, "/p?beta=1&x=%zz")],
    ]);
    assert.equal(ex.stream.trap, null);
    assert.ok(["base", "beta"].includes(ex.lane!), `lane ${ex.lane}`);
  }
  assert.equal(vm.failed, false);
});

test("sidecar: 30,000 malformed trace, lane and baggage headers — no trap, no wrong lane", async () => {
  const r = rng(99);
  const { vm, root } = await configured({
    role: "sidecar",
    lanes: ["base", "canary"],
    propagation: { capacity: 64 },
  });
  for (let i = 0; i < 15_000; i++) {
    const id = `req-${i}`;
    const lane = r() < 0.5 ? "canary" : "base";
    const inb = exchange(
      root,
      [
        ["x-lane", lane],
        ["x-request-id", id],
        ["baggage", junk(r, 100)],
      ],
      [inbound],
    );
    assert.equal(inb.lane, lane);
    const garbage: [string, string][] = [
      ["x-request-id", r() < 0.5 ? id : mutate(r, id)],
      ["baggage", r() < 0.2 ? `lane=${junk(r, 10)}` : junk(r, 100)],
      ["traceparent", junk(r, 60)],
    ];
    const out = exchange(root, garbage, [outbound]);
    assert.equal(out.stream.trap, null);
    if (out.lane !== null && garbage[0][1] === id)
      assert.equal(out.lane, lane, `trace ${id} got a wrong lane`);
    assert.ok(out.lane === null || out.lane === "base" || out.lane === "canary");
  }
  assert.equal(vm.failed, false);
});
