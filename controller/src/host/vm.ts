// A proxy-wasm ABI 0.2.1 host for Node that runs a real compiled module the way Envoy does
// (proxy-wasm-cpp-host + Envoy's wasm Context). The verbs mirror the ABI, in the style of
// proxy-wasm-go-sdk's proxytest: load a VM, create root contexts from plugin configurations, open
// HTTP streams on a root and feed them headers; every callback, header change, log line, metric and
// local reply is observable afterwards.
//
// Traps: any exception while the module runs (WebAssembly.RuntimeError such as `unreachable` or an
// out-of-bounds access, a restricted host call during start, or an error thrown by the host itself)
// marks the VM failed, is recorded in `vm.trap` and in the logs, and is thrown from the call that
// ran into it as a WasmTrap (unless `throwOnTrap: false`). From then on the VM is never entered
// again: a stream applies the failure policy instead, as Envoy's CHECK_FAIL does: fail-open passes
// headers through untouched (`stream.skipped`), fail-closed answers 503 with details
// `wasm_fail_stream`.

import { randomFillSync } from "node:crypto";
import {
  ABI_VERSION_EXPORT,
  ALLOWED_DURING_START,
  BufferType,
  ENV_IMPORTS,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  GRPC_STATUS_MAX_KNOWN,
  GRPC_STATUS_UNAVAILABLE,
  KNOWN_EXPORTS,
  LOG_LEVEL_NAMES,
  LogLevel,
  MISSING_IMPORT_HINTS,
  OTHER_ABI_VERSION_EXPORTS,
  WASI_IMPORTS,
  WASI_MODULES,
  WasmResult,
  type LogLevelName,
} from "./abi.js";
import { readModuleShape, type ModuleShape } from "./binary.js";
import { ContextTable } from "./contexts.js";
import { HeaderMap, type HeaderPairs } from "./headers.js";
import { envImports } from "./imports.js";
import { byteLength, GuestMemory, utf8 } from "./memory.js";
import { MetricStore, type MetricSnapshot } from "./metrics.js";
import {
  encodeInt64,
  PropertyTree,
  stringValue,
  type PropertyInput,
  type PropertyResult,
} from "./properties.js";
import { SharedData, type QueueOwner } from "./shared.js";
import { wasiImports } from "./wasi.js";
import {
  isRuntimeError,
  isWasmMemory,
  isWasmModule,
  WA,
  type Imports,
  type WasmMemory,
  type WasmModule,
} from "./wasm-api.js";

/** Nanoseconds since the Unix epoch. */
export type Clock = () => bigint;
/** Fills the array with random bytes (WASI random_get). */
export type RandomSource = (target: Uint8Array) => void;

const epochBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
/** Real time with nanosecond resolution (the default clock). */
export const realClock: Clock = () => epochBase + process.hrtime.bigint();
/** crypto-quality random bytes (the default random source). */
export const cryptoRandom: RandomSource = (target) => {
  randomFillSync(target);
};

/** A clock tests move by hand: `new ManualClock(start)`, pass `clock: c.now`, then `c.advanceMs(…)`. */
export class ManualClock {
  private ns: bigint;
  constructor(startNs: bigint = 1_700_000_000_000_000_000n) {
    this.ns = startNs;
  }
  /** The current time; a bound function, so it can be passed as `clock`. */
  readonly now: Clock = () => this.ns;
  /** Moves time forward by `ms` milliseconds. */
  advanceMs(ms: number): void {
    this.ns += BigInt(Math.round(ms * 1e6));
  }
  /** Sets the absolute time. */
  set(ns: bigint): void {
    this.ns = ns;
  }
}

export type LogSource = "proxy_log" | "stdout" | "stderr" | "host";

/** One captured log line: proxy_log, WASI stdout/stderr, or a note from the host itself. */
export interface LogRecord {
  level: number;
  levelName: LogLevelName;
  msg: string;
  /** Context the module was running for (0 = VM start), or the effective context if it set one. */
  contextId: number;
  source: LogSource;
}

/** A local reply: sent by the filter (proxy_send_local_response) or by the failure policy. */
export interface LocalReply {
  status: number;
  body: string;
  /** Response code details; Envoy replaces whitespace with "_". */
  details: string;
  /** Additional response headers the filter asked for. */
  headers: HeaderPairs;
  /** gRPC status, or null when the filter passed none (e.g. -1). */
  grpcStatus: number | null;
  source: "filter" | "wasm_fail_stream";
}

export interface VmOptions {
  /** Envoy vm_id: the shared-data and shared-queue namespace. Default "". */
  vmId?: string;
  /** VM configuration (buffer type 6, proxy_on_vm_start's size). Default empty. */
  vmConfig?: string | Uint8Array;
  /** Store shared with other VMs of the same vm_id (workers, inbound/outbound). Default: private. */
  sharedData?: SharedData;
  /** Stat store shared with other VMs. Default: private. */
  metrics?: MetricStore;
  /** Level returned by proxy_get_log_level; lower levels are dropped, as Envoy's logger does. Default info. */
  logLevel?: number | LogLevelName;
  clock?: Clock;
  random?: RandomSource;
  /** Failure policy once the VM has trapped: true = FAIL_OPEN, false (Envoy's default) = FAIL_CLOSED. */
  failOpen?: boolean;
  /** Throw WasmTrap from the call that trapped (default true); false only records it. */
  throwOnTrap?: boolean;
  /** VM-wide property defaults (node, xds, …); a stream's own properties take precedence. */
  properties?: readonly PropertyInput[];
  /** WASI environment (Envoy's vm_config.environment_variables). */
  env?: Readonly<Record<string, string>>;
  /** Called for every captured log record. */
  onLog?: (record: LogRecord) => void;
}

