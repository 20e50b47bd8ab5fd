// A map from proxy context id to object, for the dispatch's lookups on every callback. The key is
// the object's own `id` field, so a slot holds just the object: a lookup reads one slot and the
// object it needed anyway, which matters when the object was last touched a thousand requests ago
// and neither is in the cache any more. Open addressing with linear probing, at most half full;
// deletion re-files the rest of the run (no tombstones), so lookups stay short however many streams
// have come and gone. The proxy hands out ids from a counter: used as slot numbers directly they
// would form one long run (and every deletion would walk it), so ids are scattered by a
// multiplicative hash. Id 0 is the VM's own context and never stored.
//
// T must be a class with an `id: u32` field that does not change while the object is in the map.

export class IdMap<T> {
  private slots: StaticArray<T | null> = new StaticArray<T | null>(64);
  private mask: u32 = 63;
  private shift: u32 = 26;
  size: i32 = 0;

  /** slots[i] as a plain load (StaticArray's accessor is a call in the size-tuned build). */
  @inline private at(i: u32): T | null {
    return changetype<T | null>(
      load<usize>(changetype<usize>(this.slots) + ((<usize>i) << alignof<usize>())),
    );
  }

  @inline private home(id: u32): u32 {
    return (id * 0x9e3779b1) >> this.shift;
  }

  /** The object whose id is `id`, or null. */
  get(id: u32): T | null {
    const mask = this.mask;
    let i = this.home(id);
    while (true) {
      const v = this.at(i);
      if (v === null) return null;
      if (v.id == id) return v;
      i = (i + 1) & mask;
    }
  }

  /** Stores `value` under its id, replacing an object with the same id. */
  set(value: T): void {
    if ((this.size + 1) * 2 > <i32>this.mask + 1) this.grow();
    const id = value.id;
    const mask = this.mask;
    let i = this.home(id);
    while (true) {
      const v = this.at(i);
      if (v === null) break;
      if (v.id == id) {
        unchecked((this.slots[i] = value));
        return;
      }
      i = (i + 1) & mask;
    }
    unchecked((this.slots[i] = value));
    this.size++;
  }

  /** Removes the object whose id is `id`; returns whether there was one. */
  delete(id: u32): bool {
    const mask = this.mask;
    let i = this.home(id);
    while (true) {
      const v = this.at(i);
      if (v === null) return false;
      if (v.id == id) break;
      i = (i + 1) & mask;
    }
    // Empty the slot, then put back the rest of its run (each entry lands at or before where it
    // was), so no lookup ever stops early at the new hole.
    unchecked((this.slots[i] = null));
    this.size--;
    while (true) {
      i = (i + 1) & mask;
      const v = this.at(i);
      if (v === null) return true;
      unchecked((this.slots[i] = null));
      this.size--;
      this.set(v);
    }
  }

  private grow(): void {
    const old = this.slots;
    const n = (this.mask + 1) << 1;
    this.slots = new StaticArray<T | null>(n);
    this.mask = n - 1;
    this.shift--;
    this.size = 0;
    for (let i = 0; i < old.length; i++) {
      const v = unchecked(old[i]);
      if (v !== null) this.set(v);
    }
  }
}
