#!/usr/bin/env node
// Entry point for `npx meshlane`: the CLI is compiled to dist/ by `npm run build`.
import { main } from "../dist/controller/src/cli/main.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`meshlane: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
