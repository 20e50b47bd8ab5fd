#!/usr/bin/env node
// Entry point for `npx meshlane`: the CLI is compiled to dist/ by `npm run build`. Before a build there
// is nothing to run: say so in a sentence (exit 2) rather than fail on a missing module.
import { existsSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const entry = new URL("../dist/controller/src/cli/main.js", import.meta.url);
if (existsSync(fileURLToPath(entry))) {
  const { runCli } = await import(entry.href);
  await runCli(process.argv.slice(2));
} else {
  const root = fileURLToPath(new URL("..", import.meta.url));
  process.stderr.write(
    `meshlane: the CLI is not built yet: run \`npm run build\` in ${root} first (it writes dist/ and build/meshlane.wasm)\n`,
  );
  process.exitCode = 2;
}
