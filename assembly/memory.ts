// The sidecar's trace → lane memory in proxy shared data. Bounded by design (the ABI has no delete):
// a fixed key space of `capacity` slots, each holding one "expiry trace-key lane" record. A trace
// hashes to a home slot and may use the next PROBE slots (linear probing), so a busy slot costs a
// neighbour rather than a forgotten trace. A record is returned only for exactly the same trace key
// and only before it expires; a colliding trace can therefore never receive another trace's lane.
// A trace key seen live with two lanes (two requests sharing it) is stored with the lane "!"
// (CONFLICT), which restores none. Writers use the slot's cas: a concurrent writer makes us re-read
// and decide again. Everything here is per trace key: the sidecar (filter.ts) records one request
// under the key of each of its trace headers and decides an outbound call by the first key with a
// record, so a key conflicted here gives that call no lane, never another key's.
import {
  RESULT_CAS_MISMATCH,
  RESULT_OK,
  sharedCas,
  sharedGetRaw,
  sharedPtr,
  hostFree,
  sharedSetRaw,
  sharedSize,
} from "./abi";
import { saltState, saltedBucket } from "./lib/hash";
import { strLen, unitAt } from "./lib/raw";

export const PROBE: i32 = 8;
const RETRIES = 3;
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

// recall() runs on every outbound request and remember() on every inbound one with a lane: both name
// slots and read records in place rather than through strings. A slot's key "meshlane.lane.<slot>"
// is written into this scratch.
const SLOT_PREFIX = "meshlane.lane.";
const SLOT_KEY: usize = memory.data(32);

/** Writes the key of `slot` at SLOT_KEY and returns its length. */
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

// How scanRecord() found a slot's record.
const RECORD_OTHER: i32 = 0; // another trace's record, or not a record at all
const RECORD_MINE: i32 = 1; // this trace's record

/** The expiry of the last record scanRecord() read (0, long expired, for a value that is no record). */
let recordExpiry: i64 = 0;
/** Where the last record scanRecord() found to be RECORD_MINE has its lane. */
let laneStart: i32 = 0;

/**
 * Reads a slot's record "expiry key lane" in place: RECORD_MINE when its key is `key`, else
 * RECORD_OTHER. Sets recordExpiry, and laneStart for RECORD_MINE. A value that is not a record as
 * remember() writes them (ASCII, a decimal expiry of at most 18 digits, a non-empty key) can only
 * have been put there by something else: it counts as another trace's record that has expired, so
 * it is never read as a lane and its slot is free to take.
 */
function scanRecord(ptr: usize, size: i32, key: string): i32 {
  recordExpiry = 0;
  let a = -1;
  let b = -1;
  for (let i = 0; i < size; i++) {
    const c = load<u8>(ptr + <usize>i);
    if (c >= 0x80) return RECORD_OTHER;
    if (c == 0x20 && b < 0) {
      if (a < 0) a = i;
      else b = i;
    }
  }
  if (a <= 0 || a > 18 || b <= a + 1) return RECORD_OTHER;
  let exp: i64 = 0;
  for (let i = 0; i < a; i++) {
    const c = <i32>load<u8>(ptr + <usize>i) - 0x30;
    if (<u32>c > 9) return RECORD_OTHER;
    exp = exp * 10 + c;
  }
  recordExpiry = exp;
  const kl = strLen(key);
  if (b - a - 1 != kl) return RECORD_OTHER;
  for (let j = 0; j < kl; j++) {
    if (<i32>load<u8>(ptr + <usize>(a + 1 + j)) != unitAt(key, j)) return RECORD_OTHER;
  }
  laneStart = b + 1;
  return RECORD_MINE;
}

// remember() writes its record into this scratch and reads the probed slots in place. A record always
// fits: at most 19 expiry digits, a trace header name (at most 256, config.ts), "=", a trace key (at
// most 128, trace.ts), a lane name (at most 63) and two spaces: 469 bytes.
const RECORD_MAX = 512;
const RECORD_BUF: usize = memory.data(RECORD_MAX);

