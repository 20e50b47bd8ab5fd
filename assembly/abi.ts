// The one seam between meshlane and the proxy: every raw host call goes through this file. Everything
// else speaks strings. Absence is a value here: a missing header is null, a failed call is false, and
// nothing in this file throws on a host status (a throw would trap the VM).
import * as host from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { bytesAre, strLen } from "./lib/raw";
import { utf8Text } from "./lib/text";

// WasmResult codes (proxy-wasm ABI).
export const RESULT_OK: u32 = 0;
export const RESULT_NOT_FOUND: u32 = 1;
export const RESULT_CAS_MISMATCH: u32 = 8;

// Header map types.
export const REQUEST_HEADERS: i32 = 0;
export const RESPONSE_HEADERS: i32 = 2;

// Buffer types.
export const VM_CONFIGURATION: i32 = 6;
export const PLUGIN_CONFIGURATION: i32 = 7;

// Log levels.
export const LOG_TRACE: i32 = 0;
export const LOG_DEBUG: i32 = 1;
export const LOG_INFO: i32 = 2;
export const LOG_WARN: i32 = 3;
export const LOG_ERROR: i32 = 4;

// Out-parameters for host calls: a pointer and a size (and a cas), in static memory.
const OUT_PTR: usize = memory.data(8);
const OUT_SIZE: usize = memory.data(8);
const OUT_CAS: usize = memory.data(8);

// Memory the host asks for (to hand us header pairs, properties, shared data). Every such buffer is
// read and freed (hostFree) within the callback that fetched it, so most come from a small bump
// arena that is rewound once nothing in it is held: no allocator work on the request path. A buffer
// that does not fit, or one asked for while the arena is full, comes from the heap as before.
const ARENA_SIZE: usize = 16384;
const ARENA: usize = memory.data(16384, 16);
let arenaTop: usize = 0;
let arenaHeld: i32 = 0;

/** proxy_on_memory_allocate / malloc: memory the host writes a result into. */
export function hostAlloc(size: usize): usize {
  const need = (size + 15) & ~(<usize>15);
  if (need != 0 && need <= ARENA_SIZE - arenaTop) {
    const p = ARENA + arenaTop;
    arenaTop += need;
    arenaHeld++;
    return p;
  }
  return heap.alloc(size == 0 ? 1 : size);
}

/** Frees what hostAlloc gave (arena or heap). */
export function hostFree(ptr: usize): void {
  if (ptr - ARENA < ARENA_SIZE) {
    if (--arenaHeld <= 0) {
      arenaHeld = 0;
      arenaTop = 0;
    }
    return;
  }
  heap.free(ptr);
}

// Header names and lane values are ASCII: they are written into this scratch area instead of being
// UTF-8 encoded into a fresh buffer on every call. Longer or non-ASCII text falls back to encoding.
const KEY_SCRATCH_SIZE: i32 = 256;
const KEY_SCRATCH: usize = memory.data(256);
const VALUE_SCRATCH: usize = memory.data(256);
let spill: ArrayBuffer = new ArrayBuffer(0);

/** Writes `s` as UTF-8 at `scratch` when it is short ASCII and returns its length; otherwise encodes
 * into `spill` and returns -1 (then use `spill`). */
function ascii(s: string, scratch: usize): i32 {
  const n = s.length;
  if (n <= KEY_SCRATCH_SIZE) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      store<u8>(scratch + <usize>i, <u8>c);
    }
    if (i == n) return n;
  }
  spill = String.UTF8.encode(s);
  return -1;
}

function takeString(): string {
  const ptr = load<usize>(OUT_PTR);
  const size = load<usize>(OUT_SIZE);
  if (ptr == 0) return "";
  const s = String.UTF8.decodeUnsafe(ptr, size);
  hostFree(ptr);
  return s;
}

function clearOut(): void {
  store<usize>(OUT_PTR, 0);
  store<usize>(OUT_SIZE, 0);
}

let currentLogLevel: i32 = LOG_INFO;

/** Refreshes the cached log level (call once per configure). */
export function refreshLogLevel(): void {
  store<usize>(OUT_SIZE, 0);
  if (host.proxy_get_log_level(OUT_SIZE) == RESULT_OK) currentLogLevel = <i32>load<usize>(OUT_SIZE);
}

