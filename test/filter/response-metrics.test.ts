// Per-lane response metrics through the host: meshlane_responses_total by code class and
// meshlane_request_duration_milliseconds, at the edge and at sidecar inbound, with a clock the test
// moves between the request and its response.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ManualClock,
  type PropertyInput,
  type RootContext,
  type WasmVm,
} from "../../controller/src/host/index.js";
import { render } from "../../controller/src/render/index.js";
import { optionsFromConfig } from "../../controller/src/render/options.js";
import { caseInput, TEST_OPTIONS } from "../render/golden.js";
import { configured, inbound, outbound, requests } from "../support/filter.js";

const EDGE = {
  role: "edge",
  lanes: ["base", "canary"],
  defaultLane: "base",
  rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
};
const SIDECAR = { role: "sidecar", lanes: ["base", "canary"] };

function responses(vm: WasmVm, lane: string, role: string, direction: string, cls: string): number {
  const name = `lane=.=${lane};.;role=.=${role};.;direction=.=${direction};.;response_code_class=.=${cls};.;meshlane_responses_total`;
  const m = vm.metrics()[name];
  return m !== undefined && m.type === "counter" ? m.value : 0;
}

function durations(vm: WasmVm, lane: string, role: string, direction: string): number[] | undefined {
  const m =
    vm.metrics()[
      `lane=.=${lane};.;role=.=${role};.;direction=.=${direction};.;meshlane_request_duration_milliseconds`
    ];
  if (m === undefined) return undefined;
  assert.equal(m.type, "histogram");
  return m.type === "histogram" ? m.values : undefined;
}

/** Every series name of a metric (the filter writes the tags first: `tag=.=value;.;…;.;metric`). */
const series = (vm: WasmVm, metric: string) =>
  Object.keys(vm.metrics()).filter((n) => n.endsWith(`;.;${metric}`));

/** One request: request headers, `ms` on the clock, response headers, end. The lane header after
 * on_request_headers. */
function call(
  root: RootContext,
  clock: ManualClock,
  headers: [string, string][],
  status: [string, string][],
  properties: PropertyInput[] = [],
  ms = 0,
): { lane: string | undefined; echoed: string | undefined } {
  const s = root.newStream({ properties });
  s.requestHeaders([[":method", "GET"], [":path", "/"], [":authority", "shop"], ...headers], true);
  const lane = s.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1];
  clock.advanceMs(ms);
  s.responseHeaders(status, true);
  const echoed = s.responseHeaderPairs().find(([k]) => k === "x-served-lane")?.[1];
  s.finish();
  return { lane, echoed };
}

test("edge: responses by lane and code class, durations from request to response headers", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(EDGE, { clock: clock.now });
  call(root, clock, [["agent", "pc"]], [[":status", "200"]], [], 12);
  call(root, clock, [["agent", "pc"]], [[":status", "503"]], [], 250);
  call(root, clock, [["agent", "pc"]], [[":status", "204"]], [], 0.4);
  call(root, clock, [], [[":status", "404"]], [], 3);
  call(root, clock, [], [[":status", "302"]], [], 7);
  assert.equal(responses(vm, "canary", "edge", "gateway", "2xx"), 2);
  assert.equal(responses(vm, "canary", "edge", "gateway", "5xx"), 1);
  assert.equal(responses(vm, "base", "edge", "gateway", "4xx"), 1);
  assert.equal(responses(vm, "base", "edge", "gateway", "3xx"), 1);
  // Whole milliseconds, rounded down.
  assert.deepEqual(durations(vm, "canary", "edge", "gateway"), [12, 250, 0]);
  assert.deepEqual(durations(vm, "base", "edge", "gateway"), [3, 7]);
  assert.equal(requests(vm, "canary", "edge", "gateway", "rule"), 3);
});

