// Properties as Envoy serves them to proxy_get_property (source/extensions/common/wasm/context.cc
// Context::getProperty + serializeValue): the path arrives as segments joined by NUL; the first
// segment names a top-level value, later segments walk into maps (by key) and lists (by decimal
// index). Values are encoded natively: strings and bytes raw, int64/uint64/double as 8 bytes
// little-endian, bool as 1 byte, maps as proxy-wasm pairs of (key, encoded value), lists as pairs of
// (encoded element, ""). A null has no encoding (SerializationFailure); unknown paths are NotFound.

import { WasmResult } from "./abi.js";
import { byteLength } from "./memory.js";

/** A JSON value as a caller writes it in a scenario file. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * One property as a caller supplies it (the CLI scenario shape): exactly one of the typed fields.
 * `json` converts objects to maps, arrays to lists, strings to strings, booleans to bool and numbers
 * to double, as Envoy does for metadata (a protobuf Struct has only double numbers); use `int`/`uint`
 * for Envoy's integer-typed attributes such as `xds.listener_direction` or `source.port`.
 */
export interface PropertyInput {
  path: readonly string[];
  string?: string;
  int?: number | bigint | string;
  uint?: number | bigint | string;
  double?: number;
  bool?: boolean;
  json?: JsonValue;
  /** Raw bytes: a Uint8Array, or a base64 string in JSON files. */
  bytes?: Uint8Array | string;
}

type Node = Leaf | MapNode | ListNode;
interface Leaf {
  kind: "leaf";
  /** Encoded value; null for JSON null (serializes as SerializationFailure). */
  bytes: Uint8Array | null;
  /** What a lookup of this node returns, made on the first one. */
  answer: PropertyResult | undefined;
}
interface MapNode {
  kind: "map";
  entries: Map<string, Node>;
  cache: Uint8Array | null | undefined;
  answer: PropertyResult | undefined;
}
interface ListNode {
  kind: "list";
  items: Node[];
  cache: Uint8Array | null | undefined;
  answer: PropertyResult | undefined;
}

const enc = new TextEncoder();

/** UTF-8 bytes of a string: short ASCII (paths, addresses, claim values) byte by byte, which is far
 * cheaper than TextEncoder for the few-byte strings a stream's properties are made of. */
function utf8Bytes(s: string): Uint8Array {
  const n = s.length;
  if (n > 64) return enc.encode(s);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return enc.encode(s);
    out[i] = c;
  }
  return out;
}

/** 8-byte little-endian int64. */
export function encodeInt64(v: number | bigint | string): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, BigInt(v)), true);
  return b;
}
/** 8-byte little-endian uint64. */
export function encodeUint64(v: number | bigint | string): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  return b;
}
/** 8-byte little-endian IEEE double. */
export function encodeDouble(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}
/** 1-byte bool. */
export function encodeBool(v: boolean): Uint8Array {
  return Uint8Array.of(v ? 1 : 0);
}

function leaf(bytes: Uint8Array | null): Leaf {
  return { kind: "leaf", bytes, answer: undefined };
}
function newMap(): MapNode {
  return { kind: "map", entries: new Map(), cache: undefined, answer: undefined };
}

function fromJson(v: JsonValue): Node {
  if (v === null) return leaf(null);
  if (typeof v === "string") return leaf(utf8Bytes(v));
  if (typeof v === "number") return leaf(encodeDouble(v));
  if (typeof v === "boolean") return leaf(encodeBool(v));
  if (Array.isArray(v)) return { kind: "list", items: v.map(fromJson), cache: undefined, answer: undefined };
  const m = newMap();
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) m.entries.set(keys[i], fromJson(v[keys[i]]));
  return m;
}