/** The record "expiry key lane" as bytes at RECORD_BUF: its length, or -1 when it is not ASCII or
 * does not fit, which the keys and lane names the filter makes never are. */
function recordBytes(expires: i64, key: string, lane: string): i32 {
  if (expires < 0) return -1;
  let digits = 1;
  for (let v = expires; v >= 10; v /= 10) digits++;
  const kl = strLen(key);
  const ll = strLen(lane);
  const n = digits + 1 + kl + 1 + ll;
  if (n > RECORD_MAX) return -1;
  let v = expires;
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(RECORD_BUF + <usize>i, <u8>(0x30 + (v % 10)));
    v /= 10;
  }
  let p = RECORD_BUF + <usize>digits;
  store<u8>(p++, 0x20);
  for (let i = 0; i < kl; i++) {
    const c = unitAt(key, i);
    if (c >= 0x80) return -1;
    store<u8>(p++, <u8>c);
  }
  store<u8>(p++, 0x20);
  for (let i = 0; i < ll; i++) {
    const c = unitAt(lane, i);
    if (c >= 0x80) return -1;
    store<u8>(p++, <u8>c);
  }
  return n;
}

/** What recall() returns for a trace seen with two different lanes while the first was live: no
 * lane may be restored for it (see remember()). Never a lane name, so never on an allow-list. */
export const CONFLICT: string = "!";
const CONFLICT_BYTE: u8 = 0x21;

/** The lane of the last record readSlot() found to be RECORD_MINE: "" when it has none or has
 * expired, CONFLICT for a conflicted trace (set only when asked for). */
let recordLane: string = "";

/** scanRecord() on a slot's value (an empty one is no record): RECORD_MINE or RECORD_OTHER, with
 * recordExpiry set, and recordLane too when `wantLane`. */
function readSlot(ptr: usize, size: i32, key: string, nowSec: i64, wantLane: bool): i32 {
  if (ptr == 0) {
    recordExpiry = 0;
    return RECORD_OTHER;
  }
  const r = scanRecord(ptr, size, key);
  if (r == RECORD_MINE && wantLane) {
    const laneLen = size - laneStart;
    const at = ptr + <usize>laneStart;
    if (recordExpiry <= nowSec || laneLen <= 0) recordLane = "";
    else if (laneLen == 1 && load<u8>(at) == CONFLICT_BYTE) recordLane = CONFLICT;
    else recordLane = String.UTF8.decodeUnsafe(at, <usize>laneLen);
  }
  return r;
}

/** Whether the `len` bytes at `ptr` are exactly `lane` (ASCII). */
function laneEquals(ptr: usize, len: i32, lane: string): bool {
  if (len != strLen(lane)) return false;
  for (let i = 0; i < len; i++) if (<i32>load<u8>(ptr + <usize>i) != unitAt(lane, i)) return false;
  return true;
}

/** The remembered lane of a trace: null when there is none (or it was remembered as having no
 * lane), CONFLICT when the trace was seen with two different lanes while live. */
export function recall(key: string, capacity: i32, nowSec: i64): string | null {
  const home = homeSlot(key, capacity);
  const probes = PROBE < capacity ? PROBE : capacity;
  for (let i = 0; i < probes; i++) {
    if (!sharedGetRaw(SLOT_KEY, slotKeyBytes((home + i) % capacity))) return null; // never written: no later probe holds this trace
    const ptr = sharedPtr();
    const size = <i32>sharedSize();
    const r = readSlot(ptr, size, key, nowSec, true);
    if (ptr != 0) hostFree(ptr);
    if (r == RECORD_MINE) return recordLane.length > 0 ? recordLane : null;
  }
  return null;
}

