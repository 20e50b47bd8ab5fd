import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api } from "@kubernetes/client-node";
import { Informer, keyOf, type KubeObject } from "../../controller/src/reconcile/watch.js";
import { createLogger } from "../../controller/src/reconcile/log.js";
import { FakeApiServer } from "../apiserver/index.js";
import { createNamespaces, eventually } from "../apiserver/testutil.js";

let server: FakeApiServer;
let core: CoreV1Api;

before(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 100 });
  core = server.kubeConfig().makeApiClient(CoreV1Api);
  await createNamespaces(server.kubeConfig(), "i1", "i2", "i3", "i4", "i5", "i6", "elsewhere");
});
after(() => server.stop());

const cm = (namespace: string, name: string, v = "0") => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: { v },
});

/** An informer on one namespace's ConfigMaps that records what its handlers saw. */
function recorder(namespace: string) {
  const seen: string[] = [];
  const inf = new Informer<KubeObject & { data?: Record<string, string> }>({
    kc: server.kubeConfig(),
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    backoff: { base: 50, max: 500 },
  });
  inf.on({
    add: (o) => seen.push(`add ${o.metadata?.name} ${o.data?.v}`),
    update: (o, old) => seen.push(`update ${o.metadata?.name} ${old.data?.v}->${o.data?.v}`),
    delete: (o) => seen.push(`delete ${o.metadata?.name}`),
  });
  return { inf, seen };
}

test("lists, then watches: handlers see add, update, delete; the cache follows", async () => {
  await core.createNamespacedConfigMap({ namespace: "i1", body: cm("i1", "pre") });
  const { inf, seen } = recorder("i1");
  inf.start();
  await inf.waitForSync();
  assert.deepEqual(seen, ["add pre 0"]);
  const pre = inf.get("i1/pre");
  assert.equal(pre?.kind, "ConfigMap", "list items get their kind back");
  assert.equal(pre && keyOf(pre), "i1/pre");

  await core.createNamespacedConfigMap({ namespace: "i1", body: cm("i1", "a") });
  await core.patchNamespacedConfigMap({
    namespace: "i1",
    name: "a",
    body: [{ op: "replace", path: "/data/v", value: "1" }],
  });
  await core.deleteNamespacedConfigMap({ namespace: "i1", name: "pre" });
  await eventually(() => seen.length === 4, "three more events");
  await inf.stop();
  assert.deepEqual(seen, ["add pre 0", "add a 0", "update a 0->1", "delete pre"]);
  assert.deepEqual(inf.keys(), ["i1/a"]);
  assert.equal(inf.stats.lists, 1);
});

test("survives server.restart() mid-watch and resumes from its resourceVersion without missing events", async () => {
  const { inf, seen } = recorder("i2");
  inf.start();
  await inf.waitForSync();
  await core.createNamespacedConfigMap({ namespace: "i2", body: cm("i2", "a") });
  await eventually(() => seen.length === 1, "first add");

  await server.restart({
    downtimeMs: 300,
    whileDown: () => {
      server.seed(cm("i2", "b"));
      server.seed(cm("i2", "a", "2"));
    },
  });
  await eventually(() => seen.length === 3, "the events written while it was cut off");
  await core.createNamespacedConfigMap({ namespace: "i2", body: cm("i2", "c") });
  await eventually(() => seen.length === 4, "a new event after the restart");
  await inf.stop();
  assert.deepEqual(seen, ["add a 0", "add b 0", "update a 0->2", "add c 0"]);
  assert.equal(inf.stats.lists, 1, "resumed by resourceVersion, not by relisting");
  assert.ok(inf.stats.watches >= 2);
});

test("on 410 Gone it relists and delivers the difference as add, update and delete", async () => {
  await core.createNamespacedConfigMap({ namespace: "i3", body: cm("i3", "keep") });
  await core.createNamespacedConfigMap({ namespace: "i3", body: cm("i3", "change") });
  await core.createNamespacedConfigMap({ namespace: "i3", body: cm("i3", "remove") });
  const { inf, seen } = recorder("i3");
  inf.start();
  await inf.waitForSync();
  seen.length = 0;

  await server.restart({
    whileDown: () => {
      server.seed(cm("i3", "change", "9"));
      server.removeObject("configmaps", "i3", "remove");
      server.seed(cm("i3", "new"));
      server.compactHistory();
    },
  });
  await eventually(() => inf.stats.expired === 1 && seen.length === 3, "relist after 410");
  await inf.stop();
  assert.deepEqual([...seen].sort(), ["add new 0", "delete remove", "update change 0->9"]);
  assert.equal(inf.stats.lists, 2);
  assert.deepEqual(inf.keys().sort(), ["i3/change", "i3/keep", "i3/new"]);
  assert.equal(inf.get("i3/keep")?.data?.v, "0", "unchanged objects are not re-delivered");
});

