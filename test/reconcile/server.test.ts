import { test } from "node:test";
import assert from "node:assert/strict";
import { OpsServer, readinessChecks } from "../../controller/src/reconcile/server.js";
import { Counter, Registry, register } from "prom-client";
import { controllerMetrics, sampleValue } from "../../controller/src/reconcile/metrics.js";
import { WorkQueue } from "../../controller/src/reconcile/queue.js";
import { createLogger } from "../../controller/src/reconcile/log.js";

async function get(port: number, path: string, method = "GET") {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

test("/healthz, /readyz with named checks, registered routes, 404 and 405", async () => {
  const informer = { synced: false, connected: false };
  let leaderHealthy = true;
  const ops = new OpsServer({
    port: 0,
    host: "127.0.0.1",
    checks: readinessChecks({ informers: [informer], elector: { healthy: () => leaderHealthy } }),
  });
  ops.route("GET", "/meshlane.wasm", (_req, res) => {
    res.writeHead(200, { "content-type": "application/wasm" });
    res.end(Buffer.from([0, 97, 115, 109]));
  });
  await ops.start();
  try {
    assert.equal((await get(ops.port, "/healthz")).status, 200);
    const notReady = await get(ops.port, "/readyz");
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /\[-\]informers-synced failed/);
    assert.doesNotMatch(notReady.body, /leader-election/, "only failing checks unless ?verbose");

    informer.synced = true;
    const down = await get(ops.port, "/readyz");
    assert.equal(down.status, 503, "listed once, but the watch is down");
    assert.match(down.body, /\[-\]watches failed/);
    informer.connected = true;
    const ready = await get(ops.port, "/readyz?verbose");
    assert.equal(ready.status, 200);
    assert.match(ready.body, /\[\+\]informers-synced ok\n\[\+\]watches ok\n\[\+\]leader-election ok\nok/);

    leaderHealthy = false;
    assert.equal((await get(ops.port, "/readyz")).status, 503);

    const wasm = await get(ops.port, "/meshlane.wasm");
    assert.equal(wasm.status, 200);
    assert.equal(wasm.type, "application/wasm");
    assert.equal((await get(ops.port, "/meshlane.wasm", "HEAD")).status, 200);
    assert.equal((await get(ops.port, "/nope")).status, 404);
    assert.equal((await get(ops.port, "/healthz", "POST")).status, 405);
  } finally {
    await ops.close();
  }
});

test("/metrics exposes the controller metrics in Prometheus text format", async () => {
  const q = new WorkQueue(() => undefined);
  let leading = true;
  const m = controllerMetrics({ queueDepth: () => q.depth, isLeader: () => leading });
  m.observeReconcile(true, 30);
  m.observeReconcile(true, 700);
  m.observeReconcile(false, 2);
  const ops = new OpsServer({ port: 0, host: "127.0.0.1", registry: m.registry });
  await ops.start();
  try {
    const res = await get(ops.port, "/metrics");
    assert.equal(res.status, 200);
    assert.match(res.type ?? "", /^text\/plain; version=0\.0\.4/);
    const lines = res.body.split("\n");
    for (const l of [
      "# TYPE meshlane_reconcile_total counter",
      'meshlane_reconcile_total{result="success"} 2',
      'meshlane_reconcile_total{result="error"} 1',
      "meshlane_reconcile_errors_total 1",
      "# TYPE meshlane_queue_depth gauge",
      "meshlane_queue_depth 0",
      "meshlane_leader 1",
      "# TYPE meshlane_reconcile_duration_seconds histogram",
      'meshlane_reconcile_duration_seconds_bucket{le="0.005"} 1',
      'meshlane_reconcile_duration_seconds_bucket{le="0.05"} 2',
      'meshlane_reconcile_duration_seconds_bucket{le="1"} 3',
      'meshlane_reconcile_duration_seconds_bucket{le="+Inf"} 3',
      "meshlane_reconcile_duration_seconds_count 3",
      "meshlane_reconcile_duration_seconds_sum 0.732",
    ]) {
      assert.ok(lines.includes(l), `missing line: ${l}`);
    }
    leading = false;
    assert.ok((await get(ops.port, "/metrics")).body.split("\n").includes("meshlane_leader 0"));
  } finally {
    await ops.close();
  }
});

test("label values are escaped; names are checked; counters only go up", async () => {
  const r = new Registry();
  const c = new Counter({
    name: "x_total",
    help: "help with \\ and\nnewline",
    labelNames: ["path"],
    registers: [r],
  });
  c.inc({ path: 'a"b\\c\nd' });
  assert.match(await r.metrics(), /x_total\{path="a\\"b\\\\c\\nd"\} 1/);
  assert.match(await r.metrics(), /# HELP x_total help with \\\\ and\\nnewline/);
  assert.throws(() => new Counter({ name: "bad-name", help: "h", registers: [r] }));
  assert.throws(() => new Counter({ name: "x_total", help: "again", registers: [r] }));
  assert.throws(() => c.inc({ path: "p" }, -1));
  assert.equal(await sampleValue(c, { path: 'a"b\\c\nd' }), 1);
});

test("each set of controller metrics has its own registry; nothing goes to prom-client's global one", async () => {
  const a = controllerMetrics({ isLeader: () => true });
  const b = controllerMetrics({ isLeader: () => false });
  a.observeReconcile(false, 5, "shop");
  assert.equal(await sampleValue(a.reconcileErrors, { namespace: "shop" }), 1);
  assert.equal(await sampleValue(b.reconcileErrors, { namespace: "shop" }), 0);
  assert.equal(await sampleValue(a.leader), 1);
  assert.equal(await sampleValue(b.leader), 0);
  assert.doesNotMatch(await register.metrics(), /meshlane_/);
});

test("structured logs: one JSON object per line with time, level, msg and fields; level filter", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", sink: (l) => lines.push(l), now: () => new Date(0) });
  log.debug("hidden");
  const child = log.child({ component: "queue" });
  child.info("reconciled", { key: "shop/cart", ms: 12 });
  const err = Object.assign(new Error("HTTP-Code: 409\nMessage: ..."), { code: 409 });
  child.error("write failed", { err });
  assert.equal(lines.length, 2);
  assert.deepEqual(JSON.parse(lines[0]), {
    time: "1970-01-01T00:00:00.000Z",
    level: "info",
    msg: "reconciled",
    component: "queue",
    key: "shop/cart",
    ms: 12,
  });
  assert.deepEqual(JSON.parse(lines[1]).err, { message: "HTTP-Code: 409", code: 409 });
  assert.equal(log.enabled("debug"), false);
});