export function logEnabled(level: i32): bool {
  return level >= currentLogLevel;
}

/** Logs through proxy_log with its real level; skipped cheaply when the proxy filters that level. */
export function log(level: i32, message: string): void {
  if (level < currentLogLevel) return;
  const buf = String.UTF8.encode(message);
  host.proxy_log(level, changetype<usize>(buf), buf.byteLength);
}

// ---- header maps ----

/** Replaces every entry of a header with one value. */
export function replaceHeader(map: i32, name: string, value: string): bool {
  let kn = ascii(name, KEY_SCRATCH);
  let kp = KEY_SCRATCH;
  let keep: ArrayBuffer | null = null;
  if (kn < 0) {
    keep = spill;
    kp = changetype<usize>(spill);
    kn = spill.byteLength;
  }
  let vn = ascii(value, VALUE_SCRATCH);
  let vp = VALUE_SCRATCH;
  if (vn < 0) {
    vp = changetype<usize>(spill);
    vn = spill.byteLength;
  }
  const r = host.proxy_replace_header_map_value(map, kp, kn, vp, vn);
  keep = null;
  return r == RESULT_OK;
}

/** replaceHeader for a name and value already encoded (see Root.prepare). */
export function replaceHeaderBytes(map: i32, name: ArrayBuffer, value: ArrayBuffer): bool {
  const r = host.proxy_replace_header_map_value(
    map,
    changetype<usize>(name),
    name.byteLength,
    changetype<usize>(value),
    value.byteLength,
  );
  return r == RESULT_OK;
}

/** Removes every entry of a header (absent is fine). */
export function removeHeader(map: i32, name: string): bool {
  let n = ascii(name, KEY_SCRATCH);
  let kp = KEY_SCRATCH;
  if (n < 0) {
    kp = changetype<usize>(spill);
    n = spill.byteLength;
  }
  return host.proxy_remove_header_map_value(map, kp, n) == RESULT_OK;
}

// HeaderBlock's index, in static memory: one block is read at a time in a VM. BUCKETS chain heads
// and tails (entry numbers, -1 for none), then per entry its key's offset in the block and the next
// entry of its bucket.
const INDEX_MAX: i32 = 256;
const BUCKETS: i32 = 64;
const BUCKET_HEAD: usize = memory.data(64 * 8, 8);
/** Where a bucket's tail sits, from its head. */
const TAIL: usize = <usize>BUCKETS * 4;
const ENTRY_KEY: usize = memory.data(256 * 4, 4);
const ENTRY_NEXT: usize = memory.data(256 * 4, 4);
/** The block whose entries the index holds: the last one load() filed (0 while none is). */
let indexOwner: usize = 0;

/** All request or response headers, fetched in one host call and read in place: lookups scan the
 * proxy's pairs encoding (u32 count, u32 key/value sizes, then "key\0value\0" each) without
 * decoding anything but the value asked for. `release()` frees the host's buffer.
 *
 * load() files every entry under a hash of its name's length, first and last byte, in chains that
 * keep the entries' order, so a lookup compares the few entries of its bucket instead of walking
 * the whole block: a request's rules ask for about ten names, several of them absent. A block of
 * more than INDEX_MAX entries is not filed and lookups walk it as a list. */
export class HeaderBlock {
  ptr: usize = 0;
  size: usize = 0;
  count: i32 = 0;
  /** Whether load() filed the entries (count <= INDEX_MAX); see filed(). */
  private indexed: bool = false;

