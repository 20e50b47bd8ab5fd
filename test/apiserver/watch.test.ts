import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api, Watch, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { FakeApiServer } from "./index.js";
import { createNamespaces, eventually } from "./testutil.js";

let server: FakeApiServer;
let core: CoreV1Api;
let watch: Watch;

interface Seen {
  type: string;
  name?: string;
  rv?: string;
  code?: number;
  reason?: string;
}

/** Starts a watch and collects its events; `done` resolves when the stream ends. */
async function collect(path: string, query: Record<string, string | number | boolean | undefined>) {
  const events: Seen[] = [];
  let resolveDone!: (err: unknown) => void;
  const done = new Promise<unknown>((r) => (resolveDone = r));
  const ctl = await watch.watch(
    path,
    query,
    (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number; reason?: string }) =>
      events.push({
        type,
        name: obj.metadata?.name,
        rv: obj.metadata?.resourceVersion,
        code: obj.code,
        reason: obj.reason,
      }),
    (err) => resolveDone(err ?? null),
  );
  return { events, done, abort: () => ctl.abort() };
}

const cm = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  data: { v: "0" },
});

before(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 100, historyLimit: 50 });
  core = server.kubeConfig().makeApiClient(CoreV1Api);
  watch = new Watch(server.kubeConfig());
  const names = ["other", "elsewhere", ...Array.from({ length: 9 }, (_, i) => `w${i + 1}`)];
  await createNamespaces(server.kubeConfig(), ...names);
});
after(() => server.stop());

test("watch from a list's resourceVersion sees ADDED, MODIFIED, DELETED in order", async () => {
  await core.createNamespacedConfigMap({ namespace: "w1", body: cm("before") });
  const list = await core.listNamespacedConfigMap({ namespace: "w1" });
  const w = await collect("/api/v1/namespaces/w1/configmaps", {
    resourceVersion: list.metadata?.resourceVersion,
  });
  await core.createNamespacedConfigMap({ namespace: "w1", body: cm("a") });
  await core.patchNamespacedConfigMap({
    namespace: "w1",
    name: "a",
    body: [{ op: "replace", path: "/data/v", value: "1" }],
  });
  await core.deleteNamespacedConfigMap({ namespace: "w1", name: "a" });
  await core.createNamespacedConfigMap({ namespace: "other", body: cm("elsewhere") });
  await eventually(() => w.events.length >= 3, "three events");
  w.abort();
  assert.deepEqual(
    w.events.map((e) => `${e.type} ${e.name}`),
    ["ADDED a", "MODIFIED a", "DELETED a"],
  );
  const rvs = w.events.map((e) => Number(e.rv));
  assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2], "each event carries a newer resourceVersion");
});

test("watch without a resourceVersion starts with synthetic ADDED for existing objects", async () => {
  await core.createNamespacedConfigMap({ namespace: "w2", body: cm("x") });
  await core.createNamespacedConfigMap({ namespace: "w2", body: cm("y") });
  const w = await collect("/api/v1/namespaces/w2/configmaps", {});
  await eventually(() => w.events.length >= 2, "initial events");
  w.abort();
  assert.deepEqual(w.events.map((e) => `${e.type} ${e.name}`).sort(), ["ADDED x", "ADDED y"]);
});

test("bookmarks carry the current resourceVersion when allowWatchBookmarks is set", async () => {
  const rv = server.resourceVersion;
  const w = await collect("/api/v1/namespaces/w3/configmaps", {
    resourceVersion: rv,
    allowWatchBookmarks: true,
  });
  await core.createNamespacedConfigMap({ namespace: "elsewhere", body: cm("bump") });
  await eventually(
    () => w.events.some((e) => e.type === "BOOKMARK" && Number(e.rv) > Number(rv)),
    "a bookmark",
  );
  w.abort();
  assert.ok(
    w.events.every((e) => e.type === "BOOKMARK"),
    "no object events in an empty namespace",
  );
  const plain = await collect("/api/v1/namespaces/w3/configmaps", {
    resourceVersion: server.resourceVersion,
  });
  await new Promise((r) => setTimeout(r, 400));
  plain.abort();
  assert.equal(plain.events.length, 0, "no bookmarks unless asked for");
});

