// The bench's counted work (bench/work.ts): a counting build of the real modules through the host.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compileFilter, WasmVm } from "../../controller/src/host/index.js";
import { EDGE_HEADERS, EDGE_PROPS, TEN_RULES } from "../../bench/filter.js";
import { countingBuild, instructionsPerRequest, WORK_COUNTER } from "../../bench/work.js";
import { fromRoot } from "../../controller/src/paths.js";
import { WA, type WasmGlobal } from "../../controller/src/host/wasm-api.js";

const wasm = (...p: string[]) => readFileSync(fromRoot(...p));

describe("counted work per request", () => {
  it("the counting build behaves as the filter and exports its counter", async () => {
    const vm = WasmVm.instantiate(await compileFilter(await countingBuild(wasm("build", "meshlane.wasm"))));
    const root = vm.createRoot(JSON.stringify(TEN_RULES));
    assert.equal(root.ok, true);
    const before = vm.exportedGlobal(WORK_COUNTER) as bigint;
    assert.equal(typeof before, "bigint");
    const s = root.newStream({ properties: EDGE_PROPS });
    s.requestHeaders([...EDGE_HEADERS, ["agent", "pc"]], true);
    assert.equal(s.requestHeaderPairs().find(([k]) => k === "x-lane")?.[1], "canary");
    s.finish();
    assert.ok((vm.exportedGlobal(WORK_COUNTER) as bigint) > before);
    // A module without the counter has no such global.
    const plain = WasmVm.instantiate(await compileFilter(wasm("build", "meshlane.wasm")));
    assert.equal(plain.exportedGlobal(WORK_COUNTER), undefined);
  });

  it("counts what runs: a branch out of a block does not count the instructions it skips", async () => {
    const binaryen = (await import("binaryen")).default;
    // f(x): when x is not 0, leaves the block before its two drops (four instructions each).
    const m = binaryen.parseText(`(module
      (func (export "f") (param $x i32) (result i32)
        (block $out
          (br_if $out (local.get $x))
          (drop (i32.add (i32.const 1) (i32.const 2)))
          (drop (i32.add (i32.const 3) (i32.const 4))))
        (i32.const 0)))`);
    const bytes = m.emitBinary();
    m.dispose();
    const instance = new WA.Instance(new WA.Module(await countingBuild(bytes)), {});
    const f = instance.exports.f as (x: number) => number;
    const counter = instance.exports[WORK_COUNTER] as WasmGlobal;
    const cost = (x: number) => {
      const before = counter.value as bigint;
      f(x);
      return Number((counter.value as bigint) - before);
    };
    const taken = cost(1);
    const through = cost(0);
    assert.equal(through - taken, 8, JSON.stringify({ taken, through }));
    assert.equal(cost(1), taken);
  });

  it("is the same on every run and grows with the work", async () => {
    const meshlane = wasm("build", "meshlane.wasm");
    const tenRules = JSON.stringify(TEN_RULES);
    const ten = await instructionsPerRequest(meshlane, tenRules, EDGE_HEADERS, EDGE_PROPS);
    assert.equal(await instructionsPerRequest(meshlane, tenRules, EDGE_HEADERS, EDGE_PROPS), ten);
    const none = await instructionsPerRequest(
      meshlane,
      JSON.stringify({ ...TEN_RULES, rules: [] }),
      EDGE_HEADERS,
      EDGE_PROPS,
    );
    const calls = await instructionsPerRequest(
      wasm("build", "fixtures", "host-calls.wasm"),
      "",
      EDGE_HEADERS,
      EDGE_PROPS,
    );
    const noop = await instructionsPerRequest(
      wasm("build", "fixtures", "noop.wasm"),
      "",
      EDGE_HEADERS,
      EDGE_PROPS,
    );
    assert.ok(noop < calls && calls < none && none < ten, JSON.stringify({ noop, calls, none, ten }));
  });
});
