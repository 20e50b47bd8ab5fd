// The dye filter's cost goals, computed the same way for every host the bench measures. Absolute
// nanoseconds differ from host to host; the ratios between four modules run the same way are what
// carries over to Envoy:
//   (a) a no-op filter without any SDK: the bare cost of a request's callbacks;
//   (b) an empty filter on the stock proxy-wasm AssemblyScript SDK;
//   (c) meshlane at the edge with 10 mixed rules;
//   (d) the host calls (c) makes for a request, with no logic around them: what any filter doing
//       this job pays at least.

/** One printed line of the bench: a measure, and the goal it is held to, if any. */
export interface Row {
  name: string;
  value: string;
  goal?: string;
  ok?: boolean;
}

/** Mean ns per request of the four modules, in one host. */
export interface DyeCosts {
  a: number;
  b: number;
  c: number;
  d: number;
}

/** meshlane's own work may add at most a quarter to the host calls it cannot avoid (c ÷ d). */
export const OWN_WORK_GOAL = 1.25;
/** meshlane at the edge costs no more than an empty filter on the stock SDK (c ÷ b). */
export const STOCK_SDK_GOAL = 1;

/** The per-lane response metrics add at most 15 % to a sidecar's inbound request (with ÷ without). */
export const LANE_METRICS_GOAL = 1.15;

/** A ratio row held to "≤ goal"; met or missed as printed (two decimals). */
export function ratioRow(name: string, ratio: number, goal: number): Row {
  const shown = ratio.toFixed(2);
  return { name, value: shown, goal: `≤ ${goal}`, ok: Number(shown) <= goal };
}

/** The four measures, the two goals, and the other ratios as information. */
export function dyeRows(ns: DyeCosts): Row[] {
  const perRequest = (v: number) => `${v.toFixed(0)} ns/request`;
  return [
    { name: "(a) no-op filter, no SDK", value: perRequest(ns.a) },
    { name: "(b) empty filter on the stock SDK", value: perRequest(ns.b) },
    { name: "(c) meshlane edge, 10 mixed rules", value: perRequest(ns.c) },
    { name: "(d) the host calls of (c), no logic", value: perRequest(ns.d) },
    ratioRow(
      "meshlane's own work over the unavoidable host calls (edge, 10 rules ÷ same host calls without logic: c/d)",
      ns.c / ns.d,
      OWN_WORK_GOAL,
    ),
    ratioRow("edge, 10 rules ÷ an empty filter on the stock SDK (c/b)", ns.c / ns.b, STOCK_SDK_GOAL),
    {
      name: "edge, 10 rules ÷ no-op (c/a); the host calls alone ÷ no-op (d/a)",
      value: `${(ns.c / ns.a).toFixed(2)}; ${(ns.d / ns.a).toFixed(2)}`,
    },
    {
      // What each module adds on top of what it cannot avoid: meshlane's logic beyond its host
      // calls, against the stock SDK's dispatch beyond the bare callbacks.
      name: "meshlane's own work ÷ the stock SDK's own work ((c − d) / (b − a))",
      value: ((ns.c - ns.d) / (ns.b - ns.a)).toFixed(2),
    },
    ownWorkBudgetRow(ns),
  ];
}

/** Information, no goal: meshlane's own work (c − d) beside what each goal leaves it. c/b ≤ 1
 * leaves b − d, which depends on how a host prices host calls against wasm instructions: the stock
 * SDK's empty filter makes no host calls and runs many instructions, meshlane the reverse. Where
 * host calls are dear and instructions cheap, b − d shrinks below what c/d ≤ 1.25 allows. */
export function ownWorkBudgetRow(ns: DyeCosts): Row {
  const ns0 = (v: number) => `${v.toFixed(0)} ns`;
  return {
    name: "meshlane's own work per request (c − d), and what each goal allows it",
    value:
      `${ns0(ns.c - ns.d)}; c/d ≤ ${OWN_WORK_GOAL} allows ${ns0(ns.d * (OWN_WORK_GOAL - 1))}, ` +
      `c/b ≤ ${STOCK_SDK_GOAL} allows ${ns0(ns.b - ns.d)}`,
  };
}

/** Information, no goal: the edge's dye job alone (its response metrics off) against the empty
 * stock-SDK filter, beside (c/b). The response metrics add five host calls (two clock reads,
 * `:status`, a counter and a histogram) that no filter doing that job avoids. */
export function dyeJobRow(cQuiet: number, c: number, b: number): Row {
  return {
    name: "edge, 10 rules, without response metrics (edge.responseMetrics: false) ÷ an empty filter on the stock SDK",
    value: `${(cQuiet / b).toFixed(2)} (${cQuiet.toFixed(0)} vs ${b.toFixed(0)} ns; with them: ${(c / b).toFixed(2)})`,
  };
}