function inputNode(p: PropertyInput): Node {
  // Counted field by field: this runs for every property of every stream.
  const set =
    (p.string !== undefined ? 1 : 0) +
    (p.int !== undefined ? 1 : 0) +
    (p.uint !== undefined ? 1 : 0) +
    (p.double !== undefined ? 1 : 0) +
    (p.bool !== undefined ? 1 : 0) +
    (p.json !== undefined ? 1 : 0) +
    (p.bytes !== undefined ? 1 : 0);
  if (set !== 1) {
    throw new Error(
      `property ${p.path.join(".")}: expected exactly one of string|int|uint|double|bool|json|bytes`,
    );
  }
  if (p.string !== undefined) return leaf(utf8Bytes(p.string));
  if (p.int !== undefined) return leaf(encodeInt64(p.int));
  if (p.uint !== undefined) return leaf(encodeUint64(p.uint));
  if (p.double !== undefined) return leaf(encodeDouble(p.double));
  if (p.bool !== undefined) return leaf(encodeBool(p.bool));
  if (p.bytes !== undefined) {
    return leaf(typeof p.bytes === "string" ? new Uint8Array(Buffer.from(p.bytes, "base64")) : p.bytes);
  }
  return fromJson(p.json as JsonValue);
}

/** Encodes a node (maps and lists recursively); null when something inside has no encoding. */
function encode(n: Node): Uint8Array | null {
  if (n.kind === "leaf") return n.bytes;
  if (n.cache !== undefined) return n.cache;
  // Sized first, then written in place into one buffer: no per-level buffers or entry arrays.
  // Small Buffers come from Node's pool, far cheaper than a fresh off-heap Uint8Array.
  const size = encodedSize(n);
  if (size < 0) {
    n.cache = null;
  } else {
    const out = Buffer.allocUnsafe(size);
    writeNode(n, out, 0);
    n.cache = out;
  }
  return n.cache;
}

/** Byte size of a node's encoding, or -1 when something inside has none (a JSON null). */
function encodedSize(n: Node): number {
  if (n.kind === "leaf") return n.bytes === null ? -1 : n.bytes.length;
  if (n.cache !== undefined) return n.cache === null ? -1 : n.cache.length;
  let size = 4;
  if (n.kind === "map") {
    for (const [k, child] of n.entries) {
      const s = encodedSize(child);
      if (s < 0) return -1;
      size += 8 + byteLength(k) + 1 + s + 1;
    }
  } else {
    for (const child of n.items) {
      const s = encodedSize(child);
      if (s < 0) return -1;
      size += 8 + s + 2;
    }
  }
  return size;
}

/**
 * Writes the pairs encoding of a map or list node (whose encodedSize is not -1) at `at`, as
 * serializeBytePairs does: u32 count, (u32 key size, u32 value size) each, then "key\0value\0" each.
 * A map's pairs are (key, encoded value); a list's are (encoded element, empty). Returns the end.
 */
function writeNode(n: Node, out: Buffer, at: number): number {
  if (n.kind === "leaf") {
    const b = n.bytes as Uint8Array;
    out.set(b, at);
    return at + b.length;
  }
  if (n.cache) {
    out.set(n.cache, at);
    return at + n.cache.length;
  }
  const count = n.kind === "map" ? n.entries.size : n.items.length;
  putU32(out, at, count);
  let h = at + 4;
  let p = at + 4 + 8 * count;
  if (n.kind === "map") {
    for (const [k, child] of n.entries) {
      const kl = writeKey(out, k, p);
      p += kl;
      out[p++] = 0;
      const start = p;
      p = writeNode(child, out, p);
      out[p++] = 0;
      putU32(out, h, kl);
      putU32(out, h + 4, p - 1 - start);
      h += 8;
    }
  } else {
    for (const child of n.items) {
      const start = p;
      p = writeNode(child, out, p);
      putU32(out, h, p - start);
      putU32(out, h + 4, 0);
      h += 8;
      out[p++] = 0;
      out[p++] = 0;
    }
  }
  return p;
}

function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = v >>> 24;
}

/** Writes a map key as UTF-8 (ASCII byte by byte) and returns its byte length. */
function writeKey(out: Buffer, k: string, at: number): number {
  const n = k.length;
  for (let i = 0; i < n; i++) {
    const c = k.charCodeAt(i);
    if (c >= 0x80) return out.write(k, at, "utf8");
    out[at + i] = c;
  }
  return n;
}

function invalidate(nodes: readonly Node[]): void {
  for (const n of nodes) {
    if (n.kind !== "leaf") {
      n.cache = undefined;
      n.answer = undefined;
    }
  }
}

/** Result of a lookup: a WasmResult code and, when Ok, the encoded value. Results are shared
 * between lookups (a node keeps its answer): read them, never change them. */
export interface PropertyResult {
  readonly code: WasmResult;
  readonly value?: Uint8Array;
}

