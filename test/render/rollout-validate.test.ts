// A Lane's spec.rollout, checked two ways that must agree: render (validateLane, through render()) and
// the CRD schema (manifests/crd, with its CEL rules). Each bad rollout is refused with its field path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, validateLane, type KubeObject } from "../../controller/src/render/index.js";
import { crdProblems } from "./schemas.js";
import { TEST_OPTIONS } from "./golden.js";

function lane(rollout: unknown, name = "canary"): KubeObject {
  return {
    apiVersion: "meshlane.io/v1alpha1",
    kind: "Lane",
    metadata: { name, namespace: "t" },
    spec: { dye: [{ when: { headers: { "x-tester": { present: true } } } }], rollout },
  };
}

const GOOD = {
  stickyBy: { cookie: "session" },
  steps: [
    { percent: 1, pause: "5m" },
    { percent: 12.5, pause: "1h30m" },
    { percent: 12.5 },
    { percent: 100 },
  ],
  analysis: {
    interval: "30s",
    failureLimit: 2,
    minRequests: 50,
    progressDeadline: "15m",
    metrics: [
      { name: "request-success-rate", thresholdRange: { min: 99 } },
      { name: "request-duration", thresholdRange: { max: 500 }, maxIncreaseOverBase: 50 },
      { name: "errors", thresholdRange: { min: 0, max: 1 }, query: "sum(rate(x[{{interval}}]))" },
    ],
  },
  promotion: "copy",
};

function withSteps(steps: unknown): unknown {
  return { steps };
}
function withMetric(m: unknown): unknown {
  return { steps: [{ percent: 10 }], analysis: { metrics: [m] } };
}

/** Bad rollouts, the error render gives, and whether the CRD schema sees it too. */
const BAD: [unknown, RegExp, boolean][] = [
  [
    withSteps([{ percent: 10 }, { percent: 12.345 }]),
    /^spec\.rollout\.steps\[1\]\.percent: expected 0–100 with at most two decimals/,
    true,
  ],
  [withSteps([{ percent: 101 }]), /^spec\.rollout\.steps\[0\]\.percent: expected 0–100/, true],
  [withSteps([{ percent: -1 }]), /^spec\.rollout\.steps\[0\]\.percent: expected 0–100/, true],
  [withSteps([{ percent: "5" }]), /^spec\.rollout\.steps\[0\]\.percent: expected 0–100/, true],
  [withSteps([{ pause: "5m" }]), /^spec\.rollout\.steps\[0\]\.percent: required/, true],
  [
    withSteps([{ percent: 50 }, { percent: 20 }]),
    /^spec\.rollout\.steps\[1\]\.percent: steps must not decrease \(previous step: 50\)/,
    // kube-apiserver 1.28 refuses the CRD with a CEL rule comparing steps (its cost estimate exceeds the
    // budget by over 100x), so only render and the controller see this one.
    false,
  ],
  [withSteps([]), /^spec\.rollout\.steps: needs at least one step/, true],
  [{}, /^spec\.rollout\.steps: required/, true],
  [
    withSteps([{ percent: 5, pause: "5 minutes" }]),
    /^spec\.rollout\.steps\[0\]\.pause: expected a duration/,
    true,
  ],
  [withSteps([{ percent: 5, pause: "5" }]), /^spec\.rollout\.steps\[0\]\.pause: expected a duration/, true],
  [withSteps([{ percent: 5, wait: "5m" }]), /^spec\.rollout\.steps\[0\]\.wait: unknown field/, true],
  [
    withMetric({ name: "latency-p50", thresholdRange: { max: 1 } }),
    /^spec\.rollout\.analysis\.metrics\[0\]\.name: unknown metric without query/,
    true,
  ],
  [
    withMetric({ name: "request-duration", thresholdRange: { min: 500, max: 100 } }),
    /^spec\.rollout\.analysis\.metrics\[0\]\.thresholdRange: min \(500\) is greater than max \(100\)/,
    true,
  ],
  [
    withMetric({ name: "request-duration", thresholdRange: {} }),
    /^spec\.rollout\.analysis\.metrics\[0\]\.thresholdRange: needs min, max or both/,
    true,
  ],
  [
    withMetric({ name: "request-duration" }),
    /^spec\.rollout\.analysis\.metrics\[0\]\.thresholdRange: required/,
    true,
  ],
  [
    withMetric({ name: "request-duration", thresholdRange: { max: 1 }, maxIncreaseOverBase: -1 }),
    /^spec\.rollout\.analysis\.metrics\[0\]\.maxIncreaseOverBase: must not be negative/,
    true,
  ],
  [
    { steps: [{ percent: 1 }], analysis: { interval: "soon", metrics: [] } },
    /^spec\.rollout\.analysis\.metrics: needs at least one metric/,
    true,
  ],
  [
    {
      steps: [{ percent: 1 }],
      analysis: { interval: "soon", metrics: [{ name: "request-duration", thresholdRange: { max: 1 } }] },
    },
    /^spec\.rollout\.analysis\.interval: expected a duration like 30s, 5m or 1h30m, got "soon"/,
    true,
  ],
  [
    {
      steps: [{ percent: 1 }],
      analysis: {
        progressDeadline: "0s",
        metrics: [{ name: "request-duration", thresholdRange: { max: 1 } }],
      },
    },
    /^spec\.rollout\.analysis\.progressDeadline: must be longer than 0/,
    false, // the pattern accepts 0s; only render checks the value
  ],
  [
    {
      steps: [{ percent: 1 }],
      analysis: { failureLimit: 0, metrics: [{ name: "request-duration", thresholdRange: { max: 1 } }] },
    },
    /^spec\.rollout\.analysis\.failureLimit: expected an integer of at least 1/,
    true,
  ],
  [
    {
      steps: [{ percent: 1 }],
      analysis: {
        metrics: [
          { name: "request-duration", thresholdRange: { max: 1 } },
          { name: "request-duration", thresholdRange: { max: 2 } },
        ],
      },
    },
    /^spec\.rollout\.analysis\.metrics\[1\]\.name: duplicate metric "request-duration"/,
    false, // list uniqueness by name would need a map list; render catches it
  ],
  [
    { steps: [{ percent: 1 }], promotion: "auto" },
    /^spec\.rollout\.promotion: expected one of manual\|copy/,
    true,
  ],
  [
    { steps: [{ percent: 1 }], stickyBy: { header: "x", cookie: "y" } },
    /^spec\.rollout\.stickyBy: expected exactly one of header\|cookie\|jwtClaim\|sourceIp/,
    true,
  ],
  [{ steps: [{ percent: 1 }], canary: true }, /^spec\.rollout\.canary: unknown field/, true],
  ["fast", /^spec\.rollout: expected a rollout object, got a string/, true],
];

