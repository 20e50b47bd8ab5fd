// The sidecar's trace → lane memory in proxy shared data. Bounded by design (the ABI has no delete):
// a fixed key space of `capacity` slots, each holding one "expiry trace-key lane" record. A trace
// hashes to a home slot and may use the next PROBE slots (linear probing), so a busy slot costs a
// neighbour rather than a forgotten trace. A record is returned only for exactly the same trace key
// and only before it expires; a colliding trace can therefore never receive another trace's lane.
// Writers use the slot's cas: a concurrent writer makes us re-read and decide again.
import { RESULT_CAS_MISMATCH, RESULT_OK, sharedGet, sharedSet } from "./abi";
import { stickyBucket } from "./lib/hash";

export const PROBE: i32 = 8;
const RETRIES = 3;
const SEP: string = " ";

export class Record {
  constructor(
    public expires: i64,
    public key: string,
    public lane: string,
  ) {}
}

/** Parses "expiry key lane" (the lane may be empty: "this trace has no lane"); null when malformed. */
export function parseRecord(s: string): Record | null {
  const a = s.indexOf(SEP);
  if (a <= 0) return null;
  const b = s.indexOf(SEP, a + 1);
  if (b <= a + 1) return null;
  const exp = I64.parseInt(s.substring(0, a), 10);
  return new Record(exp, s.substring(a + 1, b), s.substring(b + 1));
}

export function formatRecord(expires: i64, key: string, lane: string): string {
  return expires.toString() + SEP + key + SEP + lane;
}

/** The home slot of a key in [0, capacity). */
export function homeSlot(key: string, capacity: i32): i32 {
  // stickyBucket gives 0..9999; combine two salts for a wider spread across large tables.
  const hi = <u64>stickyBucket(key, "slot-a");
  const lo = <u64>stickyBucket(key, "slot-b");
  return <i32>((hi * 10000 + lo) % <u64>capacity);
}

function slotKey(slot: i32): string {
  return "meshlane.lane." + slot.toString();
}

/** The remembered lane of a trace, or null (also for a trace remembered as having no lane). */
export function recall(key: string, capacity: i32, nowSec: i64): string | null {
  const home = homeSlot(key, capacity);
  const probes = PROBE < capacity ? PROBE : capacity;
  for (let i = 0; i < probes; i++) {
    const got = sharedGet(slotKey((home + i) % capacity));
    if (got === null) return null; // never written: no later probe holds this trace
    const rec = parseRecord(String.UTF8.decode(got.value));
    if (rec !== null && rec.key == key) return rec.expires > nowSec && rec.lane.length > 0 ? rec.lane : null;
  }
  return null;
}

/** Remembers a trace's lane. Returns false when every probed slot holds a live record of another
 * trace and the oldest of them could not be replaced. */
export function remember(key: string, lane: string, capacity: i32, nowSec: i64, ttl: i32): bool {
  const home = homeSlot(key, capacity);
  const probes = PROBE < capacity ? PROBE : capacity;
  const value = String.UTF8.encode(formatRecord(nowSec + ttl, key, lane));
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    // Pick the slot: this trace's own, else the first empty or expired, else the oldest.
    let chosen = -1;
    let chosenCas: u32 = 0;
    let oldest = -1;
    let oldestCas: u32 = 0;
    let oldestExp: i64 = i64.MAX_VALUE;
    for (let i = 0; i < probes; i++) {
      const slot = (home + i) % capacity;
      const got = sharedGet(slotKey(slot));
      if (got === null) {
        chosen = slot;
        break;
      }
      const rec = parseRecord(String.UTF8.decode(got.value));
      if (rec === null || rec.key == key || rec.expires <= nowSec) {
        chosen = slot;
        chosenCas = got.cas;
        break;
      }
      if (rec.expires < oldestExp) {
        oldestExp = rec.expires;
        oldest = slot;
        oldestCas = got.cas;
      }
    }
    if (chosen < 0) {
      chosen = oldest;
      chosenCas = oldestCas;
    }
    if (chosen < 0) return false;
    const r = sharedSet(slotKey(chosen), value, chosenCas);
    if (r == RESULT_OK) return true;
    if (r != RESULT_CAS_MISMATCH) return false;
  }
  return false;
}

/** Records that a trace now has no lane, but only when a live record says otherwise: a reused trace
 * id must not inherit the lane of an earlier request. Costs reads only, unless there is a record. */
export function forget(key: string, capacity: i32, nowSec: i64, ttl: i32): void {
  if (recall(key, capacity, nowSec) !== null) remember(key, "", capacity, nowSec, ttl);
}
