// The waypoint role (Istio ambient mode) through the host: one request per hop, no separate outbound
// call, so the same request both remembers (it carries its lane) and restores (it carries none).
// Ambient's ztunnel and waypoints may put their own peer metadata into `baggage`: those members stay.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, type WasmVm } from "../../controller/src/host/index.js";
import { configured, exchange, filterVm, inbound, outbound, requests } from "../support/filter.js";

const WAYPOINT = { role: "waypoint", lanes: ["base", "canary", "feature-x"] };
// Peer metadata as Istio's ambient data plane writes it into baggage (W3C members, OpenTelemetry keys).
const PEER = "k8s.namespace.name=shop,k8s.deployment.name=mocka,service.name=mocka,service.version=v1";

function lookups(vm: WasmVm, result: string): number {
  const m = vm.metrics()[`result=.=${result};.;meshlane_trace_lookups_total`];
  return m && "value" in m ? Number(m.value) : 0;
}

function members(baggage: string | null): string[] {
  return (baggage ?? "").split(",").map((m) => m.trim());
}

test("waypoint: remembers a request's lane and restores it on the next hop of the same trace", async () => {
  const { vm, root } = await configured(WAYPOINT);
  // edge → waypoint → mocka: the lane header from the edge.
  const first = exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "r-1"],
  ]);
  assert.equal(first.lane, "canary");
  // mocka → waypoint → mockb: the app forwarded only x-request-id.
  const second = exchange(root, [["x-request-id", "r-1"]]);
  assert.equal(second.lane, "canary");
  assert.equal(second.header("baggage"), "lane=canary");
  // Another trace: no lane.
  assert.equal(exchange(root, [["x-request-id", "r-2"]]).lane, null);
  assert.equal(requests(vm, "canary", "waypoint", "inbound", "header"), 1);
  assert.equal(requests(vm, "canary", "waypoint", "inbound", "memory"), 1);
  assert.equal(requests(vm, "none", "waypoint", "inbound", "none"), 1);
  assert.equal(lookups(vm, "hit"), 1);
  assert.equal(lookups(vm, "miss"), 1);
  assert.equal(lookups(vm, "conflict"), 0);
});

test("waypoint: traceparent's trace id is a key too (span ids differ per hop)", async () => {
  const { root } = await configured(WAYPOINT);
  exchange(root, [
    ["baggage", "lane=feature-x"],
    ["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
  ]);
  const next = exchange(root, [["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"]]);
  assert.equal(next.lane, "feature-x");
});

test("waypoint: the listener direction does not matter (it remembers and restores on any listener)", async () => {
  const { root } = await configured(WAYPOINT);
  exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "d-1"],
    ],
    [outbound],
  );
  assert.equal(exchange(root, [["x-request-id", "d-1"]], [inbound]).lane, "canary");
});

test("waypoint: baggage comes before the trace memory", async () => {
  const { vm, root } = await configured(WAYPOINT);
  exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "b-1"],
  ]);
  // A request whose baggage carries the lane: taken from baggage, no memory lookup at all.
  const kept = exchange(root, [
    ["baggage", `${PEER},lane=canary`],
    ["x-request-id", "b-1"],
  ]);
  assert.equal(kept.lane, "canary");
  assert.equal(requests(vm, "canary", "waypoint", "inbound", "baggage"), 1);
  assert.equal(lookups(vm, "hit") + lookups(vm, "miss") + lookups(vm, "conflict"), 0);
  // Baggage with another lane than memory holds: the baggage's lane goes on, and the trace key is
  // now seen with two lanes (conflicted), as at a sidecar's inbound.
  const other = exchange(root, [
    ["baggage", "lane=feature-x"],
    ["x-request-id", "b-1"],
  ]);
  assert.equal(other.lane, "feature-x");
  assert.equal(requests(vm, "feature-x", "waypoint", "inbound", "baggage"), 1);
});

test("waypoint: a conflicted trace key gives no lane, counted as a conflict lookup", async () => {
  const clock = new ManualClock();
  const { vm, root } = await configured(WAYPOINT, { clock: clock.now });
  exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "shared"],
  ]);
  exchange(root, [
    ["x-lane", "base"],
    ["x-request-id", "shared"],
  ]);
  const hop = exchange(root, [["x-request-id", "shared"]]);
  assert.equal(hop.lane, null);
  assert.equal(hop.header("baggage"), null);
  assert.equal(lookups(vm, "conflict"), 1);
  const conflicts = vm.metrics()["direction=.=inbound;.;meshlane_trace_conflicts_total"];
  assert.ok(conflicts && "value" in conflicts && Number(conflicts.value) === 1);
  // A forged key cannot borrow a lane: a request entering with base (the edge's default lane)
  // under a dyed request's key conflicts it rather than taking canary.
  exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "victim"],
  ]);
  exchange(root, [
    ["x-lane", "base"],
    ["x-request-id", "victim"],
  ]);
  assert.equal(exchange(root, [["x-request-id", "victim"]]).lane, null);
  // Past the ttl (60 s by default) both records are gone: a miss.
  clock.advanceMs(61_000);
  assert.equal(exchange(root, [["x-request-id", "victim"]]).lane, null);
  assert.equal(lookups(vm, "miss"), 1);
});

