// A minimal reader for the parts of a wasm binary the JS API does not expose: the signatures of
// imported and exported functions and the limits of an imported memory or table. Envoy's V8 linker
// compares import signatures against its host functions ("import type mismatch"), so we must too.

export interface Limits {
  initial: number;
  maximum?: number;
  shared: boolean;
}

export interface ImportEntry {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  /** For functions: "i32 i32 -> i32" (cpp-host's printValTypes form). */
  signature?: string;
  limits?: Limits;
}

export interface ExportEntry {
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  signature?: string;
}

export interface ModuleShape {
  imports: ImportEntry[];
  exports: Map<string, ExportEntry>;
}

const VALTYPES: Record<number, string> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};
const KINDS = ["function", "table", "memory", "global", "tag"] as const;

/** Formats a signature the way cpp-host prints it: params, "->", results ("void" omitted). */
export function formatSignature(params: readonly string[], results: readonly string[]): string {
  const p = params.join(" ");
  const r = results.join(" ");
  return `${p}${p ? " " : ""}->${r ? " " : ""}${r}`;
}

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new Error("unexpected end of wasm binary");
    return this.b[this.pos++];
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
      if (shift > 35) throw new Error("malformed LEB128 in wasm binary");
    }
  }
  name(): string {
    const len = this.u32();
    const s = Buffer.from(this.b.buffer, this.b.byteOffset + this.pos, len).toString("utf8");
    this.pos += len;
    return s;
  }
  valtype(): string {
    const t = this.byte();
    return VALTYPES[t] ?? `0x${t.toString(16)}`;
  }
  limits(): Limits {
    const flags = this.byte();
    const initial = this.u32();
    const maximum = flags & 1 ? this.u32() : undefined;
    return { initial, maximum, shared: (flags & 2) !== 0 };
  }
}

/** Reads imports (with function signatures and limits) and exports of a wasm binary. */
export function readModuleShape(bytes: Uint8Array): ModuleShape {
  const r = new Reader(bytes);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error("not a wasm binary (bad magic)");
  }
  r.pos = 8;
  const types: string[] = [];
  const imports: ImportEntry[] = [];
  const funcTypes: number[] = []; // type index per function, imported ones first
  const rawExports: { name: string; kind: number; index: number }[] = [];
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        if (r.byte() !== 0x60) throw new Error("unsupported type form in wasm binary");
        const params: string[] = [];
        for (let k = r.u32(); k > 0; k--) params.push(r.valtype());
        const results: string[] = [];
        for (let k = r.u32(); k > 0; k--) results.push(r.valtype());
        types.push(formatSignature(params, results));
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        const entry: ImportEntry = { module, name, kind: KINDS[kind] ?? "tag" };
        if (kind === 0) {
          const t = r.u32();
          funcTypes.push(t);
          entry.signature = types[t];
        } else if (kind === 1) {
          r.byte(); // reftype
          entry.limits = r.limits();
        } else if (kind === 2) {
          entry.limits = r.limits();
        } else if (kind === 3) {
          r.valtype();
          r.byte(); // mutability
        } else {
          r.byte();
          r.u32();
        }
        imports.push(entry);
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypes.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        rawExports.push({ name, kind, index: r.u32() });
      }
    }
    r.pos = end;
  }
  const exports = new Map<string, ExportEntry>();
  for (const e of rawExports) {
    const kind = KINDS[e.kind] ?? "tag";
    exports.set(e.name, {
      name: e.name,
      kind,
      signature: kind === "function" ? types[funcTypes[e.index]] : undefined,
    });
  }
  return { imports, exports };
}
