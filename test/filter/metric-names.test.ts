// The names of every metric the filter defines, as Prometheus gets them from an Istio proxy: Envoy cuts
// each extracted `tag=.=value;.;` out of the stat name and nothing else, so the filter must write the
// tags first for what is left to be exactly the documented name (docs/contracts.md, "Metrics").
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, type WasmVm } from "../../controller/src/host/index.js";
import { prometheusText, splitTags } from "../../controller/src/host/prometheus.js";
import { configured, exchange, inbound, outbound } from "../support/filter.js";

const DOCUMENTED = [
  "meshlane_request_duration_milliseconds",
  "meshlane_requests_total",
  "meshlane_responses_total",
  "meshlane_trace_conflicts_total",
  "meshlane_trace_lookups_total",
];

/** VMs that between them define every metric: an edge (requests, responses, durations), a sidecar
 * with a trace key seen with two lanes (conflicts), a waypoint (lookups). */
async function everyMetric(): Promise<WasmVm[]> {
  const clock = new ManualClock();
  const edge = await configured(
    {
      role: "edge",
      lanes: ["base", "canary"],
      defaultLane: "base",
      rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
    },
    { clock: clock.now },
  );
  exchange(edge.root, [["agent", "pc"]]);
  exchange(edge.root, []);
  const sidecar = await configured({ role: "sidecar", lanes: ["base", "canary"] }, { clock: clock.now });
  exchange(
    sidecar.root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "shared"],
    ],
    [inbound],
  );
  exchange(
    sidecar.root,
    [
      ["x-lane", "base"],
      ["x-request-id", "shared"],
    ],
    [inbound],
  );
  exchange(sidecar.root, [["x-request-id", "shared"]], [outbound]);
  const waypoint = await configured({ role: "waypoint", lanes: ["base", "canary"] }, { clock: clock.now });
  exchange(waypoint.root, [
    ["x-lane", "canary"],
    ["x-request-id", "w"],
  ]);
  exchange(waypoint.root, [["x-request-id", "w"]]);
  return [edge.vm, sidecar.vm, waypoint.vm];
}

test("every metric is defined tags first, and Istio's tag extraction leaves exactly its documented name", async () => {
  const vms = await everyMetric();
  const families = new Set<string>();
  for (const vm of vms) {
    for (const raw of Object.keys(vm.metrics())) {
      const { name, labels } = splitTags(raw);
      assert.ok(DOCUMENTED.includes(name), `${raw} → ${name}`);
      assert.match(raw, /^(?:[a-z_]+=\.=[a-z0-9-]+;\.;)+meshlane_[a-z_]+$/, raw);
      assert.ok(labels.length > 0, raw);
      families.add(name);
    }
  }
  assert.deepEqual([...families].sort(), DOCUMENTED);
  // And so at /stats/prometheus: no name with a trailing `_`, no tag form left over.
  for (const vm of vms) {
    const text = prometheusText(vm.metrics());
    for (const line of text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"))) {
      assert.match(line, /^meshlane_[a-z_]*[a-z]\{[^}]+\} \d+$/, line);
      assert.ok(
        DOCUMENTED.some((n) => line.startsWith(`${n}{`) || line.startsWith(`${n}_`)),
        line,
      );
    }
  }
  assert.match(
    prometheusText(vms[1].metrics()),
    /^meshlane_trace_conflicts_total\{direction="inbound"\} 1$/m,
  );
  assert.match(prometheusText(vms[2].metrics()), /^meshlane_trace_lookups_total\{result="hit"\} 1$/m);
});
