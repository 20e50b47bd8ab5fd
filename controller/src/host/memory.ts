// Access to the module's linear memory, the way cpp-host's WasmVm getMemory/setWord do it: every
// range is bounds-checked (a bad pointer is InvalidMemoryAccess, not a host crash), and memory handed
// to the module is allocated with the module's own `malloc` export. The typed views are cached and
// rebuilt only when `memory.grow` has detached the old ArrayBuffer, so the common path allocates
// nothing.

import type { WasmMemory } from "./wasm-api.js";

type Malloc = (size: number) => number;

const textDecoder = new TextDecoder("utf-8");
const STR_CACHE_SLOTS = 16;
const NAME_CACHE_SLOTS = 64;
/** Longest text nameAt() caches: header names are short; longer text is decoded every time. */
const NAME_CACHE_MAX = 32;
/** Longest text str() decodes itself (beyond that, Node's decoder is as fast or faster). */
const SHORT_TEXT = 16;
/** CODES[n]: n char codes of the text being decoded, an argument list for String.fromCharCode. */
const CODES: number[][] = [[]];
// Array literals, so each list is a packed array of small integers (the fast case for a spread).
for (let n = 1; n <= SHORT_TEXT; n++) CODES.push([...CODES[n - 1], 0]);

export class GuestMemory {
  /** Byte view of the current memory buffer (refreshed after growth). */
  u8: Uint8Array;
  /** Node Buffer over the same bytes, for fast UTF-8 encode/decode. */
  buf: Buffer;
  dv: DataView;
  private malloc: Malloc | null = null;
  private readonly strCache: ({ ptr: number; bytes: Uint8Array; text: string } | undefined)[] = new Array(
    STR_CACHE_SLOTS,
  ).fill(undefined);
  private readonly nameCache: string[] = new Array<string>(NAME_CACHE_SLOTS).fill("");

  constructor(readonly memory: WasmMemory) {
    const ab = memory.buffer;
    this.u8 = new Uint8Array(ab);
    this.buf = Buffer.from(ab);
    this.dv = new DataView(ab);
  }

  /** Binds the module's allocator (`malloc` or `proxy_on_memory_allocate`). */
  setAllocator(malloc: Malloc): void {
    this.malloc = malloc;
  }

  /** Rebuilds the views if the module (or our malloc call) grew memory and detached the old buffer. */
  sync(): void {
    if (this.u8.byteLength === 0) this.rebuild();
  }

  private rebuild(): void {
    const ab = this.memory.buffer;
    this.u8 = new Uint8Array(ab);
    this.buf = Buffer.from(ab);
    this.dv = new DataView(ab);
  }

  /** True when [ptr, ptr+len) lies inside memory. */
  ok(ptr: number, len: number): boolean {
    if (ptr >= 0 && len >= 0 && ptr + len <= this.u8.length) return true;
    // A grown shared memory does not detach the old buffer: look again before refusing.
    if (this.memory.buffer.byteLength !== this.u8.length) {
      this.rebuild();
      return ptr >= 0 && len >= 0 && ptr + len <= this.u8.length;
    }
    return false;
  }

  /** Copies bytes out of guest memory; null if out of bounds. */
  bytes(ptr: number, len: number): Uint8Array | null {
    if (!this.ok(ptr, len)) return null;
    return this.u8.slice(ptr, ptr + len);
  }

  /** Decodes UTF-8 from guest memory; null if out of bounds. */
  str(ptr: number, len: number): string | null {
    if (!this.ok(ptr, len)) return null;
    if (len === 0) return "";
    if (len <= SHORT_TEXT) {
      const s = this.ascii(ptr, len);
      if (s !== null) return s;
    }
    return this.buf.toString("utf8", ptr, ptr + len);
  }

  /**
   * Short ASCII text (1..SHORT_TEXT bytes) as a string, or null if a byte is not ASCII. One
   * String.fromCharCode call over the bytes builds a flat string at once, which for a few bytes
   * costs about half of going through Node's native decoder. (Building it char by char instead would
   * make a chain of intermediate strings that map lookups then have to flatten.)
   */
  private ascii(ptr: number, len: number): string | null {
    const codes = CODES[len];
    const u8 = this.u8;
    for (let i = 0; i < len; i++) {
      const b = u8[ptr + i];
      if (b >= 0x80) return null;
      codes[i] = b;
    }
    return String.fromCharCode(...codes);
  }

