import { IdMap } from "../lib/idmap";

class Box {
  constructor(
    public id: u32,
    public v: u32,
  ) {}
}

/** Checks every id in [1, upTo] against the reference map. */
function agrees(m: IdMap<Box>, ref: Map<u32, u32>, upTo: u32): bool {
  for (let id: u32 = 1; id <= upTo; id++) {
    const got = m.get(id);
    if (ref.has(id)) {
      if (got === null || got.id != id || got.v != ref.get(id)) return false;
    } else if (got !== null) return false;
  }
  return m.size == ref.size;
}

describe("IdMap", () => {
  it("stores, replaces and deletes", () => {
    const m = new IdMap<Box>();
    expect(m.get(7)).toBeNull();
    m.set(new Box(7, 70));
    m.set(new Box(8, 80));
    expect(m.get(7)!.v).toBe(70);
    m.set(new Box(7, 71));
    expect(m.get(7)!.v).toBe(71);
    expect(m.size).toBe(2);
    expect(m.delete(7)).toBe(true);
    expect(m.delete(7)).toBe(false);
    expect(m.get(7)).toBeNull();
    expect(m.get(8)!.v).toBe(80);
    expect(m.size).toBe(1);
  });

  it("agrees with a reference map through a sliding window of 1,000 live ids", () => {
    // The proxy's pattern: ids from a counter, the oldest finishing as new ones open.
    const m = new IdMap<Box>();
    const ref = new Map<u32, u32>();
    for (let id: u32 = 1; id <= 5000; id++) {
      m.set(new Box(id, id * 3));
      ref.set(id, id * 3);
      if (id > 1000) {
        m.delete(id - 1000);
        ref.delete(id - 1000);
      }
    }
    expect(agrees(m, ref, 5000)).toBe(true);
  });

  it("agrees with a reference map under random sets and deletes", () => {
    const m = new IdMap<Box>();
    const ref = new Map<u32, u32>();
    let x: u32 = 12345;
    for (let i = 0; i < 20000; i++) {
      x = x * 1103515245 + 12345;
      const id = ((x >> 8) % 3000) + 1;
      if ((x >> 4) & 1) {
        m.set(new Box(id, <u32>i));
        ref.set(id, <u32>i);
      } else {
        expect(m.delete(id)).toBe(ref.has(id));
        ref.delete(id);
      }
    }
    expect(agrees(m, ref, 3000)).toBe(true);
  });
});
