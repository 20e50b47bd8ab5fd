// Filter benchmarks through our host, measured side by side in one process (interleaved rounds,
// the fastest round of each), reported as ratios: the host's absolute speed is not Envoy's, the ratios are
// what carries over.
import { readFileSync, statSync } from "node:fs";
import {
  compileFilter,
  WasmVm,
  type CompiledFilter,
  type RootContext,
} from "../controller/src/host/index.js";
import { fromRoot } from "../controller/src/paths.js";
import { dyeJobRow, dyeRows, LANE_METRICS_GOAL, ratioRow, type Row } from "./goals.js";
import { perRequestNs, TYPICAL_REQUEST_HEADERS } from "./host-lifecycle.js";
import { dyeCases, refhostCosts } from "./refhost.js";
import { instructionsPerRequest } from "./work.js";

export type { Row } from "./goals.js";

const load = (p: string) => compileFilter(readFileSync(fromRoot(...p.split("/"))));

/** Ten rules of mixed kinds, none of which matches the typical request, so all ten are evaluated. */
export const TEN_RULES = {
  role: "edge",
  lanes: ["base", "canary", "beta", "qa", "office"],
  defaultLane: "base",
  rules: [
    { lane: "canary", when: { headers: { agent: { exact: "pc" } } } },
    { lane: "canary", when: { headers: { "user-agent": { regex: ".*Mobile.*" } } } },
    { lane: "beta", when: { cookies: { beta: { exact: "yes" } } } },
    { lane: "qa", when: { query: { lane: { exact: "qa" } } } },
    { lane: "office", when: { sourceIp: ["198.51.100.0/24", "2001:db8::/32"] } },
    { lane: "beta", when: { jwtClaims: { groups: { exact: "beta" } } } },
    { lane: "beta", when: { headers: { "x-canary": { oneOf: ["true", "1", "yes"] } } } },
    { lane: "qa", when: { path: { prefix: "/qa/" }, method: { exact: "POST" } } },
    { lane: "canary", when: { authority: { suffix: ".canary.example.com" } } },
    { lane: "canary", percent: 5, stickyBy: { cookie: "user" } },
  ],
};

export const EDGE_HEADERS = [...TYPICAL_REQUEST_HEADERS, ["cookie", "theme=dark; user=user-1234"]] as const;
/** Deep-freezes a value. A frozen property list is the same for every stream, so the host builds
 * its property tree once (Envoy's stream info is not rebuilt by a filter either); the filter still
 * fetches and decodes every property on every request. */
function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object") {
    for (const x of Object.values(v)) deepFreeze(x);
    Object.freeze(v);
  }
  return v;
}

export const EDGE_PROPS = deepFreeze([
  { path: ["source", "address"], string: "203.0.113.7:51000" },
  {
    path: ["metadata", "filter_metadata", "envoy.filters.http.jwt_authn"],
    json: { payload: { sub: "u1", groups: ["staff"] } },
  },
]);

function root(mod: CompiledFilter, config: object | string, vmId = ""): RootContext {
  const vm = WasmVm.instantiate(mod, { vmId });
  const r = vm.createRoot(typeof config === "string" ? config : JSON.stringify(config));
  if (!r.ok) throw new Error(`bench config rejected: ${vm.logs.map((l) => l.msg).join("; ")}`);
  return r;
}

/** Runs each case `rounds` times, interleaved, and returns the fastest round of each: on a shared
 * machine the minimum is the estimate least disturbed by other work. */
async function sideBySide(
  cases: Record<string, () => Promise<number>>,
  rounds: number,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(cases)) (samples[name] ??= []).push(await run());
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.min(...v)]));
}