  /** Fetches the map into this block (releasing what it held); an unreadable map, or -1, reads as
   * empty. */
  load(map: i32): void {
    const b = this;
    b.release();
    if (map < 0) return;
    clearOut();
    const r = host.proxy_get_header_map_pairs(map, OUT_PTR, OUT_SIZE);
    const ptr = load<usize>(OUT_PTR);
    const size = load<usize>(OUT_SIZE);
    if (r != RESULT_OK || ptr == 0 || size < 4 || size >= 1 << 30) {
      if (ptr != 0) hostFree(ptr);
      return;
    }
    const n = load<u32>(ptr);
    // Check the sizes once, so lookups can trust them; file each entry on the way.
    const sz = <u32>size;
    if (n > (sz - 4) >> 3) {
      hostFree(ptr);
      return;
    }
    const index = n <= <u32>INDEX_MAX;
    if (index) {
      indexOwner = 0; // whichever block was filed is no longer
      memory.fill(BUCKET_HEAD, 0xff, BUCKETS * 4); // heads: -1 (a tail is read only behind a head)
    }
    let data: u32 = 4 + n * 8;
    let sizes = ptr + 4; // entry i's key and value sizes
    for (let i: u32 = 0; i < n; i++) {
      const kl = load<u32>(sizes);
      const vl = load<u32>(sizes, 4);
      sizes += 8;
      // In 64 bits, where no sum of three sizes wraps.
      if (<u64>data + <u64>kl + <u64>vl + 2 > <u64>sz) {
        hostFree(ptr);
        return;
      }
      if (index) {
        const key = ptr + <usize>data;
        const at = (<usize>i) << 2;
        store<u32>(ENTRY_KEY + at, data);
        store<i32>(ENTRY_NEXT + at, -1);
        const h = kl == 0 ? 0 : HeaderBlock.bucket(kl, load<u8>(key), load<u8>(key + <usize>kl - 1));
        const head = BUCKET_HEAD + ((<usize>h) << 2);
        const first = load<i32>(head);
        if (first < 0) store<i32>(head, <i32>i);
        else store<i32>(ENTRY_NEXT + ((<usize>load<i32>(head, TAIL)) << 2), <i32>i);
        store<i32>(head, <i32>i, TAIL);
      }
      data += kl + vl + 2;
    }
    b.ptr = ptr;
    b.size = size;
    b.count = <i32>n;
    b.indexed = index;
    if (index) indexOwner = changetype<usize>(b);
  }

  /** Whether this block's entries are the ones filed (another block loaded since would have
   * replaced them: lookups then walk this one as a list). */
  @inline
  private filed(): bool {
    return this.indexed && indexOwner == changetype<usize>(this);
  }

  /** Where the last successful find() put the value: its bytes, valid until release(). */
  valuePtr: usize = 0;
  valueLen: i32 = 0;

  /** Looks up the first value of `name` (lower-case ASCII) without decoding it: true and
   * valuePtr/valueLen set when present. Matchers read the bytes in place (see match.ts). */
  find(name: string): bool {
    const ptr = this.ptr;
    if (ptr == 0) return false;
    if (!this.filed()) return this.scanFrom(name, 0, ptr + 4 + <usize>this.count * 8);
    const nl = strLen(name);
    const np = changetype<usize>(name);
    const h =
      nl == 0
        ? 0
        : HeaderBlock.bucket(<u32>nl, <u32>load<u16>(np), <u32>load<u16>(np + ((<usize>nl - 1) << 1)));
    return this.chainFrom(name, load<i32>(BUCKET_HEAD + ((<usize>h) << 2)));
  }

  /** find() for the next entry of `name` after the one the last successful find() or findNext()
   * found (call only then): several entries of one name (repeated `cookie` or `baggage` headers)
   * are read one by one, in order. */
  findNext(name: string): bool {
    if (!this.filed())
      return this.scanFrom(name, this.foundIndex + 1, this.valuePtr + <usize>this.valueLen + 1);
    return this.chainFrom(name, load<i32>(ENTRY_NEXT + ((<usize>this.foundIndex) << 2)));
  }

  /** Index of the entry the last successful find()/findNext() found. */
  private foundIndex: i32 = 0;

  /** A header name's bucket from its length, first and last byte (the same for a name given as a
   * string: its code units are the bytes of the ASCII names looked up). */
  @inline
  private static bucket(len: u32, first: u32, last: u32): u32 {
    return (len * 7 + first * 3 + last) & (<u32>(BUCKETS - 1));
  }