const NOT_FOUND: PropertyResult = { code: WasmResult.NotFound };
const SERIALIZATION_FAILURE: PropertyResult = { code: WasmResult.SerializationFailure };

/** A tree of properties; lookups of a NUL-joined path walk maps and lists. */
export class PropertyTree {
  private readonly root = newMap();
  /** Answers by path, for a tree that remembers them (see rememberAnswers). */
  private answers: Map<string, PropertyResult> | null = null;

  /** Builds a tree from caller inputs (later inputs merge into / override earlier ones). */
  constructor(inputs: readonly PropertyInput[] = []) {
    for (const p of inputs) this.set(p);
  }

  /** True when no property was given. */
  get empty(): boolean {
    return this.root.entries.size === 0;
  }

  /**
   * From now on, remembers the answer to each path asked (a bounded number of them), so a repeated
   * lookup is one hash lookup instead of a walk. Meant for a tree that outlives many streams (one
   * that streams share, the VM defaults), which are asked the same few paths on every request;
   * set() forgets the answers.
   */
  rememberAnswers(): this {
    this.answers ??= new Map();
    return this;
  }

  /** Adds one input, creating intermediate maps; a value at an existing map path merges into it. */
  set(p: PropertyInput): void {
    if (p.path.length === 0) throw new Error("property path must not be empty");
    this.answers?.clear();
    const node = inputNode(p);
    let cur: MapNode = this.root;
    const touched: Node[] = [];
    for (let i = 0; i < p.path.length - 1; i++) {
      touched.push(cur);
      let next = cur.entries.get(p.path[i]);
      if (next === undefined || next.kind !== "map") {
        next = newMap();
        cur.entries.set(p.path[i], next);
      }
      cur = next;
    }
    touched.push(cur);
    const last = p.path[p.path.length - 1];
    const existing = cur.entries.get(last);
    if (existing?.kind === "map" && node.kind === "map") {
      for (const [k, v] of node.entries) existing.entries.set(k, v);
      touched.push(existing);
    } else {
      cur.entries.set(last, node);
    }
    invalidate(touched);
  }

  /** Looks up a path given as NUL-joined segments (the wire form). */
  lookup(path: string): PropertyResult {
    // A VM without default properties is asked first on every lookup: answer that without a walk.
    if (path.length === 0 || this.root.entries.size === 0) return NOT_FOUND;
    const answers = this.answers;
    if (answers === null) return this.walk(path);
    let r = answers.get(path);
    if (r === undefined) {
      r = this.walk(path);
      if (answers.size < ANSWER_CACHE_MAX) answers.set(path, r);
    }
    return r;
  }

  private walk(path: string): PropertyResult {
    let node: Node | undefined = this.root;
    const parts = segments(path);
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (node.kind === "map") {
        node = node.entries.get(part);
      } else if (node.kind === "list") {
        node = /^\d+$/.test(part) ? node.items[Number(part)] : undefined;
      } else {
        node = undefined;
      }
      if (node === undefined) return NOT_FOUND;
    }
    // The same few paths are asked on every request: each node keeps its answer (set() drops those
    // of the maps it changes; a leaf never changes).
    if (node.answer === undefined) {
      const value = encode(node);
      node.answer = value === null ? SERIALIZATION_FAILURE : { code: WasmResult.Ok, value };
    }
    return node.answer;
  }
}

// A NUL-joined path split into its segments. Modules ask for the same few paths on every request,
// so the split is memoized (bounded: paths come from the module and could be arbitrary): one hash of
// the whole path instead of a slice and a hash per segment.
const segmentCache = new Map<string, readonly string[]>();
const SEGMENT_CACHE_MAX = 1024;
/** Paths a tree that remembers answers keeps them for (paths come from the module). */
const ANSWER_CACHE_MAX = 256;

function segments(path: string): readonly string[] {
  let parts = segmentCache.get(path);
  if (parts === undefined) {
    const split = path.split("\0");
    // A trailing NUL ends the last segment rather than starting an empty one.
    if (split.length > 1 && split[split.length - 1] === "") split.length--;
    parts = split;
    if (segmentCache.size < SEGMENT_CACHE_MAX) segmentCache.set(path, parts);
  }
  return parts;
}

/** Encodes a JS string as a property value (raw UTF-8). */
export function stringValue(s: string): Uint8Array {
  return enc.encode(s);
}
