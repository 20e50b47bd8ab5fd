// Freshness by modification time, for the build: a step's outputs are up to date when every one exists
// and none is older than the newest of its inputs. Inputs are files or folders (walked recursively; a
// folder's own time counts too, so deleting or renaming a file in it makes its outputs stale).
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

/** Newest modification time (ms) under `paths`, skipping any path that starts with one of `exclude`. */
export function newestInput(paths, exclude = []) {
  let newest = 0;
  const skip = (p) => exclude.some((e) => p === e || p.startsWith(e + path.sep) || p.startsWith(e + "/"));
  const visit = (p) => {
    if (skip(p)) return;
    let st;
    try {
      st = statSync(p);
    } catch {
      return; // an optional input that does not exist (yet)
    }
    newest = Math.max(newest, st.mtimeMs);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(path.join(p, name));
  };
  for (const p of paths) visit(p);
  return newest;
}

/** Oldest modification time (ms) of `paths`, or -1 when one is missing. */
export function oldestOutput(paths) {
  let oldest = Infinity;
  for (const p of paths) {
    try {
      oldest = Math.min(oldest, statSync(p).mtimeMs);
    } catch {
      return -1;
    }
  }
  return oldest;
}

/** True when every output exists and is at least as new as the newest input. */
export function upToDate({ inputs, exclude = [], outputs }) {
  const oldest = oldestOutput(outputs);
  return oldest >= 0 && oldest >= newestInput(inputs, exclude);
}
