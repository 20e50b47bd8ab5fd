// `npm run build` (scripts/build.mjs) builds only what changed: each step's outputs against its inputs'
// modification times. Run with --plan on a scratch tree laid out like the repository, whose file
// times the test sets itself (no waiting on the clock).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { fromRoot } from "../../controller/src/paths.js";

const root = mkdtempSync(path.join(tmpdir(), "meshlane-build-"));
const at = (p: string) => path.join(root, p);
const HOUR = 3600_000;
const now = Date.now();

/** Writes a file (and its folders) and gives the file the time `ms`. */
function put(p: string, ms: number): void {
  mkdirSync(path.dirname(at(p)), { recursive: true });
  writeFileSync(at(p), p);
  touch(p, ms);
}
function touch(p: string, ms: number): void {
  utimesSync(at(p), new Date(ms), new Date(ms));
}

/** Gives every folder under `dir` the time `ms` (creating files in a folder moves its time to now). */
function ageFolders(dir: string, ms: number): void {
  for (const e of readdirSync(at(dir), { withFileTypes: true })) {
    if (e.isDirectory()) ageFolders(path.join(dir, e.name), ms);
  }
  touch(dir, ms);
}

function plan(): Record<string, string> {
  const r = spawnSync(process.execPath, [at("scripts/build.mjs"), "--plan"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(
    r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split(": ") as [string, string]),
  );
}

const SOURCES = [
  "assembly/index.ts",
  "asconfig.json",
  "package-lock.json",
  "test/fixtures/wasm/lib/prelude.ts",
  "bench/wasm/noop.ts",
  "controller/src/cli/main.ts",
  "test/cli/some.test.ts",
  "bench/run.ts",
  "tsconfig.json",
];
const DEBUG = ["build/meshlane.debug.wasm", "build/meshlane.debug.wat", "build/meshlane.debug.wasm.map"];

test("a fresh clone builds every step; then nothing until an input changes, and only what depends on it", async () => {
  for (const s of ["build.mjs", "build-fixtures.mjs", "fresh.mjs", "optimize-wasm.mjs"]) {
    mkdirSync(at("scripts"), { recursive: true });
    copyFileSync(fromRoot("scripts", s), at(`scripts/${s}`));
  }
  for (const p of [...SOURCES, "scripts/build.mjs", "scripts/build-fixtures.mjs", "scripts/fresh.mjs"]) {
    if (p.startsWith("scripts/")) touch(p, now - 2 * HOUR);
    else put(p, now - 2 * HOUR);
  }
  touch("scripts/optimize-wasm.mjs", now - 2 * HOUR);
  ageFolders(".", now - 2 * HOUR);

  const all = {
    wasm: "would build",
    "wasm-debug": "would build",
    fixtures: "would build",
    ts: "would build",
  };
  assert.deepEqual(plan(), all, "nothing built yet");

  const { fixtureOutputs } = (await import(pathToFileURL(at("scripts/build-fixtures.mjs")).href)) as {
    fixtureOutputs: () => string[];
  };
  const outputs = ["build/meshlane.wasm", ...DEBUG, ...fixtureOutputs(), "dist/.tsbuildinfo"];
  for (const o of outputs) put(o, now - HOUR);
  const fresh = { wasm: "up to date", "wasm-debug": "up to date", fixtures: "up to date", ts: "up to date" };
  assert.deepEqual(plan(), fresh, "everything built after its inputs");

  touch("assembly/index.ts", now);
  assert.deepEqual(plan(), { ...fresh, wasm: "would build", "wasm-debug": "would build" }, "a filter source");
  touch("assembly/index.ts", now - 2 * HOUR);

  touch("controller/src/cli/main.ts", now);
  assert.deepEqual(plan(), { ...fresh, ts: "would build" }, "a TypeScript source");
  touch("controller/src/cli/main.ts", now - 2 * HOUR);

  rmSync(at("test/fixtures/wasm/lib/prelude.ts")); // the folder's time moves to now
  assert.deepEqual(plan(), { ...fresh, fixtures: "would build" }, "a fixture source deleted");
  touch("test/fixtures/wasm/lib", now - 2 * HOUR);

  rmSync(at(DEBUG[1]));
  assert.deepEqual(plan(), { ...fresh, "wasm-debug": "would build" }, "an output deleted");
  put(DEBUG[1], now - HOUR);

  // tsc run by hand on code that does not compile still writes its build info, with the errors.
  writeFileSync(at("dist/.tsbuildinfo"), '{"semanticDiagnosticsPerFile":[[1,[{"code":2322,"category":1}]]]}');
  touch("dist/.tsbuildinfo", now);
  assert.deepEqual(plan(), { ...fresh, ts: "would build" }, "TypeScript errors from an earlier run");
  put("dist/.tsbuildinfo", now - HOUR);

  // A type check by hand (tsc --noEmit) writes its build info too, listing the files it did not emit:
  // dist/ still holds the old JavaScript.
  writeFileSync(at("dist/.tsbuildinfo"), '{"affectedFilesPendingEmit":[12,40],"version":"5.9.3"}');
  touch("dist/.tsbuildinfo", now);
  assert.deepEqual(plan(), { ...fresh, ts: "would build" }, "a type check left files unemitted");
  writeFileSync(at("dist/.tsbuildinfo"), '{"fileNames":[],"version":"5.9.3"}');
  touch("dist/.tsbuildinfo", now);
  assert.deepEqual(plan(), fresh, "a build that emitted everything");
  put("dist/.tsbuildinfo", now - HOUR);

  touch("package-lock.json", now);
  assert.deepEqual(plan(), all, "the dependencies changed");
});