test("bookmarks move its resourceVersion forward while its own objects are quiet", async () => {
  const { inf } = recorder("i4");
  inf.start();
  await inf.waitForSync();
  const start = Number(inf.resourceVersion);
  await core.createNamespacedConfigMap({ namespace: "elsewhere", body: cm("elsewhere", `x${start}`) });
  await eventually(() => Number(inf.resourceVersion) > start, "a bookmark with a newer resourceVersion");
  await inf.stop();
  assert.ok(inf.stats.bookmarks > 0);
  assert.equal(inf.stats.events, 0);
});

test("failed lists and watches are retried with backoff until the server answers", async () => {
  server.injectFailures({ verb: "list", resource: "configmaps", namespace: "i5", status: 500, count: 2 });
  server.injectFailures({ verb: "watch", resource: "configmaps", namespace: "i5", status: 503, count: 2 });
  const { inf, seen } = recorder("i5");
  inf.start();
  await inf.waitForSync();
  await core.createNamespacedConfigMap({ namespace: "i5", body: cm("i5", "late") });
  await eventually(() => seen.includes("add late 0"), "the watch to recover");
  await inf.stop();
  assert.ok(inf.stats.errors >= 4, `errors counted: ${inf.stats.errors}`);
  assert.equal(server.count({ verb: "list", namespace: "i5", code: 500 }), 2);
  assert.equal(server.count({ verb: "watch", namespace: "i5", code: 503 }), 2);
});

test("a run of failed lists is one warning, not one per retry; the retries are debug", async () => {
  await createNamespaces(server.kubeConfig(), "i7");
  server.injectFailures({ verb: "list", resource: "configmaps", namespace: "i7", status: 503, count: 6 });
  const lines: { level: string; msg: string }[] = [];
  const inf = new Informer<KubeObject>({
    kc: server.kubeConfig(),
    path: "/api/v1/namespaces/i7/configmaps",
    backoff: { base: 5, max: 20 },
    logger: createLogger({ level: "debug", sink: (l) => lines.push(JSON.parse(l)) }),
  });
  inf.start();
  await inf.waitForSync();
  await inf.stop();
  const failed = lines.filter((l) => l.msg === "list failed; retrying");
  assert.equal(failed.length, 6, "every retry is logged");
  assert.deepEqual(
    failed.map((l) => l.level),
    ["warn", "debug", "debug", "debug", "debug", "debug"],
  );
});

test("stop() does not wait for a list the server is stalling", async () => {
  server.injectFailures({ verb: "list", resource: "configmaps", namespace: "i6", delayMs: 60_000 });
  const { inf } = recorder("i6");
  inf.start();
  await sleep(200); // let the list go out; stop() must not wait for its answer
  await inf.stop();
  assert.equal(inf.synced, false);
  assert.equal(server.count({ verb: "list", namespace: "i6" }), 0, "the stalled list never completed");
});

test("connected: false with the server's reason while a list or watch is refused, true once a watch is accepted", async () => {
  const refused = server.injectFailures({
    verb: "list",
    resource: "configmaps",
    namespace: "i7",
    status: 403,
    count: Infinity,
    message: 'configmaps is forbidden: cannot list resource "configmaps" in the namespace "i7"',
  });
  const flips: boolean[] = [];
  const inf = new Informer({
    kc: server.kubeConfig(),
    path: "/api/v1/namespaces/i7/configmaps",
    backoff: { base: 50, max: 200 },
    onHealth: (up) => flips.push(up),
  });
  inf.start();
  try {
    await eventually(() => inf.lastError !== undefined, "the refusal");
    assert.equal(inf.connected, false);
    assert.equal(inf.synced, false);
    assert.deepEqual(inf.lastError, {
      code: 403,
      message: 'configmaps is forbidden: cannot list resource "configmaps" in the namespace "i7"',
    });
    refused.cancel();
    await inf.waitForSync();
    await eventually(() => inf.connected, "connected");
    assert.equal(inf.lastError, undefined);
    // A watch the server refuses takes it down again; the next accepted one brings it back.
    server.injectFailures({ verb: "watch", resource: "configmaps", namespace: "i7", status: 500, count: 2 });
    server.dropWatches();
    await eventually(() => flips.at(-1) === false, "down while the watch is refused");
    await eventually(() => inf.connected, "up again");
    assert.deepEqual(flips.slice(0, 2), [false, true]);
  } finally {
    await inf.stop();
  }
});