  /**
   * str() for text a module passes again and again from the same place (property paths kept in
   * static data): the last string decoded at each of a few addresses is reused while the bytes
   * there are unchanged, which saves decoding (and the hashing of a fresh string by later map
   * lookups). Compares the bytes every time, so the answer is always what str() would give.
   */
  strAt(ptr: number, len: number): string | null {
    if (!this.ok(ptr, len)) return null;
    const slot = (ptr >>> 2) & (STR_CACHE_SLOTS - 1);
    const hit = this.strCache[slot];
    const u8 = this.u8;
    if (hit !== undefined && hit.ptr === ptr && hit.bytes.length === len) {
      const b = hit.bytes;
      let i = 0;
      while (i < len && u8[ptr + i] === b[i]) i++;
      if (i === len) return hit.text;
    }
    const text = this.str(ptr, len) as string;
    if (len <= 256) this.strCache[slot] = { ptr, bytes: u8.slice(ptr, ptr + len), text };
    return text;
  }

  /**
   * str() for short text that recurs by content rather than by address: header names, which a
   * module typically writes into one scratch buffer before each call. A small table indexed by a
   * hash of the bytes remembers the last ASCII string seen in each slot; a hit (checked byte for
   * byte, so the answer is always what str() would give) returns the same string again, which saves
   * the decoding and the hashing of a fresh string by the header map's lookups.
   */
  nameAt(ptr: number, len: number): string | null {
    if (!this.ok(ptr, len)) return null;
    if (len === 0) return "";
    if (len > NAME_CACHE_MAX) return this.buf.toString("utf8", ptr, ptr + len);
    const u8 = this.u8;
    let h = len;
    for (let i = 0; i < len; i++) {
      const b = u8[ptr + i];
      // Only ASCII is cached: then the string's code units are the bytes themselves.
      if (b >= 0x80) return this.buf.toString("utf8", ptr, ptr + len);
      h = Math.imul(h ^ b, 0x01000193);
    }
    const slot = (h ^ (h >>> 15)) & (NAME_CACHE_SLOTS - 1);
    const hit = this.nameCache[slot];
    if (hit.length === len) {
      let i = 0;
      while (i < len && hit.charCodeAt(i) === u8[ptr + i]) i++;
      if (i === len) return hit;
    }
    const text =
      len <= SHORT_TEXT ? (this.ascii(ptr, len) as string) : this.buf.toString("latin1", ptr, ptr + len);
    this.nameCache[slot] = text;
    return text;
  }

  /** Writes a little-endian u32 (cpp-host setWord); false if out of bounds. */
  setU32(ptr: number, value: number): boolean {
    if (!this.ok(ptr, 4)) return false;
    this.dv.setUint32(ptr, value >>> 0, true);
    return true;
  }

  /** Writes a little-endian u64; false if out of bounds. */
  setU64(ptr: number, value: bigint): boolean {
    if (!this.ok(ptr, 8)) return false;
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, value), true);
    return true;
  }

  /**
   * Allocates `size` bytes with the module's malloc (which may grow memory) and returns the pointer,
   * or 0 when the allocator returned 0 or an out-of-range pointer.
   */
  alloc(size: number): number {
    if (this.malloc === null) return 0;
    const ptr = this.malloc(size) >>> 0;
    this.sync();
    return ptr !== 0 && this.ok(ptr, size) ? ptr : 0;
  }

  /**
   * cpp-host copyToPointerSize: an empty value writes ptr 0 / size 0 without allocating; otherwise
   * the bytes are copied into freshly malloc'ed guest memory whose address and size are written to
   * the two out-params. Returns false on any out-of-bounds access.
   */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    const n = data.length;
    let ptr = 0;
    if (n > 0) {
      ptr = this.alloc(n);
      if (ptr === 0) return false;
      this.u8.set(data, ptr);
    }
    return this.setU32(ptrPtr, ptr) && this.setU32(sizePtr, n);
  }

  /** copyOut for a JS string, encoded as UTF-8 straight into guest memory. */
  copyOutString(s: string, ptrPtr: number, sizePtr: number): boolean {
    const n = byteLength(s);
    let ptr = 0;
    if (n > 0) {
      ptr = this.alloc(n);
      if (ptr === 0) return false;
      if (n === s.length) {
        const u8 = this.u8;
        for (let i = 0; i < n; i++) u8[ptr + i] = s.charCodeAt(i);
      } else {
        this.buf.write(s, ptr, n, "utf8");
      }
    }
    return this.setU32(ptrPtr, ptr) && this.setU32(sizePtr, n);
  }
}

/** UTF-8 byte length of a string, with an allocation-free ASCII fast path. */
export function byteLength(s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  }
  return n;
}

/** Decodes a standalone byte array as UTF-8. */
export function utf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}
