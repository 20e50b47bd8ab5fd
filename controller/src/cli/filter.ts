// The filter module a verb runs (--wasm, default build/meshlane.wasm), read and compiled once up front so
// that a missing, unreadable or foreign file is a usage error naming it, before any work starts.
import { compileFilter, type CompiledFilter } from "../host/index.js";
import { defaultWasmPath } from "../paths.js";
import { fileReason, UsageError } from "./args.js";
import { readFile } from "node:fs/promises";

export async function loadFilterModule(file: string = defaultWasmPath): Promise<CompiledFilter> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const hint = file === defaultWasmPath ? " (run `npm run build` first)" : "";
    throw new UsageError(`cannot read the filter module ${file}: ${fileReason(err)}${hint}`);
  }
  try {
    return await compileFilter(bytes);
  } catch (err) {
    throw new UsageError(
      `${file} is not a filter module meshlane can run: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