test("a good rollout is accepted by render and the CRD, with defaults applied", () => {
  const v = validateLane(lane(GOOD));
  assert.ok("spec" in v, JSON.stringify(v));
  assert.deepEqual(v.spec.rollout, GOOD);
  assert.deepEqual(crdProblems(lane(GOOD)), []);
  const minimal = validateLane(
    lane({ steps: [{ percent: 5 }], analysis: { metrics: [GOOD.analysis.metrics[0]] } }),
  );
  assert.ok("spec" in minimal);
  assert.deepEqual(minimal.spec.rollout, {
    steps: [{ percent: 5 }],
    promotion: "manual",
    analysis: {
      interval: "1m",
      failureLimit: 3,
      minRequests: 10,
      progressDeadline: "10m",
      metrics: [GOOD.analysis.metrics[0]],
    },
  });
  // A Lane with a rollout renders; without status.rollout it routes no share yet, only its dye rules.
  const result = render([lane(GOOD)], TEST_OPTIONS);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(
    result.lanes.map((l) => l.name),
    ["canary"],
  );
});

test("a bad rollout is refused by render with the field path, and by the CRD where it can see it", () => {
  for (const [rollout, re, crdSees] of BAD) {
    const v = validateLane(lane(rollout));
    assert.ok("error" in v && re.test(v.error), `${JSON.stringify(rollout)}: ${JSON.stringify(v)}`);
    const result = render([lane(rollout)], TEST_OPTIONS);
    assert.equal(result.errors.length, 1, JSON.stringify(rollout));
    assert.match(result.errors[0].message, re);
    assert.deepEqual(result.lanes, [], "nothing is rendered for the refused Lane");
    const problems = crdProblems(lane(rollout));
    if (crdSees) assert.notDeepEqual(problems, [], `CRD accepted ${JSON.stringify(rollout)}`);
    else assert.deepEqual(problems, [], `the CRD now sees ${JSON.stringify(rollout)}: mark it`);
  }
});

test("the rollout's CEL rules fire with their messages", () => {
  const samples: [unknown, string][] = [
    [withSteps([{ percent: 1.234 }]), "percent: at most two decimals"],
    [withMetric({ name: "x", thresholdRange: { max: 1 } }), "unknown metric without query"],
    [withMetric({ name: "request-duration", thresholdRange: { min: 2, max: 1 } }), "min is greater than max"],
  ];
  for (const [r, text] of samples) {
    assert.ok(
      crdProblems(lane(r)).some((p) => p.includes(text)),
      `${text}: ${JSON.stringify(crdProblems(lane(r)))}`,
    );
  }
});

test("status.rollout as the engine writes it passes the CRD schema", () => {
  const obj = {
    ...lane(GOOD),
    status: {
      rollout: {
        phase: "Progressing",
        step: 1,
        percent: 12.5,
        message: "step 2/4",
        checks: [
          {
            metric: "request-success-rate",
            verdict: "pass",
            value: 99.5,
            requests: 120,
            at: "2026-01-01T00:00:00.000Z",
          },
          {
            metric: "request-duration",
            service: "cart",
            verdict: "none",
            reason: "no data",
            at: "2026-01-01T00:00:00.000Z",
          },
        ],
        stepStartedAt: "2026-01-01T00:00:00.000Z",
        failures: 0,
        lastRound: "none",
        pausedBy: "user",
        promotion: { state: "Copying" },
      },
    },
  };
  assert.deepEqual(crdProblems(obj), []);
  assert.notDeepEqual(crdProblems({ ...obj, status: { rollout: { phase: "Canarying" } } }), []);
});

test("a rollout's mistakes are reported together with the rest of the Lane's", () => {
  const bad = lane({
    steps: [{ percent: 101 }],
    analysis: { interval: "soon", metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }] },
    promotion: "later",
  });
  const v = validateLane({ ...bad, spec: { ...bad.spec, dye: [{ percent: 200 }] } });
  assert.ok("error" in v);
  assert.deepEqual(
    v.error.split("; ").map((p) => p.slice(0, p.indexOf(":"))),
    [
      "spec.dye[0].percent",
      "spec.rollout.steps[0].percent",
      "spec.rollout.analysis.interval",
      "spec.rollout.promotion",
    ],
    v.error,
  );
});
