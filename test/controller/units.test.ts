// The controller's pure pieces: the diff on owned fields, the writes it turns into, the order of
// writes, a Lane's status, the filter probe, and the CLI's option parsing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { defaultWasmPath } from "../../controller/src/paths.js";
import {
  laneProbes,
  optionsFromConfig,
  render,
  ORIGINAL_SPEC_ANNOTATION,
  APPLIED_HASH_ANNOTATION,
  type KubeObject,
} from "../../controller/src/render/index.js";
import { applyConfiguration, userPatch } from "../../controller/src/reconcile/apply.js";
import { writePhase } from "../../controller/src/reconcile/controller.js";
import { computePlan, ownedEqual, type Change } from "../../controller/src/reconcile/plan.js";
import { FilterProbe } from "../../controller/src/reconcile/probe.js";
import { desiredStatus, keepTransitionTimes, statusEqual } from "../../controller/src/reconcile/status.js";
import { parseAddr, parseDuration } from "../../controller/src/cli/controller.js";
import { laneApp, laneObject, type Json } from "./helpers.js";

const OPTIONS = optionsFromConfig({}, "c".repeat(64));

const vs = (meta: Json, spec: Json): KubeObject => ({
  apiVersion: "networking.istio.io/v1",
  kind: "VirtualService",
  metadata: { name: "v", namespace: "n", resourceVersion: "7", ...meta },
  spec,
});

test("owned fields only: others' labels and annotations never make a difference", () => {
  const ours = vs({ labels: { "app.kubernetes.io/managed-by": "meshlane" } }, { hosts: ["a"] });
  const edited = vs(
    { labels: { "app.kubernetes.io/managed-by": "meshlane", team: "x" }, annotations: { a: "b" } },
    {
      hosts: ["a"],
    },
  );
  assert.ok(ownedEqual(edited, ours));
  assert.ok(!ownedEqual(vs({ labels: {} }, { hosts: ["a"] }), ours), "the managed-by label is ours");
  assert.ok(!ownedEqual(vs({ labels: ours.metadata.labels }, { hosts: ["b"] }), ours), "the spec is ours");
  const user = vs({ annotations: { [ORIGINAL_SPEC_ANNOTATION]: "{}" } }, { hosts: ["a"] });
  assert.ok(!ownedEqual(vs({}, { hosts: ["a"] }), user), "our annotation on a user object is ours");
});

test("a user object's patch touches spec and our annotation only, guarded by its resourceVersion", () => {
  const current = vs(
    { annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
    { hosts: ["a"] },
  );
  const desired = vs(
    { annotations: { ...current.metadata.annotations, [ORIGINAL_SPEC_ANNOTATION]: '{"hosts":["a"]}' } },
    { hosts: ["a"], http: [] },
  );
  assert.deepEqual(userPatch(current, desired), [
    { op: "replace", path: "/metadata/resourceVersion", value: "7" },
    { op: "add", path: "/spec", value: { hosts: ["a"], http: [] } },
    { op: "add", path: "/metadata/annotations/meshlane.io~1original-spec", value: '{"hosts":["a"]}' },
  ]);
  // Restore: the annotation goes; an annotation map left empty goes with it.
  const merged = vs(
    { annotations: { [ORIGINAL_SPEC_ANNOTATION]: '{"hosts":["a"]}' } },
    { hosts: ["a"], http: [] },
  );
  const restored: KubeObject = {
    ...merged,
    metadata: { ...merged.metadata, annotations: undefined },
    spec: { hosts: ["a"] },
  };
  delete restored.metadata.annotations;
  assert.deepEqual(userPatch(merged, restored).slice(1), [
    { op: "add", path: "/spec", value: { hosts: ["a"] } },
    { op: "remove", path: "/metadata/annotations" },
  ]);
  // Both of our annotations: added into the user's map, and removed from it leaving theirs.
  const hashed = vs(
    {
      annotations: {
        team: "a",
        [ORIGINAL_SPEC_ANNOTATION]: '{"hosts":["a"]}',
        [APPLIED_HASH_ANNOTATION]: "sha256:1",
      },
    },
    { hosts: ["a"], http: [] },
  );
  assert.deepEqual(userPatch(current, hashed).slice(2), [
    { op: "add", path: "/metadata/annotations/meshlane.io~1original-spec", value: '{"hosts":["a"]}' },
    { op: "add", path: "/metadata/annotations/meshlane.io~1applied-hash", value: "sha256:1" },
  ]);
  const back = vs({ annotations: { team: "a" } }, { hosts: ["a"] });
  assert.deepEqual(userPatch(hashed, back).slice(2), [
    { op: "remove", path: "/metadata/annotations/meshlane.io~1original-spec" },
    { op: "remove", path: "/metadata/annotations/meshlane.io~1applied-hash" },
  ]);
  const rehashed = vs(
    { annotations: { ...hashed.metadata.annotations, [APPLIED_HASH_ANNOTATION]: "sha256:2" } },
    hashed.spec,
  );
  assert.ok(!ownedEqual(hashed, rehashed), "the applied hash is ours");
  // Our own objects: only the label and the spec are applied.
  assert.deepEqual(applyConfiguration(desired, "networking.istio.io/v1"), {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "v", namespace: "n", labels: { "app.kubernetes.io/managed-by": "meshlane" } },
    spec: desired.spec,
  });
});

