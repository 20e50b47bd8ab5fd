// The CLI refuses exactly the commands the step engine would ignore: for every phase and command,
// `decide` accepts a command if and only if feeding it to `engine.step` changes the status (compared
// with the same step without the command). So a refusal never hides a command that would have acted,
// and nothing the CLI writes is silently dropped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { COMMANDS, decide } from "../../controller/src/cli/rolloutcommand.js";
import { step, type RolloutSpec, type RolloutStatus } from "../../controller/src/rollout/engine.js";

const AT = "2026-01-01T00:00:00.000Z";
const NOW = new Date(Date.parse(AT) + 1000);

function spec(promotion: "manual" | "copy"): RolloutSpec {
  return {
    stickyBy: { cookie: "session" },
    steps: [{ percent: 1, pause: "10m" }, { percent: 20 }, { percent: 50, pause: "10m" }],
    analysis: {
      interval: "1m",
      failureLimit: 3,
      minRequests: 10,
      progressDeadline: "10m",
      metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
    },
    promotion,
  };
}

const base = { message: "", checks: [], failures: 0, stepStartedAt: AT };
const STATES: Record<string, RolloutStatus | undefined> = {
  "not started": undefined,
  Pending: { ...base, phase: "Pending", step: 0, percent: 0 },
  "Progressing (first step)": { ...base, phase: "Progressing", step: 0, percent: 1 },
  "Progressing (last step)": { ...base, phase: "Progressing", step: 2, percent: 50 },
  "Paused (a step without pause)": { ...base, phase: "Paused", pausedBy: "step", step: 1, percent: 20 },
  "Paused (by request)": { ...base, phase: "Paused", pausedBy: "user", step: 0, percent: 1 },
  "Progressing (copying)": {
    ...base,
    phase: "Progressing",
    step: 2,
    percent: 50,
    promotion: { state: "Copying" },
  },
  Succeeded: { ...base, phase: "Succeeded", step: 2, percent: 50 },
  RolledBack: { ...base, phase: "RolledBack", step: 1, percent: 0, failures: 3 },
  Aborted: { ...base, phase: "Aborted", step: 1, percent: 0 },
};

test("decide accepts a command exactly when the engine acts on it, in every phase", () => {
  let accepted = 0;
  for (const promotion of ["manual", "copy"] as const) {
    const s = spec(promotion);
    for (const [name, status] of Object.entries(STATES)) {
      if (status?.promotion && promotion !== "copy") continue;
      const without = JSON.stringify(step(s, status, NOW).status);
      for (const command of COMMANDS) {
        const acts = JSON.stringify(step(s, status, NOW, { command }).status) !== without;
        const d = decide(command, s, status);
        assert.equal(d.ok, acts, `${command} in ${name} (${promotion}): ${d.ok ? "accepted" : d.reason}`);
        if (!d.ok) assert.match(d.reason, /\w+ \w+/, "a sentence");
        if (d.ok) accepted++;
      }
    }
  }
  assert.ok(accepted >= 10, `${accepted} accepted`);
});

test("a command waiting for the controller: another is refused, abort replaces it", () => {
  const s = spec("manual");
  const status = STATES["Progressing (first step)"];
  const d = decide("promote", s, status, "pause");
  assert.equal(d.ok, false);
  assert.equal(decide("abort", s, status, "pause").ok, true);
});
