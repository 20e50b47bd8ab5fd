#!/usr/bin/env node
// Entry point for `npx meshlane`: the CLI is compiled to dist/ by `npm run build`. Before a build there
// is nothing to run, and on a Node.js older than the CLI needs it would fail midway: say either in a
// sentence (exit 2) rather than fail on a missing module or function.
import { existsSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

// Node 20.3 is the first with AbortSignal.any, which the controller and the rollout providers use.
const [major, minor] = process.versions.node.split(".").map(Number);
const entry = new URL("../dist/controller/src/cli/main.js", import.meta.url);
if (major < 20 || (major === 20 && minor < 3)) {
  process.stderr.write(`meshlane: needs Node.js 20.3 or later (this is Node.js ${process.versions.node})\n`);
  process.exitCode = 2;
} else if (existsSync(fileURLToPath(entry))) {
  const { runCli } = await import(entry.href);
  await runCli(process.argv.slice(2));
} else {
  const root = fileURLToPath(new URL("..", import.meta.url));
  process.stderr.write(
    `meshlane: the CLI is not built yet: run \`npm run build\` in ${root} first (it writes dist/ and build/meshlane.wasm)\n`,
  );
  process.exitCode = 2;
}
