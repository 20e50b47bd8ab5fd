// `meshlane demo` as a user runs it: a process, its output and its exit code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fromRoot } from "../../controller/src/paths.js";

const CANARY = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: canary)";
const BASE = "-> mocka(version: base) -> mockb(version: base) -> mockc(version: base)";

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

test("meshlane demo: prints its start-up, the canary chain and the all-base chain, exits 0", async () => {
  const r = await meshlane(["demo"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /starting sidecar mockb-base \(inbound :\d+, outbound :\d+/);
  assert.match(r.stdout, /starting edge proxy on http:\/\/127\.0\.0\.1:\d+\//);
  const lines = r.stdout.split("\n");
  const chains = lines.filter((l) => l.startsWith("agent: "));
  assert.equal(chains.length, 4);
  assert.deepEqual(
    chains.map((l) => l.replace(/\s+/g, " ")),
    [`agent: pc ${CANARY}`, `agent: mobile ${BASE}`, `agent: pc ${CANARY}`, `agent: mobile ${BASE}`],
  );
  assert.match(r.stdout, /mockb-base\s+outbound\s+lane=canary\s+source=memory\s+2/);
  assert.match(r.stdout, /edge\s+gateway\s+lane=canary\s+source=rule\s+2/);
});

test("meshlane demo --header: an untrusted lane header from the client does not dye", async () => {
  const r = await meshlane(["demo", "--requests", "2", "--header", "x-lane: canary"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(`agent: pc, x-lane: canary      ${CANARY}`), r.stdout);
  assert.ok(r.stdout.includes(`agent: mobile, x-lane: canary  ${BASE}`), r.stdout);
});

test("meshlane demo --config: the filter's rejection is reported, exit 2", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-demo-"));
  try {
    const file = path.join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({ role: "edge", rules: [{ lane: "canary", when: { headers: { agent: {} } } }] }),
    );
    const r = await meshlane(["demo", "--config", file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /rules\[0\]\.when\.headers\.agent/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("meshlane demo --wasm <missing>: a usage error naming the file, exit 2", async () => {
  const r = await meshlane(["demo", "--wasm", fromRoot("build", "no-such-filter.wasm")]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot read the filter module .*no-such-filter\.wasm: no such file or directory\n/);
});

test("meshlane demo --requests abc is a usage error (exit 2)", async () => {
  const r = await meshlane(["demo", "--requests", "abc"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--requests expects a whole number/);
});