test("sidecar: inbound responses are counted; outbound ones are not", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(SIDECAR, { clock: clock.now });
  const id = (n: number): [string, string] => ["x-request-id", `req-${n}`];
  call(root, clock, [["x-lane", "canary"], id(1)], [[":status", "200"]], [inbound], 5);
  call(root, clock, [["x-lane", "canary"], id(2)], [[":status", "500"]], [inbound], 40);
  call(root, clock, [id(3)], [[":status", "201"]], [inbound], 1);
  // Outbound (the lane restored from memory): only meshlane_requests_total.
  assert.equal(call(root, clock, [id(1)], [[":status", "500"]], [outbound], 9).lane, "canary");
  assert.equal(responses(vm, "canary", "sidecar", "inbound", "2xx"), 1);
  assert.equal(responses(vm, "canary", "sidecar", "inbound", "5xx"), 1);
  assert.equal(responses(vm, "none", "sidecar", "inbound", "2xx"), 1);
  assert.deepEqual(durations(vm, "canary", "sidecar", "inbound"), [5, 40]);
  assert.deepEqual(durations(vm, "none", "sidecar", "inbound"), [1]);
  assert.deepEqual(
    series(vm, "meshlane_responses_total").filter((n) => n.includes("outbound")),
    [],
  );
  assert.equal(durations(vm, "canary", "sidecar", "outbound"), undefined);
  assert.equal(requests(vm, "canary", "sidecar", "outbound", "memory"), 1);
});

test("a lane outside the allow-list is never a series of its own: the request has no lane (none)", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(SIDECAR, { clock: clock.now });
  assert.equal(call(root, clock, [["x-lane", "rogue"]], [[":status", "200"]], [inbound]).lane, undefined);
  assert.equal(responses(vm, "none", "sidecar", "inbound", "2xx"), 1);
  assert.deepEqual(
    [
      ...series(vm, "meshlane_responses_total"),
      ...series(vm, "meshlane_request_duration_milliseconds"),
    ].filter((n) => n.includes("rogue")),
    [],
  );
});

test("past 512 lanes, further lanes count as other in every metric", async () => {
  const clock = new ManualClock();
  // No allow-list: any valid lane name is a lane, so only the cap bounds the series.
  const { vm, root } = await configured({ role: "sidecar" }, { clock: clock.now });
  for (let i = 0; i < 520; i++)
    call(root, clock, [["x-lane", `lane-${i}`]], [[":status", "200"]], [inbound], 1);
  const lanes = new Set(series(vm, "meshlane_responses_total").map((n) => /lane=\.=(.*?);/.exec(n)?.[1]));
  assert.ok(lanes.delete("other"));
  assert.equal(lanes.size, 512);
  assert.ok(lanes.has("lane-511"));
  assert.ok(!lanes.has("lane-512"));
  assert.equal(responses(vm, "other", "sidecar", "inbound", "2xx"), 8);
  assert.equal(durations(vm, "other", "sidecar", "inbound")?.length, 8);
  assert.equal(requests(vm, "other", "sidecar", "inbound", "header"), 8);
  // Lanes defined before the cap keep counting under their own name.
  call(root, clock, [["x-lane", "lane-3"]], [[":status", "500"]], [inbound], 1);
  assert.equal(responses(vm, "lane-3", "sidecar", "inbound", "5xx"), 1);
});

test("responseMetrics: false records neither metric; requests are still counted", async () => {
  const clock = new ManualClock();
  const edge = await configured({ ...EDGE, responseMetrics: false }, { clock: clock.now });
  call(edge.root, clock, [["agent", "pc"]], [[":status", "500"]], [], 3);
  const sidecar = await configured({ ...SIDECAR, responseMetrics: false }, { clock: clock.now });
  call(sidecar.root, clock, [["x-lane", "canary"]], [[":status", "500"]], [inbound], 3);
  for (const vm of [edge.vm, sidecar.vm]) {
    assert.deepEqual(series(vm, "meshlane_responses_total"), []);
    assert.deepEqual(series(vm, "meshlane_request_duration_milliseconds"), []);
  }
  assert.equal(requests(edge.vm, "canary", "edge", "gateway", "rule"), 1);
  assert.equal(requests(sidecar.vm, "canary", "sidecar", "inbound", "header"), 1);
});

test("a malformed or absent :status counts as other, never traps and never changes the lane", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured({ ...EDGE, echoHeader: "x-served-lane" }, { clock: clock.now });
  const bad: [string, string][][] = [
    [],
    [[":status", ""]],
    [[":status", "abc"]],
    [[":status", "20"]],
    [[":status", "2000"]],
    [[":status", "100"]],
    [[":status", "600"]],
    [[":status", "2x0"]],
    [[":status", " 200"]],
    [[":status", "\u00e9t\u00e9"]],
    [[":status", "5".repeat(10_000)]],
  ];
  for (const status of bad) {
    const r = call(root, clock, [["agent", "pc"]], status, [], 1);
    assert.equal(r.lane, "canary");
    assert.equal(r.echoed, "canary");
  }
  assert.equal(responses(vm, "canary", "edge", "gateway", "other"), bad.length);
  assert.deepEqual(
    series(vm, "meshlane_responses_total").map((n) => /response_code_class=\.=(.*?);/.exec(n)?.[1]),
    ["other"],
  );
  assert.equal(durations(vm, "canary", "edge", "gateway")?.length, bad.length);
  // Still a working filter afterwards.
  assert.equal(call(root, clock, [["agent", "pc"]], [[":status", "200"]], [], 1).lane, "canary");
  assert.equal(responses(vm, "canary", "edge", "gateway", "2xx"), 1);
});

