// Where the package's own files are, wherever it is installed or run from. Compiled code lives in
// dist/controller/src, so the package root is three levels up from this module.
import { fileURLToPath } from "node:url";
import path from "node:path";

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** The release build of the filter, as `npm run build` writes it. */
export const defaultWasmPath = path.join(packageRoot, "build", "meshlane.wasm");

export function fromRoot(...parts: string[]): string {
  return path.join(packageRoot, ...parts);
}
