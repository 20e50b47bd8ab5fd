import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { CoreV1Api } from "@kubernetes/client-node";
import {
  backoffDelay,
  isRetryable,
  retryAfterMs,
  statusCode,
  statusReason,
  withRetry,
} from "../../controller/src/reconcile/retry.js";
import { FakeApiServer } from "../apiserver/index.js";
import { createNamespaces, rejection } from "../apiserver/testutil.js";

let server: FakeApiServer;
let core: CoreV1Api;

before(async () => {
  server = await FakeApiServer.start();
  core = server.kubeConfig().makeApiClient(CoreV1Api);
  await createNamespaces(server.kubeConfig(), "r");
  await core.createNamespacedConfigMap({
    namespace: "r",
    body: { metadata: { name: "c" }, data: { n: "0" } },
  });
});
after(() => server.stop());

test("status code, reason and Retry-After are read from client-node errors", async () => {
  server.injectFailures({ verb: "get", status: 429, retryAfterSeconds: 2 });
  const e429 = await rejection(core.readNamespacedConfigMap({ namespace: "r", name: "c" }));
  assert.equal(statusCode(e429), 429);
  assert.equal(statusReason(e429), "TooManyRequests");
  assert.equal(retryAfterMs(e429), 2000);
  assert.equal(isRetryable(e429), true);

  const e404 = await rejection(core.readNamespacedConfigMap({ namespace: "r", name: "missing" }));
  assert.equal(statusCode(e404), 404);
  assert.equal(isRetryable(e404), false);

  server.injectFailures({ verb: "get", status: "reset" });
  const net = await rejection(core.readNamespacedConfigMap({ namespace: "r", name: "c" }));
  assert.equal(statusCode(net), undefined);
  assert.equal(isRetryable(net), true, "a reset connection is retried");
});

test("backoff doubles from base, is capped, and is jittered within 50-100 %", () => {
  const lo = () => 0;
  const hi = () => 0.999999;
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((a) => backoffDelay(a, { base: 100, max: 1000, random: lo })),
    [50, 100, 200, 400, 500],
  );
  assert.deepEqual(
    [0, 1, 2, 3, 10].map((a) => backoffDelay(a, { base: 100, max: 1000, random: hi })),
    [100, 200, 400, 800, 1000],
  );
});

test("a read-modify-write gets through a storm of 409s", async () => {
  const storm = server.injectFailures({ verb: "update", resource: "configmaps", status: 409, count: 20 });
  let attempts = 0;
  const result = await withRetry(
    async () => {
      attempts++;
      const cm = await core.readNamespacedConfigMap({ namespace: "r", name: "c" });
      cm.data = { n: String(Number(cm.data?.n ?? 0) + 1) };
      return core.replaceNamespacedConfigMap({ namespace: "r", name: "c", body: cm });
    },
    { retries: 30, base: 1, max: 5 },
  );
  assert.equal(storm.hits, 20);
  assert.equal(attempts, 21);
  assert.equal(result.data?.n, "1", "the write landed exactly once");
});

test("Retry-After from a 429 is waited for; non-retryable errors and exhausted retries are thrown", async () => {
  server.injectFailures({ verb: "get", status: 429, retryAfterSeconds: 0.05, count: 1 });
  const delays: number[] = [];
  await withRetry(() => core.readNamespacedConfigMap({ namespace: "r", name: "c" }), {
    onRetry: (_e, _a, d) => delays.push(d),
  });
  assert.deepEqual(delays, [50]);

  let calls = 0;
  const e404 = await rejection(
    withRetry(() => {
      calls++;
      return core.readNamespacedConfigMap({ namespace: "r", name: "nope" });
    }),
  );
  assert.equal(statusCode(e404), 404);
  assert.equal(calls, 1);

  server.injectFailures({ verb: "get", status: 503, count: Infinity });
  calls = 0;
  const e503 = await rejection(
    withRetry(
      () => {
        calls++;
        return core.readNamespacedConfigMap({ namespace: "r", name: "c" });
      },
      { retries: 3, base: 1 },
    ),
  );
  assert.equal(statusCode(e503), 503);
  assert.equal(calls, 4);
  server.clearFailures();
});
