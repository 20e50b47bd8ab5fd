// The rollout gauges of the controller's /metrics: meshlane_rollout_step and meshlane_rollout_percent,
// one series per Lane rolling out, read from the Lanes' status.rollout at scrape time; a Lane whose
// rollout went away loses its series.
import { test } from "node:test";
import assert from "node:assert/strict";
import { laneControllerMetrics, rolloutSamples } from "../../controller/src/reconcile/metrics.js";

function lane(namespace: string, name: string, spec: object, status?: object) {
  return { metadata: { namespace, name }, spec, ...(status ? { status } : {}) };
}

test("rollout gauges: a series per Lane with spec.rollout and status.rollout, gone with the Lane", async () => {
  let lanes = [
    lane(
      "shop",
      "canary",
      { rollout: { steps: [{ percent: 5 }, { percent: 12.5 }] } },
      {
        rollout: { phase: "Progressing", step: 1, percent: 12.5 },
      },
    ),
    lane("shop", "feature-x", { dye: [] }, { conditions: [] }),
    lane("pay", "next", { rollout: { steps: [{ percent: 1 }] } }),
  ];
  const m = laneControllerMetrics({
    queueDepth: () => 0,
    inFlight: () => 0,
    isLeader: () => true,
    pendingChanges: () => 0,
    watches: () => [],
    failedWrites: () => [],
    rollouts: () => rolloutSamples(lanes),
  });
  const text = await m.registry.metrics();
  const lines = text.split("\n");
  for (const l of [
    "# TYPE meshlane_rollout_step gauge",
    'meshlane_rollout_step{namespace="shop",lane="canary"} 1',
    "# TYPE meshlane_rollout_percent gauge",
    'meshlane_rollout_percent{namespace="shop",lane="canary"} 12.5',
  ]) {
    assert.ok(lines.includes(l), `missing line: ${l}\n${text}`);
  }
  // Without spec.rollout, or before the controller wrote status.rollout: no series.
  assert.doesNotMatch(text, /lane="feature-x"|lane="next"/);
  lanes = [];
  assert.doesNotMatch(await m.registry.metrics(), /^meshlane_rollout_(step|percent)\{/m);
});
