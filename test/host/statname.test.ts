// Reading raw metric names in Istio's tag form (controller/src/host/statname.ts): the filter's tags-first
// names and the name-first names of filters built before, so the demo still reads an older .wasm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { statTags } from "../../controller/src/host/statname.js";

const TAGS = { lane: "canary", role: "edge", direction: "gateway", source: "rule" };

test("statTags reads tags first (today's filter) and name first (older filters), with or without wasmcustom.", () => {
  const first = "lane=.=canary;.;role=.=edge;.;direction=.=gateway;.;source=.=rule;.;meshlane_requests_total";
  const old = "meshlane_requests_total_lane=.=canary;.;role=.=edge;.;direction=.=gateway;.;source=.=rule;.;";
  assert.deepEqual(statTags(first, "meshlane_requests_total"), TAGS);
  assert.deepEqual(statTags(old, "meshlane_requests_total"), TAGS);
  assert.deepEqual(statTags(`wasmcustom.${first}`, "meshlane_requests_total"), TAGS);
  assert.deepEqual(statTags(`wasmcustom.${old}`, "meshlane_requests_total"), TAGS);
  assert.deepEqual(statTags("meshlane_requests_total", "meshlane_requests_total"), {});
  assert.deepEqual(statTags("result=.=hit;.;meshlane_trace_lookups_total", "meshlane_trace_lookups_total"), {
    result: "hit",
  });
});

test("statTags: another metric, a name that only shares a prefix or suffix, or a broken tag list is null", () => {
  const name = "meshlane_responses_total";
  assert.equal(statTags("lane=.=a;.;meshlane_requests_total", name), null);
  assert.equal(statTags("lane=.=a;.;xmeshlane_responses_total", name), null);
  assert.equal(statTags("meshlane_responses_totalx_lane=.=a;.;", name), null);
  assert.equal(statTags("lane=.=a;.;junk;.;meshlane_responses_total", name), null);
  assert.equal(statTags("meshlane_responses_total_lane=.=a", name), null);
  assert.equal(statTags("meshlane_responses_total_", name), null);
});
