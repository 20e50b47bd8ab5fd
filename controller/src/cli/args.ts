// Small helpers shared by the verbs: option parsing that reports mistakes as usage errors (exit 2).
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

export class UsageError extends Error {}

export function parse<const O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true as const });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

/** Runs a verb body, turning UsageError into exit 2 with the message and the verb's help. */
export async function runVerb(help: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`meshlane: ${err.message}\n\n${help}`);
      return 2;
    }
    throw err;
  }
}
