// The rollout step engine as a table of scenarios: each feeds a sequence of (time, input) to step(),
// carrying the returned status into the next call as the controller will (through status.rollout), and
// checks phase, step, percent and events after each call. Also the shares helper for several Lanes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  judge,
  step,
  type Observation,
  type Phase,
  type RolloutSpec,
  type RolloutStatus,
  type StepInput,
} from "../../controller/src/rollout/engine.js";
import { stickyShares } from "../../controller/src/rollout/shares.js";
import { parseDuration } from "../../controller/src/rollout/duration.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

const ANALYSIS = {
  interval: "1m",
  failureLimit: 2,
  minRequests: 10,
  progressDeadline: "5m",
  metrics: [
    { name: "request-success-rate", thresholdRange: { min: 99 } },
    { name: "request-duration", thresholdRange: { max: 500 } },
  ],
};

/** 10 % for 5m, 50 % for 5m, 100 % until resumed. */
const SPEC: RolloutSpec = {
  steps: [{ percent: 10, pause: "5m" }, { percent: 50, pause: "5m" }, { percent: 100 }],
  analysis: ANALYSIS,
  promotion: "manual",
};

const PASS: Observation[] = [
  { metric: "request-success-rate", verdict: "pass", value: 99.9, requests: 100 },
  { metric: "request-duration", verdict: "pass", value: 120, requests: 100 },
  { metric: "request-success-rate", service: "cart", verdict: "pass", value: 100, requests: 40 },
];
const FAIL: Observation[] = [
  { metric: "request-success-rate", verdict: "fail", value: 80, requests: 100 },
  { metric: "request-duration", verdict: "pass", value: 120, requests: 100 },
];
const FAIL_IN_ONE_SERVICE: Observation[] = [
  ...PASS.slice(0, 2),
  { metric: "request-duration", service: "cart", verdict: "fail", value: 900, requests: 40 },
];
/** Ways of having no verdict: said so, NaN, too few requests, a metric missing, nothing at all. */
const NO_VERDICTS: Observation[][] = [
  [{ metric: "request-success-rate", verdict: "none", reason: "prometheus: connection refused" }, PASS[1]],
  [{ metric: "request-success-rate", verdict: "pass", value: NaN, requests: 100 }, PASS[1]],
  [{ metric: "request-success-rate", verdict: "pass", value: 100, requests: 3 }, PASS[1]],
  [PASS[0]],
  [],
];

interface Expect {
  phase: Phase;
  step?: number;
  percent: number;
  events?: string[];
  message?: RegExp;
}
type Scenario = { name: string; spec?: RolloutSpec; calls: [number, StepInput, Expect][] };

