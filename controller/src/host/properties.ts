// Properties as Envoy serves them to proxy_get_property (source/extensions/common/wasm/context.cc
// Context::getProperty + serializeValue): the path arrives as segments joined by NUL; the first
// segment names a top-level value, later segments walk into maps (by key) and lists (by decimal
// index). Values are encoded natively: strings and bytes raw, int64/uint64/double as 8 bytes
// little-endian, bool as 1 byte, maps as proxy-wasm pairs of (key, encoded value), lists as pairs of
// (encoded element, ""). A null has no encoding (SerializationFailure); unknown paths are NotFound.

import { WasmResult } from "./abi.js";
import { serializeBytePairs } from "./headers.js";

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
}
interface MapNode {
  kind: "map";
  entries: Map<string, Node>;
  cache: Uint8Array | null | undefined;
}
interface ListNode {
  kind: "list";
  items: Node[];
  cache: Uint8Array | null | undefined;
}

const enc = new TextEncoder();

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
  return { kind: "leaf", bytes };
}
function newMap(): MapNode {
  return { kind: "map", entries: new Map(), cache: undefined };
}

function fromJson(v: JsonValue): Node {
  if (v === null) return leaf(null);
  if (typeof v === "string") return leaf(enc.encode(v));
  if (typeof v === "number") return leaf(encodeDouble(v));
  if (typeof v === "boolean") return leaf(encodeBool(v));
  if (Array.isArray(v)) return { kind: "list", items: v.map(fromJson), cache: undefined };
  const m = newMap();
  for (const [k, x] of Object.entries(v)) m.entries.set(k, fromJson(x));
  return m;
}

function inputNode(p: PropertyInput): Node {
  const set = (["string", "int", "uint", "double", "bool", "json", "bytes"] as const).filter(
    (k) => p[k] !== undefined,
  );
  if (set.length !== 1) {
    throw new Error(
      `property ${p.path.join(".")}: expected exactly one of string|int|uint|double|bool|json|bytes`,
    );
  }
  if (p.string !== undefined) return leaf(enc.encode(p.string));
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
  const entries: [Uint8Array, Uint8Array][] = [];
  let failed = false;
  if (n.kind === "map") {
    for (const [k, child] of n.entries) {
      const v = encode(child);
      if (v === null) failed = true;
      else entries.push([enc.encode(k), v]);
    }
  } else {
    for (const child of n.items) {
      const v = encode(child);
      if (v === null) failed = true;
      else entries.push([v, new Uint8Array(0)]);
    }
  }
  n.cache = failed ? null : serializeBytePairs(entries);
  return n.cache;
}

function invalidate(nodes: readonly Node[]): void {
  for (const n of nodes) if (n.kind !== "leaf") n.cache = undefined;
}

/** Result of a lookup: a WasmResult code and, when Ok, the encoded value. */
export interface PropertyResult {
  code: WasmResult;
  value?: Uint8Array;
}

const NOT_FOUND: PropertyResult = { code: WasmResult.NotFound };
const SERIALIZATION_FAILURE: PropertyResult = { code: WasmResult.SerializationFailure };

/** A tree of properties; lookups of a NUL-joined path walk maps and lists. */
export class PropertyTree {
  private readonly root = newMap();

  /** Builds a tree from caller inputs (later inputs merge into / override earlier ones). */
  constructor(inputs: readonly PropertyInput[] = []) {
    for (const p of inputs) this.set(p);
  }

  /** True when no property was given. */
  get empty(): boolean {
    return this.root.entries.size === 0;
  }

  /** Adds one input, creating intermediate maps; a value at an existing map path merges into it. */
  set(p: PropertyInput): void {
    if (p.path.length === 0) throw new Error("property path must not be empty");
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
    if (path.length === 0) return NOT_FOUND;
    let node: Node | undefined = this.root;
    let start = 0;
    while (start < path.length) {
      let end = path.indexOf("\0", start);
      if (end < 0) end = path.length;
      const part = path.slice(start, end);
      start = end + 1;
      if (node.kind === "map") {
        node = node.entries.get(part);
      } else if (node.kind === "list") {
        node = /^\d+$/.test(part) ? node.items[Number(part)] : undefined;
      } else {
        node = undefined;
      }
      if (node === undefined) return NOT_FOUND;
    }
    const value = encode(node);
    return value === null ? SERIALIZATION_FAILURE : { code: WasmResult.Ok, value };
  }
}

/** Encodes a JS string as a property value (raw UTF-8). */
export function stringValue(s: string): Uint8Array {
  return enc.encode(s);
}
