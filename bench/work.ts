// The dye filter's own work counted rather than timed: wasm instructions run per request, the same
// number on every machine and every run. Timed ratios move by a few hundredths between runs on a
// shared machine; this count moves only when the code does, so a change to the request path shows
// its effect here first.
//
// Binaryen instruments a copy of the module: each straight-line run of instructions (a function
// body, a block, a loop body, an arm of an `if`) adds its own length to an exported i64 global when
// it starts. A run ends after each statement that may branch away (a `br`, `br_if`, `br_table` or
// `return` anywhere in it: a loop's `continue`, an early exit), so the instructions a branch skips
// are not counted; only what precedes the branch within that one statement may be.
import type Binaryen from "binaryen";
import type { PropertyInput } from "../controller/src/host/index.js";
import { compileFilter, WasmVm } from "../controller/src/host/index.js";
import { perRequestNs } from "./host-lifecycle.js";

type Pairs = readonly (readonly [string, string])[];

/** The global the counting build exports. */
export const WORK_COUNTER = "__meshlane_work";

// Expression setters binaryen.js has at run time but not in its type declarations.
type Edit = {
  Loop: { setBody(loop: number, body: number): void };
  If: { setIfTrue(e: number, arm: number): void; setIfFalse(e: number, arm: number): void };
  Block: { insertChildAt(block: number, index: number, child: number): void };
  Function: { setBody(f: number, body: number): void };
};

// Fields of a Binaryen expression that hold child expressions (Call's `target` is a name).
const CHILD_FIELDS = [
  "value",
  "ptr",
  "left",
  "right",
  "condition",
  "dest",
  "source",
  "size",
  "delta",
  "expected",
  "replacement",
  "target",
];

/** A copy of `bytes` that counts the instructions it runs in WORK_COUNTER. Binaryen (a large module,
 * compiled in the background once loaded) is imported only here, so that loading it cannot disturb
 * the bench's timings. */
export async function countingBuild(bytes: Uint8Array): Promise<Uint8Array> {
  const binaryen: typeof Binaryen = (await import("binaryen")).default;
  const edit = binaryen as unknown as Edit;
  const m = binaryen.readBinary(bytes);
  try {
    const F = binaryen.Features;
    m.setFeatures(F.MVP | F.MutableGlobals | F.SignExt | F.NontrappingFPToInt | F.BulkMemory);
    m.addGlobal(WORK_COUNTER, binaryen.i64, true, m.i64.const(0, 0));
    m.addGlobalExport(WORK_COUNTER, WORK_COUNTER);
    const add = (n: number) =>
      m.global.set(WORK_COUNTER, m.i64.add(m.global.get(WORK_COUNTER, binaryen.i64), m.i64.const(n, 0)));
    type Info = Record<string, unknown> & { id: number; type: number };
    const info = (e: number) => binaryen.getExpressionInfo(e) as unknown as Info;
    const children = (i: Info): number[] => {
      if (i.id === binaryen.ConstId) return [];
      const out: number[] = [];
      for (const k of CHILD_FIELDS) {
        const v = i[k];
        if (typeof v === "number" && v !== 0 && !(k === "target" && i.id === binaryen.CallId)) out.push(v);
      }
      for (const k of ["operands", "children"]) {
        const v = i[k];
        if (Array.isArray(v)) out.push(...(v as number[]).filter((x) => x !== 0));
      }
      return out;
    };
    // The length of the run an expression belongs to; nested runs are instrumented on the way.
    const run = (e: number): number => {
      const i = info(e);
      if (i.id === binaryen.BlockId) {
        instrumentBlock(e, i);
        return 1;
      }
      if (i.id === binaryen.LoopId) {
        edit.Loop.setBody(e, counted(i.body as number));
        return 1;
      }
      if (i.id === binaryen.IfId) {
        edit.If.setIfTrue(e, counted(i.ifTrue as number));
        if (i.ifFalse) edit.If.setIfFalse(e, counted(i.ifFalse as number));
        return 1 + run(i.condition as number);
      }
      return children(i).reduce((n, c) => n + run(c), 1);
    };
    // Whether an expression holds a branch that may leave it early; each expression is looked at
    // once, however deeply the blocks around it nest.
    const branches = new Map<number, boolean>();
    const mayBranch = (e: number): boolean => {
      const known = branches.get(e);
      if (known !== undefined) return known;
      const i = info(e);
      const arms = [i.body, i.ifTrue, i.ifFalse].filter((x): x is number => typeof x === "number" && x !== 0);
      const r =
        i.id === binaryen.BreakId ||
        i.id === binaryen.SwitchId ||
        i.id === binaryen.ReturnId ||
        [...children(i), ...arms].some(mayBranch);
      branches.set(e, r);
      return r;
    };
    // A block's statements in runs that end after one that may branch away; each run adds its
    // length when it starts (inserted from the last, so the earlier positions hold).
    const instrumentBlock = (e: number, i: Info) => {
      const list = i.children as number[];
      const runs: [number, number][] = [];
      let start = 0;
      let n = 0;
      list.forEach((c, k) => {
        const exits = mayBranch(c); // before run(): it adds the counters of nested runs
        n += run(c);
        if (exits || k === list.length - 1) {
          runs.push([start, n]);
          start = k + 1;
          n = 0;
        }
      });
      for (const [at, len] of runs.reverse()) edit.Block.insertChildAt(e, at, add(len));
    };
    const counted = (e: number): number => {
      const i = info(e);
      if (i.id === binaryen.BlockId && !i.name) {
        instrumentBlock(e, i);
        return e;
      }
      return m.block(null, [add(run(e)), e], i.type);
    };
    for (let k = 0; k < m.getNumFunctions(); k++) {
      const f = m.getFunctionByIndex(k);
      const body = binaryen.getFunctionInfo(f).body;
      if (body) edit.Function.setBody(f as unknown as number, counted(body));
    }
    if (!m.validate()) throw new Error("the counting build does not validate");
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}

/** Wasm instructions the module runs per request (full lifecycle), with `config` as its plugin
 * configuration: the mean over 4,096 requests after 1,024 (whole rounds of the filter's periodic
 * collection, so its share is included). */
export async function instructionsPerRequest(
  bytes: Uint8Array,
  config: string,
  requestHeaders: Pairs,
  properties: readonly PropertyInput[],
): Promise<number> {
  const vm = WasmVm.instantiate(await compileFilter(await countingBuild(bytes)));
  const root = vm.createRoot(config);
  if (!root.ok) throw new Error(`configuration rejected: ${vm.logs.map((l) => l.msg).join("; ")}`);
  const counter = () => {
    const v = vm.exportedGlobal(WORK_COUNTER);
    if (typeof v !== "bigint") throw new Error(`the counting build exports no ${WORK_COUNTER}`);
    return v;
  };
  const options = { warmup: 0, requestHeaders, properties };
  await perRequestNs(root, { ...options, requests: 1024 });
  const before = counter();
  await perRequestNs(root, { ...options, requests: 4096 });
  return Number(counter() - before) / 4096;
}