// What remember() did.
export const REMEMBER_SKIPPED: i32 = 0; // nothing written (no live record to update, or no room)
export const REMEMBER_WRITTEN: i32 = 1; // the trace's record now holds the lane
export const REMEMBER_CONFLICT: i32 = 2; // the trace had a live record with another lane: now conflicted

/**
 * Remembers a trace's lane (an inbound request's: "" for none). A trace key is one request's, so a
 * live record of the same key with a *different* lane (or none, or an earlier conflict) means two
 * requests share it — a client reusing or forging x-request-id. Which request an outbound call
 * belongs to is then unknown, so the record becomes CONFLICT until both could have finished (the
 * later of its expiry and now + ttl): outbound calls of that trace get no lane, never a wrong one.
 * With `onlyIfLive` nothing is written unless a live record of the trace exists (undyed traffic
 * costs reads only). Gives up (REMEMBER_SKIPPED) when every probed slot holds a live record of
 * another trace and the oldest of them could not be replaced.
 */
export function remember(
  key: string,
  lane: string,
  capacity: i32,
  nowSec: i64,
  ttl: i32,
  onlyIfLive: bool,
): i32 {
  const home = homeSlot(key, capacity);
  const probes = PROBE < capacity ? PROBE : capacity;
  for (let attempt = 0; attempt < RETRIES; attempt++) {
    // Find this trace's record (it may lie past expired slots); else take the first free (never
    // written or expired) slot, else the one whose record expires first.
    let mine = -1;
    let mineExpiry: i64 = 0;
    let sameLane = false;
    let chosen = -1;
    let chosenCas: u32 = 0;
    let chosenExp: i64 = i64.MAX_VALUE; // 0 once a free slot is chosen
    for (let i = 0; i < probes; i++) {
      const slot = (home + i) % capacity;
      if (!sharedGetRaw(SLOT_KEY, slotKeyBytes(slot))) {
        // Never written: no later probe holds this trace.
        if (chosenExp > 0) {
          chosen = slot;
          chosenCas = 0;
        }
        break;
      }
      const ptr = sharedPtr();
      const cas = sharedCas();
      const size = <i32>sharedSize();
      if (readSlot(ptr, size, key, nowSec, false) == RECORD_MINE) {
        mine = slot;
        chosen = slot;
        chosenCas = cas;
        mineExpiry = recordExpiry;
        sameLane = laneEquals(ptr + <usize>laneStart, size - laneStart, lane);
      } else {
        const exp = recordExpiry > nowSec ? recordExpiry : 0;
        if (exp < chosenExp) {
          chosen = slot;
          chosenCas = cas;
          chosenExp = exp;
        }
      }
      if (ptr != 0) hostFree(ptr);
      if (mine >= 0) break;
    }
    const live = mine >= 0 && mineExpiry > nowSec;
    if (onlyIfLive && !live) return REMEMBER_SKIPPED;
    let expires = nowSec + <i64>ttl;
    const conflict = live && !sameLane;
    if (conflict && mineExpiry > expires) expires = mineExpiry;
    if (chosen < 0) return REMEMBER_SKIPPED;
    const valueLen = recordBytes(expires, key, conflict ? CONFLICT : lane);
    if (valueLen < 0) return REMEMBER_SKIPPED;
    const r = sharedSetRaw(SLOT_KEY, slotKeyBytes(chosen), RECORD_BUF, <usize>valueLen, chosenCas);
    if (r == RESULT_OK) return conflict ? REMEMBER_CONFLICT : REMEMBER_WRITTEN;
    if (r != RESULT_CAS_MISMATCH) return REMEMBER_SKIPPED;
  }
  return REMEMBER_SKIPPED;
}

/** Records that a trace now has no lane, but only when a live record says otherwise (then the
 * trace is conflicted: see remember()). Costs reads only, unless there is a live record. */
export function forget(key: string, capacity: i32, nowSec: i64, ttl: i32): i32 {
  return remember(key, "", capacity, nowSec, ttl, true);
}
