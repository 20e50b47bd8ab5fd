// The bench's dye-filter goals and its runs in a proxy-wasm-cpp-host runner. The runner here is a
// stand-in script with the real one's command line (`--bench N MODULE.wasm SCENARIO.json`,
// one `{"bench": true, …}` line out), so the test needs nothing outside the repository.
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { benchFilterRefhost, EDGE_HEADERS, EDGE_PROPS, TEN_RULES } from "../../bench/filter.js";
import { dyeRows } from "../../bench/goals.js";
import { dyeCases, REFHOST_ENV, REFHOST_SKIPPED, refhostCosts, refhostRunners } from "../../bench/refhost.js";

describe("bench: the dye filter's goals", () => {
  const rows = dyeRows({ a: 400, b: 2500, c: 2300, d: 1600 });
  const row = (prefix: string) => {
    const r = rows.find((x) => x.name.startsWith(prefix));
    assert.ok(r, `no row starting "${prefix}" in ${rows.map((x) => x.name).join(" | ")}`);
    return r;
  };

  it("names the two goals in words, with their values and whether they are met", () => {
    const own = row("meshlane's own work over the unavoidable host calls");
    assert.deepEqual([own.value, own.goal, own.ok], ["1.44", "≤ 1.25", false]);
    const stock = row("edge, 10 rules ÷ an empty filter on the stock SDK");
    assert.deepEqual([stock.value, stock.goal, stock.ok], ["0.92", "≤ 1", true]);
  });

  it("holds nothing else to a goal (c/a is information), and cites no issue numbers", () => {
    assert.deepEqual(
      rows.filter((r) => r.goal !== undefined).map((r) => r.goal),
      ["≤ 1.25", "≤ 1"],
    );
    assert.equal(row("edge, 10 rules ÷ no-op").value, "5.75; 4.00");
    for (const r of rows) assert.doesNotMatch(`${r.name} ${r.value}`, /issue|#\d/i);
  });

  it("prints meshlane's own work beside what each goal allows it, from the same four measures", () => {
    assert.equal(
      row("meshlane's own work per request (c − d)").value,
      "700 ns; c/d ≤ 1.25 allows 400 ns, c/b ≤ 1 allows 900 ns",
    );
    // A host with dear host calls: the floor (d) near the stock SDK's empty filter leaves c/b less
    // room than c/d.
    const dear = dyeRows({ a: 1000, b: 4900, c: 5300, d: 4340 }).find((r) =>
      r.name.startsWith("meshlane's own work per request"),
    );
    assert.equal(dear?.value, "960 ns; c/d ≤ 1.25 allows 1085 ns, c/b ≤ 1 allows 560 ns");
  });

  it("decides met or missed on the value as printed", () => {
    const at = (c: number) => dyeRows({ a: 100, b: 1000, c, d: 1000 })[4];
    assert.deepEqual([at(1254).value, at(1254).ok], ["1.25", true]);
    assert.deepEqual([at(1256).value, at(1256).ok], ["1.26", false]);
  });
});

describe("bench: the dye filter in a proxy-wasm-cpp-host runner", () => {
  let dir = "";
  let runner = "";
  let broken = "";
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "meshlane-runner-test-"));
    runner = path.join(dir, "runner");
    // Records each call and answers with a cost per module, as the real runner prints it.
    await writeFile(
      runner,
      `#!${process.execPath}
const fs = require("node:fs");
const args = process.argv.slice(2);
const [wasm, scenario] = args.slice(-2);
fs.appendFileSync(${JSON.stringify(path.join(dir, "calls.jsonl"))},
  JSON.stringify({ args, scenario: JSON.parse(fs.readFileSync(scenario, "utf8")) }) + "\\n");
const ns = { "noop.wasm": 500, "stock-sdk-empty.wasm": 5000, "meshlane.wasm": 3000, "host-calls.wasm": 2000 };
console.log('{"event":"configure","ok":true}');
console.log(JSON.stringify({ bench: true, n: Number(args[1]), ns_per_request: ns[require("node:path").basename(wasm)] }));
process.exit(require("node:path").basename(wasm) === "stock-sdk-empty.wasm" ? 2 : 0);
`,
    );
    broken = path.join(dir, "broken");
    await writeFile(broken, `#!${process.execPath}\nconsole.error("cannot load module"); process.exit(1);\n`);
    await chmod(runner, 0o755);
    await chmod(broken, 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("runs the four modules with the same requests as our host, the fastest round of each", async () => {
    const costs = await refhostCosts(runner, dyeCases(TEN_RULES, EDGE_HEADERS, EDGE_PROPS), 10, 2);
    assert.deepEqual(costs, { a: 500, b: 5000, c: 3000, d: 2000 });
    const calls = (await readFile(path.join(dir, "calls.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { args: string[]; scenario: Record<string, unknown> });
    assert.equal(calls.length, 8);
    const byModule = new Map(calls.map((c) => [path.basename(c.args[2]), c]));
    for (const c of calls) assert.deepEqual(c.args.slice(0, 2), ["--bench", "10"]);
    const edge = byModule.get("meshlane.wasm")?.scenario as {
      plugin_config: string;
      requests: { properties: unknown; request_headers: unknown }[];
    };
    assert.deepEqual(JSON.parse(edge.plugin_config), TEN_RULES);
    assert.deepEqual(edge.requests[0].request_headers, EDGE_HEADERS);
    assert.deepEqual(edge.requests[0].properties, {
      source: { address: "203.0.113.7:51000" },
      metadata: {
        filter_metadata: { "envoy.filters.http.jwt_authn": { payload: { sub: "u1", groups: ["staff"] } } },
      },
    });
    const floor = byModule.get("host-calls.wasm")?.scenario as typeof edge;
    assert.deepEqual(floor.requests, edge.requests);
    const noop = byModule.get("noop.wasm")?.scenario as typeof edge;
    assert.deepEqual([noop.plugin_config, noop.requests[0].properties], ["", {}]);
  });

  it("prints the dye job alone (response metrics off) beside c/b, measured in the runner too", async () => {
    await rm(path.join(dir, "calls.jsonl"), { force: true });
    const rows = await benchFilterRefhost(runner, true);
    const job = rows.find((r) => r.name.startsWith("edge, 10 rules, without response metrics"));
    assert.ok(job, rows.map((r) => r.name).join(" | "));
    assert.equal(job.value, "0.60 (3000 vs 5000 ns; with them: 0.60)");
    assert.equal(job.goal, undefined);
    const configs = (await readFile(path.join(dir, "calls.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { scenario: { plugin_config: string } }).scenario.plugin_config)
      .filter((c) => c !== "");
    assert.deepEqual(
      [...new Set(configs)].map((c) => (JSON.parse(c) as { responseMetrics?: boolean }).responseMetrics),
      [undefined, false],
    );
  });

  it("a runner that prints no measure is an error that names it and quotes its stderr", async () => {
    await assert.rejects(
      refhostCosts(broken, dyeCases(TEN_RULES, EDGE_HEADERS, EDGE_PROPS), 10, 1),
      (e: Error) => e.message.includes(broken) && e.message.includes("cannot load module"),
    );
  });

  it(`is opt-in through ${REFHOST_ENV}; without it the bench says how to enable it`, () => {
    assert.deepEqual(refhostRunners({}), []);
    assert.deepEqual(refhostRunners({ [REFHOST_ENV]: `/x/refhost${path.delimiter}/x/refhost-fastjit` }), [
      "/x/refhost",
      "/x/refhost-fastjit",
    ]);
    assert.match(REFHOST_SKIPPED, new RegExp(`skipped: set ${REFHOST_ENV} to .*--bench N MODULE\\.wasm`));
  });
});
