// The bench's counted work (bench/work.ts): a counting build of the real modules through the host.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { compileFilter, WasmVm } from "../../controller/src/host/index.js";
import { EDGE_HEADERS, EDGE_PROPS, TEN_RULES } from "../../bench/filter.js";
import { countingBuild, instructionsPerRequest, WORK_COUNTER } from "../../bench/work.js";
import { fromRoot } from "../../controller/src/paths.js";

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
