// Builds what is out of date, in order: the release filter, its debug build, the test fixtures and the
// TypeScript. Each step names its inputs and outputs; it runs when an output is missing or older than
// its newest input, so a second `npm run build` (or `npm run demo`) with nothing changed does no work.
// A fresh clone has no outputs and builds everything.
//
// Usage: node scripts/build.mjs [step ...] [--force] [--plan]
//   step     wasm | wasm-debug | fixtures | ts (default: all, in that order)
//   --force  run the steps even when up to date
//   --plan   only print which steps would run, and exit 0
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, utimesSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { buildFixtures, FIXTURE_INPUTS, fixtureOutputs } from "./build-fixtures.mjs";
import { upToDate } from "./fresh.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);

/** What every AssemblyScript build depends on besides its sources: the installed compiler and SDK. */
const TOOLCHAIN = ["package-lock.json", "node_modules/.package-lock.json"];

function node(args) {
  const r = spawnSync(process.execPath, args, { stdio: "inherit" });
  if (r.status !== 0) throw new Error(`node ${args.join(" ")} exited with ${r.status ?? r.signal}`);
}

async function ascBuild(args) {
  // Loaded only when something is built, so --plan needs nothing installed.
  const { default: asc } = await import("assemblyscript/asc");
  const { error } = await asc.main(args, { stdout: process.stdout, stderr: process.stderr });
  if (error) throw new Error(`asc ${args.join(" ")}: ${error.message}`);
}

const steps = {
  wasm: {
    what: "the release filter build/meshlane.wasm",
    inputs: ["assembly", "asconfig.json", "scripts/optimize-wasm.mjs", ...TOOLCHAIN],
    exclude: ["assembly/__tests__"],
    outputs: ["build/meshlane.wasm"],
    async run() {
      await ascBuild(["assembly/index.ts", "--target", "release"]);
      node(["scripts/optimize-wasm.mjs", "build/meshlane.wasm"]);
    },
  },
  "wasm-debug": {
    what: "the debug filter build/meshlane.debug.wasm",
    inputs: ["assembly", "asconfig.json", ...TOOLCHAIN],
    exclude: ["assembly/__tests__"],
    outputs: ["build/meshlane.debug.wasm", "build/meshlane.debug.wat", "build/meshlane.debug.wasm.map"],
    async run() {
      await ascBuild(["assembly/index.ts", "--target", "debug"]);
    },
  },
  fixtures: {
    what: "the host test fixtures build/fixtures/*.wasm",
    inputs: FIXTURE_INPUTS,
    outputs: fixtureOutputs(),
    // Only the stale fixtures are rebuilt.
    async run(force) {
      if ((await buildFixtures({ force })) > 0) throw new Error("some fixtures did not build");
    },
  },
  ts: {
    what: "the CLI, controller and tests dist/ (tsc, incremental)",
    inputs: ["controller", "test", "bench", "tsconfig.json", ...TOOLCHAIN],
    exclude: ["test/fixtures/wasm", "bench/wasm", "test/golden"],
    outputs: ["dist/.tsbuildinfo"],
    // tsc run by hand writes its build info even when it wrote no JavaScript: on code that does not
    // compile the info holds the errors (category 1); with --noEmit (a type check) it lists the files
    // still to emit. Either way dist/ is behind the sources, and the step must run again.
    incomplete: () => {
      if (!existsSync("dist/.tsbuildinfo")) return false;
      const text = readFileSync("dist/.tsbuildinfo", "utf8");
      if (text.includes('"category":1')) return true;
      try {
        const pending = JSON.parse(text).affectedFilesPendingEmit;
        return Array.isArray(pending) && pending.length > 0;
      } catch {
        return false; // not tsc's JSON: the times alone decide
      }
    },
    async run() {
      node(["node_modules/typescript/bin/tsc", "-p", "tsconfig.json"]);
    },
  },
};

async function main(argv) {
  const force = argv.includes("--force");
  const planOnly = argv.includes("--plan");
  const names = argv.filter((a) => !a.startsWith("--"));
  for (const n of names) {
    if (!steps[n]) {
      console.error(`build: no step "${n}" (steps: ${Object.keys(steps).join(", ")})`);
      return 2;
    }
  }
  const chosen = names.length > 0 ? Object.keys(steps).filter((n) => names.includes(n)) : Object.keys(steps);
  for (const name of chosen) {
    const step = steps[name];
    const fresh = upToDate(step) && !step.incomplete?.();
    if (planOnly) {
      console.log(`${name}: ${fresh && !force ? "up to date" : "would build"}`);
      continue;
    }
    if (fresh && !force) {
      console.log(`build: ${name} up to date (${step.what})`);
      continue;
    }
    console.log(`build: ${name}: ${step.what}`);
    try {
      await step.run(force);
    } catch (err) {
      // A half-written output must not look up to date next time.
      for (const o of step.outputs) rmSync(o, { force: true });
      console.error(`build: ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
    // Mark the outputs as built now: a tool that skips rewriting an unchanged file (tsc incremental)
    // would otherwise leave them older than the input that triggered the step, and the step would rerun.
    const now = new Date();
    for (const o of step.outputs) utimesSync(o, now, now);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
