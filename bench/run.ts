// `npm run bench`: every performance goal of the issues, measured side by side in one run and
// printed as ratios. Goals are reported, never asserted: a miss prints "MISS", the run still exits 0.
// `--quick` runs smaller counts (for a smoke check).
import { benchFilter, benchHitRate, benchMemory, type Row } from "./filter.js";
import { benchDemoHop } from "./demo.js";
import { benchRender } from "./render.js";
import { benchController } from "./controller.js";

const quick = process.argv.includes("--quick");

function print(title: string, rows: Row[]): void {
  console.log(`\n${title}`);
  for (const r of rows) {
    const goal = r.goal ? `  goal ${r.goal}: ${r.ok ? "met" : "MISS"}` : "";
    console.log(`  ${r.name.padEnd(64)} ${r.value}${goal}`);
  }
}

async function main(): Promise<void> {
  console.log(`meshlane bench (${quick ? "quick" : "full"}), node ${process.version}`);
  print("Dye filter, per request over the whole lifecycle (issue 2)", [
    ...(await benchFilter(quick)),
    ...(await benchMemory(quick)),
  ]);
  const hop = await benchDemoHop(quick ? { requests: 400, warmup: 100 } : {});
  print("Sidecar propagation (issue 3)", [
    ...(await benchHitRate()),
    {
      name: `demo mesh latency per hop, with filter / without (${hop.hops} hops)`,
      value: `${hop.ratio.toFixed(2)} (${(hop.withFilterMs * 1000).toFixed(0)} µs vs ${(hop.withoutFilterMs * 1000).toFixed(0)} µs; +${(hop.addedMsPerHop * 1000).toFixed(0)} µs)`,
    },
  ]);
  const r = await benchRender();
  print("Render (issue 4)", [
    {
      name: `render ${r.services.toLocaleString("en")} Services × ${r.lanes} Lanes with user objects`,
      value: `${r.ms.toFixed(0)} ms`,
      goal: "≤ 1 s",
      ok: r.ms <= 1000,
    },
  ]);
  const c = await benchController();
  print("Controller against the test API server (issue 5)", [
    {
      name: `converge ${c.services.toLocaleString("en")} Services × ${c.lanes} Lanes from empty`,
      value: `${(c.convergeMs / 1000).toFixed(1)} s`,
      goal: "≤ 10 s",
      ok: c.convergeMs <= 10_000,
    },
    {
      name: "API writes on the first pass / objects that must change",
      value: `${c.firstPassWrites} / ${c.objectsToChange}`,
      goal: "writes ≤ objects",
      ok: c.firstPassWrites <= c.objectsToChange,
    },
    { name: "API writes on a no-op resync", value: String(c.noopWrites), goal: "0", ok: c.noopWrites === 0 },
  ]);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
