// The sidecar role through the host: inbound remembers trace → lane, outbound restores a lane the
// application dropped. One VM per sidecar (inbound and outbound listeners share it, as in Istio).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock, SharedData } from "../../controller/src/host/index.js";
import { configured, exchange, filterVm, inbound, outbound, requests } from "../support/filter.js";

const SIDECAR = { role: "sidecar", lanes: ["base", "canary", "feature-x"] };
const tp = (trace: string) => `00-${trace}-00f067aa0ba902b7-01`;

test("memory-restore: inbound x-lane + x-request-id, then an outbound call with only x-request-id", async () => {
  const { vm, root } = await configured(SIDECAR);
  const inb = exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "req-1"],
    ],
    [inbound],
  );
  assert.equal(inb.lane, "canary");
  const out = exchange(root, [["x-request-id", "req-1"]], [outbound]);
  assert.equal(out.lane, "canary");
  assert.equal(out.header("baggage"), "lane=canary");
  assert.equal(exchange(root, [["x-request-id", "req-2"]], [outbound]).lane, null);
  assert.equal(requests(vm, "canary", "sidecar", "inbound", "header"), 1);
  assert.equal(requests(vm, "canary", "sidecar", "outbound", "memory"), 1);
  assert.equal(requests(vm, "none", "sidecar", "outbound", "none"), 1);
});

test("memory-restore by traceparent's trace-id (span ids differ per hop)", async () => {
  const { root } = await configured(SIDECAR);
  exchange(
    root,
    [
      ["baggage", "lane=feature-x"],
      ["traceparent", tp("4bf92f3577b34da6a3ce929d0e0e4736")],
    ],
    [inbound],
  );
  const out = exchange(
    root,
    [["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01"]],
    [outbound],
  );
  assert.equal(out.lane, "feature-x");
});

test("baggage-restore: outbound with the baggage member but no header gets the header back", async () => {
  const { vm, root } = await configured(SIDECAR);
  const out = exchange(root, [["baggage", "userId=alice,lane=canary"]], [outbound]);
  assert.equal(out.lane, "canary");
  assert.equal(requests(vm, "canary", "sidecar", "outbound", "baggage"), 1);
});

test("header kept: outbound with the header keeps it and adds the baggage member", async () => {
  const { root } = await configured(SIDECAR);
  const out = exchange(
    root,
    [
      ["x-lane", "canary"],
      ["baggage", "userId=alice"],
    ],
    [outbound],
  );
  assert.equal(out.lane, "canary");
  assert.match(out.header("baggage")!, /lane=canary/);
  assert.match(out.header("baggage")!, /userId=alice/);
});

test("workers: a second VM sharing the vm_id's shared data restores what the first remembered", async () => {
  const shared = new SharedData();
  const a = await configured(SIDECAR, { vmId: "meshlane", sharedData: shared });
  const b = await configured(SIDECAR, { vmId: "meshlane", sharedData: shared });
  exchange(
    a.root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "r-9"],
    ],
    [inbound],
  );
  assert.equal(exchange(b.root, [["x-request-id", "r-9"]], [outbound]).lane, "canary");
});

test("memory slots holding foreign or malformed records: no trap, no wrong lane, room still found", async () => {
  // Capacity 8 = the probe length: every slot of the table is on every trace's probe path.
  const shared = new SharedData();
  const { vm, root } = await configured(
    { ...SIDECAR, propagation: { capacity: 8 } },
    { vmId: "m", sharedData: shared },
  );
  const far = "99999999999"; // an expiry far in the future (seconds)
  const utf8 = (s: string) => new TextEncoder().encode(s);
  const records = [
    utf8(""),
    utf8("no-spaces"),
    utf8(" x-request-id=mine canary"), // no expiry
    utf8(`${far}  canary`), // empty key
    utf8(`${far} x-request-id=other canary`), // a live record of another trace
    utf8(`${"9".repeat(25)} x-request-id=mine canary`), // this trace, expiry not a number we write
    utf8(`${far} x-request-id=mine cänary`), // this trace, a lane that is no lane name
    Uint8Array.of(0xff, 0xfe, 0x20, 0x41, 0x20, 0x42), // not UTF-8
  ];
  records.forEach((r, i) => shared.set("m", `meshlane.lane.${i}`, r, 0));
  assert.equal(exchange(root, [["x-request-id", "mine"]], [outbound]).lane, null);
  exchange(
    root,
    [
      ["x-lane", "feature-x"],
      ["x-request-id", "mine"],
    ],
    [inbound],
  );
  assert.equal(exchange(root, [["x-request-id", "mine"]], [outbound]).lane, "feature-x");
  // The record written is the plain form, in one of the slots.
  const written = records.map((_, i) => Buffer.from(shared.get("m", `meshlane.lane.${i}`)!.value).toString());
  assert.equal(written.filter((r) => / x-request-id=mine feature-x$/.test(r) && /^\d+ /.test(r)).length, 1);
  assert.equal(vm.failed, false);
});

test("reused trace id: an inbound request without a lane makes the trace conflicted: no lane until it expires", async () => {
  const clock = new ManualClock();
  const { root } = await configured({ ...SIDECAR, propagation: { ttlSeconds: 5 } }, { clock: clock.now });
  exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "reused"],
    ],
    [inbound],
  );
  assert.equal(exchange(root, [["x-request-id", "reused"]], [outbound]).lane, "canary");
  exchange(root, [["x-request-id", "reused"]], [inbound]);
  assert.equal(exchange(root, [["x-request-id", "reused"]], [outbound]).lane, null);
  // Still conflicted: a third request with the id, whatever its lane, restores none ...
  const third = () =>
    exchange(
      root,
      [
        ["x-lane", "base"],
        ["x-request-id", "reused"],
      ],
      [inbound],
    );
  third();
  assert.equal(exchange(root, [["x-request-id", "reused"]], [outbound]).lane, null);
  // ... until every request that shared it has had its ttl: then the id is fresh again.
  clock.advanceMs(6_000);
  third();
  assert.equal(exchange(root, [["x-request-id", "reused"]], [outbound]).lane, "base");
});

