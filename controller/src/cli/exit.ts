// How the CLI process ends. Node writes to a pipe asynchronously: whatever a verb wrote may still sit in
// the stream's buffer when it returns, and `process.exit()` would drop it (a pipe then sees a few hundred
// lines of thousands, with exit 0). So the exit code is set first and the process ends only once every
// byte written to stdout and stderr has been handed to the OS.
import { EXIT_INTERNAL } from "./help.js";

/** Resolves once everything written to `stream` so far has been flushed (or the stream is gone). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    // Writes complete in order, so an empty write's callback runs after every earlier chunk is out.
    stream.write("", () => resolve());
  });
}

/**
 * A reader that stops early (`meshlane explain ... | head`) closes the pipe: writing then fails with
 * EPIPE. That is the reader's choice, not an error of ours, so the process ends quietly with the exit
 * code it already has.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") {
        // Output was lost (a full disk, a device error): say so where possible, and fail.
        if (stream === process.stdout)
          process.stderr.write(`meshlane: cannot write the output: ${err.message}\n`);
        process.exitCode = EXIT_INTERNAL;
      }
      process.exit();
    });
  }
}

/**
 * Ends the process with `code` after stdout and stderr have drained. The final `process.exit` only
 * stops handles a verb left open (sockets in a keep-alive pool, a watch being torn down): by then
 * nothing written is lost.
 */
export async function exitAfterFlush(code: number): Promise<void> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit();
}