const SCENARIOS: Scenario[] = [
  {
    name: "Pending → Progressing → … → Succeeded (manual promotion)",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10, events: ["Started", "Step"] }],
      [1, { rounds: [PASS] }, { phase: "Progressing", step: 0, percent: 10, events: [] }],
      [4, { rounds: [PASS, PASS] }, { phase: "Progressing", step: 0, percent: 10, events: [] }],
      [5, { rounds: [PASS] }, { phase: "Progressing", step: 1, percent: 50, events: ["Step"] }],
      [
        10,
        { rounds: [PASS] },
        { phase: "Paused", step: 2, percent: 100, events: ["Step"], message: /resume/ },
      ],
      [60, { rounds: [PASS] }, { phase: "Paused", step: 2, percent: 100, events: [] }],
      [
        61,
        { command: "resume" },
        {
          phase: "Succeeded",
          step: 2,
          percent: 100,
          events: ["Resumed", "Succeeded"],
          message: /update base/,
        },
      ],
      [62, { rounds: [FAIL, FAIL, FAIL] }, { phase: "Succeeded", percent: 100, events: [] }],
    ],
  },
  {
    name: "a due step waits for a passing round before it advances",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [5, {}, { phase: "Progressing", step: 0, percent: 10, events: [] }],
      [6, { rounds: [PASS] }, { phase: "Progressing", step: 1, percent: 50 }],
    ],
  },
  {
    name: "pause and resume: the step's pause counts again from the resume",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [2, { command: "pause" }, { phase: "Paused", step: 0, percent: 10, events: ["Paused"] }],
      [30, { rounds: [PASS] }, { phase: "Paused", step: 0, percent: 10, events: [] }],
      [31, { command: "resume" }, { phase: "Progressing", step: 0, percent: 10, events: ["Resumed"] }],
      [35, { rounds: [PASS] }, { phase: "Progressing", step: 0, percent: 10, events: [] }],
      [36, { rounds: [PASS] }, { phase: "Progressing", step: 1, percent: 50, events: ["Step"] }],
      [37, { command: "resume" }, { phase: "Progressing", step: 1, percent: 50, events: [] }],
    ],
  },
  {
    name: "failureLimit consecutive failed rounds roll back to 0 at once; a pass in between resets the count",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [5, { rounds: [PASS] }, { phase: "Progressing", step: 1, percent: 50 }],
      [6, { rounds: [FAIL, PASS, FAIL] }, { phase: "Progressing", step: 1, percent: 50, events: [] }],
      [
        7,
        { rounds: [FAIL_IN_ONE_SERVICE] },
        { phase: "RolledBack", step: 1, percent: 0, events: ["RolledBack"], message: /2 consecutive failed/ },
      ],
      [20, { rounds: [PASS] }, { phase: "RolledBack", percent: 0, events: [] }],
    ],
  },
  {
    name: "analysis keeps running during a manual-resume step and rolls back there too",
    spec: { ...SPEC, steps: [{ percent: 20 }, { percent: 40 }] },
    calls: [
      [0, {}, { phase: "Paused", step: 0, percent: 20 }],
      [1, { rounds: [FAIL, FAIL] }, { phase: "RolledBack", step: 0, percent: 0 }],
    ],
  },
  {
    name: "no verdict is never a pass, and never counts as a failure; past progressDeadline it rolls back",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [5, { rounds: NO_VERDICTS }, { phase: "Progressing", step: 0, percent: 10, events: [] }],
      [9, { rounds: NO_VERDICTS }, { phase: "Progressing", step: 0, percent: 10, events: [] }],
      [
        10,
        { rounds: [NO_VERDICTS[1]] },
        { phase: "RolledBack", step: 0, percent: 0, events: ["RolledBack"], message: /progressDeadline 5m/ },
      ],
    ],
  },
  {
    name: "abort rolls back to 0 now; retry starts again from the first step",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [5, { rounds: [PASS] }, { phase: "Progressing", step: 1, percent: 50 }],
      [6, { command: "abort" }, { phase: "Aborted", step: 1, percent: 0, events: ["Aborted"] }],
      [7, { command: "resume" }, { phase: "Aborted", percent: 0, events: [] }],
      [8, { command: "retry" }, { phase: "Progressing", step: 0, percent: 10, events: ["Started", "Step"] }],
    ],
  },
  {
    name: "retry after a rollback clears the failures",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [1, { rounds: [FAIL, FAIL] }, { phase: "RolledBack", percent: 0 }],
      [2, { command: "retry" }, { phase: "Progressing", step: 0, percent: 10 }],
      [3, { rounds: [FAIL] }, { phase: "Progressing", step: 0, percent: 10 }],
    ],
  },
  {
    name: "promote skips to the end",
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 10 }],
      [1, { command: "promote" }, { phase: "Succeeded", step: 2, percent: 100, events: ["Succeeded"] }],
    ],
  },
  {
    name: "promotion copy: Copying at the last percent until the controller reports the copy, then 0",
    spec: { ...SPEC, steps: [{ percent: 30, pause: "1m" }], promotion: "copy" },
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 30 }],
      [1, { rounds: [PASS] }, { phase: "Progressing", step: 0, percent: 30, events: ["Promoting"] }],
      [2, { rounds: [FAIL, FAIL] }, { phase: "Progressing", percent: 30, events: [] }],
      [3, { promotionCopied: true }, { phase: "Succeeded", percent: 0, events: ["Succeeded"] }],
    ],
  },
  {
    name: "without analysis, timed steps advance on time alone",
    spec: {
      steps: [
        { percent: 5, pause: "30s" },
        { percent: 25, pause: "30s" },
      ],
      promotion: "manual",
    },
    calls: [
      [0, {}, { phase: "Progressing", step: 0, percent: 5 }],
      [0.5, {}, { phase: "Progressing", step: 1, percent: 25 }],
      [1, {}, { phase: "Succeeded", step: 1, percent: 25 }],
    ],
  },
  {
    name: "abort before the start",
    calls: [[0, { command: "abort" }, { phase: "Aborted", percent: 0, events: ["Aborted"] }]],
  },
];

