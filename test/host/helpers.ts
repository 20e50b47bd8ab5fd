// Shared helpers for the host conformance tests: locate the compiled fixtures
// (scripts/build-fixtures.mjs writes build/fixtures/<name>.wasm) and read their log lines.
import { readFileSync } from "node:fs";
import { WasmVm, type LogRecord, type VmOptions } from "../../controller/src/host/index.js";
import { fromRoot } from "../../controller/src/paths.js";

/** Bytes of build/fixtures/<name>.wasm. */
export function fixtureBytes(name: string): Uint8Array {
  return readFileSync(fromRoot("build", "fixtures", `${name}.wasm`));
}

/** A VM running build/fixtures/<name>.wasm. */
export function loadFixture(name: string, options: VmOptions = {}): Promise<WasmVm> {
  return WasmVm.load(fixtureBytes(name), options);
}

/** Messages of the records (optionally of one source only), in order. */
export function messages(logs: readonly LogRecord[], source?: LogRecord["source"]): string[] {
  return logs.filter((r) => source === undefined || r.source === source).map((r) => r.msg);
}

/** The rest of the first message that starts with `prefix`; fails the test when there is none. */
export function after(logs: readonly LogRecord[], prefix: string): string {
  const hit = logs.find((r) => r.msg.startsWith(prefix));
  if (hit === undefined) {
    throw new Error(`no log line starts with "${prefix}"; got:\n${messages(logs).join("\n")}`);
  }
  return hit.msg.slice(prefix.length);
}

/** Little-endian hex of an 8-byte integer, as the fixtures log property values. */
export function int64Hex(v: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(v);
  return b.toString("hex");
}

/** Little-endian hex of a double. */
export function doubleHex(v: number): string {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b.toString("hex");
}

/** Hex of a UTF-8 string. */
export function strHex(s: string): string {
  return Buffer.from(s, "utf8").toString("hex");
}

/** Hex of a proxy-wasm pairs buffer built from [key, value] byte strings given as hex. */
export function pairsHex(pairs: readonly (readonly [string, string])[]): string {
  const head = Buffer.alloc(4 + 8 * pairs.length);
  head.writeUInt32LE(pairs.length, 0);
  const body: Buffer[] = [];
  pairs.forEach(([k, v], i) => {
    const kb = Buffer.from(k, "hex");
    const vb = Buffer.from(v, "hex");
    head.writeUInt32LE(kb.length, 4 + 8 * i);
    head.writeUInt32LE(vb.length, 8 + 8 * i);
    body.push(kb, Buffer.of(0), vb, Buffer.of(0));
  });
  return Buffer.concat([head, ...body]).toString("hex");
}
