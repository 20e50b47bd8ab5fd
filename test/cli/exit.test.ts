// Exit codes and messages of the CLI as a process: a file that cannot be read is a usage error (exit 2)
// in every verb, said in one line with the path and the reason; a usage error is one line and a hint,
// not the whole help; exit 1 keeps its one meaning; --version and -v answer; before a build, a sentence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fromRoot } from "../../controller/src/paths.js";
import { meshlane, type CliResult } from "./run.js";

const dir = mkdtempSync(path.join(tmpdir(), "meshlane-exit-"));
const missing = path.join(dir, "no-such-file.json");
const folder = path.join(dir, "a-folder");
mkdirSync(folder);
const file = (name: string, content: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};
const config = file("edge.json", JSON.stringify({ role: "edge", defaultLane: "base" }));
const scenario = file("s.json", JSON.stringify({ requests: [] }));
const SHA = "b".repeat(64);

/** A usage error as users should see it: exit 2, nothing on stdout, one line with `parts`, the hint. */
function assertUsageError(r: CliResult, verb: string | undefined, parts: (string | RegExp)[]): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 2, `one line and a hint, got:\n${r.stderr}`);
  const who = verb ? `meshlane ${verb}` : "meshlane";
  assert.ok(lines[0].startsWith(`${who}: `), lines[0]);
  for (const p of parts) {
    if (typeof p === "string") assert.ok(lines[0].includes(p), `"${p}" in: ${lines[0]}`);
    else assert.match(lines[0], p);
  }
  assert.doesNotMatch(lines[0], /\bE[A-Z]{3,}\b/, "no Node error codes (ENOENT, EISDIR, ...)");
  assert.equal(lines[1], `run '${who} --help' for usage`);
}

const NO_FILE = "no such file or directory";
const A_FOLDER = "it is a directory, not a file";

test("explain: a missing or unreadable --config or --scenario is a usage error naming it", async () => {
  assertUsageError(await meshlane(["explain", "--config", missing, "--scenario", scenario]), "explain", [
    missing,
    NO_FILE,
  ]);
  assertUsageError(await meshlane(["explain", "--config", config, "--scenario", folder]), "explain", [
    folder,
    A_FOLDER,
  ]);
  assertUsageError(
    await meshlane(["explain", "--config", config, "--scenario", scenario, "--wasm", missing]),
    "explain",
    [missing, NO_FILE],
  );
});

test("validate, render and demo: a missing or unreadable file is a usage error naming it", async () => {
  assertUsageError(await meshlane(["validate", missing]), "validate", [missing, NO_FILE]);
  assertUsageError(await meshlane(["validate", folder]), "validate", [folder, A_FOLDER]);
  assertUsageError(await meshlane(["validate", config, "--wasm", missing]), "validate", [missing, NO_FILE]);
  assertUsageError(await meshlane(["render", "-f", missing, "--wasm-sha256", SHA]), "render", [
    missing,
    NO_FILE,
  ]);
  assertUsageError(
    await meshlane(["render", "-f", "manifests/examples/seed-003", "--wasm", missing]),
    "render",
    [missing, NO_FILE],
  );
  assertUsageError(await meshlane(["demo", "--config", missing]), "demo", [missing, NO_FILE]);
  assertUsageError(await meshlane(["demo", "--wasm", missing]), "demo", [missing, NO_FILE]);
  assertUsageError(await meshlane(["demo", "--config", folder]), "demo", [folder, A_FOLDER]);
});

test("controller: a missing --config, --kubeconfig or --wasm is a usage error naming it", async () => {
  assertUsageError(await meshlane(["controller", "--config", missing]), "controller", [missing, NO_FILE]);
  assertUsageError(await meshlane(["controller", "--wasm", missing]), "controller", [missing, NO_FILE]);
  assertUsageError(await meshlane(["controller", "--kubeconfig", missing]), "controller", [missing, NO_FILE]);
});

test("a file that is not a filter module is a usage error, not a crash", async () => {
  assertUsageError(await meshlane(["validate", config, "--wasm", fromRoot("package.json")]), "validate", [
    fromRoot("package.json"),
    "not a filter module",
  ]);
});

