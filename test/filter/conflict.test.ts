// Trace keys seen with two lanes. A trace key names one request; two live requests sharing it (a
// client reusing x-request-id, or forging another's) cannot be told apart on an outbound call, so
// the sidecar restores no lane for that key until both could have finished, and counts it in
// meshlane_trace_conflicts_total.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, type WasmVm } from "../../controller/src/host/index.js";
import { configured, exchange, inbound, outbound, requests } from "../support/filter.js";

const SIDECAR = { role: "sidecar", lanes: ["base", "canary", "feature-x"], propagation: { ttlSeconds: 10 } };

function conflicts(vm: WasmVm, direction: string): number {
  const m = vm.metrics()[`direction=.=${direction};.;meshlane_trace_conflicts_total`];
  return m && "value" in m ? Number(m.value) : 0;
}

const arrive = (root: Parameters<typeof exchange>[0], lane: string | null, id: string) =>
  exchange(
    root,
    lane === null
      ? [["x-request-id", id]]
      : [
          ["x-lane", lane],
          ["x-request-id", id],
        ],
    [inbound],
  );
const call = (root: Parameters<typeof exchange>[0], id: string) =>
  exchange(root, [["x-request-id", id]], [outbound]).lane;

test("shared-trace-id: two live requests with one id and two lanes: their calls get no lane, counted", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(SIDECAR, { clock: clock.now });
  arrive(root, "canary", "shared");
  arrive(root, "base", "shared");
  // Either request's outbound call: no lane rather than possibly the other's.
  assert.equal(call(root, "shared"), null);
  assert.equal(call(root, "shared"), null);
  assert.equal(conflicts(vm, "inbound"), 1);
  assert.equal(conflicts(vm, "outbound"), 2);
  assert.equal(requests(vm, "none", "sidecar", "outbound", "none"), 2);
  assert.equal(requests(vm, "canary", "sidecar", "outbound", "memory"), 0);
  // Other traces are not affected.
  arrive(root, "feature-x", "other");
  assert.equal(call(root, "other"), "feature-x");
});

test("shared-trace-id: the same lane twice is no conflict", async () => {
  const { vm, root } = await configured(SIDECAR);
  arrive(root, "canary", "same");
  arrive(root, "canary", "same");
  assert.equal(call(root, "same"), "canary");
  assert.equal(conflicts(vm, "inbound"), 0);
});

test("shared-trace-id: a forged id cannot borrow a dyed request's lane, in either order", async () => {
  // A dyed request, then an undyed one forging its id: the forger's call must not get canary.
  {
    const { vm, root } = await configured(SIDECAR);
    arrive(root, "canary", "victim-1");
    arrive(root, null, "victim-1");
    assert.equal(call(root, "victim-1"), null);
    assert.equal(conflicts(vm, "inbound"), 1);
  }
  // With a default lane at the edge every request carries one, so the later dyed request is caught too.
  {
    const { vm, root } = await configured(SIDECAR);
    arrive(root, "base", "victim-2");
    arrive(root, "canary", "victim-2");
    assert.equal(call(root, "victim-2"), null);
    assert.equal(conflicts(vm, "inbound"), 1);
  }
});

test("shared-trace-id: the conflict lasts until the last sharer's ttl has passed", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(SIDECAR, { clock: clock.now });
  arrive(root, "canary", "k");
  clock.advanceMs(8_000);
  arrive(root, "base", "k"); // conflict, now lasting until this request's ttl (t = 18 s)
  clock.advanceMs(8_000); // t = 16 s: the first request's record would have expired at 10 s
  assert.equal(call(root, "k"), null);
  arrive(root, "feature-x", "k"); // still conflicted: extended to t = 26 s
  clock.advanceMs(9_000); // t = 25 s
  assert.equal(call(root, "k"), null);
  clock.advanceMs(2_000); // t = 27 s: every sharer's ttl is over; the key is fresh again
  assert.equal(call(root, "k"), null);
  arrive(root, "canary", "k");
  assert.equal(call(root, "k"), "canary");
  assert.equal(conflicts(vm, "inbound"), 2);
});

test("shared-trace-id: an expired record is no conflict (a client reusing an id long after)", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(SIDECAR, { clock: clock.now });
  arrive(root, "canary", "late");
  clock.advanceMs(11_000);
  arrive(root, "base", "late");
  assert.equal(call(root, "late"), "base");
  assert.equal(conflicts(vm, "inbound"), 0);
});
