import { BUCKETS, drawBucket, stickyBucket } from "../lib/hash";

describe("stickyBucket", () => {
  it("is stable for the same key and salt", () => {
    const a = stickyBucket("user-42", "canary");
    expect(a).toBe(stickyBucket("user-42", "canary"));
    expect(a).toBeGreaterThanOrEqual(0);
    expect(a).toBeLessThan(BUCKETS);
  });

  it("is pinned across versions (FNV-1a 64 + splitmix64 finalizer)", () => {
    // Values computed independently (Python). Changing them moves users between lanes.
    expect(stickyBucket("user-42", "canary")).toBe(7890);
    expect(stickyBucket("", "")).toBe(4608);
    expect(stickyBucket("alice", "feature-x")).toBe(1883);
    expect(stickyBucket("üser-😀", "canary")).toBe(3968);
  });

  it("keeps salt and key apart", () => {
    // With the NUL separator "ab"+"c" and "a"+"bc" hash differently.
    expect(stickyBucket("c", "ab") == stickyBucket("bc", "a")).toBe(false);
  });

  it("hashes non-ASCII keys and survives huge keys", () => {
    const b = stickyBucket("üser-😀", "canary");
    expect(b).toBeGreaterThanOrEqual(0);
    expect(b).toBeLessThan(10000);
    const lone = stickyBucket(String.fromCharCode(0xd800), "canary");
    expect(lone).toBeGreaterThanOrEqual(0);
    expect(stickyBucket("k".repeat(70000), "canary")).toBeLessThan(10000);
  });

  it("spreads user-0..user-9999 evenly: 10 % land below 1000, within one point", () => {
    let low = 0;
    for (let i = 0; i < 10000; i++) {
      if (stickyBucket("user-" + i.toString(), "canary") < 1000) low++;
    }
    expect(low).toBeGreaterThanOrEqual(900);
    expect(low).toBeLessThanOrEqual(1100);
  });

  it("spreads evenly under another salt too, and independently", () => {
    let low = 0;
    let both = 0;
    for (let i = 0; i < 10000; i++) {
      const k = "user-" + i.toString();
      const a = stickyBucket(k, "feature-x") < 5000;
      if (a) low++;
      if (a && stickyBucket(k, "canary") < 5000) both++;
    }
    expect(low).toBeGreaterThanOrEqual(4800);
    expect(low).toBeLessThanOrEqual(5200);
    expect(both).toBeGreaterThanOrEqual(2300);
    expect(both).toBeLessThanOrEqual(2700);
  });
});

describe("drawBucket", () => {
  it("maps the u64 range onto [0, 10000)", () => {
    expect(drawBucket(0)).toBe(0);
    expect(drawBucket(0xffffffffffffffff)).toBe(9999);
    expect(drawBucket(0x8000000000000000)).toBe(5000);
    expect(drawBucket(0x00000000ffffffff)).toBe(0); // only the high bits count
  });

  it("spreads a sequence of draws evenly", () => {
    let state: u64 = 0x9e3779b97f4a7c15;
    let low = 0;
    for (let i = 0; i < 10000; i++) {
      state += 0x9e3779b97f4a7c15;
      if (drawBucket(mix(state)) < 1000) low++;
    }
    expect(low).toBeGreaterThanOrEqual(900);
    expect(low).toBeLessThanOrEqual(1100);
  });
});

// splitmix64's finalizer, to turn a counter into test draws.
function mix(z: u64): u64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}