test("an empty scenario gets a sentence, not a JSON.parse message", async () => {
  const empty = file("empty.json", "");
  const r = await meshlane(["explain", "--config", config, "--scenario", empty]);
  assertUsageError(r, "explain", [`the scenario ${empty} is empty`, `{"requests": [...]}`]);
  assert.doesNotMatch(r.stderr, /Unexpected end|JSON input/);
  const broken = file("broken.json", "{ nope");
  assertUsageError(await meshlane(["explain", "--config", config, "--scenario", broken]), "explain", [
    `the scenario ${broken} is not valid JSON`,
  ]);
});

test("a bad render --lane-header is a usage error, not a Lane rejection", async () => {
  const r = await meshlane([
    "render",
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    SHA,
    "--lane-header",
    "x lane",
  ]);
  assertUsageError(r, "render", ["--lane-header", '"x lane"']);
  assert.doesNotMatch(r.stderr, /Lane e2e\/canary/);
  const ok = await meshlane([
    "render",
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    SHA,
    "--lane-header",
    "X-Track",
  ]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^\s+x-track:$/m);
});

test("a controller configuration with a bad laneHeader is a usage error naming the setting", async () => {
  const bad = file("bad-lane-header.yaml", 'laneHeader: "x lane"\n');
  const r = await meshlane(["controller", "--config", bad]);
  assertUsageError(r, "controller", [bad, "laneHeader", '"x lane"']);
});

test("usage errors print one line and a hint, never the whole help", async () => {
  assertUsageError(await meshlane(["render", "--bogus"]), "render", ["--bogus"]);
  assertUsageError(await meshlane(["explain", "--config", config]), "explain", ["--scenario"]);
  assertUsageError(await meshlane(["demo", "--requests", "abc"]), "demo", ["--requests"]);
  assertUsageError(await meshlane(["frobnicate"]), undefined, ['unknown verb "frobnicate"']);
  assertUsageError(await meshlane([]), undefined, ["explain"]);
  assertUsageError(await meshlane(["help", "nope"]), undefined, ['"nope"']);
});

test("--version and -v print the package version", async () => {
  const { version } = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-v"]) {
    const r = await meshlane([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `meshlane ${version}\n`);
  }
});

test("exit 1 keeps its one meaning, documented with 0, 2 and 3 in the help", async () => {
  const help = await meshlane(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Exit status \(every verb\):$/m);
  for (const code of ["0", "1", "2", "3"]) assert.match(help.stdout, new RegExp(`^  ${code}  \\S`, "m"));
  // render: 1 means some object had an error; everything valid is still printed.
  const bad = await meshlane(["render", "-f", "test/golden/bad-input/input.yaml", "--wasm-sha256", SHA]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: /m);
  assert.notEqual(bad.stdout, "");
});

test("before a build, the CLI says to run the build (exit 2), not a stack trace", async () => {
  const clone = mkdtempSync(path.join(tmpdir(), "meshlane-unbuilt-"));
  mkdirSync(path.join(clone, "bin"));
  copyFileSync(fromRoot("bin", "meshlane.js"), path.join(clone, "bin", "meshlane.js"));
  writeFileSync(path.join(clone, "package.json"), JSON.stringify({ type: "module" }));
  const r = await meshlane(["--help"], { bin: path.join(clone, "bin", "meshlane.js"), cwd: clone });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^meshlane: the CLI is not built yet: run `npm run build` in .* first/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  assert.equal(r.stderr.trimEnd().split("\n").length, 1);
});

test("on a Node.js older than 20.3 the CLI says which it needs (exit 2), before it fails midway", async () => {
  // A preload that makes this Node report itself as 20.2.0 (AbortSignal.any came in 20.3).
  const preload = file(
    "old-node.cjs",
    'Object.defineProperty(process.versions, "node", { value: "20.2.0" });',
  );
  const r = await meshlane(["--version"], { env: { ...process.env, NODE_OPTIONS: `--require ${preload}` } });
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "meshlane: needs Node.js 20.3 or later (this is Node.js 20.2.0)\n");
  assert.equal((await meshlane(["--version"])).code, 0);
});
