// The host's per-request shortcuts (context table, header map, pairs encoding, text decoding and its
// caches, remembered property answers) checked against plain reference implementations of the same
// semantics, over seeded random operation sequences: a shortcut must never change an answer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ContextTable } from "../../controller/src/host/context-table.js";
import { HeaderMap, INLINE_HEADERS, serializePairs } from "../../controller/src/host/headers.js";
import { GuestMemory } from "../../controller/src/host/memory.js";
import { PropertyTree, type PropertyInput } from "../../controller/src/host/properties.js";
import { WA } from "../../controller/src/host/wasm-api.js";

/** A small seeded PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

describe("ContextTable", () => {
  it("answers like a Map under sliding windows, long-lived entries and random removal", () => {
    for (const [seed, window] of [
      [1, 1],
      [2, 2],
      [3, 10],
      [4, 40],
      [5, 1000],
    ]) {
      const pick = rng(seed);
      const table = new ContextTable<{ id: number }>();
      const model = new Map<number, { id: number }>();
      const add = (id: number) => {
        const c = { id };
        table.add(c);
        model.set(id, c);
      };
      add(1); // a root, alive throughout
      add(2);
      const live: number[] = [];
      let next = 3;
      for (let step = 0; step < 20_000; step++) {
        add(next);
        live.push(next++);
        if (live.length > window) {
          // Mostly the oldest (a window of streams), sometimes one at random, sometimes the newest.
          const r = pick(10);
          const at = r < 7 ? 0 : r < 9 ? pick(live.length) : live.length - 1;
          const [id] = live.splice(at, 1);
          table.delete(id);
          model.delete(id);
        }
        if (step % 997 === 0) {
          table.delete(next + 5); // absent: no effect
          for (const [id, c] of model) assert.equal(table.get(id), c);
          for (let k = 0; k < 50; k++) {
            const id = pick(next + 10);
            assert.equal(table.get(id), model.get(id), `get(${id}) with window ${window}`);
          }
          assert.equal(table.size, model.size);
        }
      }
      for (const id of live) table.delete(id);
      table.delete(2);
      assert.equal(table.size, 1);
      assert.equal(table.get(1), model.get(1));
      assert.equal(table.get(2), undefined);
    }
  });

  it("ids far apart and ids that share a home slot", () => {
    const table = new ContextTable<{ id: number }>();
    const ids = [0, 32, 64, 96, 1, 33, 0xffffffff, 2 ** 31, 5, 37];
    for (const id of ids) table.add({ id });
    for (const id of ids) assert.equal(table.get(id)?.id, id);
    table.delete(32);
    table.delete(1);
    assert.equal(table.get(32), undefined);
    for (const id of ids.filter((i) => i !== 32 && i !== 1)) assert.equal(table.get(id)?.id, id);
    assert.equal(table.get(Number.NaN), undefined);
    assert.equal(table.size, ids.length - 2);
  });
});

/** Envoy's header map as the host documents it, written plainly over a list of pairs. */
class ReferenceMap {
  entries: [string, string][] = [];

  static fromCaller(pairs: readonly (readonly [string, string])[]): ReferenceMap {
    const m = new ReferenceMap();
    for (const [k, v] of pairs) {
      const key = k.toLowerCase();
      m.insert(key === "host" ? ":authority" : key, v);
    }
    return m;
  }

  add(k: string, v: string): void {
    this.insert(k.toLowerCase(), v);
  }

  private insert(key: string, v: string): void {
    if (INLINE_HEADERS.has(key)) {
      const e = this.entries.find(([ek]) => ek === key);
      if (e !== undefined) {
        if (v !== "") e[1] = e[1] === "" ? v : e[1] + (key === "cookie" ? "; " : ",") + v;
        return;
      }
    }
    if (key.startsWith(":")) {
      const at = this.entries.findIndex(([ek]) => !ek.startsWith(":"));
      this.entries.splice(at < 0 ? this.entries.length : at, 0, [key, v]);
    } else {
      this.entries.push([key, v]);
    }
  }