  /** Follows a bucket's chain from entry `i` for `name`. */
  @inline
  private chainFrom(name: string, i: i32): bool {
    const ptr = this.ptr;
    const nl = strLen(name);
    while (i >= 0) {
      const data = ptr + <usize>load<u32>(ENTRY_KEY + ((<usize>i) << 2));
      if (<i32>load<u32>(ptr + 4 + <usize>i * 8) == nl && bytesAre(data, name, nl)) {
        this.valuePtr = data + <usize>nl + 1;
        this.valueLen = <i32>load<u32>(ptr + 8 + <usize>i * 8);
        this.foundIndex = i;
        return true;
      }
      i = load<i32>(ENTRY_NEXT + ((<usize>i) << 2));
    }
    return false;
  }

  /** Walks entries [from, count) for `name`; `data` is where entry `from`'s key starts (a block too
   * large to file). */
  private scanFrom(name: string, from: i32, data: usize): bool {
    const ptr = this.ptr;
    const n = this.count;
    const nl = strLen(name);
    for (let i = from; i < n; i++) {
      const kl = <i32>load<u32>(ptr + 4 + <usize>i * 8);
      const vl = <i32>load<u32>(ptr + 8 + <usize>i * 8);
      if (kl == nl && bytesAre(data, name, nl)) {
        this.valuePtr = data + <usize>kl + 1;
        this.valueLen = vl;
        this.foundIndex = i;
        return true;
      }
      data += <usize>(kl + vl + 2);
    }
    return false;
  }

  /** The first value of `name` (lower-case ASCII), or null. */
  get(name: string): string | null {
    if (!this.find(name)) return null;
    return utf8Text(this.valuePtr, this.valueLen);
  }

  /** Every value of `name` as one string, in order, joined with `sep` (empty values left out, as
   * Envoy joins an inline header), or null when absent. One entry is returned as it is. */
  getAll(name: string, sep: string): string | null {
    if (!this.find(name)) return null;
    let all = utf8Text(this.valuePtr, this.valueLen);
    while (this.findNext(name)) {
      if (this.valueLen == 0) continue;
      const v = utf8Text(this.valuePtr, this.valueLen);
      all = all.length == 0 ? v : all + sep + v;
    }
    return all;
  }

  @inline release(): void {
    if (this.ptr != 0) hostFree(this.ptr);
    this.ptr = 0;
    this.count = 0;
  }
}

// ---- properties ----

/** A property path (segments joined with NUL, as Envoy expects) encoded once: the filter asks for
 * the same few paths on every request. */
export function propertyPath(path: string): ArrayBuffer {
  return String.UTF8.encode(path);
}

/** Asks for a property; on success its bytes are in the out-params (take them), else all is freed. */
function fetchProperty(path: ArrayBuffer): bool {
  clearOut();
  const r = host.proxy_get_property(changetype<usize>(path), path.byteLength, OUT_PTR, OUT_SIZE);
  if (r != RESULT_OK) {
    const ptr = load<usize>(OUT_PTR);
    if (ptr != 0) hostFree(ptr);
    return false;
  }
  return true;
}

/** A buffer the proxy handed over, kept (not copied) until release(). */
export class HeldBytes {
  ptr: usize = 0;
  size: i32 = 0;

  @inline release(): void {
    if (this.ptr != 0) hostFree(this.ptr);
    this.ptr = 0;
    this.size = 0;
  }
}

/** Fetches a property into `into` (releasing what it held): true when the proxy has it. An empty
 * value is held as ptr 0. */
export function holdProperty(path: ArrayBuffer, into: HeldBytes): bool {
  into.release();
  if (!fetchProperty(path)) return false;
  into.ptr = load<usize>(OUT_PTR);
  into.size = <i32>load<usize>(OUT_SIZE);
  return true;
}

/** An int64 property (8 bytes little-endian), or `fallback`. */
export function getPropertyInt(path: ArrayBuffer, fallback: i64): i64 {
  if (!fetchProperty(path)) return fallback;
  const ptr = load<usize>(OUT_PTR);
  const size = load<usize>(OUT_SIZE);
  if (ptr == 0) return fallback;
  const v = size == 8 ? load<i64>(ptr) : fallback;
  hostFree(ptr);
  return v;
}

// ---- buffers ----

