// The demo proxies' stand-in for the filter's response metrics: the contract's names and tags in the
// VM's own store, and nothing once the filter records them itself (never counted twice).
import { test } from "node:test";
import assert from "node:assert/strict";
import { codeClass, FallbackResponseMetrics } from "../../controller/src/demo/responses.js";
import { prometheusText } from "../../controller/src/host/prometheus.js";
import { filterVm } from "../support/filter.js";

test("responses are counted by lane, role, direction and status class; durations in the histogram", async () => {
  const vm = await filterVm();
  const m = new FallbackResponseMetrics(vm, "sidecar", "inbound");
  m.record("canary", 503, 12.4);
  m.record("canary", 200, 3);
  m.record("", 200, 700);
  const text = prometheusText(vm.metrics());
  assert.match(
    text,
    /^meshlane_responses_total\{lane="canary",role="sidecar",direction="inbound",response_code_class="5xx"\} 1$/m,
  );
  assert.match(
    text,
    /^meshlane_responses_total\{lane="none",role="sidecar",direction="inbound",response_code_class="2xx"\} 1$/m,
  );
  assert.match(
    text,
    /^meshlane_request_duration_milliseconds_bucket\{lane="canary",role="sidecar",direction="inbound",le="5"\} 1$/m,
  );
  assert.match(
    text,
    /^meshlane_request_duration_milliseconds_sum\{lane="canary",role="sidecar",direction="inbound"\} 15$/m,
  );
  assert.deepEqual([200, 302, 404, 599, 100, 600].map(codeClass), [
    "2xx",
    "3xx",
    "4xx",
    "5xx",
    "other",
    "other",
  ]);
});

test("once the filter defines meshlane_responses_total itself, the stand-in records nothing", async () => {
  const vm = await filterVm();
  const m = new FallbackResponseMetrics(vm, "edge", "gateway");
  // The filter records on the response before the proxy's callback runs: its definition comes first.
  const name =
    "meshlane_responses_total_lane=.=canary;.;role=.=edge;.;direction=.=gateway;.;response_code_class=.=2xx;.;";
  const id = vm.metricStore.define(0, name).id as number;
  vm.metricStore.increment(id, 1n);
  m.record("canary", 200, 1);
  m.record("other", 500, 1);
  assert.deepEqual(vm.metrics(), { [name]: { type: "counter", value: 1 } });
});