  remove(k: string): void {
    const key = k.toLowerCase();
    this.entries = this.entries.filter(([ek]) => ek !== key);
  }

  replace(k: string, v: string): void {
    this.remove(k);
    this.add(k, v);
  }

  setPairs(pairs: readonly (readonly [string, string])[]): void {
    this.entries = [];
    for (const [k, v] of pairs) this.add(k, v);
  }

  get(k: string): string | undefined {
    const key = k.toLowerCase();
    return this.entries.find(([ek]) => ek === key)?.[1];
  }
}

describe("HeaderMap against a plain reference", () => {
  // Two inline names that share a bit of the map's inline mask (the 1st and 33rd inline header), so
  // a set bit for one must not be taken as the other being present.
  const inline = [...INLINE_HEADERS];
  const KEYS = [
    ":method",
    ":path",
    ":authority",
    ":custom",
    "Host",
    "host",
    "cookie",
    "Cookie",
    "x-forwarded-for",
    "User-Agent",
    "x-a",
    "X-A",
    "x-b",
    inline[0],
    inline[32],
    inline[1].toUpperCase(),
    inline[33],
  ];
  const VALUES = ["", "1", "two", "ü", "a,b", "x".repeat(70)];

  it("random add/replace/remove/setPairs sequences give the same maps", () => {
    const pick = rng(42);
    const randomPairs = (n: number): [string, string][] =>
      Array.from({ length: n }, () => [KEYS[pick(KEYS.length)], VALUES[pick(VALUES.length)]]);
    for (let round = 0; round < 300; round++) {
      const initial = randomPairs(pick(12));
      const m = HeaderMap.fromCaller(initial);
      const ref = ReferenceMap.fromCaller(initial);
      assert.deepEqual(m.pairs(), ref.entries, `fromCaller ${JSON.stringify(initial)}`);
      for (let op = 0; op < 30; op++) {
        const k = KEYS[pick(KEYS.length)];
        const v = VALUES[pick(VALUES.length)];
        const which = pick(10);
        if (which < 4) {
          m.add(k, v);
          ref.add(k, v);
        } else if (which < 7) {
          m.replace(k, v);
          ref.replace(k, v);
        } else if (which < 9) {
          m.remove(k);
          ref.remove(k);
        } else {
          const pairs = randomPairs(pick(6));
          m.setPairs(pairs);
          ref.setPairs(pairs);
        }
        assert.deepEqual(m.pairs(), ref.entries, `round ${round} op ${op}`);
        const probe = KEYS[pick(KEYS.length)];
        assert.equal(m.get(probe), ref.get(probe));
        assert.equal(m.count, ref.entries.length);
      }
    }
  });
});

/** The pairs encoding built piece by piece with Buffer's own UTF-8 encoder. */
function referencePairs(keys: readonly string[], values: readonly string[]): Buffer {
  const head = Buffer.alloc(4 + 8 * keys.length);
  head.writeUInt32LE(keys.length, 0);
  const text: Buffer[] = [];
  keys.forEach((k, i) => {
    const kb = Buffer.from(k, "utf8");
    const vb = Buffer.from(values[i], "utf8");
    head.writeUInt32LE(kb.length, 4 + 8 * i);
    head.writeUInt32LE(vb.length, 8 + 8 * i);
    text.push(kb, Buffer.of(0), vb, Buffer.of(0));
  });
  return Buffer.concat([head, ...text]);
}

describe("pairs encoding", () => {
  it("equals encoding each string on its own: ASCII, UTF-8, lone surrogates, long values", () => {
    const pick = rng(7);
    const pieces = ["a", "x-lane", "ü", "€", "😀", "\ud800", "\udc00", "\0", " ", "Z"];
    const text = () => {
      const long = pick(4) === 0;
      let s = long ? "y".repeat(60 + pick(200)) : "";
      for (let n = pick(long ? 4 : 20); n > 0; n--) s += pieces[pick(pieces.length)];
      return s;
    };
    for (let round = 0; round < 500; round++) {
      const n = pick(10);
      const keys = Array.from({ length: n }, text);
      const values = Array.from({ length: n }, text);
      assert.deepEqual(Buffer.from(serializePairs(keys, values)), referencePairs(keys, values));
    }
    // A key ending in a high surrogate next to a value starting with a low one: no pair forms.
    assert.deepEqual(
      Buffer.from(serializePairs(["a\ud800"], ["\udc00b"])),
      referencePairs(["a\ud800"], ["\udc00b"]),
    );
  });
});

