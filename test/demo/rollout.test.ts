// `meshlane demo --rollout` as a user runs it: a process with its output in a pipe, the last line one
// JSON object, the exit code saying whether the phase is the one the flags lead to.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { meshlane } from "../cli/run.js";

function lastJson(stdout: string): { rollout: { phase: string; step: number; percent: number } } {
  const lines = stdout.trimEnd().split("\n");
  return JSON.parse(lines[lines.length - 1]) as { rollout: { phase: string; step: number; percent: number } };
}

test("demo --rollout: every step passes analysis on the real mesh and the rollout ends Succeeded at 100%", async () => {
  const r = await meshlane(["demo", "--rollout"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(lastJson(r.stdout), { rollout: { phase: "Succeeded", step: 3, percent: 100 } });
  for (const p of [10, 25, 50, 100]) {
    assert.match(r.stdout, new RegExp(`edge reconfigured: ${p}% of users \\(x-user, sticky\\) → canary`));
  }
  assert.match(r.stdout, /request-success-rate\s+mocka\s+pass\s+100\s+n=\d+/);
  assert.match(r.stdout, /request-duration\s+\(lane\)\s+pass/);
  assert.match(r.stdout, /Succeeded: done at 100% of users/);
  assert.doesNotMatch(r.stdout, /request-success-rate.*\bfail\b/);
});

test("demo --rollout --canary-error-rate 30: the checks fail, the lane rolls back to 0%", async () => {
  const r = await meshlane(["demo", "--rollout", "--canary-error-rate", "30"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.deepEqual(lastJson(r.stdout), { rollout: { phase: "RolledBack", step: 0, percent: 0 } });
  assert.match(r.stdout, /the canary workloads fail 30% of their requests/);
  assert.match(
    r.stdout,
    /request-success-rate\s+mocka\s+fail\s+[\d.]+\s+n=\d+\s+\[min 95\]\s+\([\d.]+ below min 95\)/,
  );
  assert.match(r.stdout, /RolledBack: rolled back at step 1: 2 consecutive failed checks/);
  assert.match(r.stdout, /edge reconfigured: 0% of users/);
});

test("demo --rollout with an error rate the threshold tolerates still succeeds; bad values are usage errors", async () => {
  const ok = await meshlane(["demo", "--rollout", "--canary-error-rate", "2"]);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.equal(lastJson(ok.stdout).rollout.phase, "Succeeded");
  // 4 % per canary workload: two on the path (mocka, mockc) fail about 8 % of requests, over the 5 % allowed.
  const compounded = await meshlane(["demo", "--rollout", "--canary-error-rate", "4"]);
  assert.equal(compounded.code, 0, compounded.stderr + compounded.stdout);
  assert.equal(lastJson(compounded.stdout).rollout.phase, "RolledBack");
  assert.match(compounded.stdout, /\(expected RolledBack\)/);
  const bad = await meshlane(["demo", "--rollout", "--canary-error-rate", "130"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--canary-error-rate expects a percent from 0 to 100, got "130"/);
  const alone = await meshlane(["demo", "--canary-error-rate", "5"]);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--canary-error-rate needs --rollout/);
  const ambient = await meshlane(["demo", "--rollout", "--ambient"]);
  assert.equal(ambient.code, 2);
  assert.match(ambient.stderr, /--rollout runs on the sidecar mesh: not with --ambient/);
});

test("demo --rollout with a config whose allow-list lacks the lane: the filter refuses the rollout rule, exit 2", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-rollout-"));
  try {
    const file = path.join(dir, "edge.json");
    writeFileSync(file, JSON.stringify({ role: "edge", lanes: ["base"], defaultLane: "base" }));
    const r = await meshlane(["demo", "--rollout", "--config", file]);
    assert.equal(r.code, 2, r.stderr + r.stdout);
    assert.match(
      r.stderr,
      /the rollout's edge config was refused: edge: the filter rejected its plugin config: rules\[0\]/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