export async function benchFilter(quick = false): Promise<Row[]> {
  // Many short rounds rather than a few long ones: on a shared machine the fastest round is the
  // least disturbed, and more rounds give each case more chances at a quiet moment.
  const n = quick ? 5_000 : 20_000;
  const rounds = quick ? 3 : 15;
  const [noop, stock, meshlane, calls] = await Promise.all([
    load("build/fixtures/noop.wasm"),
    load("build/fixtures/stock-sdk-empty.wasm"),
    load("build/meshlane.wasm"),
    load("build/fixtures/host-calls.wasm"),
  ]);
  const a = root(noop, "");
  const d = root(calls, "");
  const b = root(stock, "");
  const c = root(meshlane, TEN_RULES);
  const c1000 = root(meshlane, TEN_RULES);
  // The same edge without its response metrics (plugin config responseMetrics: false): the dye job
  // alone, as (c) was measured before the metrics existed.
  const cQuiet = root(meshlane, { ...TEN_RULES, responseMetrics: false });
  const sidecarEmpty = root(stock, "");
  const sidecar = root(meshlane, { role: "sidecar", lanes: ["base", "canary"] });
  // Sidecar outbound restore: the trace was remembered inbound; the app dropped the lane header.
  const inbound = sidecar.newStream({ properties: [{ path: ["xds", "listener_direction"], int: 1 }] });
  inbound.requestHeaders([...TYPICAL_REQUEST_HEADERS, ["x-lane", "canary"]], true);
  inbound.finish();
  const outboundProps = deepFreeze([{ path: ["xds", "listener_direction"], int: 2 }]);
  // Sidecar inbound with a lane and both default trace headers: a record under each key.
  const sidecarIn = root(meshlane, { role: "sidecar", lanes: ["base", "canary"] });
  // The same without the per-lane response metrics (responses by code class, durations).
  const sidecarInQuiet = root(meshlane, {
    role: "sidecar",
    lanes: ["base", "canary"],
    responseMetrics: false,
  });
  const inboundProps = deepFreeze([{ path: ["xds", "listener_direction"], int: 1 }]);
  const inboundHeaders = [
    ...TYPICAL_REQUEST_HEADERS,
    ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["x-lane", "canary"],
  ] as const;

  const ns = await sideBySide(
    {
      a: () => perRequestNs(a, { requests: n }),
      b: () => perRequestNs(b, { requests: n }),
      c: () => perRequestNs(c, { requests: n, requestHeaders: EDGE_HEADERS, properties: EDGE_PROPS }),
      d: () => perRequestNs(d, { requests: n, requestHeaders: EDGE_HEADERS, properties: EDGE_PROPS }),
      cQuiet: () =>
        perRequestNs(cQuiet, { requests: n, requestHeaders: EDGE_HEADERS, properties: EDGE_PROPS }),
      c1000: () =>
        perRequestNs(c1000, {
          requests: n,
          inFlight: 1000,
          requestHeaders: EDGE_HEADERS,
          properties: EDGE_PROPS,
        }),
      emptyOut: () => perRequestNs(sidecarEmpty, { requests: n, properties: outboundProps }),
      restore: () => perRequestNs(sidecar, { requests: n, properties: outboundProps }),
      // Without metrics before with: the host keeps every histogram sample, and the collection of
      // that garbage would otherwise fall in the case run next.
      rememberQuiet: () =>
        perRequestNs(sidecarInQuiet, {
          requests: n,
          properties: inboundProps,
          requestHeaders: inboundHeaders,
        }),
      remember: () =>
        perRequestNs(sidecarIn, { requests: n, properties: inboundProps, requestHeaders: inboundHeaders }),
    },
    rounds,
  );
  const restoredOk = (() => {
    const s = sidecar.newStream({ properties: outboundProps });
    s.requestHeaders(TYPICAL_REQUEST_HEADERS, true);
    const lane = s.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1];
    s.finish();
    return lane === "canary";
  })();
  const size = statSync(fromRoot("build", "meshlane.wasm")).size;
  const rows: Row[] = [
    ...dyeRows({ a: ns.a, b: ns.b, c: ns.c, d: ns.d }),
    dyeJobRow(ns.cQuiet, ns.c, ns.b),
    {
      name: "(c) 1,000 in flight / 1 in flight",
      value: (ns.c1000 / ns.c).toFixed(2),
      goal: "≤ 1.1",
      ok: ns.c1000 / ns.c <= 1.1,
    },
    {
      name: "release .wasm size",
      value: `${(size / 1024).toFixed(1)} KiB`,
      goal: "≤ 64 KiB",
      ok: size <= 64 * 1024,
    },
    {
      name: "sidecar outbound restore from memory / empty stock-SDK filter",
      value: `${(ns.restore / ns.emptyOut).toFixed(2)} (${ns.restore.toFixed(0)} vs ${ns.emptyOut.toFixed(0)} ns; restored: ${restoredOk})`,
      goal: "≤ 2.0",
      ok: restoredOk && ns.restore / ns.emptyOut <= 2,
    },
    {
      name: "sidecar inbound with a lane, x-request-id + traceparent (two records) / empty stock-SDK filter",
      value: `${(ns.remember / ns.emptyOut).toFixed(2)} (${ns.remember.toFixed(0)} vs ${ns.emptyOut.toFixed(0)} ns)`,
    },
    {
      name: "sidecar inbound with lane metrics (the default)",
      value: `${ns.remember.toFixed(0)} ns/request`,
    },
    {
      name: "sidecar inbound without lane metrics (responseMetrics: false)",
      value: `${ns.rememberQuiet.toFixed(0)} ns/request`,
    },
    ratioRow(
      "cost of the per-lane response metrics: sidecar inbound with lane metrics ÷ without",
      ns.remember / ns.rememberQuiet,
      LANE_METRICS_GOAL,
    ),
  ];
  return rows;
}

/** Information, no goal: the work inside each module counted (bench/work.ts), which, unlike the
 * timed ratios, is the same on every run. Run after the timed parts: it loads Binaryen. */