/** The whole of a buffer (plugin or VM configuration) as text; "" when empty or absent. */
export function getBufferString(type: i32, size: usize): string {
  if (size == 0) return "";
  clearOut();
  const r = host.proxy_get_buffer_bytes(type, 0, <u32>size, OUT_PTR, OUT_SIZE);
  if (r != RESULT_OK) {
    const ptr = load<usize>(OUT_PTR);
    if (ptr != 0) hostFree(ptr);
    return "";
  }
  return takeString();
}

// ---- shared data ----

/**
 * proxy_get_shared_data for a key already in linear memory, read in place: true when the key
 * exists, and then sharedPtr()/sharedSize()/sharedCas() describe the value until the caller frees
 * it with `hostFree(sharedPtr())` (when not 0). Nothing is allocated besides the host's copy.
 */
export function sharedGetRaw(keyPtr: usize, keyLen: usize): bool {
  clearOut();
  store<u32>(OUT_CAS, 0);
  const r = host.proxy_get_shared_data(keyPtr, keyLen, OUT_PTR, OUT_SIZE, OUT_CAS);
  if (r != RESULT_OK) {
    const ptr = load<usize>(OUT_PTR);
    if (ptr != 0) hostFree(ptr);
    return false;
  }
  return true;
}

export function sharedPtr(): usize {
  return load<usize>(OUT_PTR);
}

export function sharedSize(): usize {
  return load<usize>(OUT_SIZE);
}

export function sharedCas(): u32 {
  return load<u32>(OUT_CAS);
}

/** Writes a shared-data entry from bytes; cas 0 writes unconditionally. Returns the host's result
 * code. */
export function sharedSetRaw(keyPtr: usize, keyLen: usize, valuePtr: usize, valueLen: usize, cas: u32): u32 {
  return host.proxy_set_shared_data(keyPtr, keyLen, valuePtr, valueLen, cas);
}

// ---- metrics ----

export const METRIC_COUNTER: u32 = 0;
export const METRIC_HISTOGRAM: u32 = 2;

/** Defines a metric (METRIC_COUNTER or METRIC_HISTOGRAM) and returns its id, or u32.MAX_VALUE when
 * the proxy refused. */
export function defineMetric(type: u32, name: string): u32 {
  const k = String.UTF8.encode(name);
  store<u32>(OUT_CAS, 0);
  if (host.proxy_define_metric(type, changetype<usize>(k), k.byteLength, OUT_CAS) != RESULT_OK)
    return u32.MAX_VALUE;
  return load<u32>(OUT_CAS);
}

export function incrementCounter(id: u32): void {
  if (id != u32.MAX_VALUE) host.proxy_increment_metric(id, 1);
}

/** Records a histogram sample. */
export function recordMetric(id: u32, value: u64): void {
  if (id != u32.MAX_VALUE) host.proxy_record_metric(id, value);
}

// ---- response status ----

const STATUS = String.UTF8.encode(":status");

/** The response's status class from its `:status` header: 0 for 2xx, 1 for 3xx, 2 for 4xx, 3 for
 * 5xx, and 4 for anything else (absent, unreadable, not three digits, 1xx, 6xx and up). */
export function responseStatusClass(): i32 {
  clearOut();
  const r = host.proxy_get_header_map_value(
    RESPONSE_HEADERS,
    changetype<usize>(STATUS),
    STATUS.byteLength,
    OUT_PTR,
    OUT_SIZE,
  );
  const ptr = load<usize>(OUT_PTR);
  let cls = 4;
  if (r == RESULT_OK && ptr != 0 && load<usize>(OUT_SIZE) == 3) {
    const first = <u32>load<u8>(ptr) - 0x32;
    if (first < 4 && <u32>load<u8>(ptr, 1) - 0x30 < 10 && <u32>load<u8>(ptr, 2) - 0x30 < 10) cls = <i32>first;
  }
  if (ptr != 0) hostFree(ptr);
  return cls;
}

// ---- time ----

/** Wall-clock time in nanoseconds since the epoch, from the proxy. */
export function nowNanos(): u64 {
  store<u64>(OUT_PTR, 0);
  host.proxy_get_current_time_nanoseconds(OUT_PTR);
  return load<u64>(OUT_PTR);
}