for (const sc of SCENARIOS) {
  test(`engine: ${sc.name}`, () => {
    const spec = sc.spec ?? SPEC;
    let status: RolloutStatus | undefined;
    for (const [minute, input, want] of sc.calls) {
      const r = step(spec, status, at(minute), input);
      const where = `${sc.name} @${minute}m ${JSON.stringify(input).slice(0, 80)}`;
      assert.equal(r.status.phase, want.phase, `${where}: ${r.status.message}`);
      assert.equal(r.percent, want.percent, where);
      assert.equal(r.status.percent, r.percent, where);
      if (want.step !== undefined) assert.equal(r.status.step, want.step, where);
      if (want.events)
        assert.deepEqual(
          r.events.map((e) => e.reason),
          want.events,
          where,
        );
      if (want.message) assert.match(r.status.message, want.message, where);
      // The share only moves forward, except to 0 on rollback, abort or a finished copy.
      if (status && r.percent < status.percent) {
        assert.ok(
          r.percent === 0 && ["RolledBack", "Aborted", "Succeeded"].includes(r.status.phase),
          `${where}: percent fell from ${status.percent} to ${r.percent}`,
        );
      }
      // Status round-trips through JSON (it is written to the Lane).
      status = JSON.parse(JSON.stringify(r.status)) as RolloutStatus;
    }
  });
}

test("engine: a restart mid-step resumes exactly: same status in, same step, nothing re-run", () => {
  let s = step(SPEC, undefined, at(0)).status;
  s = step(SPEC, s, at(5), { rounds: [PASS] }).status; // step 2 (50 %) started at 5m
  s = step(SPEC, s, at(7), { rounds: [PASS] }).status;
  const saved = JSON.parse(JSON.stringify(s)) as RolloutStatus;
  // "Restart": the new controller only has what was written, and nothing new observed yet.
  const again = step(SPEC, saved, at(8));
  assert.deepEqual(again.status, saved);
  assert.deepEqual(again.events, []);
  assert.equal(again.percent, 50);
  // The step keeps its start time: it completes at 10m, not 8m + 5m.
  const done = step(SPEC, again.status, at(10), { rounds: [PASS] });
  assert.equal(done.status.step, 2);
  assert.deepEqual(
    done.events.map((e) => e.reason),
    ["Step"],
  );
  // A status whose step the (edited) spec no longer has is clamped, and the share does not fall.
  const shorter: RolloutSpec = { ...SPEC, steps: [{ percent: 5, pause: "5m" }] };
  const clamped = step(shorter, saved, at(8));
  assert.equal(clamped.percent, 50);
});

test("engine: checks keep the last verdict per metric and service; no-verdict reasons are kept", () => {
  let s = step(SPEC, undefined, at(0)).status;
  s = step(SPEC, s, at(1), { rounds: [PASS, NO_VERDICTS[0]] }).status;
  const sr = s.checks.find((c) => c.metric === "request-success-rate" && c.service === undefined);
  assert.equal(sr?.verdict, "none");
  assert.match(sr?.reason ?? "", /connection refused/);
  assert.equal(s.checks.find((c) => c.service === "cart")?.value, 100);
  s = step(SPEC, s, at(2), { rounds: [NO_VERDICTS[2]] }).status;
  assert.equal(
    s.checks.find((c) => c.metric === "request-success-rate" && !c.service)?.verdict,
    "none",
    "a pass drawn from fewer than minRequests requests is no verdict",
  );
  assert.equal(s.lastRound, "none");
});

