import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkQueue } from "../../controller/src/reconcile/queue.js";
import { eventually } from "../apiserver/testutil.js";

/** A gate a handler can wait on, opened by the test. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { wait: () => p, open };
}

test("adding a waiting key again is a no-op (dedupe)", async () => {
  const seen: string[] = [];
  const g = gate();
  const q = new WorkQueue(async (k) => {
    seen.push(k);
    if (k === "block") await g.wait();
  });
  q.add("block");
  q.add("a");
  q.add("a");
  q.add("b");
  q.add("a");
  assert.equal(q.depth, 2, "a and b wait once each behind the blocked key");
  g.open();
  await eventually(() => seen.length === 3, "three handlings");
  await q.idle();
  assert.deepEqual(seen, ["block", "a", "b"]);
});

test("one key is never handled by two workers at once; added while running, it runs once more after", async () => {
  let running = 0;
  let maxRunning = 0;
  let calls = 0;
  const g = gate();
  const q = new WorkQueue(
    async () => {
      calls++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      if (calls === 1) await g.wait();
      running--;
    },
    { concurrency: 4 },
  );
  q.add("ns/svc");
  await eventually(() => calls === 1, "first run");
  q.add("ns/svc");
  q.add("ns/svc");
  q.add("ns/svc");
  await sleep(50);
  assert.equal(calls, 1, "not started again while in progress");
  g.open();
  await eventually(() => calls === 2, "the re-run");
  await q.idle();
  await sleep(50);
  assert.equal(calls, 2, "three adds while running collapse into one re-run");
  assert.equal(maxRunning, 1);
});

test("different keys run concurrently up to the limit", async () => {
  let running = 0;
  let maxRunning = 0;
  const g = gate();
  const q = new WorkQueue(
    async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await g.wait();
      running--;
    },
    { concurrency: 3 },
  );
  for (const k of ["a", "b", "c", "d", "e"]) q.add(k);
  await eventually(() => running === 3, "three running");
  assert.equal(q.stats().inFlight, 3);
  assert.equal(q.stats().depth, 2);
  g.open();
  await q.idle();
  assert.equal(maxRunning, 3);
  assert.equal(q.stats().processed, 5);
});

test("a failing key is retried with exponential backoff, reset on success", async () => {
  const q = new WorkQueue(() => undefined, { baseDelayMs: 100, maxDelayMs: 1000 });
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => q.delayFor(n)),
    [100, 200, 400, 800, 1000, 1000],
  );

  let attempts = 0;
  const outcomes: { ok: boolean; retryInMs?: number }[] = [];
  const q2 = new WorkQueue(
    () => {
      attempts++;
      if (attempts <= 3) throw new Error("boom");
    },
    {
      baseDelayMs: 10,
      maxDelayMs: 1000,
      onDone: (_k, o) => outcomes.push({ ok: o.ok, retryInMs: o.retryInMs }),
    },
  );
  q2.add("k");
  await eventually(() => attempts === 4, "four attempts");
  await q2.idle();
  assert.deepEqual(
    outcomes.map((o) => o.retryInMs),
    [10, 20, 40, undefined],
  );
  assert.equal(q2.retries("k"), 0, "success resets the backoff");
  assert.equal(q2.stats().failed, 3);
});

test("requeueAfter from the handler schedules another run", async () => {
  let calls = 0;
  const q = new WorkQueue(() => {
    calls++;
    return calls < 3 ? { requeueAfter: 10 } : undefined;
  });
  q.add("periodic");
  await eventually(() => calls === 3, "three runs");
  await sleep(50);
  assert.equal(calls, 3);
  assert.equal(q.stats().delayed, 0);
});

test("shutdown waits for work in flight, drops waiting keys, and refuses new ones", async () => {
  const done: string[] = [];
  const g = gate();
  const q = new WorkQueue(async (k) => {
    await g.wait();
    done.push(k);
  });
  q.add("in-flight");
  q.add("waiting");
  q.addAfter("later", 10_000);
  await eventually(() => q.stats().inFlight === 1, "one in flight");
  let finished = false;
  const stopping = q.shutdown().then(() => (finished = true));
  await sleep(30);
  assert.equal(finished, false, "shutdown waits for the running handler");
  q.add("new");
  g.open();
  await stopping;
  assert.deepEqual(done, ["in-flight"]);
  assert.deepEqual(q.stats(), { depth: 0, delayed: 0, inFlight: 0, processed: 1, failed: 0 });
});

test("shutdown with drain finishes the waiting keys", async () => {
  const done: string[] = [];
  const q = new WorkQueue(async (k) => {
    await sleep(5);
    done.push(k);
  });
  for (const k of ["a", "b", "c"]) q.add(k);
  await q.shutdown({ drain: true });
  assert.deepEqual(done, ["a", "b", "c"]);
});
