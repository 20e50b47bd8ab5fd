// Builds the AssemblyScript modules the host conformance tests and the benchmark load:
//   test/fixtures/wasm/**  → build/fixtures/<name>.wasm  (host conformance fixtures)
//   bench/wasm/**          → build/fixtures/noop.wasm, host-calls.wasm, stock-sdk-empty.wasm
// Usage: node scripts/build-fixtures.mjs [name-filter] [--force]
// A fixture whose .wasm is newer than every source here (and the installed compiler) is not rebuilt
// unless --force is given.
// Fixtures get the prelude in test/fixtures/wasm/lib as globals (--lib) and, unless a fixture is
// about the env.abort import, `--use abort=fixtureAbort`, so they import nothing Envoy lacks.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { newestInput, oldestOutput } from "./fresh.mjs";

/** Paths below are relative to the repository root: the caller runs there (main below, build.mjs). */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const FIX = "test/fixtures/wasm";
const FIX_CONFIG = `${FIX}/fixtures.asconfig.json`;
const ABORT = ["--use", "abort=fixtureAbort"];

/** name → { entry, config, args } */
const targets = [
  ...["lifecycle", "headers", "properties", "shared", "metrics", "trap", "wasi_unstable"].map((n) => ({
    name: n.replace("_", "-"),
    entry: `${FIX}/${n}.ts`,
  })),
  ...[
    ["init-allowed", 0],
    ["init-restricted-property", 1],
    ["init-restricted-metric", 2],
    ["init-restricted-shared", 3],
  ].map(([name, v]) => ({ name, entry: `${FIX}/init.ts`, args: ["--use", `INIT_CALL=${v}`] })),
  ...[
    ["refuse-clear-route-cache", 1],
    ["refuse-get-configuration", 2],
    ["refuse-continue-request", 3],
    ["refuse-dictionary-get", 4],
    ["refuse-grpc-call-10", 5],
    ["refuse-env-abort", 6],
  ].map(([name, v]) => ({
    name,
    entry: `${FIX}/refuse/env.ts`,
    args: ["--use", `BAD_IMPORT=${v}`],
    noAbort: v === 6,
  })),
  { name: "refuse-sched-yield", entry: `${FIX}/refuse-wasi/wasi_snapshot_preview1.ts` },
  ...["no-abi-version", "abi-0-1-0", "no-malloc", "memory-allocate", "bad-signature"].map((n) => ({
    name: `exports-${n}`,
    entry: `${FIX}/exports/${n}.ts`,
  })),
  { name: "noop", entry: "bench/wasm/noop.ts", config: "bench/wasm/noop.asconfig.json", noAbort: true },
  {
    name: "host-calls",
    entry: "bench/wasm/host-calls.ts",
    config: "bench/wasm/host-calls.asconfig.json",
    noAbort: true,
  },
  {
    name: "stock-sdk-empty",
    entry: "bench/wasm/stock-sdk-empty.ts",
    config: "bench/wasm/stock-sdk.asconfig.json",
    noAbort: true,
  },
];

/** Every fixture may use any of these (the shared prelude, the SDK): one newest time for all. */
export const FIXTURE_INPUTS = [
  FIX,
  "bench/wasm",
  "scripts/build-fixtures.mjs",
  "package-lock.json",
  "node_modules/.package-lock.json",
];

export const fixtureOutputs = () => targets.map((t) => `build/fixtures/${t.name}.wasm`);

/** Builds the fixtures whose names contain `filter` (all without one); returns how many failed. */
export async function buildFixtures({ filter, force = false } = {}) {
  const { default: asc } = await import("assemblyscript/asc");
  const sources = newestInput(FIXTURE_INPUTS);
  await mkdir("build/fixtures", { recursive: true });
  let failed = 0;
  let fresh = 0;
  for (const t of targets) {
    if (filter && !t.name.includes(filter)) continue;
    if (!force && oldestOutput([`build/fixtures/${t.name}.wasm`]) >= sources) {
      fresh++;
      continue;
    }
    const args = [
      t.entry,
      "--config",
      t.config ?? FIX_CONFIG,
      "--outFile",
      `build/fixtures/${t.name}.wasm`,
      ...(t.noAbort ? [] : ABORT),
      ...(t.args ?? []),
    ];
    let output = "";
    const sink = { write: (s) => void (output += s) };
    const { error } = await asc.main(args, { stdout: sink, stderr: sink });
    if (error) {
      failed++;
      process.stderr.write(`✗ ${t.name}: ${error.message}\n${output}\n`);
    } else {
      process.stdout.write(`✓ build/fixtures/${t.name}.wasm\n`);
    }
  }
  if (fresh > 0) process.stdout.write(`${fresh} fixture(s) up to date\n`);
  if (failed > 0) process.stderr.write(`${failed} fixture(s) failed to build\n`);
  return failed;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.chdir(root);
  const filter = process.argv.slice(2).find((a) => !a.startsWith("--"));
  const failed = await buildFixtures({ filter, force: process.argv.includes("--force") });
  process.exitCode = failed > 0 ? 1 : 0;
}