test("the plan is empty when render's output is what the cluster holds", () => {
  const input = [...laneApp("n", "web"), laneObject("n", "canary")] as KubeObject[];
  const first = computePlan(render(input, OPTIONS), input, 1);
  assert.equal(first.size, 4, "VirtualService, DestinationRule, two EnvoyFilters");
  assert.deepEqual([...first.changes.keys()].sort(), ["istio-system", "n"]);
  const applied = [...input, ...render(input, OPTIONS).apply];
  const second = computePlan(render(applied, OPTIONS), applied, 2);
  assert.equal(second.size, 0);
  assert.deepEqual(second.lanes.get("n/canary")?.services, [{ service: "web", target: "canary" }]);
});

test("make-before-break: subsets are added before routes, removed after", () => {
  const dr = (subsets: string[]): KubeObject => ({
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: "d", namespace: "n" },
    spec: { host: "d", subsets: subsets.map((name) => ({ name })) },
  });
  const change = (op: Change["op"], kind: string, current?: KubeObject, desired?: KubeObject): Change => ({
    op,
    ref: { apiVersion: "networking.istio.io/v1", kind, namespace: "n", name: "d" },
    what: `${kind} n/d`,
    current,
    desired,
  });
  assert.equal(writePhase(change("create", "DestinationRule", undefined, dr(["base", "canary"]))), 1);
  assert.equal(writePhase(change("merge", "DestinationRule", dr(["v1"]), dr(["v1", "base", "canary"]))), 1);
  assert.equal(writePhase(change("update", "VirtualService")), 2);
  assert.equal(writePhase(change("update", "EnvoyFilter")), 2);
  assert.equal(writePhase(change("update", "DestinationRule", dr(["base", "canary"]), dr(["base"]))), 3);
  assert.equal(writePhase(change("delete", "DestinationRule", dr(["base"]))), 3);
});

test("Lane status: services, conditions with reasons, transition times kept while nothing changes", () => {
  const lane = {
    ...laneObject("n", "canary"),
    metadata: { name: "canary", namespace: "n", generation: 3 },
  } as KubeObject;
  const routed = {
    namespace: "n",
    name: "canary",
    services: [{ service: "web", target: "canary", readyEndpoints: 2 }],
  };
  const ok = desiredStatus(lane, routed, { trouble: [] }, "2030-01-01T00:00:00Z");
  assert.equal(ok.observedGeneration, 3);
  assert.equal(ok.serviceCount, 1);
  assert.deepEqual(
    ok.conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ["Ready", "True", "Routed"],
      ["Degraded", "False", "AsExpected"],
    ],
  );
  const later = desiredStatus(lane, routed, { trouble: [] }, "2031-01-01T00:00:00Z");
  assert.ok(statusEqual(ok, later), "only the clock moved");
  assert.equal(keepTransitionTimes(later, ok).conditions[0].lastTransitionTime, "2030-01-01T00:00:00Z");
  const bad = desiredStatus(
    lane,
    undefined,
    { invalid: "dye rules rejected by the filter: x", trouble: [] },
    "t",
  );
  assert.deepEqual(
    bad.conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ["Ready", "False", "RejectedByFilter"],
      ["Degraded", "True", "RejectedByFilter"],
    ],
  );
  assert.equal(bad.serviceCount, 0);
  const merge = desiredStatus(
    lane,
    routed,
    { trouble: [{ reason: "MergeFailed", message: "VirtualService n/x: no" }] },
    "t",
  );
  assert.equal(merge.conditions[0].status, "True");
  assert.equal(merge.conditions[1].reason, "MergeFailed");
});

test("the filter probe refuses what the filter's configure refuses, and caches verdicts", async () => {
  const probe = await FilterProbe.load(readFileSync(defaultWasmPath));
  const lanes = [
    laneObject("n", "ok"),
    laneObject("n", "bad", { dye: [{ when: { path: { regex: "a{2,1}" } } }] }),
  ] as KubeObject[];
  const verdicts = probe.verdicts(laneProbes(lanes, OPTIONS));
  assert.deepEqual(Object.keys(verdicts), ["n/bad"]);
  assert.match(verdicts["n/bad"], /rules\[0\]\.when\.path\.regex: .*max below min/);
  assert.deepEqual(probe.verdicts(laneProbes(lanes, OPTIONS)), verdicts);
  // Many probes on one VM stay correct (the VM is replaced now and then).
  for (let i = 0; i < 600; i++) {
    const l = laneObject("n", `l${i}`, {
      dye: [{ when: { headers: { "x-n": { exact: String(i) } } } }],
    }) as KubeObject;
    assert.deepEqual(probe.verdicts(laneProbes([l], OPTIONS)), {});
  }
});

test("CLI durations and addresses", () => {
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("30s"), 30_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("250"), 250);
  assert.throws(() => parseDuration("soon"), /not a duration/);
  assert.deepEqual(parseAddr(":8080"), { port: 8080 });
  assert.deepEqual(parseAddr("127.0.0.1:9000"), { host: "127.0.0.1", port: 9000 });
  assert.deepEqual(parseAddr("[::1]:9000"), { host: "::1", port: 9000 });
  assert.throws(() => parseAddr("x:y"), /not an address/);
});
