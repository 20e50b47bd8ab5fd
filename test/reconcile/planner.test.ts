// The planner on its own (planner.ts): the state it reads is a plain object that records every member
// asked for, so the tests see that planning only reads (no sweep, no observe, nothing queued), renders
// once per state version, and leaves out Lanes being deleted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, type KubeObject } from "../../controller/src/render/index.js";
import { silentLogger } from "../../controller/src/reconcile/log.js";
import { computePlan } from "../../controller/src/reconcile/plan.js";
import { Planner } from "../../controller/src/reconcile/planner.js";
import { caseInput, caseOptions } from "../render/golden.js";

const CASE = "two-lanes";

/** A state that serves `objects` at `version`, and records which of its members were used. */
function recordingState(objects: KubeObject[]) {
  const used = new Set<string>();
  const data = {
    version: 1,
    snapshot: () => objects,
    enabledNamespaces: () => [...new Set(objects.map((o) => o.metadata.namespace ?? ""))].filter(Boolean),
  };
  const state = new Proxy(data, {
    get(target, prop, receiver) {
      used.add(String(prop));
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  return { state, data, used };
}

function planner(objects: KubeObject[]) {
  const rec = recordingState(objects);
  const durations: number[] = [];
  const p = new Planner({
    state: rec.state,
    renderOptions: caseOptions(CASE),
    renders: { observe: (s) => durations.push(s) },
    log: silentLogger,
  });
  return { p, durations, ...rec };
}

test("the planner gives render's changes for the state, rendering once per state version", () => {
  const input = caseInput(CASE);
  const { p, durations, data } = planner(input);
  assert.equal(p.current, undefined);
  const first = p.plan();
  const direct = computePlan(
    render(input, { ...caseOptions(CASE), laneVerdicts: {}, sidecarNamespaces: data.enabledNamespaces() }),
    input,
    1,
  );
  assert.ok(first.size > 0, "the case asks for writes");
  assert.deepEqual([...first.changes.keys()].sort(), [...direct.changes.keys()].sort());
  assert.equal(first.size, direct.size);
  assert.equal(p.plan(), first, "same version: the same plan");
  assert.equal(durations.length, 1, "rendered once");
  assert.equal(p.current, first);

  data.version = 2;
  const second = p.plan();
  assert.notEqual(second, first);
  assert.equal(second.version, 2);
  assert.equal(durations.length, 2, "a new version renders again");
});

test("planning only reads the state and changes none of its objects", () => {
  const input = caseInput(CASE);
  const before = structuredClone(input);
  const { p, used } = planner(input);
  p.plan();
  assert.deepEqual([...used].sort(), ["enabledNamespaces", "snapshot", "version"]);
  assert.deepEqual(input, before, "the state's objects are as they were");
});

test("a Lane being deleted is left out of the plan; the others are routed", () => {
  const input = caseInput(CASE);
  const lanes = input.filter((o) => o.kind === "Lane");
  assert.ok(lanes.length >= 2, "the case has two Lanes");
  const [gone, kept] = lanes;
  const deleting = { ...gone, metadata: { ...gone.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" } };
  const { p } = planner(input.map((o) => (o === gone ? deleting : o)));
  const plan = p.plan();
  assert.equal(plan.lanes.has(`${gone.metadata.namespace}/${gone.metadata.name}`), false);
  assert.equal(plan.lanes.has(`${kept.metadata.namespace}/${kept.metadata.name}`), true);
});
