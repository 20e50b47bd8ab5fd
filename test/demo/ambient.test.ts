// `meshlane demo --ambient` as a user runs it: a process, its output (into a pipe) and its exit code.
// No sidecars: one waypoint per namespace runs the real filter in role waypoint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fromRoot } from "../../controller/src/paths.js";

const CANARY = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: canary)";
const BASE = "-> mocka(version: base) -> mockb(version: base) -> mockc(version: base)";
const CANARY_LOST = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: base)";

function meshlane(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [fromRoot("bin", "meshlane.js"), ...args],
      { cwd: fromRoot(), timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const chains = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("agent: "))
    .map((l) => l.replace(/\s+/g, " "));

test("demo --ambient: one waypoint, apps forward x-request-id: canary → base → canary by the trace memory", async () => {
  const r = await meshlane(["demo", "--ambient"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /starting waypoint demo\/waypoint on :\d+ \(vm_id meshlane, role waypoint; serves mocka, mockb, mockc\)/,
  );
  assert.doesNotMatch(r.stdout, /starting sidecar/);
  assert.match(
    r.stdout,
    /starting app mockb-base on :\d+ \(namespace demo, no sidecar, .*forwarding x-request-id\)/,
  );
  assert.deepEqual(chains(r.stdout), [
    `agent: pc ${CANARY}`,
    `agent: mobile ${BASE}`,
    `agent: pc ${CANARY}`,
    `agent: mobile ${BASE}`,
  ]);
  assert.match(
    r.stdout,
    /lane canary: mocka carried \(header\) · mockb restored \(trace memory\) · mockc restored \(trace memory\)/,
  );
  assert.match(r.stdout, /restored from a waypoint's trace memory: 8 hop\(s\)\n {2}lost: 0 hop\(s\)\n/);
  assert.match(r.stdout, /waypoint demo: hit 8, miss 0, conflict 0 \(hit rate 100%\)/);
  assert.match(r.stdout, /every hop of a trace passes the same waypoint instance/);
});

test("demo --ambient --namespaces per-service: each hop behind another waypoint loses the lane, and says so", async () => {
  const r = await meshlane(["demo", "--ambient", "--namespaces", "per-service", "--requests", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(chains(r.stdout), [`agent: pc ${CANARY_LOST}`, `agent: mobile ${BASE}`]);
  assert.match(
    r.stdout,
    /lane canary: mocka carried \(header\) · mockb LOST \(no lane\) · mockc LOST \(no lane\)/,
  );
  assert.match(r.stdout, /lost: 4 hop\(s\), at mockb \(waypoint mockb\), mockc \(waypoint mockc\)/);
  assert.match(r.stdout, /waypoint mockb: hit 0, miss 2, conflict 0 \(hit rate 0%\)/);
  assert.match(r.stdout, /waypoint mocka: hit 0, miss 0, conflict 0 \(no lookups\)/);
  assert.match(r.stdout, /try\n--forward x-request-id,baggage/);
});

test("demo --ambient --forward x-request-id,baggage: apps that forward baggage keep the lane across waypoints", async () => {
  const r = await meshlane([
    "demo",
    "--ambient",
    "--namespaces",
    "per-service",
    "--forward",
    "x-request-id,baggage",
    "--requests",
    "2",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(chains(r.stdout), [`agent: pc ${CANARY}`, `agent: mobile ${BASE}`]);
  assert.match(r.stdout, /apps forward: x-request-id, baggage/);
  assert.match(
    r.stdout,
    /lane canary: mocka carried \(header\) · mockb carried \(baggage\) · mockc carried \(baggage\)/,
  );
  assert.match(r.stdout, /carried by the apps' forwarded headers: 4 hop\(s\)/);
});

test("demo --ambient --forward none: no trace key survives the apps, so even one waypoint cannot restore", async () => {
  const r = await meshlane(["demo", "--ambient", "--forward", "none", "--requests", "1"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(chains(r.stdout), [`agent: pc ${CANARY_LOST}`]);
  assert.match(r.stdout, /waypoint demo: hit 0, miss 2, conflict 0 \(hit rate 0%\)/);
});

test("demo: --forward and --namespaces need --ambient; bad values are usage errors (exit 2)", async () => {
  for (const args of [
    ["demo", "--forward", "baggage"],
    ["demo", "--namespaces", "one"],
    ["demo", "--ambient", "--namespaces", "two"],
    ["demo", "--ambient", "--forward", "x-request-id,bad header"],
  ]) {
    const r = await meshlane(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /--forward|--namespaces/, args.join(" "));
  }
});
