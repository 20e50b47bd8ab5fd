// The sidecar's trace → lane memory in proxy shared data. Bounded by design (the ABI has no delete):
// a fixed key space of `capacity` slots, each holding one "expiry trace-key lane" record. A trace
// hashes to a home slot and may use the next PROBE slots (linear probing), so a busy slot costs a
// neighbour rather than a forgotten trace. A record is returned only for exactly the same trace key
// and only before it expires; a colliding trace can therefore never receive another trace's lane.
// Writers use the slot's cas: a concurrent writer makes us re-read and decide again.
import {
  RESULT_CAS_MISMATCH,
  RESULT_OK,
  sharedCas,
  sharedGetRaw,
  sharedPtr,
  hostFree,
  sharedSet,
  sharedSize,
} from "./abi";
import { saltState, saltedBucket } from "./lib/hash";
import { strLen, unitAt } from "./lib/raw";
import { indexOfUnit } from "./lib/text";

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
  const a = indexOfUnit(s, 0x20, 0); // SEP
  if (a <= 0) return null;
  const b = indexOfUnit(s, 0x20, a + 1);
  if (b <= a + 1) return null;
  return new Record(decimal(s, a), s.substring(a + 1, b), s.substring(b + 1));
}

/** The decimal number in s[0, end), or 0 (a long-expired time) when it is not one we wrote. */
function decimal(s: string, end: i32): i64 {
  if (end > 18) return 0;
  let v: i64 = 0;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (<u32>c > 9) return 0;
    v = v * 10 + c;
  }
  return v;
}

export function formatRecord(expires: i64, key: string, lane: string): string {
  return expires.toString() + SEP + key + SEP + lane;
}

// The two salts' hash states, computed once (stickyBucket(key, "slot-a") is saltedBucket(SLOT_A, key)).
const SLOT_A = saltState("slot-a");
const SLOT_B = saltState("slot-b");

/** The home slot of a key in [0, capacity). */
export function homeSlot(key: string, capacity: i32): i32 {
  // stickyBucket gives 0..9999; combine two salts for a wider spread across large tables.
  const hi = <u64>saltedBucket(SLOT_A, key);
  const lo = <u64>saltedBucket(SLOT_B, key);
  return <i32>((hi * 10000 + lo) % <u64>capacity);
}

function slotKey(slot: i32): string {
  return "meshlane.lane." + slot.toString();
}

// recall() runs on every outbound request: it reads slots in place instead of building key strings
// and decoding records. The slot key "meshlane.lane.<slot>" is written into this scratch.
const SLOT_PREFIX = "meshlane.lane.";
const SLOT_KEY: usize = memory.data(32);

/** Writes slotKey(slot) as bytes at SLOT_KEY and returns its length. */
function slotKeyBytes(slot: i32): usize {
  const n = SLOT_PREFIX.length;
  for (let i = 0; i < n; i++) store<u8>(SLOT_KEY + <usize>i, <u8>unitAt(SLOT_PREFIX, i));
  let digits = 1;
  for (let v = slot; v >= 10; v /= 10) digits++;
  let v = slot;
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(SLOT_KEY + <usize>(n + i), <u8>(0x30 + (v % 10)));
    v /= 10;
  }
  return <usize>(n + digits);
}

// readRecord's answers besides "matched" (1).
const RECORD_OTHER: i32 = 0; // a well-formed record of another trace
const RECORD_SLOW: i32 = -1; // not the plain form: decide on the decoded string (parseRecord)

/** The lane read by the last readRecord() that returned 1 ("" for none or expired). */
let recordLane: string = "";

/**
 * Reads "expiry key lane" in place when it is ASCII with a plain decimal expiry (what
 * formatRecord writes): 1 when its key is `key` (recordLane set as recall() would answer), 0 for
 * another key or a record parseRecord rejects, -1 otherwise.
 */
function readRecord(ptr: usize, size: i32, key: string, nowSec: i64): i32 {
  for (let i = 0; i < size; i++) if (load<u8>(ptr + <usize>i) >= 0x80) return RECORD_SLOW;
  let a = -1;
  for (let i = 0; i < size; i++) {
    if (load<u8>(ptr + <usize>i) == 0x20) {
      a = i;
      break;
    }
  }
  if (a <= 0) return RECORD_OTHER; // parseRecord: null
  let b = -1;
  for (let i = a + 1; i < size; i++) {
    if (load<u8>(ptr + <usize>i) == 0x20) {
      b = i;
      break;
    }
  }
  if (b <= a + 1) return RECORD_OTHER; // parseRecord: null
  // The key is compared first: most probes end here.
  const kl = strLen(key);
  if (b - a - 1 != kl) return RECORD_OTHER;
  for (let j = 0; j < kl; j++) {
    if (<i32>load<u8>(ptr + <usize>(a + 1 + j)) != unitAt(key, j)) return RECORD_OTHER;
  }
  if (a > 18) return RECORD_SLOW;
  let exp: i64 = 0;
  for (let i = 0; i < a; i++) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c < 0x30 || c > 0x39) return RECORD_SLOW;
    exp = exp * 10 + <i64>(c - 0x30);
  }
  const laneLen = size - b - 1;
  recordLane =
    exp > nowSec && laneLen > 0 ? String.UTF8.decodeUnsafe(ptr + <usize>(b + 1), <usize>laneLen) : "";
  return 1;
}

/** The remembered lane of a trace, or null (also for a trace remembered as having no lane). */
export function recall(key: string, capacity: i32, nowSec: i64): string | null {
  const home = homeSlot(key, capacity);
  const probes = PROBE < capacity ? PROBE : capacity;
  for (let i = 0; i < probes; i++) {
    if (!sharedGetRaw(SLOT_KEY, slotKeyBytes((home + i) % capacity))) return null; // never written: no later probe holds this trace
    const ptr = sharedPtr();
    const size = <i32>sharedSize();
    let r = ptr == 0 ? RECORD_OTHER : readRecord(ptr, size, key, nowSec);
    if (r == RECORD_SLOW) {
      const rec = parseRecord(String.UTF8.decodeUnsafe(ptr, <usize>size));
      r = RECORD_OTHER;
      if (rec !== null && rec.key == key) {
        recordLane = rec.expires > nowSec ? rec.lane : "";
        r = 1;
      }
    }
    if (ptr != 0) hostFree(ptr);
    if (r == 1) return recordLane.length > 0 ? recordLane : null;
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
      if (!sharedGetRaw(SLOT_KEY, slotKeyBytes(slot))) {
        chosen = slot;
        break;
      }
      const ptr = sharedPtr();
      const cas = sharedCas();
      const rec = parseRecord(String.UTF8.decodeUnsafe(ptr, sharedSize()));
      if (ptr != 0) hostFree(ptr);
      if (rec === null || rec.key == key || rec.expires <= nowSec) {
        chosen = slot;
        chosenCas = cas;
        break;
      }
      if (rec.expires < oldestExp) {
        oldestExp = rec.expires;
        oldest = slot;
        oldestCas = cas;
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
