// The shape of the controller's sources: no module imports itself back through others (type-only
// imports count: a cycle of types is still two ideas that cannot be read apart), and the host's
// modules stay small enough to hold one idea each. Read from the TypeScript sources with
// TypeScript's own scanner, so `import type`, `export … from` and `import()` are all seen.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";
import { fromRoot } from "../../controller/src/paths.js";

const SRC = fromRoot("controller", "src");
const HOST = path.join(SRC, "host");
/** A host module longer than this is holding more than one idea. */
const MAX_HOST_LINES = 500;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

/** Module → the modules of controller/src it imports (relative specifiers, `.js` → `.ts`). */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const deps = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith("."))
      .map((spec) => path.resolve(path.dirname(file), spec).replace(/\.js$/, ".ts"))
      .filter((dep) => known.has(dep));
    graph.set(file, [...new Set(deps)]);
  }
  return graph;
}

/** Every cycle's modules (strongly connected components with more than one module, or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const rel = (f: string) => path.relative(SRC, f);

describe("controller sources", () => {
  it("the cycle finder sees type-only imports, re-exports and dynamic imports", () => {
    const dir = "/virtual";
    const graph = new Map([
      [`${dir}/a.ts`, [`${dir}/b.ts`]],
      [`${dir}/b.ts`, [`${dir}/c.ts`]],
      [`${dir}/c.ts`, [`${dir}/a.ts`]],
      [`${dir}/d.ts`, [`${dir}/a.ts`]],
    ]);
    assert.deepEqual(
      cycles(graph).map((c) => c.sort()),
      [[`${dir}/a.ts`, `${dir}/b.ts`, `${dir}/c.ts`]],
    );
    const seen = ts
      .preProcessFile(
        'import type { X } from "./x.js";\nexport { Y } from "./y.js";\nconst z = await import("./z.js");\n',
        true,
        true,
      )
      .importedFiles.map((f) => f.fileName);
    assert.deepEqual(seen, ["./x.js", "./y.js", "./z.js"]);
  });

  it("have no import cycles", () => {
    const files = sources(SRC);
    assert.ok(
      files.some((f) => f.endsWith(path.join("host", "vm.ts"))),
      `sources not found under ${SRC}`,
    );
    const graph = importGraph(files);
    assert.ok(
      [...graph.values()].some((deps) => deps.length > 0),
      "no imports resolved",
    );
    assert.deepEqual(
      cycles(graph).map((c) => c.map(rel).sort().join(" → ")),
      [],
      "modules that import each other",
    );
  });

  it(`host modules are at most ${MAX_HOST_LINES} lines, with no @internal members`, () => {
    const long: string[] = [];
    const internal: string[] = [];
    for (const file of sources(HOST)) {
      const text = readFileSync(file, "utf8");
      const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      if (lines > MAX_HOST_LINES) long.push(`${rel(file)}: ${lines} lines`);
      // What the imports and contexts use is the HostCalls / ContextVm interface, not hidden members.
      if (text.includes("@internal")) internal.push(rel(file));
    }
    assert.deepEqual(long, []);
    assert.deepEqual(internal, []);
  });
});
