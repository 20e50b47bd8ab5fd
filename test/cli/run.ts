// The CLI as a user's shell runs it: `node bin/meshlane.js <args>` as a child process with stdout and
// stderr going into pipes (not files), read as they come.
import { spawn } from "node:child_process";
import { fromRoot } from "../../controller/src/paths.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Bytes a Linux pipe holds before a writer has to wait: output larger than this tests draining. */
export const PIPE_BUFFER = 64 * 1024;

export function meshlane(
  args: string[],
  opts: { input?: string; bin?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.bin ?? fromRoot("bin", "meshlane.js"), ...args], {
      cwd: opts.cwd ?? fromRoot(),
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    // A CLI that exits before reading its input (most verbs never read it) closes the pipe: EPIPE on
    // our side of stdin is then expected, not a failure of the test.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}
