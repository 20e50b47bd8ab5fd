import { test, before, after, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import { FakeApiServer } from "./index.js";
import { codeOf, createNamespaces, rejection, statusOf } from "./testutil.js";

let server: FakeApiServer;
let core: CoreV1Api;

before(async () => {
  server = await FakeApiServer.start();
  core = server.kubeConfig().makeApiClient(CoreV1Api);
  await createNamespaces(server.kubeConfig(), "f");
  await core.createNamespacedConfigMap({ namespace: "f", body: { metadata: { name: "c" }, data: {} } });
});
after(() => server.stop());
beforeEach(() => {
  server.clearFailures();
  server.resetCounters();
});

test("injected 409s hit only the matching verb and resource, `count` times", async () => {
  const h = server.injectFailures({ verb: "update", resource: "configmaps", status: 409, count: 2 });
  const current = await core.readNamespacedConfigMap({ namespace: "f", name: "c" });
  for (let i = 0; i < 2; i++) {
    const err = await rejection(
      core.replaceNamespacedConfigMap({ namespace: "f", name: "c", body: current }),
    );
    assert.equal(codeOf(err), 409);
    assert.equal(statusOf(err).reason, "Conflict");
  }
  await core.replaceNamespacedConfigMap({
    namespace: "f",
    name: "c",
    body: { ...current, data: { a: "1" } },
  });
  assert.equal(h.hits, 2);
  assert.equal(h.remaining, 0);
  assert.equal(server.count({ verb: "get", resource: "configmaps" }), 1, "reads were not failed");
  assert.equal(server.count({ verb: "update", code: 409 }), 2);
  assert.equal(server.writes({ resource: "configmaps" }), 3);
});

test("429 carries Retry-After; 500 is an InternalError Status", async () => {
  server.injectFailures({ verb: "get", status: 429, retryAfterSeconds: 3 });
  const err = await rejection(core.readNamespacedConfigMap({ namespace: "f", name: "c" }));
  assert.equal(codeOf(err), 429);
  assert.equal((err as { headers: Record<string, string> }).headers["retry-after"], "3");

  server.injectFailures({ verb: "list", resource: "leases", status: 500 });
  await core.listNamespacedConfigMap({ namespace: "f" });
  server.injectFailures({ verb: "list", status: 500 });
  const e500 = await rejection(core.listNamespacedConfigMap({ namespace: "f" }));
  assert.equal(codeOf(e500), 500);
  assert.equal(statusOf(e500).reason, "InternalError");
});

test("a `reset` fault drops the connection: the client sees a network error", async () => {
  server.injectFailures({ verb: "get", status: "reset" });
  const err = (await rejection(core.readNamespacedConfigMap({ namespace: "f", name: "c" }))) as {
    code?: unknown;
  };
  assert.notEqual(typeof err.code, "number", "no HTTP status: a network error");
  assert.equal(server.count({ verb: "get", code: 0 }), 1);
  await core.readNamespacedConfigMap({ namespace: "f", name: "c" });
});

test("cancel() stops an unlimited rule; delayMs without a status only slows a request", async () => {
  const h = server.injectFailures({ verb: "get", status: 503, count: Infinity });
  assert.equal(codeOf(await rejection(core.readNamespacedConfigMap({ namespace: "f", name: "c" }))), 503);
  h.cancel();
  server.injectFailures({ verb: "get", delayMs: 50 });
  const cm = await core.readNamespacedConfigMap({ namespace: "f", name: "c" });
  assert.equal(cm.metadata?.name, "c");
  assert.equal(server.count({ verb: "get" }), 2);
});
