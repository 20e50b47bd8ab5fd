// Small helpers shared by the verbs: option parsing and input files, whose mistakes are usage errors
// (exit 2) reported as one line naming what is wrong, then a hint where to read more.
import { readFile } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** A mistake in the command line or its input files: exit 2, one line, no help dump. */
export class UsageError extends Error {}

export function parse<const O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true as const });
  } catch (err) {
    throw new UsageError(err instanceof Error ? firstSentence(err.message) : String(err));
  }
}

/** node:util's parse errors carry a second sentence on how to pass a dash-led value; keep the first. */
function firstSentence(message: string): string {
  const i = message.indexOf(". To specify");
  return i > 0 ? message.slice(0, i) : message;
}

/** Prints a usage error as `meshlane <verb>: <message>` and the help hint; returns exit code 2. */
export function reportUsageError(verb: string | undefined, message: string): number {
  const who = verb ? `meshlane ${verb}` : "meshlane";
  process.stderr.write(`${who}: ${message}\nrun '${who} --help' for usage\n`);
  return 2;
}

/** Runs a verb body, turning a UsageError into exit 2 with one line and a hint. */
export async function runVerb(help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError)
      return reportUsageError(/^Usage: meshlane (\S+)/.exec(help)?.[1], err.message);
    throw err;
  }
}

/** Why a file could not be read, in words (the Node error code's meaning, not the code). */
export function fileReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory, not a file";
    case "ENOTDIR":
      return "a part of the path is not a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    case "ENAMETOOLONG":
      return "the name is too long";
  }
  const message = err instanceof Error ? err.message : String(err);
  // "ECODE: description, syscall 'path'" → "description"
  return message.replace(/^[A-Z][A-Z0-9_]+: /, "").replace(/, \w+ '.*'$/, "");
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Reads an input file ("-" is standard input when `stdin` is allowed). A file that cannot be read is a
 * usage error naming `what` it is, the path and the reason.
 */
export async function readInput(file: string, what: string, opts: { stdin?: boolean } = {}): Promise<Buffer> {
  if (file === "-" && opts.stdin) return readStdin();
  try {
    return await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${file}: ${fileReason(err)}`);
  }
}

/** readInput as UTF-8 text. */
export async function readInputText(
  file: string,
  what: string,
  opts: { stdin?: boolean } = {},
): Promise<string> {
  return (await readInput(file, what, opts)).toString("utf8");
}
