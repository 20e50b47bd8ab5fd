// The `meshlane` command line: one module per verb, registered in verbs.ts. `runCli` is what
// bin/meshlane.js calls: it runs a verb and ends the process with its exit code once the output is out.
import { readFileSync } from "node:fs";
import { reportUsageError } from "./args.js";
import { endQuietlyOnClosedPipe, exitAfterFlush } from "./exit.js";
import { EXIT_INTERNAL } from "./help.js";
import { verbs, usage } from "./verbs.js";
import { fromRoot } from "../paths.js";

/** The package version, from the package.json beside dist/ (the one that was built). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")) as { version?: unknown };
  return typeof pkg.version === "string" ? pkg.version : "unknown";
}

/** Runs the command line; returns the exit code (see `meshlane --help`, "Exit status"). */
export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    return reportUsageError(undefined, `which verb? one of ${Object.keys(verbs).join(", ")}`);
  }
  if (verb === "help" || verb === "--help" || verb === "-h") {
    const topic = verb === "help" ? rest[0] : undefined;
    if (topic !== undefined && !verbs[topic]) return reportUsageError(undefined, `no verb "${topic}"`);
    process.stdout.write(topic !== undefined ? verbs[topic].help : usage());
    return 0;
  }
  if (verb === "--version" || verb === "-v" || verb === "version") {
    process.stdout.write(`meshlane ${version()}\n`);
    return 0;
  }
  const entry = verbs[verb];
  if (!entry) {
    const what = verb.startsWith("-") ? `unknown option "${verb}"` : `unknown verb "${verb}"`;
    return reportUsageError(undefined, `${what} (verbs: ${Object.keys(verbs).join(", ")})`);
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(entry.help);
    return 0;
  }
  return entry.run(rest);
}

/**
 * Runs `main` as the process: exit code as documented, every byte of output delivered whatever stdout
 * is (pipe, file, terminal), and an unexpected failure reported as one (exit 3), not as a verb's exit 1.
 */
export async function runCli(argv: string[]): Promise<void> {
  endQuietlyOnClosedPipe();
  let code: number;
  try {
    code = await main(argv);
  } catch (err) {
    const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`meshlane: internal error (a bug in meshlane; please report it):\n${detail}\n`);
    code = EXIT_INTERNAL;
  }
  await exitAfterFlush(code);
}