test("expired entry: a trace older than ttlSeconds gets no lane", async () => {
  const clock = new ManualClock();
  const { root } = await configured({ ...SIDECAR, propagation: { ttlSeconds: 5 } }, { clock: clock.now });
  exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "slow"],
    ],
    [inbound],
  );
  clock.advanceMs(4_000);
  assert.equal(exchange(root, [["x-request-id", "slow"]], [outbound]).lane, "canary");
  clock.advanceMs(2_000);
  assert.equal(exchange(root, [["x-request-id", "slow"]], [outbound]).lane, null);
});

test("trace collision: with one slot, a newer trace evicts the older; the older never gets its lane", async () => {
  const { root } = await configured({ ...SIDECAR, propagation: { capacity: 1 } });
  exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "trace-a"],
    ],
    [inbound],
  );
  exchange(
    root,
    [
      ["x-lane", "base"],
      ["x-request-id", "trace-b"],
    ],
    [inbound],
  );
  assert.equal(exchange(root, [["x-request-id", "trace-a"]], [outbound]).lane, null);
  assert.equal(exchange(root, [["x-request-id", "trace-b"]], [outbound]).lane, "base");
});

test("capacity overflow: 500 live traces in 16 slots never return a wrong lane", async () => {
  const { root } = await configured({ ...SIDECAR, propagation: { capacity: 16 } });
  const lanes = ["base", "canary", "feature-x"];
  for (let i = 0; i < 500; i++) {
    exchange(
      root,
      [
        ["x-lane", lanes[i % 3]],
        ["x-request-id", `t-${i}`],
      ],
      [inbound],
    );
  }
  let restored = 0;
  for (let i = 0; i < 500; i++) {
    const lane = exchange(root, [["x-request-id", `t-${i}`]], [outbound]).lane;
    if (lane !== null) {
      assert.equal(lane, lanes[i % 3], `trace t-${i} got another trace's lane`);
      restored++;
    }
  }
  assert.ok(
    restored >= 16 && restored <= 16 + 8,
    `restored ${restored}: the newest traces, bounded by capacity`,
  );
});

test("spoofed or unknown lane values are dropped and never stored", async () => {
  const { vm, root } = await configured(SIDECAR);
  const inb = exchange(
    root,
    [
      ["x-lane", "evil"],
      ["x-request-id", "r-evil"],
    ],
    [inbound],
  );
  assert.equal(inb.lane, null, "a lane outside the allow-list is removed");
  exchange(
    root,
    [
      ["x-lane", "canary\u0001"],
      ["x-request-id", "r-ctl"],
    ],
    [inbound],
  );
  exchange(
    root,
    [
      ["baggage", "lane=EVIL"],
      ["x-request-id", "r-bag"],
    ],
    [inbound],
  );
  for (const id of ["r-evil", "r-ctl", "r-bag"]) {
    assert.equal(exchange(root, [["x-request-id", id]], [outbound]).lane, null);
  }
  assert.equal(requests(vm, "none", "sidecar", "inbound", "none"), 3);
});

test("bad trace headers: garbled traceparent, huge or control-character ids store nothing", async () => {
  const { root } = await configured(SIDECAR);
  const bad = [
    ["traceparent", "00-xyz-00f067aa0ba902b7-01"],
    ["traceparent", tp("00000000000000000000000000000000")],
    ["traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["x-request-id", "x".repeat(10_000)],
    ["x-request-id", "has space"],
  ] as [string, string][];
  for (const h of bad) {
    const inb = exchange(root, [["x-lane", "canary"], h], [inbound]);
    assert.equal(inb.lane, "canary", "the request itself passes with its lane");
    assert.equal(
      exchange(root, [h], [outbound]).lane,
      null,
      `${h[0]}: ${h[1].slice(0, 20)} must not be a key`,
    );
  }
});

test("baggage with hundreds of members and duplicated trace headers pass unharmed", async () => {
  const { root } = await configured(SIDECAR);
  const many = Array.from({ length: 400 }, (_, i) => `k${i}=v${i}`).join(",");
  const inb = exchange(
    root,
    [
      ["baggage", `${many},lane=canary`],
      ["x-request-id", "dup"],
      ["x-request-id", "dup-2"],
    ],
    [inbound],
  );
  assert.ok(inb.stream.trap === null);
  const out = exchange(root, [["x-request-id", "dup"]], [outbound]);
  assert.ok(out.lane === null || out.lane === "canary");
});

test("legacy listener_direction and unknown direction", async () => {
  const { vm, root } = await configured(SIDECAR);
  exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "legacy"],
    ],
    [{ path: ["listener_direction"], int: 1 }],
  );
  assert.equal(
    exchange(root, [["x-request-id", "legacy"]], [{ path: ["listener_direction"], int: 2 }]).lane,
    "canary",
  );
  // No direction at all: remember when a lane is present, restore when it is not.
  exchange(root, [
    ["x-lane", "base"],
    ["x-request-id", "nodir"],
  ]);
  assert.equal(exchange(root, [["x-request-id", "nodir"]]).lane, "base");
  assert.equal(requests(vm, "base", "sidecar", "unknown", "memory"), 1);
});

test("an edge-only field in a sidecar config is rejected", async () => {
  const vm = await filterVm();
  assert.equal(vm.createRoot(JSON.stringify({ role: "sidecar", rules: [] })).ok, false);
});
