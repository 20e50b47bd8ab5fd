// A map from proxy context id to object, for the dispatch's lookups on every callback. Open
// addressing with linear probing at most half full; deletion re-files the rest of the run (no
// tombstones), so lookups stay short however many streams have come and gone. The proxy hands out ids
// from a counter: used as slot numbers directly they would form one long run (and every deletion
// would walk it), so ids are scattered by a multiplicative hash. Id 0 is the VM's own context and
// never stored (it marks an empty slot).

export class IdMap<T> {
  private ids: StaticArray<u32> = new StaticArray<u32>(64);
  private values: StaticArray<T | null> = new StaticArray<T | null>(64);
  private mask: u32 = 63;
  private shift: u32 = 26;
  size: i32 = 0;

  /** ids[i] as a plain load (StaticArray's accessor is a call in the size-tuned build). */
  @inline private idAt(i: u32): u32 {
    return load<u32>(changetype<usize>(this.ids) + ((<usize>i) << 2));
  }

  @inline private home(id: u32): u32 {
    return (id * 0x9e3779b1) >> this.shift;
  }

  /** The object for `id`, or null. */
  get(id: u32): T | null {
    const mask = this.mask;
    let i = this.home(id);
    while (true) {
      const k = this.idAt(i);
      if (k == id) return unchecked(this.values[i]);
      if (k == 0) return null;
      i = (i + 1) & mask;
    }
  }

  /** Stores `value` under `id` (replacing any); `id` is not 0. */
  set(id: u32, value: T): void {
    if ((this.size + 1) * 2 > <i32>this.mask + 1) this.grow();
    const mask = this.mask;
    let i = this.home(id);
    while (true) {
      const k = this.idAt(i);
      if (k == id) {
        unchecked((this.values[i] = value));
        return;
      }
      if (k == 0) break;
      i = (i + 1) & mask;
    }
    unchecked((this.ids[i] = id));
    unchecked((this.values[i] = value));
    this.size++;
  }

  /** Removes `id`; returns whether it was there. */
  delete(id: u32): bool {
    const mask = this.mask;
    let i = this.home(id);
    while (true) {
      const k = this.idAt(i);
      if (k == id) break;
      if (k == 0) return false;
      i = (i + 1) & mask;
    }
    // Empty the slot, then put back the rest of its run (each entry lands at or before where it
    // was), so no lookup ever stops early at the new hole.
    unchecked((this.ids[i] = 0));
    unchecked((this.values[i] = null));
    this.size--;
    while (true) {
      i = (i + 1) & mask;
      const k = this.idAt(i);
      if (k == 0) return true;
      const v = changetype<T>(unchecked(this.values[i]));
      unchecked((this.ids[i] = 0));
      unchecked((this.values[i] = null));
      this.size--;
      this.set(k, v);
    }
  }

  private grow(): void {
    const oldIds = this.ids;
    const oldValues = this.values;
    const n = (this.mask + 1) << 1;
    this.ids = new StaticArray<u32>(n);
    this.values = new StaticArray<T | null>(n);
    this.mask = n - 1;
    this.shift--;
    this.size = 0;
    for (let i = 0; i < oldIds.length; i++) {
      const k = unchecked(oldIds[i]);
      if (k != 0) this.set(k, changetype<T>(unchecked(oldValues[i])));
    }
  }
}
