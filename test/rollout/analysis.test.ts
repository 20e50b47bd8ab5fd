// What both providers share: PromQL's histogram_quantile on buckets, the exposition reader, and how
// measured numbers become observations (never a pass without data).
import { test } from "node:test";
import assert from "node:assert/strict";
import { histogramQuantile, observe } from "../../controller/src/rollout/analysis.js";
import { ExpositionError, parseExposition } from "../../controller/src/rollout/exposition.js";

test("histogramQuantile interpolates inside the bucket holding the rank, as histogram_quantile does", () => {
  const b = [
    { le: 5, count: 50 },
    { le: 10, count: 90 },
    { le: 25, count: 100 },
    { le: Infinity, count: 100 },
  ];
  assert.equal(histogramQuantile(0.5, b), 5); // rank 50: the end of the first bucket
  assert.equal(histogramQuantile(0.7, b), 7.5); // rank 70: half way through (5, 10]
  assert.equal(histogramQuantile(0.99, b), 23.5); // rank 99: 9 of 10 into (10, 25]
  assert.equal(histogramQuantile(0.25, b), 2.5); // the first bucket starts at 0
  // A rank in +Inf answers the highest finite bound.
  assert.equal(
    histogramQuantile(0.99, [
      { le: 1, count: 1 },
      { le: Infinity, count: 10 },
    ]),
    1,
  );
  assert.ok(
    Number.isNaN(
      histogramQuantile(0.99, [
        { le: 1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ),
  );
  assert.ok(Number.isNaN(histogramQuantile(0.99, [{ le: 1, count: 3 }])), "no +Inf bucket");
});

test("parseExposition reads labels, escapes, NaN/Inf and skips comments; a bad line names its number", () => {
  const s = parseExposition(
    '# TYPE x counter\nx{a="1",b="q\\"\\\\\\n"} 3\ny 4 1700000000\nz{} NaN\nw{le="+Inf"} +Inf\n',
  );
  assert.deepEqual(s[0], { name: "x", labels: { a: "1", b: 'q"\\\n' }, value: 3 });
  assert.deepEqual(s[1], { name: "y", labels: {}, value: 4 });
  assert.ok(Number.isNaN(s[2].value));
  assert.equal(s[3].value, Infinity);
  assert.throws(
    () => parseExposition("ok 1\nbad{a=1} 2\n"),
    (e: unknown) => e instanceof ExpositionError && /line 2/.test((e as Error).message),
  );
  assert.throws(() => parseExposition("x abc\n"), /bad value/);
});

test("observe: too few requests, NaN, no value, a source error and a missing base are never a pass", () => {
  const rate = { name: "request-success-rate", thresholdRange: { min: 95 } };
  assert.equal(observe(rate, "a", { value: 100, requests: 50 }, 10).verdict, "pass");
  assert.equal(observe(rate, "a", { value: 90, requests: 50 }, 10).verdict, "fail");
  for (const m of [
    { value: 100, requests: 5 },
    { value: NaN, requests: 50 },
    { requests: 50 },
    { error: "Prometheus down" },
  ]) {
    const o = observe(rate, "a", m, 10);
    assert.equal(o.verdict, "none", JSON.stringify(m));
    assert.ok((o.reason ?? "").length > 0);
  }
  const vsBase = { ...rate, maxIncreaseOverBase: 1 };
  assert.equal(observe(vsBase, undefined, { value: 100, requests: 50 }, 10).verdict, "none");
  assert.equal(observe(vsBase, undefined, { value: 100, requests: 50, base: 98 }, 10).verdict, "fail");
});
