// Every configured trace header is a key. Envoy's connection manager gives an outbound request that
// lacks x-request-id a fresh one before any filter runs, and a tracer may start a new trace, so the
// header an application kept is not always the first configured one present. Inbound, a sidecar
// remembers the lane under the key of every trace header present; outbound, it tries them in
// configured order and the first key with a record decides (its lane, or no lane when conflicted).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { WasmVm } from "../../controller/src/host/index.js";
import { configured, exchange, inbound, outbound, requests } from "../support/filter.js";

const SIDECAR = { role: "sidecar", lanes: ["base", "canary", "feature-x"] };
const TRACE_1 = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACE_2 = "0af7651916cd43dd8448eb211c80319c";
/** A traceparent of `trace` with a span id of this hop. */
const tp = (trace: string, span = "00f067aa0ba902b7") => `00-${trace}-${span}-01`;

type Root = Parameters<typeof exchange>[0];
/** An inbound request with `lane` (null: none) and these trace headers. */
const arrive = (root: Root, lane: string | null, trace: [string, string][]) =>
  exchange(root, lane === null ? trace : [["x-lane", lane], ...trace], [inbound]);
/** An outbound call with these trace headers and no lane: the lane the sidecar put on it, or null. */
const call = (root: Root, trace: [string, string][]) => exchange(root, trace, [outbound]).lane;

function conflicts(vm: WasmVm, direction: string): number {
  const m = vm.metrics()[`direction=.=${direction};.;meshlane_trace_conflicts_total`];
  return m && "value" in m ? Number(m.value) : 0;
}

test("trace keys: the app forwards only traceparent, the outbound sidecar made a fresh x-request-id: lane restored (default config)", async () => {
  const { vm, root } = await configured(SIDECAR);
  arrive(root, "canary", [
    ["x-request-id", "istio-in-1"],
    ["traceparent", tp(TRACE_1)],
  ]);
  const lane = call(root, [
    ["x-request-id", "envoy-fresh-2"],
    ["traceparent", tp(TRACE_1, "b7ad6b7169203331")],
  ]);
  assert.equal(lane, "canary");
  assert.equal(requests(vm, "canary", "sidecar", "outbound", "memory"), 1);
  // Another trace with a fresh id still gets nothing.
  assert.equal(
    call(root, [
      ["x-request-id", "envoy-fresh-3"],
      ["traceparent", tp(TRACE_2)],
    ]),
    null,
  );
  assert.equal(conflicts(vm, "inbound") + conflicts(vm, "outbound"), 0);
});

test("trace keys: traceparent first, the app forwards only x-request-id and the tracer starts a new trace: lane restored", async () => {
  const { vm, root } = await configured({
    ...SIDECAR,
    propagation: { traceHeaders: ["traceparent", "x-request-id"] },
  });
  arrive(root, "feature-x", [
    ["traceparent", tp(TRACE_1)],
    ["x-request-id", "req-1"],
  ]);
  assert.equal(
    call(root, [
      ["traceparent", tp(TRACE_2)],
      ["x-request-id", "req-1"],
    ]),
    "feature-x",
  );
  assert.equal(requests(vm, "feature-x", "sidecar", "outbound", "memory"), 1);
});

test("trace keys: the app forwards both headers: lane restored, in either configured order", async () => {
  for (const traceHeaders of [
    ["x-request-id", "traceparent"],
    ["traceparent", "x-request-id"],
  ]) {
    const { root } = await configured({ ...SIDECAR, propagation: { traceHeaders } });
    const trace: [string, string][] = [
      ["x-request-id", "req-1"],
      ["traceparent", tp(TRACE_1)],
    ];
    arrive(root, "canary", trace);
    assert.equal(call(root, trace), "canary", traceHeaders.join(","));
  }
});

test("trace keys: a header listed twice is one key; an inbound request with the same lane twice is no conflict", async () => {
  const { vm, root } = await configured({
    ...SIDECAR,
    propagation: { traceHeaders: ["x-request-id", "traceparent", "x-request-id"] },
  });
  const trace: [string, string][] = [
    ["x-request-id", "req-1"],
    ["traceparent", tp(TRACE_1)],
  ];
  arrive(root, "canary", trace);
  arrive(root, "canary", trace); // a retry
  assert.equal(call(root, [["x-request-id", "req-1"]]), "canary");
  assert.equal(call(root, [["traceparent", tp(TRACE_1)]]), "canary");
  assert.equal(conflicts(vm, "inbound"), 0);
});

test("trace keys: a forged x-request-id with a genuine traceparent never yields a wrong lane", async () => {
  const { vm, root } = await configured(SIDECAR);
  // The victim, then a request forging its x-request-id with a trace of its own and another lane.
  arrive(root, "canary", [
    ["x-request-id", "victim-id"],
    ["traceparent", tp(TRACE_1)],
  ]);
  arrive(root, "base", [
    ["x-request-id", "victim-id"],
    ["traceparent", tp(TRACE_2)],
  ]);
  assert.equal(conflicts(vm, "inbound"), 1, "one request, one conflict");
  // A call carrying the conflicted x-request-id: that key has a record and decides: no lane, even
  // though the traceparent's key would give one (it is never consulted past a conflict).
  for (const trace of [TRACE_1, TRACE_2]) {
    assert.equal(
      call(root, [
        ["x-request-id", "victim-id"],
        ["traceparent", tp(trace, "b7ad6b7169203331")],
      ]),
      null,
    );
  }
  assert.equal(conflicts(vm, "outbound"), 2);
  // Calls that forwarded only their traceparent (a fresh x-request-id): each gets its own lane.
  assert.equal(
    call(root, [
      ["x-request-id", "fresh-1"],
      ["traceparent", tp(TRACE_1)],
    ]),
    "canary",
  );
  assert.equal(
    call(root, [
      ["x-request-id", "fresh-2"],
      ["traceparent", tp(TRACE_2)],
    ]),
    "base",
  );
});

test("trace keys: a conflicted traceparent behind a fresh x-request-id gives no lane, counted", async () => {
  const { vm, root } = await configured(SIDECAR);
  // Two requests sharing one trace-id (a reused or forged traceparent), with their own ids.
  arrive(root, "canary", [
    ["x-request-id", "a"],
    ["traceparent", tp(TRACE_1)],
  ]);
  arrive(root, null, [
    ["x-request-id", "b"],
    ["traceparent", tp(TRACE_1)],
  ]);
  assert.equal(conflicts(vm, "inbound"), 1, "an inbound request without a lane forgets under every key");
  assert.equal(
    call(root, [
      ["x-request-id", "fresh"],
      ["traceparent", tp(TRACE_1)],
    ]),
    null,
  );
  assert.equal(conflicts(vm, "outbound"), 1);
  // The first request's own x-request-id was not shared: a call forwarding it keeps the lane.
  assert.equal(
    call(root, [
      ["x-request-id", "a"],
      ["traceparent", tp(TRACE_1)],
    ]),
    "canary",
  );
});
