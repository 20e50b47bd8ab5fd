import { test } from "node:test";
import assert from "node:assert/strict";
import { rolloutRules } from "../../controller/src/rollout/gateway.js";

test("rollout rules: one sticky rule per Lane with a share, percents of what earlier rules left", () => {
  const stickyBy = { cookie: "uid" };
  const rules = rolloutRules([
    { lane: "a", percent: 10, stickyBy },
    { lane: "idle", percent: 0, stickyBy },
    { lane: "b", percent: 20, stickyBy },
    { lane: "c", percent: 5 },
  ]);
  assert.deepEqual(rules, [
    { lane: "a", percent: 10, stickyBy },
    { lane: "b", percent: 22.22, stickyBy },
    { lane: "c", percent: 7.14 },
  ]);
});

test("rollout rules: shares past 100 % leave later Lanes without a rule", () => {
  assert.deepEqual(
    rolloutRules([
      { lane: "a", percent: 100 },
      { lane: "b", percent: 30 },
    ]),
    [{ lane: "a", percent: 100 }],
  );
  assert.deepEqual(rolloutRules([]), []);
});