test("a clock that steps back during a request records 0 ms", async () => {
  const clock = new ManualClock(2_000_000_000_000_000_000n);
  const { vm, root } = await configured(EDGE, { clock: clock.now });
  call(root, clock, [], [[":status", "200"]], [], -5000);
  assert.deepEqual(durations(vm, "base", "edge", "gateway"), [0]);
});

test("responseMetrics must be a boolean, reported with its field", async () => {
  const { filterVm } = await import("../support/filter.js");
  const vm = await filterVm();
  const root = vm.createRoot(JSON.stringify({ role: "sidecar", responseMetrics: "yes" }));
  assert.equal(root.ok, false);
  assert.ok(
    vm.logs.some((l) => l.msg.includes("responseMetrics: expected a boolean, got a string")),
    vm.logs.map((l) => l.msg).join("\n"),
  );
});

test("the controller's edge and sidecar settings pass responseMetrics to the filter, checked as the filter checks it", async () => {
  const o = optionsFromConfig(
    { edge: { responseMetrics: false }, sidecar: { responseMetrics: false } },
    TEST_OPTIONS.wasm.sha256,
  );
  const r = render(caseInput("seed-003"), { ...TEST_OPTIONS, edge: o.edge, sidecar: o.sidecar });
  assert.deepEqual(r.errors, []);
  const configs = pluginConfigs(r.apply);
  assert.deepEqual([...new Set(configs.map((c) => c.role))].sort(), ["edge", "sidecar"]);
  const clock = new ManualClock();
  for (const config of configs) {
    assert.equal(config.responseMetrics, false);
    const { vm, root } = await configured(config, { clock: clock.now });
    call(root, clock, [["x-lane", "canary"]], [[":status", "500"]], [inbound], 2);
    assert.deepEqual(series(vm, "meshlane_responses_total"), []);
  }
  // Unset, the field is left out and the filter's default (on) applies.
  const plain = pluginConfigs(render(caseInput("seed-003"), TEST_OPTIONS).apply);
  assert.ok(plain.every((c) => !("responseMetrics" in c)));
  assert.throws(
    () => optionsFromConfig({ sidecar: { responseMetrics: "no" } }, "x"),
    /^Error: sidecar\.responseMetrics: expected true or false, got "no"/,
  );
  assert.throws(
    () => optionsFromConfig({ edge: { responseMetrics: 0 } }, "x"),
    /^Error: edge\.responseMetrics: /,
  );
});

/** Every plugin config (a JSON object with `role`) in rendered objects. */
function pluginConfigs(objects: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string" && v.startsWith("{")) {
      try {
        const c = JSON.parse(v) as Record<string, unknown>;
        if (typeof c.role === "string") out.push(c);
      } catch {
        // not a plugin config
      }
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
  };
  walk(objects);
  return out;
}

test("waypoint: responses and durations counted inbound with role waypoint, lane carried or restored", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(
    { role: "waypoint", lanes: ["base", "canary"] },
    { clock: clock.now },
  );
  // Carried: remembered under its x-request-id; then a hop of the same trace without the lane.
  call(
    root,
    clock,
    [
      ["x-lane", "canary"],
      ["x-request-id", "t1"],
    ],
    [[":status", "200"]],
    [],
    5,
  );
  const restored = call(root, clock, [["x-request-id", "t1"]], [[":status", "503"]], [], 9);
  assert.equal(restored.lane, "canary");
  call(root, clock, [], [[":status", "200"]], [], 1);
  assert.equal(responses(vm, "canary", "waypoint", "inbound", "2xx"), 1);
  assert.equal(responses(vm, "canary", "waypoint", "inbound", "5xx"), 1);
  assert.equal(responses(vm, "none", "waypoint", "inbound", "2xx"), 1);
  assert.deepEqual(durations(vm, "canary", "waypoint", "inbound"), [5, 9]);
  assert.deepEqual(
    series(vm, "meshlane_responses_total").filter((n) => n.startsWith("lane=.=canary;.;role=.=sidecar;")),
    [],
  );
});
