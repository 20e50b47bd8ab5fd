// Envoy's lifecycle on our dispatch: several root contexts in one VM (a config update), the old one
// retired with on_done → on_delete while streams are in flight, and many concurrent streams.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configured, exchange } from "../support/filter.js";

const dye = (lane: string) => ({
  role: "edge",
  lanes: ["base", "canary", "beta"],
  defaultLane: "base",
  rules: [{ lane, when: { headers: { agent: { exact: "pc" } } } }],
});

test("reconfiguration: a second root with a new config in the same VM, the old one retired", async () => {
  const { vm, root: oldRoot } = await configured(dye("canary"));
  assert.equal(exchange(oldRoot, [["agent", "pc"]]).lane, "canary");
  // A request in flight on the old config when the update lands.
  const inFlight = oldRoot.newStream();
  inFlight.requestHeaders(
    [
      [":method", "GET"],
      [":path", "/"],
      [":authority", "shop"],
      ["agent", "pc"],
    ],
    false,
  );

  const newRoot = vm.createRoot(JSON.stringify(dye("beta")));
  assert.equal(newRoot.ok, true);
  assert.notEqual(newRoot.id, oldRoot.id);
  assert.equal(oldRoot.retire(), "deleted", "on_done returned true, then on_delete ran");
  assert.equal(vm.failed, false, "retiring a root must not trap (the stock SDK's dispatch does)");

  assert.equal(exchange(newRoot, [["agent", "pc"]]).lane, "beta");
  assert.equal(exchange(newRoot, [["agent", "tv"]]).lane, "base");
  // The in-flight stream finishes on the config it started with.
  assert.equal(inFlight.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1], "canary");
  inFlight.responseHeaders([[":status", "200"]], true);
  inFlight.finish();
  assert.equal(vm.failed, false);
});

test("a rejected update leaves the running config in place", async () => {
  const { vm, root } = await configured(dye("canary"));
  const bad = vm.createRoot('{"role":"edge","rules":[{"lane":"Not A Lane"}]}');
  assert.equal(bad.ok, false);
  assert.equal(exchange(root, [["agent", "pc"]]).lane, "canary");
  bad.retire();
  assert.equal(exchange(root, [["agent", "pc"]]).lane, "canary");
  assert.equal(vm.failed, false);
});

test("1,000 streams in flight, finished in another order, each with its own lane", async () => {
  const { vm, root } = await configured(dye("canary"));
  const streams = Array.from({ length: 1000 }, (_, i) => {
    const s = root.newStream();
    s.requestHeaders(
      [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "shop"],
        ["agent", i % 3 === 0 ? "pc" : "tv"],
      ],
      true,
    );
    return { s, want: i % 3 === 0 ? "canary" : "base" };
  });
  for (let i = streams.length - 1; i >= 0; i -= 2) {
    const { s, want } = streams[i];
    s.responseHeaders([[":status", "200"]], true);
    assert.equal(s.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1], want);
    s.finish();
  }
  for (let i = streams.length - 2; i >= 0; i -= 2) streams[i].s.finish();
  assert.equal(vm.failed, false);
  assert.equal(exchange(root, [["agent", "pc"]]).lane, "canary");
});

test("callbacks for unknown context ids are ignored, not trapped on", async () => {
  const { vm } = await configured(dye("canary"));
  // A stream whose root was never configured in this VM (id unknown to the module).
  const stranger = vm.createRoot('{"role":"edge"}');
  const s = stranger.newStream();
  s.requestHeaders(
    [
      [":method", "GET"],
      [":path", "/"],
      [":authority", "a"],
    ],
    true,
  );
  s.finish();
  stranger.retire();
  assert.equal(vm.failed, false);
});

test("requests that leave garbage behind (decoded non-ASCII values, merged baggage) keep memory flat", async () => {
  // Most requests allocate nothing in the module; these take the slow paths that do (a non-ASCII
  // cookie and user-agent decoded to strings, a baggage header merged with the lane member), so the
  // module's collections must keep up with them.
  const { vm, root } = await configured({
    role: "edge",
    lanes: ["base", "canary"],
    defaultLane: "base",
    baggageKey: "lane",
    rules: [
      { lane: "canary", when: { cookies: { beta: { exact: "oui-é" } } } },
      { lane: "canary", when: { headers: { "user-agent": { regex: ".*Mobilé.*" } } } },
    ],
  });
  const send = (i: number) =>
    exchange(root, [
      ["cookie", `theme=sombre-${"é".repeat(200)}; beta=${i % 2 ? "oui-é" : "non"}`],
      ["user-agent", `Navigateur/${i} ${"ü".repeat(300)}`],
      ["baggage", `userId=u${i},session=${"s".repeat(400)}`],
    ]);
  for (let i = 0; i < 3000; i++) send(i);
  const warm = vm.memoryBytes();
  for (let i = 0; i < 30000; i++) {
    const { lane } = send(i);
    if (lane !== (i % 2 ? "canary" : "base")) assert.fail(`request ${i}: lane ${lane}`);
  }
  assert.equal(vm.memoryBytes(), warm, "linear memory grew after warm-up");
  assert.equal(vm.failed, false);
});