describe("GuestMemory text decoding", () => {
  const memory = new WA.Memory({ initial: 1 });
  const m = new GuestMemory(memory);
  const buf = Buffer.from(memory.buffer);

  it("str and nameAt give Buffer's UTF-8 decoding for any bytes and length", () => {
    const pick = rng(9);
    const bytes = [0x00, 0x41, 0x61, 0x2d, 0x7f, 0x80, 0xc3, 0xbc, 0xe2, 0x82, 0xac, 0xff];
    for (let round = 0; round < 3000; round++) {
      const len = pick(40);
      const at = 64 + pick(64);
      // Mostly ASCII (the short paths), sometimes anything.
      const ascii = pick(3) !== 0;
      for (let i = 0; i < len; i++) buf[at + i] = ascii ? 0x20 + pick(0x5f) : bytes[pick(bytes.length)];
      const want = buf.toString("utf8", at, at + len);
      assert.equal(m.str(at, len), want);
      assert.equal(m.nameAt(at, len), want);
    }
  });

  it("a cached name is checked against the bytes on every call", () => {
    const at = 4096;
    buf.write("x-lane", at, "latin1");
    assert.equal(m.nameAt(at, 6), "x-lane");
    buf.write("x-lanf", at, "latin1");
    assert.equal(m.nameAt(at, 6), "x-lanf");
    buf.write("x-lane", at, "latin1");
    assert.equal(m.nameAt(at, 6), "x-lane");
    // Many names through the same address: whatever shares a slot, each answer is its own text.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) {
        const name = `h-${i}`;
        buf.write(name, at, "latin1");
        assert.equal(m.nameAt(at, name.length), name);
      }
    }
  });

  it("out of bounds is null", () => {
    const end = memory.buffer.byteLength;
    assert.equal(m.str(end - 2, 4), null);
    assert.equal(m.nameAt(end - 2, 4), null);
    assert.equal(m.nameAt(end, 0), "");
  });
});

describe("PropertyTree remembered answers", () => {
  const INPUTS: PropertyInput[] = [
    { path: ["source", "address"], string: "203.0.113.7:51000" },
    { path: ["metadata", "filter_metadata", "jwt"], json: { payload: { sub: "u1", groups: ["a", "b"] } } },
    { path: ["nothing"], json: null },
  ];
  const PATHS = [
    "source\0address",
    "source",
    "metadata\0filter_metadata\0jwt",
    "metadata\0filter_metadata\0jwt\0payload\0groups\x001",
    "metadata\0filter_metadata",
    "nothing",
    "missing",
    "",
  ];
  const answer = (t: PropertyTree, p: string) => {
    const r = t.lookup(p);
    return [r.code, r.value === undefined ? null : Buffer.from(r.value).toString("hex")];
  };

  it("answers as a tree that walks every time, before and after set()", () => {
    const remembering = new PropertyTree(INPUTS).rememberAnswers();
    const plain = new PropertyTree(INPUTS);
    for (let pass = 0; pass < 2; pass++) {
      for (const p of PATHS) assert.deepEqual(answer(remembering, p), answer(plain, p), p);
    }
    const more: PropertyInput[] = [
      { path: ["metadata", "filter_metadata", "jwt", "payload", "sub"], string: "u2" },
      { path: ["source", "address"], string: "198.51.100.1:1" },
      { path: ["missing"], int: 7 },
    ];
    for (const p of more) {
      remembering.set(p);
      plain.set(p);
      for (const q of PATHS) assert.deepEqual(answer(remembering, q), answer(plain, q), q);
    }
  });
});
