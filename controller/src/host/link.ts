// Envoy's link-time checks (proxy-wasm-cpp-host WasmBase::load/initialize): every import known with
// the signature the host exports, the ABI version export, an allocator, a memory. A module that fails
// them is refused with Envoy's message before any of its code runs.

import {
  ABI_VERSION_EXPORT,
  ENV_IMPORTS,
  KNOWN_EXPORTS,
  MISSING_IMPORT_HINTS,
  OTHER_ABI_VERSION_EXPORTS,
  WASI_IMPORTS,
  WASI_MODULES,
} from "./abi.js";
import { readModuleShape, type ModuleShape } from "./binary.js";
import { isWasmModule, WA, type WasmModule } from "./wasm-api.js";

/** The module cannot be loaded the way Envoy would refuse it (imports, exports, ABI version). */
export class WasmLoadError extends Error {
  override readonly name = "WasmLoadError";
}

/** A compiled module plus what was read from its binary (null for a bare WasmModule). */
export interface CompiledFilter {
  readonly module: WasmModule;
  readonly shape: ModuleShape | null;
}

const shapes = new WeakMap<WasmModule, ModuleShape>();

/**
 * Compiles a module and checks it against Envoy's ABI 0.2.1 host interface (imports with their
 * signatures, required exports). Compile once and instantiate many VMs from the result.
 */
export async function compileFilter(code: Uint8Array | ArrayBuffer): Promise<CompiledFilter> {
  const bytes = code instanceof Uint8Array ? code : new Uint8Array(code);
  let shape: ModuleShape;
  try {
    shape = readModuleShape(bytes);
  } catch (e) {
    throw new WasmLoadError(`Failed to parse corrupted Wasm module: ${(e as Error).message}`);
  }
  checkShape(shape);
  const module = await WA.compile(bytes);
  shapes.set(module, shape);
  return { module, shape };
}

/** A module as the VM instantiates it: a bare WasmModule is checked by import and export names. */
export function toCompiled(code: WasmModule | CompiledFilter): CompiledFilter {
  if (isWasmModule(code)) {
    const shape = shapes.get(code) ?? null;
    if (shape === null) checkNamesOnly(code);
    return { module: code, shape };
  }
  return code;
}

function missing(qualified: string): WasmLoadError {
  const hint = MISSING_IMPORT_HINTS[qualified];
  return new WasmLoadError(
    `Failed to load Wasm module due to a missing import: ${qualified}${hint ? ` (${hint})` : ""}`,
  );
}

function expectedImport(module: string, name: string): string | undefined {
  if (module === "env") return Object.hasOwn(ENV_IMPORTS, name) ? ENV_IMPORTS[name] : undefined;
  if (WASI_MODULES.includes(module))
    return Object.hasOwn(WASI_IMPORTS, name) ? WASI_IMPORTS[name] : undefined;
  return undefined;
}

function checkExportsByName(names: ReadonlySet<string>): void {
  if (!names.has(ABI_VERSION_EXPORT)) {
    const other = OTHER_ABI_VERSION_EXPORTS.find((n) => names.has(n));
    throw new WasmLoadError(
      other
        ? `Unsupported Proxy-Wasm ABI version (${other}); this host implements ABI 0.2.1 only`
        : "Missing or unknown Proxy-Wasm ABI version (no proxy_abi_version_0_2_1 export)",
    );
  }
  if (!names.has("malloc") && !names.has("proxy_on_memory_allocate")) {
    throw new WasmLoadError("Wasm module is missing malloc function.");
  }
}

/** Envoy's link-time checks: every import known with the same signature; required exports. */
function checkShape(shape: ModuleShape): void {
  for (const imp of shape.imports) {
    const q = `${imp.module}.${imp.name}`;
    if (imp.kind === "memory" || imp.kind === "table") continue;
    if (imp.kind !== "function") throw missing(q);
    const want = expectedImport(imp.module, imp.name);
    if (want === undefined) throw missing(q);
    if (imp.signature !== want) {
      throw new WasmLoadError(
        `Failed to load Wasm module due to an import type mismatch: ${q}, want: ${imp.signature}, but host exports: ${want}`,
      );
    }
  }
  const fnNames = new Set<string>();
  for (const e of shape.exports.values()) if (e.kind === "function") fnNames.add(e.name);
  checkExportsByName(fnNames);
  for (const [name, want] of Object.entries(KNOWN_EXPORTS)) {
    const e = shape.exports.get(name);
    if (e?.kind === "function" && e.signature !== want) {
      throw new WasmLoadError(
        `Bad function signature for: ${name}, want: ${want}, but the module exports: ${e.signature}`,
      );
    }
  }
  const hasMemory =
    shape.exports.get("memory")?.kind === "memory" || shape.imports.some((i) => i.kind === "memory");
  if (!hasMemory) throw new WasmLoadError("Wasm module exports no memory");
}

/** For a foreign WasmModule only names and kinds are visible: signatures go unchecked. */
function checkNamesOnly(module: WasmModule): void {
  for (const imp of WA.Module.imports(module)) {
    const q = `${imp.module}.${imp.name}`;
    if (imp.kind === "memory") {
      throw new WasmLoadError(`${q}: an imported memory needs the module bytes (use compileFilter)`);
    }
    if (imp.kind === "table") continue;
    if (imp.kind !== "function" || expectedImport(imp.module, imp.name) === undefined) throw missing(q);
  }
  checkExportsByName(
    new Set(
      WA.Module.exports(module)
        .filter((e) => e.kind === "function")
        .map((e) => e.name),
    ),
  );
}
