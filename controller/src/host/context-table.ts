// The VM's live contexts by id (proxy_set_effective_context and queue notifications look them up).
//
// Not a Map: a stream is added and removed for every request, and V8's Map every so often moves
// its entries to a new table, while the abandoned table keeps its entries (and, for iterators, a
// link to its successor). Once those tables live in the old generation, an abandoned one keeps
// every context it held alive through young-generation collections until the next full
// collection, and everything those contexts reference is copied and promoted with them: with a few
// streams in flight, most of what each request allocated survived its first collection, which made
// a request several times slower. Here a removed context's slot is overwritten at once, and a table
// that is replaced is cleared, so no slot outlives its context.
//
// Open addressing on the id with linear probing. Ids are handed out in sequence and never reused,
// so `id & mask` spreads a window of live ids evenly, and an insertion never has to look for an
// existing entry: it takes the first free slot from the id's home. While every entry sits in its
// home slot (ids in flight span less than the table), a removal just empties its slot; only a
// long-lived context that a newer id collides with makes removals shift entries or leave
// tombstones.

/** Slots in a table at least (a power of two). */
const MIN_CAPACITY = 32;

/** Longest probe run after a removed entry that delete() closes up by backward shift. */
const SHIFT_MAX = 16;

/** Marks a removed entry, so lookups keep probing past it. Its id (NaN) equals no id at all. */
const TOMBSTONE: { readonly id: number } = Object.freeze({ id: NaN });

export class ContextTable<T extends { readonly id: number }> {
  private slots: ({ readonly id: number } | undefined)[] = emptySlots(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  /** Live entries. */
  private count = 0;
  /** Live entries plus tombstones: kept at most half the slots, so every probe meets an empty one. */
  private used = 0;
  /** Live entries not in their home slot. While there are none, no lookup probes past any slot. */
  private displaced = 0;

  /** Number of live entries. */
  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const slots = this.slots;
    const mask = this.mask;
    for (let i = id & mask; ; i = (i + 1) & mask) {
      const c = slots[i];
      if (c === undefined || c.id === id) return c as T | undefined;
    }
  }

  /** Adds a context whose id is not in the table (ids are unique within a VM). */
  add(c: T): void {
    const slots = this.slots;
    const mask = this.mask;
    const home = c.id & mask;
    let i = home;
    while (slots[i] !== undefined && slots[i] !== TOMBSTONE) i = (i + 1) & mask;
    if (slots[i] === undefined) this.used++;
    slots[i] = c;
    this.count++;
    if (i !== home) this.displaced++;
    if (2 * this.used > slots.length) this.rebuild();
  }

  /** Removes the entry with this id, if any. */
  delete(id: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = id & mask;
    for (;;) {
      const c = slots[i];
      if (c === undefined) return;
      if (c.id === id) break;
      i = (i + 1) & mask;
    }
    this.count--;
    if (i !== (id & mask)) this.displaced--;
    // Every live entry in its home slot (the usual case with ids handed out in sequence, however
    // many are in flight): nothing probed past this slot, so it can simply be emptied.
    if (this.displaced === 0) {
      slots[i] = undefined;
      this.used--;
      this.clearTombstonesBefore(i);
      return;
    }
    // If the probe run after this slot is short and has no tombstones, delete by backward shift:
    // entries that got past this slot by probing move back, and a slot is emptied, so a few contexts
    // in flight never pile up tombstones and force rebuilds. A long run (many streams in flight, ids
    // side by side) gets a tombstone instead, rather than a walk along the whole run.
    let end = (i + 1) & mask;
    for (let n = 0; slots[end] !== undefined; n++, end = (end + 1) & mask) {
      if (n === SHIFT_MAX || slots[end] === TOMBSTONE) {
        slots[i] = TOMBSTONE;
        return;
      }
    }
    let hole = i;
    for (let j = (i + 1) & mask; j !== end; j = (j + 1) & mask) {
      const c = slots[j] as T;
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      if (((j - (c.id & mask)) & mask) >= ((j - hole) & mask)) {
        slots[hole] = c;
        // Moving back can only bring an entry home, never take it away from there.
        if (hole === (c.id & mask)) this.displaced--;
        hole = j;
      }
    }
    slots[hole] = undefined;
    this.used--;
    // Tombstones right before an empty slot lead nowhere: empty them too.
    this.clearTombstonesBefore(hole);
  }

  private clearTombstonesBefore(empty: number): void {
    const slots = this.slots;
    const mask = this.mask;
    for (let j = (empty - 1) & mask; slots[j] === TOMBSTONE; j = (j - 1) & mask) {
      slots[j] = undefined;
      this.used--;
    }
  }

  /**
   * Re-inserts the live entries into a table at most a quarter full, dropping the tombstones: when
   * the table grows, or when tombstones (see delete) fill half of it. When the size stays the same
   * the slots are reused in place.
   */
  private rebuild(): void {
    const old = this.slots;
    const live: T[] = [];
    for (let i = 0; i < old.length; i++) {
      const c = old[i];
      if (c !== undefined && c !== TOMBSTONE) live.push(c as T);
    }
    let capacity = MIN_CAPACITY;
    while (capacity < 4 * live.length) capacity *= 2;
    // Cleared either way: to be refilled, or to be dropped (pinning nothing, see above).
    old.fill(undefined);
    if (capacity !== old.length) this.slots = emptySlots(capacity);
    this.mask = capacity - 1;
    this.count = 0;
    this.used = 0;
    this.displaced = 0;
    for (let i = 0; i < live.length; i++) this.add(live[i]);
  }
}

function emptySlots(n: number): ({ readonly id: number } | undefined)[] {
  // Filled by push, so the array is packed (plain element reads) rather than holey.
  const a: ({ readonly id: number } | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}
