// Typed access to the JS WebAssembly API. The project compiles against lib ES2023 without DOM, and
// @types/node 20 does not declare `WebAssembly`, so we describe the few members we use here instead
// of declaring a global that could clash with another module's declaration.

/** A compiled module (opaque). */
export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmTable {
  readonly length: number;
}

export interface WasmGlobal {
  readonly value: unknown;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface ModuleImportDescriptor {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
}

export interface ModuleExportDescriptor {
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
}

export type ImportValue = unknown;
export type Imports = Record<string, Record<string, ImportValue>>;

interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): ModuleImportDescriptor[];
    exports(module: WasmModule): ModuleExportDescriptor[];
  };
  Instance: new (module: WasmModule, imports: Imports) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Table: new (descriptor: { element: "anyfunc"; initial: number; maximum?: number }) => WasmTable;
  Global: new (descriptor: { value: string; mutable?: boolean }, value?: unknown) => WasmGlobal;
  RuntimeError: new (message?: string) => Error;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}

/** The runtime's WebAssembly object. */
export const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** True for a compiled module object. */
export function isWasmModule(x: unknown): x is WasmModule {
  return x instanceof (WA.Module as unknown as new () => object);
}

/** True for a memory object. */
export function isWasmMemory(x: unknown): x is WasmMemory {
  return x instanceof (WA.Memory as unknown as new () => object);
}

/** True for a global object. */
export function isWasmGlobal(x: unknown): x is WasmGlobal {
  return x instanceof (WA.Global as unknown as new () => object);
}

/** True for a trap raised by the engine (unreachable, out-of-bounds access, ...). */
export function isRuntimeError(x: unknown): x is Error {
  return x instanceof WA.RuntimeError;
}