test("resuming from a resourceVersion replays exactly the events after it", async () => {
  await core.createNamespacedConfigMap({ namespace: "w4", body: cm("one") });
  const mark = server.resourceVersion;
  await core.createNamespacedConfigMap({ namespace: "w4", body: cm("two") });
  await core.deleteNamespacedConfigMap({ namespace: "w4", name: "one" });
  const w = await collect("/api/v1/namespaces/w4/configmaps", { resourceVersion: mark });
  await eventually(() => w.events.length >= 2, "replayed events");
  w.abort();
  assert.deepEqual(
    w.events.map((e) => `${e.type} ${e.name}`),
    ["ADDED two", "DELETED one"],
  );
});

test("a resourceVersion older than the history gets an ERROR 410 Expired, then the stream ends", async () => {
  const old = server.resourceVersion;
  for (let i = 0; i < 60; i++) await core.createNamespacedConfigMap({ namespace: "w5", body: cm(`c${i}`) });
  const w = await collect("/api/v1/namespaces/w5/configmaps", { resourceVersion: old });
  await w.done;
  assert.equal(w.events.length, 1);
  assert.equal(w.events[0].type, "ERROR");
  assert.equal(w.events[0].code, 410);
  assert.equal(w.events[0].reason, "Expired");

  server.compactHistory();
  const w2 = await collect("/api/v1/namespaces/w5/configmaps", {
    resourceVersion: String(Number(server.resourceVersion) - 1),
  });
  await w2.done;
  assert.equal(w2.events[0]?.code, 410, "compactHistory expires every older resourceVersion");
});

test("restart() cuts watches mid-stream; re-watching from the last resourceVersion misses nothing", async () => {
  const w = await collect("/api/v1/namespaces/w6/configmaps", { resourceVersion: server.resourceVersion });
  await core.createNamespacedConfigMap({ namespace: "w6", body: cm("pre") });
  await eventually(() => w.events.length === 1, "first event");
  const last = w.events[0].rv as string;
  const restarting = server.restart({ downtimeMs: 100 });
  await w.done;
  assert.equal(server.openWatches, 0);
  await restarting;
  await core.createNamespacedConfigMap({ namespace: "w6", body: cm("post") });
  const w2 = await collect("/api/v1/namespaces/w6/configmaps", { resourceVersion: last });
  await eventually(() => w2.events.length === 1, "the missed event");
  w2.abort();
  assert.equal(w2.events[0].name, "post");
});

test("timeoutSeconds ends the stream cleanly", async () => {
  const w = await collect("/api/v1/namespaces/w7/configmaps", {
    resourceVersion: server.resourceVersion,
    timeoutSeconds: 1,
  });
  const err = await w.done;
  assert.equal(err, null);
});

test("a label selector turns objects leaving or entering it into DELETED and ADDED", async () => {
  await core.createNamespacedConfigMap({ namespace: "w8", body: cm("l", { lane: "canary" }) });
  const w = await collect("/api/v1/namespaces/w8/configmaps", {
    resourceVersion: server.resourceVersion,
    labelSelector: "lane=canary",
  });
  await core.patchNamespacedConfigMap({
    namespace: "w8",
    name: "l",
    body: [{ op: "replace", path: "/metadata/labels/lane", value: "base" }],
  });
  await core.patchNamespacedConfigMap({
    namespace: "w8",
    name: "l",
    body: [{ op: "replace", path: "/metadata/labels/lane", value: "canary" }],
  });
  await eventually(() => w.events.length >= 2, "two events");
  w.abort();
  assert.deepEqual(
    w.events.map((e) => e.type),
    ["DELETED", "ADDED"],
  );
});

test("client-node's makeInformer lists and watches against the fake server", async () => {
  await core.createNamespacedConfigMap({ namespace: "w9", body: cm("seen") });
  const inf = makeInformer<V1ConfigMap>(server.kubeConfig(), "/api/v1/namespaces/w9/configmaps", () =>
    core.listNamespacedConfigMap({ namespace: "w9" }),
  );
  const added: string[] = [];
  inf.on("add", (o) => added.push(o.metadata?.name ?? ""));
  await inf.start();
  await core.createNamespacedConfigMap({ namespace: "w9", body: cm("later") });
  await eventually(() => added.length === 2, "two adds");
  await inf.stop();
  assert.deepEqual(added, ["seen", "later"]);
});