/** The module trapped (or hit a restricted host call). The VM is now failed. */
export class WasmTrap extends Error {
  override readonly name = "WasmTrap";
  constructor(
    message: string,
    /** Export that was running, e.g. "proxy_on_request_headers". */
    readonly functionName: string,
    /** Context it ran for (0 = VM start). */
    readonly contextId: number,
    /** The VM, to inspect logs after a failed load. */
    readonly vm: WasmVm,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The module cannot be loaded the way Envoy would refuse it (imports, exports, ABI version). */
export class WasmLoadError extends Error {
  override readonly name = "WasmLoadError";
}

class RestrictedCallback extends Error {
  constructor(readonly qualifiedName: string) {
    super(`restricted_callback: ${qualifiedName} is not allowed while the VM starts (_initialize/_start)`);
  }
}

/** A compiled module plus what was read from its binary (null for a bare WasmModule). */
export interface CompiledFilter {
  readonly module: WasmModule;
  readonly shape: ModuleShape | null;
}

type WasmFn = (...args: number[]) => number;
type HostFn = (...args: never[]) => unknown;

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

function toCompiled(code: WasmModule | CompiledFilter): CompiledFilter {
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

type Any = unknown;

/**
 * Wraps a host function so that it traps with restricted_callback while the VM starts (used for the
 * WASI imports; the env ones check by themselves). Fixed-arity wrappers keep the per-call cost to
 * one flag test (no rest-argument arrays).
 */
function restrict(vm: WasmVm, qualified: string, fn: HostFn): HostFn {
  const f = fn as (...args: Any[]) => Any;
  const deny = (): never => {
    throw new RestrictedCallback(qualified);
  };
  switch (fn.length) {
    case 0:
      return () => (vm.starting ? deny() : f());
    case 1:
      return (a: Any) => (vm.starting ? deny() : f(a));
    case 2:
      return (a: Any, b: Any) => (vm.starting ? deny() : f(a, b));
    case 3:
      return (a: Any, b: Any, c: Any) => (vm.starting ? deny() : f(a, b, c));
    case 4:
      return (a: Any, b: Any, c: Any, d: Any) => (vm.starting ? deny() : f(a, b, c, d));
    case 5:
      return (a: Any, b: Any, c: Any, d: Any, e: Any) => (vm.starting ? deny() : f(a, b, c, d, e));
    default:
      return (...args: Any[]) => (vm.starting ? deny() : f(...args));
  }
}

const EMPTY = new Uint8Array(0);

function headersStatus(raw: number, stop: boolean): number {
  // Context::convertVmCallResultToFilterHeadersStatus: StopIteration and anything out of range (or a
  // local reply sent during the call) become StopAllIterationAndWatermark.
  if (
    stop ||
    raw > FilterHeadersStatus.StopAllIterationAndWatermark ||
    raw === FilterHeadersStatus.StopIteration
  ) {
    return FilterHeadersStatus.StopAllIterationAndWatermark;
  }
  return raw;
}
function dataStatus(raw: number, stop: boolean): number {
  return stop || raw > FilterDataStatus.StopIterationNoBuffer ? FilterDataStatus.StopIterationNoBuffer : raw;
}
function trailersStatus(raw: number, stop: boolean): number {
  return stop || raw !== FilterTrailersStatus.Continue
    ? FilterTrailersStatus.StopIteration
    : FilterTrailersStatus.Continue;
}

type Phase = "headers" | "data" | "trailers";

interface Callbacks {
  onContextCreate?: WasmFn;
  onVmStart?: WasmFn;
  onConfigure?: WasmFn;
  onRequestHeaders?: WasmFn;
  onRequestBody?: WasmFn;
  onRequestTrailers?: WasmFn;
  onResponseHeaders?: WasmFn;
  onResponseBody?: WasmFn;
  onResponseTrailers?: WasmFn;
  onLog?: WasmFn;
  onDone?: WasmFn;
  onDelete?: WasmFn;
  onTick?: WasmFn;
  onQueueReady?: WasmFn;
}

/** One VM: an instantiated module, its contexts, logs, metrics and failure state. */
export class WasmVm implements QueueOwner {
  /** Envoy vm_id of this VM. */
  readonly vmId: string;
  /** Every captured log record, in order. */
  readonly logs: LogRecord[] = [];
  /** True once the module trapped; the VM is never entered again. */
  failed = false;
  /** Message of the first trap ("Function: <export> failed: <reason>"), or null. */
  trap: string | null = null;
  /** The shared-data store this VM reads and writes under its vm_id. */
  readonly sharedData: SharedData;
  /** The stat store behind proxy_*_metric. */
  readonly metricStore: MetricStore;
  /** proxy_get_log_level's answer; records below it are dropped. */
  readonly logLevel: number;
  readonly failOpen: boolean;
  readonly throwOnTrap: boolean;
  /** VM configuration bytes (buffer type 6). */
  readonly vmConfig: Uint8Array;

  /** @internal Guest memory access, bound after instantiation. */
  mem: GuestMemory = new GuestMemory(new WA.Memory({ initial: 0 }));
  /** @internal Context the module is running for. */
  current: ContextBase;
  /** @internal Context set by proxy_set_effective_context for the rest of the current callback. */
  effective: ContextBase | null = null;
  /** @internal True while _initialize/_start runs (restricted host calls trap). */
  starting = false;
  /** @internal WASI environment entries "k=v\0". */
  readonly environ: Uint8Array[];
  /** @internal Live contexts by id (roots and streams), for set_effective_context. */
  readonly contexts = new ContextTable<ContextBase>();
  /** @internal VM-wide property defaults. */
  readonly defaults: PropertyTree;
  /** @internal The module's proxy_on_* exports. */
  readonly fns: Callbacks;

  private readonly vmContext: ContextBase;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly onLog?: (record: LogRecord) => void;
  private readonly rootList: RootContext[] = [];
  private nextContextId = 1;
  private depth = 0;
  private readonly after: (() => void)[] = [];
  private memory!: WasmMemory;

  /**
   * Compiles (if needed), checks and instantiates a module, then runs `_initialize` (and `main`, if
   * exported) or `_start` with restricted host calls, as Envoy starts a VM. Throws WasmLoadError for
   * a module Envoy would refuse (missing import, signature mismatch, no proxy_abi_version_0_2_1, no
   * malloc) and WasmTrap if start-up traps.
   */
  static async load(
    code: Uint8Array | ArrayBuffer | WasmModule | CompiledFilter,
    options: VmOptions = {},
  ): Promise<WasmVm> {
    const compiled =
      code instanceof Uint8Array || code instanceof ArrayBuffer ? await compileFilter(code) : code;
    return WasmVm.instantiate(compiled, options);
  }

  /** Synchronous form of load for an already compiled module (e.g. one VM per simulated worker). */
  static instantiate(code: WasmModule | CompiledFilter, options: VmOptions = {}): WasmVm {
    const vm = new WasmVm(options);
    vm.boot(toCompiled(code));
    return vm;
  }

  private constructor(o: VmOptions) {
    this.vmId = o.vmId ?? "";
    this.vmConfig = typeof o.vmConfig === "string" ? stringValue(o.vmConfig) : (o.vmConfig ?? EMPTY);
    this.sharedData = o.sharedData ?? new SharedData();
    this.metricStore = o.metrics ?? new MetricStore();
    const level = o.logLevel ?? "info";
    this.logLevel = typeof level === "number" ? level : LogLevel[level];
    this.failOpen = o.failOpen ?? false;
    this.throwOnTrap = o.throwOnTrap ?? true;
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? cryptoRandom;
    this.onLog = o.onLog;
    this.defaults = new PropertyTree(o.properties ?? []).rememberAnswers();
    this.environ = Object.entries(o.env ?? {}).map(([k, v]) => stringValue(`${k}=${v}\0`));
    this.vmContext = new VmContext(this, 0);
    this.current = this.vmContext;
    this.fns = {};
  }

  private boot(compiled: CompiledFilter): void {
    const { module, shape } = compiled;
    const env = envImports(this);
    const wasi = wasiImports(this);
    const imports: Imports = {};
    for (const imp of WA.Module.imports(module)) {
      const slot = (imports[imp.module] ??= {});
      const q = `${imp.module}.${imp.name}`;
      if (imp.kind === "function") {
        // The env functions enforce the start-up restriction themselves (see imports.ts); the WASI
        // ones, off the per-request path, are wrapped.
        const isEnv = imp.module === "env";
        const fn = (isEnv ? env : wasi)[imp.name];
        slot[imp.name] = (isEnv || ALLOWED_DURING_START.has(q) ? fn : restrict(this, q, fn)) as unknown;
      } else {
        const limits = shape?.imports.find((i) => i.module === imp.module && i.name === imp.name)?.limits;
        const initial = limits?.initial ?? 0;
        slot[imp.name] =
          imp.kind === "memory"
            ? new WA.Memory({ initial, maximum: limits?.maximum, shared: limits?.shared })
            : new WA.Table({ element: "anyfunc", initial, maximum: limits?.maximum });
      }
    }
    let instance: { exports: Record<string, unknown> };
    // A wasm start section runs inside instantiation: it is start-up too, so restrictions apply.
    this.starting = true;
    try {
      instance = new WA.Instance(module, imports);
    } catch (e) {
      throw new WasmLoadError(`Failed to instantiate Wasm module: ${(e as Error).message}`, { cause: e });
    } finally {
      this.starting = false;
    }
    const ex = instance.exports as Record<string, unknown>;
    const memory = isWasmMemory(ex.memory) ? ex.memory : findImportedMemory(imports);
    if (memory === undefined) throw new WasmLoadError("Wasm module exports no memory");
    this.memory = memory;
    this.mem = new GuestMemory(memory);
    const fn = (name: string) => (typeof ex[name] === "function" ? (ex[name] as WasmFn) : undefined);
    this.mem.setAllocator((fn("malloc") ?? fn("proxy_on_memory_allocate")) as WasmFn);
    Object.assign(this.fns, {
      onContextCreate: fn("proxy_on_context_create"),
      onVmStart: fn("proxy_on_vm_start"),
      onConfigure: fn("proxy_on_configure"),
      onRequestHeaders: fn("proxy_on_request_headers"),
      onRequestBody: fn("proxy_on_request_body"),
      onRequestTrailers: fn("proxy_on_request_trailers"),
      onResponseHeaders: fn("proxy_on_response_headers"),
      onResponseBody: fn("proxy_on_response_body"),
      onResponseTrailers: fn("proxy_on_response_trailers"),
      onLog: fn("proxy_on_log"),
      onDone: fn("proxy_on_done"),
      onDelete: fn("proxy_on_delete"),
      onTick: fn("proxy_on_tick"),
      onQueueReady: fn("proxy_on_queue_ready"),
    } satisfies Callbacks);
    // WasmBase::startVm: a WASI reactor's _initialize (then main, if any), else a command's _start.
    this.starting = true;
    try {
      const init = fn("_initialize");
      const start = fn("_start");
      const main = fn("main");
      if (init) {
        this.call("_initialize", init, this.vmContext);
        if (main) this.call("main", main, this.vmContext, 0, 0);
      } else if (start) {
        this.call("_start", start, this.vmContext);
      }
    } finally {
      this.starting = false;
    }
  }

  /**
   * Starts a plugin on this VM, as Envoy does for each plugin configuration (WasmBase::start +
   * configure): proxy_on_context_create(root, 0), proxy_on_vm_start(root, vm_config_size) and, if
   * that returned true, proxy_on_configure(root, plugin_config_size). The plugin configuration is
   * readable as buffer type 7 during context creation and configure only. `ok` is false when either
   * callback returned false (Envoy rejects the config update). A second root on the same VM is how
   * Envoy applies a config update; retire the old one with `root.retire()`. Throws WasmTrap on a
   * trap, and an Error on a VM that has already failed.
   */
  createRoot(
    configuration: string | Uint8Array = "",
    options: { rootId?: string; name?: string } = {},
  ): RootContext {
    if (this.failed) throw new Error(`wasm VM has failed (${this.trap}); Envoy starts no plugin on it`);
    const root = new RootContext(
      this,
      this.nextContextId++,
      typeof configuration === "string" ? stringValue(configuration) : configuration,
      options.rootId ?? "",
      options.name ?? "",
    );
    this.contexts.add(root);
    this.rootList.push(root);
    const f = this.fns;
    root.configVisible = true;
    try {
      if (f.onContextCreate) this.call("proxy_on_context_create", f.onContextCreate, root, root.id, 0);
      root.configVisible = false;
      root.startOk = f.onVmStart
        ? this.call("proxy_on_vm_start", f.onVmStart, root, root.id, this.vmConfig.length) !== 0
        : true;
      if (root.startOk) {
        root.configVisible = true;
        root.configureOk = f.onConfigure
          ? this.call("proxy_on_configure", f.onConfigure, root, root.id, root.configuration.length) !== 0
          : true;
      }
    } finally {
      root.configVisible = false;
    }
    return root;
  }

  /** Root contexts not yet deleted, oldest first. */
  get roots(): RootContext[] {
    return this.rootList.filter((r) => r.state !== "deleted");
  }

  /**
   * Metric values by the raw name the module defined (Envoy exports them as `wasmcustom.<name>`):
   * counters and gauges as `{type, value}`, histograms as `{type, count, sum, values}`.
   */
  metrics(): Record<string, MetricSnapshot> {
    return this.metricStore.snapshot();
  }

  /** Current size of the module's linear memory in bytes. */
  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Drops the captured VM-level log records (per-stream logs are kept on the streams). */
  clearLogs(): void {
    this.logs.length = 0;
  }

  // ---- internals used by contexts and host functions ----

  /** @internal Calls an export for a context, with cpp-host's save/restore of the current context. */
  call(name: string, fn: WasmFn, ctx: ContextBase, a = 0, b = 0, c = 0): number {
    const prevCurrent = this.current;
    const prevEffective = this.effective;
    this.current = ctx;
    this.effective = null;
    this.depth++;
    let r: number;
    try {
      r = fn(a, b, c);
    } catch (e) {
      throw this.trapped(name, ctx, e);
    } finally {
      this.current = prevCurrent;
      this.effective = prevEffective;
      this.depth--;
    }
    if (this.depth === 0 && this.after.length > 0) this.flushAfter();
    return r;
  }

  private trapped(name: string, ctx: ContextBase, e: unknown): WasmTrap {
    if (e instanceof WasmTrap) return e;
    const reason =
      e instanceof RestrictedCallback || isRuntimeError(e)
        ? e.message
        : e instanceof Error
          ? `${e.name}: ${e.message}`
          : String(e);
    const message = `Function: ${name} failed: ${reason}`;
    if (!this.failed) {
      this.failed = true;
      this.trap = message;
    }
    this.after.length = 0;
    this.record(LogLevel.critical, message, "host", ctx);
    return new WasmTrap(message, name, ctx.id, this, { cause: e });
  }

  /** @internal Traps a host call the module made while it starts (restricted_callback). */
  restrictedCallback(qualifiedName: string): never {
    throw new RestrictedCallback(qualifiedName);
  }

  /** @internal Runs `fn` once the outermost VM call has returned (Envoy's after-VM-call actions). */
  afterCall(fn: () => void): void {
    this.after.push(fn);
  }

  private flushAfter(): void {
    while (this.after.length > 0) (this.after.shift() as () => void)();
  }

  /** @internal proxy_log / fd_write: dropped below the configured level. */
  guestLog(level: number, msg: string, source: LogSource): void {
    if (level < this.logLevel) return;
    this.record(level, msg, source, this.effective ?? this.current);
  }

  /** @internal A note from the host, attributed like a guest log. */
  hostLog(level: number, msg: string, ctx: ContextBase = this.effective ?? this.current): void {
    if (level < this.logLevel) return;
    this.record(level, msg, "host", ctx);
  }

  private record(level: number, msg: string, source: LogSource, ctx: ContextBase): void {
    const rec: LogRecord = { level, levelName: LOG_LEVEL_NAMES[level], msg, contextId: ctx.id, source };
    this.logs.push(rec);
    if (ctx !== this.vmContext) ctx.logs.push(rec);
    this.onLog?.(rec);
  }

  /** @internal Current time from the injected clock. */
  now(): bigint {
    return this.clock();
  }

  /** @internal Random bytes from the injected source. */
  fillRandom(target: Uint8Array): void {
    this.random(target);
  }

  /** @internal proxy_set_effective_context. */
  setEffectiveContext(id: number): WasmResult {
    if (id === 0) {
      this.effective = null;
      return WasmResult.Ok;
    }
    const c = this.contexts.get(id);
    if (c === undefined) return WasmResult.BadArgument;
    this.effective = c;
    return WasmResult.Ok;
  }

  /** @internal proxy_done: finishes a root whose on_done returned false; on_delete follows the call. */
  rootDone(ctx: ContextBase): WasmResult {
    if (!(ctx instanceof RootContext) || ctx.state !== "done-pending") return WasmResult.NotFound;
    ctx.state = "deleting";
    this.afterCall(() => ctx.deleteNow());
    return WasmResult.Ok;
  }

  /** @internal Next context id; ids are never reused within a VM. */
  allocContextId(): number {
    return this.nextContextId++;
  }

  /** QueueOwner: delivers proxy_on_queue_ready to a root of this VM. */
  notify(rootContextId: number, token: number): void {
    const root = this.contexts.get(rootContextId);
    const fn = this.fns.onQueueReady;
    if (root === undefined || this.failed || fn === undefined) return;
    try {
      this.call("proxy_on_queue_ready", fn, root, rootContextId, token);
    } catch (e) {
      if (!(e instanceof WasmTrap)) throw e;
    }
  }
}

function findImportedMemory(imports: Imports): WasmMemory | undefined {
  for (const mod of Object.values(imports)) {
    for (const v of Object.values(mod)) if (isWasmMemory(v)) return v;
  }
  return undefined;
}

/** What every context answers to host calls; roots and streams refine it. */
export abstract class ContextBase {
  // Created on first use: most streams log nothing, and every object a stream owns is one more the
  // collector has to trace and copy while the stream is in flight.
  private logList: LogRecord[] | null = null;
  /** @internal True while proxy_on_log runs (maps are read-only then). */
  logPhase = false;
  /** @internal Values written with proxy_set_property. */
  protected setProps: Map<string, Uint8Array> | null = null;

  constructor(
    /** @internal */ readonly vm: WasmVm,
    /** Context id the module sees. */ readonly id: number,
  ) {}

  /** Log records attributed to this context. */
  get logs(): LogRecord[] {
    return (this.logList ??= []);
  }

  /** @internal The header map of `type` if it is available (for writing, if `write`). */
  headerMap(_type: number, _write: boolean): HeaderMap | null {
    return null;
  }

  /** @internal The root context this context belongs to. */
  rootContext(): RootContext | null {
    return null;
  }

  /** @internal Id used for shared-queue registration (the root's). */
  rootContextId(): number {
    return this.rootContext()?.id ?? this.id;
  }

  /**
   * @internal Buffers as Envoy's Context::getBuffer returns them: VM configuration always, plugin
   * configuration only during the root's context creation and configure, bodies when present,
   * nothing for HTTP-call responses; others are an empty buffer.
   */
  buffer(type: number): Uint8Array | null {
    switch (type) {
      case BufferType.VmConfiguration:
        return this.vm.vmConfig;
      case BufferType.PluginConfiguration: {
        const root = this.rootContext();
        return root !== null && (root as ContextBase) === this && root.configVisible
          ? root.configuration
          : null;
      }
      case BufferType.HttpCallResponseBody:
        return null;
      default:
        return EMPTY;
    }
  }

  /** @internal proxy_set_buffer_bytes: only HTTP bodies are mutable. */
  setBuffer(_type: number, _start: number, _length: number, _data: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }

  /** @internal proxy_get_property. */
  property(path: string): PropertyResult {
    const r = this.vm.defaults.lookup(path);
    if (r.code !== WasmResult.NotFound) return r;
    return this.derived(path) ?? this.ownProperty(path);
  }

  /** @internal Values Envoy computes itself: plugin_name, plugin_root_id, plugin_vm_id. */
  protected derived(path: string): PropertyResult | undefined {
    const root = this.rootContext();
    switch (path) {
      case "plugin_name":
        return ok(stringValue(root?.name ?? ""));
      case "plugin_root_id":
        return ok(stringValue(root?.rootId ?? ""));
      case "plugin_vm_id":
        return ok(stringValue(this.vm.vmId));
    }
    return undefined;
  }

  /** Envoy looks set_property values up by top-level name last (filter state "wasm.<name>"). */
  protected ownProperty(path: string): PropertyResult {
    const v = this.setProps?.get(path);
    return v === undefined ? { code: WasmResult.NotFound } : ok(v);
  }

  /** @internal proxy_set_property: needs stream info, so NotFound outside a stream. */
  setProperty(_path: string, _value: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }

  /** @internal proxy_send_local_response outside a stream has nothing to answer. */
  sendLocalResponse(
    status: number,
    _body: string,
    _details: string,
    _headers: HeaderPairs,
    _grpc: number,
  ): void {
    this.vm.hostLog(
      LogLevel.warn,
      `proxy_send_local_response(${status}) outside an HTTP stream ignored`,
      this,
    );
  }

  /** @internal proxy_continue_stream / proxy_close_stream. */
  streamCall(_op: "continue" | "close", _type: number): void {}

  /** @internal proxy_set_tick_period_milliseconds applies to the root. */
  setTickPeriod(ms: number): void {
    const root = this.rootContext();
    if (root !== null) root.tickPeriodMs = ms;
  }
}

function ok(value: Uint8Array): PropertyResult {
  return { code: WasmResult.Ok, value };
}

class VmContext extends ContextBase {}

export type RootState = "active" | "done-pending" | "deleting" | "deleted";

/** A root (plugin) context: one plugin configuration on the VM. */
export class RootContext extends ContextBase {
  /** proxy_on_vm_start's answer. */
  startOk = false;
  /** proxy_on_configure's answer (false when not reached). */
  configureOk = false;
  /** Lifecycle: active → (retire) → deleted, or done-pending until the module calls proxy_done. */
  state: RootState = "active";
  /** Last period set with proxy_set_tick_period_milliseconds (0 = no tick). */
  tickPeriodMs = 0;
  /** @internal Buffer type 7 readable (during context creation and configure). */
  configVisible = false;

  constructor(
    vm: WasmVm,
    id: number,
    /** The plugin configuration bytes (buffer type 7). */ readonly configuration: Uint8Array,
    /** Envoy plugin root_id (property plugin_root_id). */ readonly rootId: string,
    /** Envoy plugin name (property plugin_name). */ readonly name: string,
  ) {
    super(vm, id);
  }

  /** True when Envoy would accept this configuration: vm_start and configure both returned true. */
  get ok(): boolean {
    return this.startOk && this.configureOk;
  }

  /** The plugin configuration as UTF-8 text. */
  get configurationText(): string {
    return utf8(this.configuration);
  }

  override rootContext(): RootContext {
    return this;
  }

  /**
   * Opens an HTTP stream on this plugin: allocates a context id (unique in the VM) and calls
   * proxy_on_context_create(stream, root). `properties` are the stream's attributes (source.address,
   * xds.listener_direction, metadata, ...), looked up before the VM-wide defaults. On a failed VM no
   * callback runs and the stream applies the failure policy. Throws WasmTrap if creation traps.
   */
  newStream(options: { properties?: readonly PropertyInput[] } = {}): HttpStream {
    if (this.state !== "active") throw new Error(`root context ${this.id} is ${this.state}`);
    if (!this.ok) throw new Error(`root context ${this.id} rejected its configuration`);
    const vm = this.vm;
    const s = new HttpStream(vm, vm.allocContextId(), this, options.properties);
    vm.contexts.add(s);
    const f = vm.fns.onContextCreate;
    if (!vm.failed) {
      s.created = true;
      if (f) vm.call("proxy_on_context_create", f, s, s.id, this.id);
    }
    return s;
  }

  /**
   * Retires this plugin, as Envoy does when its configuration is replaced or removed
   * (WasmBase::startShutdown): proxy_on_done(root); if it returned true, proxy_on_delete(root) at
   * once ("deleted"); otherwise the root waits ("done-pending") until the module calls proxy_done,
   * after which on_delete runs. Returns the resulting state. Throws WasmTrap on a trap.
   */
  retire(): RootState {
    if (this.state !== "active") throw new Error(`root context ${this.id} is already ${this.state}`);
    const vm = this.vm;
    if (vm.failed) {
      this.state = "deleted";
      vm.contexts.delete(this.id);
      return this.state;
    }
    const f = vm.fns.onDone;
    const done = f ? vm.call("proxy_on_done", f, this, this.id) !== 0 : true;
    if (done) this.deleteNow();
    else this.state = "done-pending";
    return this.state;
  }

  /** @internal proxy_on_delete and forget the context. */
  deleteNow(): void {
    const vm = this.vm;
    this.state = "deleted";
    const f = vm.fns.onDelete;
    try {
      if (f && !vm.failed) vm.call("proxy_on_delete", f, this, this.id);
    } finally {
      vm.contexts.delete(this.id);
    }
  }

  /** Fires the timer once: proxy_on_tick(root) (Envoy calls it every tickPeriodMs). */
  tick(): void {
    const vm = this.vm;
    const f = vm.fns.onTick;
    if (!vm.failed && f && this.state !== "deleted") vm.call("proxy_on_tick", f, this, this.id);
  }
}

const EMPTY_PAIRS: HeaderPairs = [];

// A stream's properties are a tree built from the caller's inputs when the stream opens. A deeply
// frozen input list can never change, so its tree is built once and shared by every stream given
// that same list (lookups only fill caches, which do not change answers), and it remembers its
// answers by path. Benchmarks and load generators that open many streams with the same attributes
// pass a frozen list; anything else gets its own tree, exactly as before.
const frozenTrees = new WeakMap<readonly PropertyInput[], PropertyTree>();

function streamProperties(inputs: readonly PropertyInput[]): PropertyTree {
  const shared = frozenTrees.get(inputs);
  if (shared !== undefined) return shared;
  const tree = new PropertyTree(inputs);
  if (deepFrozen(inputs, 0)) frozenTrees.set(inputs, tree.rememberAnswers());
  return tree;
}

/** True when v and everything reachable from it is frozen (bounded depth; typed arrays, which
 * cannot be frozen, make it false). */
function deepFrozen(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== "object") return true;
  if (depth > 32 || !Object.isFrozen(v) || ArrayBuffer.isView(v)) return false;
  for (const k of Object.keys(v)) if (!deepFrozen((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

/** request.<attribute> → the request header Envoy's CEL activation reads it from. */
const REQUEST_ATTRIBUTES: Readonly<Record<string, string>> = {
  path: ":path",
  host: ":authority",
  scheme: ":scheme",
  method: ":method",
  useragent: "user-agent",
  referer: "referer",
};

/** One HTTP request/response through the filter. */
export class HttpStream extends ContextBase {
  /** Effective action of on_request_headers (after Envoy's conversion), or null if not called. */
  requestHeadersAction: number | null = null;
  /** Effective action of on_response_headers, or null. */
  responseHeadersAction: number | null = null;
  /** Local reply sent by the filter or by the failure policy, or null. */
  localReply: LocalReply | null = null;
  /** Fail-open: the VM had failed and the filter was skipped for this stream. */
  skipped = false;
  /** The trap this stream ran into, if any. */
  trap: WasmTrap | null = null;
  private streamCallList: { op: "continue" | "close"; streamType: number }[] | null = null;
  /** True after finish(). */
  finished = false;

  /** @internal on_context_create was called. */
  created = false;
  private readonly props: PropertyTree | null;
  private req: HeaderMap | null = null;
  private reqLive = false;
  private reqTrailers: HeaderMap | null = null;
  private reqTrailersLive = false;
  private resp: HeaderMap | null = null;
  private respLive = false;
  private respFromLocalReply = false;
  private respTrailers: HeaderMap | null = null;
  private respTrailersLive = false;
  private reqBody: Uint8Array | null = null;
  private respBody: Uint8Array | null = null;
  private stopNext = false;
  private streamFailed = false;
  private pendingTrap: WasmTrap | null = null;

  constructor(
    vm: WasmVm,
    id: number,
    /** The plugin this stream runs on. */ readonly root: RootContext,
    properties?: readonly PropertyInput[],
  ) {
    super(vm, id);
    this.props = properties && properties.length > 0 ? streamProperties(properties) : null;
  }

  override rootContext(): RootContext {
    return this.root;
  }

  /**
   * Delivers request headers (Envoy decodeHeaders): keys lower-cased, pseudo-headers first, `host`
   * as `:authority`; calls proxy_on_request_headers(stream, entry count, end_of_stream) and returns
   * the effective action (StopIteration and out-of-range values become StopAllIterationAndWatermark,
   * as does a call that sent a local reply). The map stays readable and writable by the module until
   * a headers callback returns Continue. A local reply sent here is then encoded through
   * on_response_headers, as Envoy runs it through the encoder filters.
   */
  requestHeaders(headers: Iterable<readonly [string, string]>, endOfStream = false): number {
    this.assertOpen();
    if (this.req !== null) throw new Error(`stream ${this.id}: request headers were already delivered`);
    this.req = HeaderMap.fromCaller(headers);
    this.reqLive = true;
    const action = this.run(
      "headers",
      "proxy_on_request_headers",
      this.vm.fns.onRequestHeaders,
      this.req.count,
      endOfStream,
    );
    this.requestHeadersAction = action;
    if (action === FilterHeadersStatus.Continue) this.reqLive = false;
    if (this.localReply?.source === "filter" && this.resp === null) this.encodeLocalReply();
    this.raise();
    return action;
  }

  /** Request headers as they stand now (after the filter's changes), pseudo-headers first. */
  requestHeaderPairs(): HeaderPairs {
    return this.req?.pairs() ?? EMPTY_PAIRS;
  }

  /**
   * Delivers a request body chunk (buffer type 0) to proxy_on_request_body(stream, size, eos) and
   * returns the effective FilterDataStatus. The body can be changed with proxy_set_buffer_bytes.
   */
  requestBody(data: string | Uint8Array, endOfStream = true): number {
    this.assertOpen();
    this.reqBody = typeof data === "string" ? stringValue(data) : data;
    const action = this.run(
      "data",
      "proxy_on_request_body",
      this.vm.fns.onRequestBody,
      this.reqBody.length,
      endOfStream,
    );
    this.raise();
    return action;
  }

  /** The request body as it stands after the filter. */
  requestBodyBytes(): Uint8Array {
    return this.reqBody ?? EMPTY;
  }

  /** Delivers request trailers (map type 1) to proxy_on_request_trailers; returns the effective status. */
  requestTrailers(trailers: Iterable<readonly [string, string]>): number {
    this.assertOpen();
    this.reqTrailers = HeaderMap.fromCaller(trailers);
    this.reqTrailersLive = true;
    const action = this.run(
      "trailers",
      "proxy_on_request_trailers",
      this.vm.fns.onRequestTrailers,
      this.reqTrailers.count,
      false,
    );
    if (action === FilterTrailersStatus.Continue) this.reqTrailersLive = false;
    this.raise();
    return action;
  }

  /** Request trailers as they stand now. */
  requestTrailerPairs(): HeaderPairs {
    return this.reqTrailers?.pairs() ?? EMPTY_PAIRS;
  }

  /**
   * Delivers response headers (Envoy encodeHeaders) to proxy_on_response_headers and returns the
   * effective action; same lifetime rule as request headers. After a local reply the upstream
   * response never reaches the filter: this returns the action recorded for the local reply.
   */
  responseHeaders(headers: Iterable<readonly [string, string]>, endOfStream = false): number {
    this.assertOpen();
    if (this.respFromLocalReply) return this.responseHeadersAction ?? FilterHeadersStatus.Continue;
    if (this.resp !== null) throw new Error(`stream ${this.id}: response headers were already delivered`);
    const action = this.encodeHeaders(HeaderMap.fromCaller(headers), endOfStream);
    this.raise();
    return action;
  }

  /** Response headers as they stand now (the local reply's, if one was sent). */
  responseHeaderPairs(): HeaderPairs {
    return this.resp?.pairs() ?? EMPTY_PAIRS;
  }

  /** Delivers a response body chunk (buffer type 1) to proxy_on_response_body. */
  responseBody(data: string | Uint8Array, endOfStream = true): number {
    this.assertOpen();
    this.respBody = typeof data === "string" ? stringValue(data) : data;
    const action = this.run(
      "data",
      "proxy_on_response_body",
      this.vm.fns.onResponseBody,
      this.respBody.length,
      endOfStream,
    );
    this.raise();
    return action;
  }

  /** The response body as it stands after the filter. */
  responseBodyBytes(): Uint8Array {
    return this.respBody ?? EMPTY;
  }

  /** Delivers response trailers (map type 3) to proxy_on_response_trailers. */
  responseTrailers(trailers: Iterable<readonly [string, string]>): number {
    this.assertOpen();
    this.respTrailers = HeaderMap.fromCaller(trailers);
    this.respTrailersLive = true;
    const action = this.run(
      "trailers",
      "proxy_on_response_trailers",
      this.vm.fns.onResponseTrailers,
      this.respTrailers.count,
      false,
    );
    if (action === FilterTrailersStatus.Continue) this.respTrailersLive = false;
    this.raise();
    return action;
  }

  /** Response trailers as they stand now. */
  responseTrailerPairs(): HeaderPairs {
    return this.respTrailers?.pairs() ?? EMPTY_PAIRS;
  }

  /**
   * Ends the stream as Envoy does: proxy_on_log (request and response maps readable, not writable),
   * then proxy_on_done, then proxy_on_delete; the context id is then gone. Nothing is called on a
   * failed VM. Idempotent. Throws WasmTrap on a trap.
   */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    const vm = this.vm;
    const f = vm.fns;
    if (this.created && !vm.failed) {
      try {
        if (f.onLog) {
          this.logPhase = true;
          try {
            vm.call("proxy_on_log", f.onLog, this, this.id);
          } finally {
            this.logPhase = false;
          }
        }
        if (f.onDone) vm.call("proxy_on_done", f.onDone, this, this.id);
        if (f.onDelete) vm.call("proxy_on_delete", f.onDelete, this, this.id);
      } catch (e) {
        if (!(e instanceof WasmTrap)) throw e;
        this.trap = e;
        this.pendingTrap = e;
      }
    }
    vm.contexts.delete(this.id);
    this.raise();
  }

  /** proxy_continue_stream / proxy_close_stream calls, in order. */
  get streamCalls(): { op: "continue" | "close"; streamType: number }[] {
    return (this.streamCallList ??= []);
  }

  /** Convenience: the stream's HTTP status (local reply first, else the response's :status), or null. */
  get status(): number | null {
    if (this.localReply !== null) return this.localReply.status;
    const s = this.resp?.get(":status");
    return s === undefined ? null : Number(s);
  }

  // ---- host-call side ----

  override headerMap(type: number, write: boolean): HeaderMap | null {
    switch (type) {
      case 0:
        return this.reqLive ? this.req : this.logPhase && !write ? this.req : null;
      case 1:
        return this.reqTrailersLive ? this.reqTrailers : null;
      case 2:
        return this.respLive ? this.resp : this.logPhase && !write ? this.resp : null;
      case 3:
        return this.respTrailersLive ? this.respTrailers : this.logPhase && !write ? this.respTrailers : null;
      default:
        return null;
    }
  }

  override buffer(type: number): Uint8Array | null {
    if (type === BufferType.HttpRequestBody) return this.reqBody ?? EMPTY;
    if (type === BufferType.HttpResponseBody) return this.respBody ?? EMPTY;
    return super.buffer(type);
  }

  /**
   * Envoy's Buffer::copyFrom on a body: start 0 drains `length` bytes and prepends the data (length
   * ≥ size replaces the whole body); start at or past the end appends; anything else is BadArgument.
   */
  override setBuffer(type: number, start: number, length: number, data: Uint8Array): WasmResult {
    const isReq = type === BufferType.HttpRequestBody;
    if (!isReq && type !== BufferType.HttpResponseBody) return WasmResult.NotFound;
    const cur = (isReq ? this.reqBody : this.respBody) ?? EMPTY;
    let next: Uint8Array;
    if (start === 0) next = Buffer.concat([data, cur.subarray(Math.min(length, cur.length))]);
    else if (start >= cur.length) next = Buffer.concat([cur, data]);
    else return WasmResult.BadArgument;
    if (isReq) this.reqBody = next;
    else this.respBody = next;
    return WasmResult.Ok;
  }

  override property(path: string): PropertyResult {
    if (this.props !== null) {
      const r = this.props.lookup(path);
      if (r.code !== WasmResult.NotFound) return r;
    }
    return super.property(path);
  }

  /**
   * request.* from the request headers while Envoy's CEL activation can see them (until
   * on_request_headers returned Continue, and during on_log); request.id (x-request-id) always;
   * response.code once response headers exist.
   */
  protected override derived(path: string): PropertyResult | undefined {
    if (path.startsWith("request\0") && this.req !== null) {
      const field = path.slice(8);
      const h = this.req;
      if (field === "id") {
        const v = h.get("x-request-id");
        return v === undefined ? undefined : ok(stringValue(v));
      }
      if (!this.reqLive && !this.logPhase) return undefined;
      if (field === "url_path") {
        const p = h.get(":path");
        return p === undefined ? undefined : ok(stringValue(p.split("?")[0]));
      }
      const name = Object.hasOwn(REQUEST_ATTRIBUTES, field) ? REQUEST_ATTRIBUTES[field] : undefined;
      const v = name === undefined ? undefined : h.get(name);
      return v === undefined ? undefined : ok(stringValue(v));
    }
    if (path === "response\0code" && this.resp !== null) {
      const s = this.resp.get(":status");
      return s === undefined ? undefined : ok(encodeInt64(Number(s)));
    }
    return super.derived(path);
  }

  override setProperty(path: string, value: Uint8Array): WasmResult {
    (this.setProps ??= new Map()).set(path, value);
    return WasmResult.Ok;
  }

  /**
   * proxy_send_local_response: the first reply wins; details get whitespace replaced by "_"; a gRPC
   * status outside 0..16 means none. The callback's result becomes a Stop.
   */
  override sendLocalResponse(
    status: number,
    body: string,
    details: string,
    headers: HeaderPairs,
    grpc: number,
  ): void {
    this.stopNext = true;
    if (this.localReply !== null) {
      this.vm.hostLog(LogLevel.debug, `second local reply (${status}) ignored`, this);
      return;
    }
    this.localReply = {
      status,
      body,
      details: details.replace(/\s/g, "_"),
      headers,
      grpcStatus: grpc >= 0 && grpc <= GRPC_STATUS_MAX_KNOWN ? grpc : null,
      source: "filter",
    };
  }

  override streamCall(op: "continue" | "close", type: number): void {
    (this.streamCallList ??= []).push({ op, streamType: type });
  }

  // ---- internals ----

  private assertOpen(): void {
    if (this.finished) throw new Error(`stream ${this.id} is finished`);
  }

  private encodeHeaders(map: HeaderMap, endOfStream: boolean): number {
    this.resp = map;
    this.respLive = true;
    const action = this.run(
      "headers",
      "proxy_on_response_headers",
      this.vm.fns.onResponseHeaders,
      map.count,
      endOfStream,
    );
    this.responseHeadersAction = action;
    if (action === FilterHeadersStatus.Continue) this.respLive = false;
    return action;
  }

  /** Envoy's local reply headers (:status, content-length/-type for a body, then the extras). */
  private encodeLocalReply(): void {
    const lr = this.localReply as LocalReply;
    const pairs: HeaderPairs = [[":status", String(lr.status)]];
    if (lr.body.length > 0)
      pairs.push(["content-length", String(byteLength(lr.body))], ["content-type", "text/plain"]);
    pairs.push(...lr.headers);
    this.respFromLocalReply = true;
    this.encodeHeaders(HeaderMap.fromCaller(pairs), lr.body.length === 0);
  }

  /** Runs one stream callback with Envoy's CHECK_FAIL before and after it. */
  private run(
    phase: Phase,
    name: string,
    fn: WasmFn | undefined,
    size: number,
    endOfStream: boolean,
  ): number {
    const vm = this.vm;
    if (vm.failed || !this.created) return this.failurePolicy(phase);
    if (fn === undefined) return 0;
    this.stopNext = false;
    let raw: number;
    try {
      raw = vm.call(name, fn, this, this.id, size, endOfStream ? 1 : 0) >>> 0;
    } catch (e) {
      if (!(e instanceof WasmTrap)) throw e;
      this.trap = e;
      this.pendingTrap = e;
      return this.failurePolicy(phase);
    }
    const stop = this.stopNext;
    this.stopNext = false;
    if (phase === "headers") return headersStatus(raw, stop);
    if (phase === "data") return dataStatus(raw, stop);
    return trailersStatus(raw, stop);
  }

  /** CHECK_FAIL: fail-open continues without the filter; fail-closed answers 503 wasm_fail_stream once. */
  private failurePolicy(phase: Phase): number {
    const vm = this.vm;
    if (vm.failOpen) {
      if (!this.skipped) {
        this.skipped = true;
        vm.hostLog(LogLevel.warn, `wasm VM failed (${vm.trap}): fail-open, filter skipped`, this);
      }
      return 0;
    }
    if (!this.streamFailed) {
      this.streamFailed = true;
      if (this.localReply === null || this.localReply.source === "filter") {
        this.localReply = {
          status: 503,
          body: "",
          details: "wasm_fail_stream",
          headers: [],
          grpcStatus: GRPC_STATUS_UNAVAILABLE,
          source: "wasm_fail_stream",
        };
      }
    }
    if (phase === "headers") return FilterHeadersStatus.StopAllIterationAndWatermark;
    if (phase === "data") return FilterDataStatus.StopIterationNoBuffer;
    return FilterTrailersStatus.StopIteration;
  }

  private raise(): void {
    const t = this.pendingTrap;
    if (t !== null) {
      this.pendingTrap = null;
      if (this.vm.throwOnTrap) throw t;
    }
  }
}