test("judge: thresholds, base comparison, and no verdict for NaN, missing or thin data", () => {
  const m = { name: "request-duration", thresholdRange: { min: 0, max: 500 }, maxIncreaseOverBase: 50 };
  assert.equal(judge(m, 100, 50, 10), "pass");
  assert.equal(judge(m, 600, 50, 10), "fail");
  assert.equal(judge(m, -1, 50, 10), "fail");
  assert.equal(judge(m, 200, 50, 10, 100), "fail");
  assert.equal(judge(m, 140, 50, 10, 100), "pass");
  assert.equal(judge(m, NaN, 50, 10), "none");
  assert.equal(judge(m, undefined, 50, 10), "none");
  assert.equal(judge(m, 100, 9, 10), "none");
  assert.equal(judge(m, 100, 50, 10, NaN), "none");
});

test("durations: Go-style sums of units", () => {
  assert.equal(parseDuration("5m"), 300_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1.5s"), 1_500);
  assert.equal(parseDuration("250ms"), 250);
  for (const bad of ["", "5", "5 m", "m", "-1s", "1d"]) assert.equal(parseDuration(bad), undefined, bad);
});

test("shares: several Lanes' sticky rules add up and never overlap", () => {
  assert.deepEqual(
    stickyShares([
      { lane: "a", percent: 10 },
      { lane: "b", percent: 20 },
    ]),
    [
      { lane: "a", percent: 10, from: 0, to: 10, rulePercent: 10 },
      { lane: "b", percent: 20, from: 10, to: 30, rulePercent: 22.22 },
    ],
  );
  // Over 100 % in total: the later lanes get what is left.
  assert.deepEqual(
    stickyShares([
      { lane: "a", percent: 70 },
      { lane: "b", percent: 50 },
      { lane: "c", percent: 5 },
    ]).map((s) => [s.percent, s.rulePercent]),
    [
      [70, 70],
      [30, 100],
      [0, 0],
    ],
  );
  // Simulated with independent per-lane draws, as the filter's salted hash makes them: first match
  // wins, so a user is in at most one lane, and the shares come out as asked.
  const rules = stickyShares([
    { lane: "a", percent: 10 },
    { lane: "b", percent: 20 },
    { lane: "c", percent: 5 },
  ]);
  const counts = new Map<string, number>();
  // A user's bucket for a lane: a hash of the user id salted with the lane's name, 0–100.
  const bucket = (lane: string, user: number) =>
    (createHash("sha256").update(`${lane}/${user}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
  const users = 100_000;
  for (let u = 0; u < users; u++) {
    const hit = rules.find((r) => bucket(r.lane, u) < r.rulePercent);
    if (hit) counts.set(hit.lane, (counts.get(hit.lane) ?? 0) + 1);
  }
  for (const r of rules) {
    const share = ((counts.get(r.lane) ?? 0) / users) * 100;
    assert.ok(Math.abs(share - r.percent) < 0.5, `${r.lane}: ${share.toFixed(2)}% vs ${r.percent}%`);
  }
});

test("shares: growing one lane's share only adds users to it, but may take users from a later lane", () => {
  const bucket = (lane: string, user: number) =>
    (createHash("sha256").update(`${lane}/${user}`).digest().readUInt32BE(0) / 2 ** 32) * 100;
  const members = (shares: { lane: string; percent: number }[]) => {
    const rules = stickyShares(shares);
    const out = new Map<string, Set<number>>(rules.map((r) => [r.lane, new Set<number>()]));
    for (let u = 0; u < 20_000; u++) {
      const hit = rules.find((r) => bucket(r.lane, u) < r.rulePercent);
      if (hit) out.get(hit.lane)!.add(u);
    }
    return out;
  };
  const before = members([
    { lane: "a", percent: 10 },
    { lane: "b", percent: 20 },
  ]);
  const later = members([
    { lane: "a", percent: 20 },
    { lane: "b", percent: 20 },
  ]);
  for (const u of before.get("a")!) assert.ok(later.get("a")!.has(u), `user ${u} left lane a`);
  const movedFromB = [...before.get("b")!].filter((u) => !later.get("b")!.has(u));
  assert.ok(movedFromB.length > 0, "with per-lane salts, lane b's set changes when lane a grows");
  assert.ok(
    movedFromB.every((u) => later.get("a")!.has(u)),
    "those users moved to lane a, none to base",
  );
});