export async function benchCountedWork(): Promise<Row[]> {
  const read = (p: string) => readFileSync(fromRoot(...p.split("/")));
  const count = (file: string, config: string) =>
    instructionsPerRequest(read(file), config, EDGE_HEADERS, EDGE_PROPS).then((n) =>
      Math.round(n).toLocaleString("en"),
    );
  const c = await count("build/meshlane.wasm", JSON.stringify(TEN_RULES));
  const d = await count("build/fixtures/host-calls.wasm", "");
  const b = await count("build/fixtures/stock-sdk-empty.wasm", "");
  return [
    { name: "(c) meshlane edge, 10 mixed rules", value: `${c} wasm instructions/request` },
    { name: "(d) the host calls of (c), no logic", value: `${d} wasm instructions/request` },
    { name: "(b) empty filter on the stock SDK", value: `${b} wasm instructions/request` },
  ];
}

/** Linear memory after 1,000,000 requests vs after warm-up (100,000). */
export async function benchMemory(quick = false): Promise<Row[]> {
  const total = quick ? 200_000 : 1_000_000;
  const vm = WasmVm.instantiate(await load("build/meshlane.wasm"));
  const r = vm.createRoot(JSON.stringify(TEN_RULES));
  await perRequestNs(r, {
    requests: total / 10,
    warmup: 0,
    requestHeaders: EDGE_HEADERS,
    properties: EDGE_PROPS,
  });
  const warm = vm.memoryBytes();
  await perRequestNs(r, {
    requests: total - total / 10,
    warmup: 0,
    requestHeaders: EDGE_HEADERS,
    properties: EDGE_PROPS,
  });
  const after = vm.memoryBytes();
  return [
    {
      name: `linear memory after ${total.toLocaleString("en")} requests / after warm-up`,
      value: `${(after / warm).toFixed(2)} (${(after / 1024).toFixed(0)} KiB vs ${(warm / 1024).toFixed(0)} KiB)`,
      goal: "1.00 (flat)",
      ok: after === warm,
    },
  ];
}

/** The sidecar memory's hit rate: capacity 65,536, 10,000 interleaved live traces. */
export async function benchHitRate(): Promise<Row[]> {
  const mod = await load("build/meshlane.wasm");
  const r = root(mod, {
    role: "sidecar",
    lanes: ["base", "canary", "beta"],
    propagation: { capacity: 65536 },
  });
  const lanes = ["base", "canary", "beta"];
  const traces = 10_000;
  const ids = Array.from({ length: traces }, (_, i) => `trace-${i}-${(i * 2654435761) >>> 0}`);
  // Interleave: every inbound is followed, a while later, by the outbound calls of older traces.
  const order = ids.map((_, i) => i).sort((x, y) => ((x * 7919) % traces) - ((y * 7919) % traces));
  for (const i of order) {
    const s = r.newStream({ properties: [{ path: ["xds", "listener_direction"], int: 1 }] });
    s.requestHeaders(
      [
        ["x-lane", lanes[i % 3]],
        ["x-request-id", ids[i]],
      ],
      true,
    );
    s.finish();
  }
  let restored = 0;
  let wrong = 0;
  for (let k = 0; k < traces; k++) {
    const i = (k * 104729) % traces;
    const s = r.newStream({ properties: [{ path: ["xds", "listener_direction"], int: 2 }] });
    s.requestHeaders([["x-request-id", ids[i]]], true);
    const lane = s.requestHeaderPairs().find(([h]) => h === "x-lane")?.[1];
    s.finish();
    if (lane === lanes[i % 3]) restored++;
    else if (lane !== undefined) wrong++;
  }
  const rate = (restored / traces) * 100;
  return [
    {
      name: "sidecar memory hit rate (capacity 65,536, 10,000 live traces)",
      value: `${rate.toFixed(2)} % restored, ${wrong} wrong`,
      goal: "≥ 99.9 %, 0 wrong",
      ok: rate >= 99.9 && wrong === 0,
    },
  ];
}

/** The same four modules in a proxy-wasm-cpp-host runner (see refhost.ts), with the same goals. */
export async function benchFilterRefhost(runner: string, quick = false): Promise<Row[]> {
  const cases = dyeCases(TEN_RULES, EDGE_HEADERS, EDGE_PROPS);
  const quiet = { ...cases.c, pluginConfig: JSON.stringify({ ...TEN_RULES, responseMetrics: false }) };
  const ns = await refhostCosts(
    runner,
    { ...cases, cQuiet: quiet },
    // A process per run, on a shared machine: many short runs give each case quiet moments.
    quick ? 1_000 : 5_000,
    quick ? 3 : 15,
  );
  return [...dyeRows(ns), dyeJobRow(ns.cQuiet, ns.c, ns.b)];
}