test("waypoint: peer-metadata baggage members are kept when the lane is merged in", async () => {
  const { root } = await configured(WAYPOINT);
  // Carried in the header, peer metadata in baggage: the lane member is added, nothing dropped.
  const carried = exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "p-1"],
    ["baggage", PEER],
  ]);
  assert.deepEqual(members(carried.header("baggage")).sort(), [...PEER.split(","), "lane=canary"].sort());
  // Restored from memory, with other peer metadata (and a member with properties) in two entries.
  const restored = exchange(root, [
    ["x-request-id", "p-1"],
    ["baggage", "k8s.namespace.name=shop,k8s.deployment.name=mockb"],
    ["baggage", "userId=alice;p=1"],
  ]);
  assert.equal(restored.lane, "canary");
  assert.deepEqual(members(restored.header("baggage")).sort(), [
    "k8s.deployment.name=mockb",
    "k8s.namespace.name=shop",
    "lane=canary",
    "userId=alice;p=1",
  ]);
  // A lane member off the allow-list next to peer metadata: replaced by the restored lane, the
  // other members kept.
  const replaced = exchange(root, [
    ["x-request-id", "p-1"],
    ["baggage", `${PEER},lane=evil`],
  ]);
  assert.equal(replaced.lane, "canary");
  assert.deepEqual(members(replaced.header("baggage")).sort(), [...PEER.split(","), "lane=canary"].sort());
});

test("waypoint: the allow-list: a lane off it is removed, never remembered, never restored", async () => {
  const { vm, root } = await configured(WAYPOINT);
  const evil = exchange(root, [
    ["x-lane", "evil"],
    ["x-request-id", "a-1"],
    ["baggage", `${PEER},lane=evil`],
  ]);
  assert.equal(evil.lane, null);
  assert.deepEqual(members(evil.header("baggage")).sort(), PEER.split(",").sort());
  assert.equal(exchange(root, [["x-request-id", "a-1"]]).lane, null);
  assert.equal(lookups(vm, "miss"), 2);
  // A remembered lane, then a request carrying an off-list lane: restored from memory instead.
  exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "a-2"],
  ]);
  assert.equal(
    exchange(root, [
      ["x-lane", "Canary"],
      ["x-request-id", "a-2"],
    ]).lane,
    "canary",
  );
});

test("waypoint: malformed baggage never traps and never changes a lane", async () => {
  const { vm, root } = await configured(WAYPOINT);
  exchange(root, [
    ["x-lane", "canary"],
    ["x-request-id", "m-1"],
  ]);
  const junk = [
    ",,,",
    "lane",
    "lane=",
    "=canary",
    "lane=Canary",
    "lane=%63anary",
    "lane=canary=base",
    ";;;lane=base",
    "lane=\u00e9",
    "x".repeat(9000),
    `${"a=b,".repeat(200)}lane=base`,
    "lane=base lane=feature-x",
  ];
  for (const b of junk) {
    const ex = exchange(root, [
      ["x-request-id", "m-1"],
      ["baggage", b],
    ]);
    assert.equal(ex.stream.trap, null, b);
    assert.ok(
      ex.lane === "canary" || ex.lane === "base",
      `${JSON.stringify(b.slice(0, 40))} gave ${ex.lane}`,
    );
    // base only where the baggage really holds a valid base member (the 200-member list).
    if (ex.lane === "base") assert.ok(b.endsWith(",lane=base"), b.slice(0, 40));
  }
  assert.equal(vm.failed, false);
});

test("waypoint: role validation: edge-only fields are refused with their field path, propagation applies", async () => {
  const vm = await filterVm();
  const refused: [object, string][] = [
    [{ role: "waypoint", rules: [] }, 'rules: applies only to role "edge"'],
    [{ role: "waypoint", defaultLane: "base" }, 'defaultLane: applies only to role "edge"'],
    [{ role: "waypoint", trustedSources: ["10.0.0.0/8"] }, 'trustedSources: applies only to role "edge"'],
    [{ role: "waypoint", propagation: { ttlSeconds: 0 } }, "propagation.ttlSeconds: expected an integer"],
    [{ role: "waypoint", propagation: { traceHeaders: [] } }, "propagation.traceHeaders: needs at least one"],
    [{ role: "waypoint", lanes: ["Canary"] }, "lanes[0]: not a valid lane name"],
    [{ role: "way-point" }, 'role: expected "edge", "sidecar" or "waypoint", got "way-point"'],
  ];
  for (const [config, error] of refused) {
    const before = vm.logs.length;
    const root = vm.createRoot(JSON.stringify(config));
    assert.equal(root.ok, false, JSON.stringify(config));
    const msgs = vm.logs.slice(before).map((l) => l.msg);
    assert.ok(
      msgs.some((m) => m.startsWith(`meshlane: rejected plugin configuration: ${error}`)),
      `${JSON.stringify(config)}: ${msgs.join("; ")}`,
    );
  }
  // propagation applies: a waypoint keyed by a custom trace header only.
  const { root } = await configured({
    ...WAYPOINT,
    propagation: { traceHeaders: ["x-b3-traceid"], ttlSeconds: 5 },
  });
  exchange(root, [
    ["x-lane", "canary"],
    ["x-b3-traceid", "abc"],
    ["x-request-id", "ignored"],
  ]);
  assert.equal(exchange(root, [["x-b3-traceid", "abc"]]).lane, "canary");
  assert.equal(exchange(root, [["x-request-id", "ignored"]]).lane, null);
});
