// One VM: a compiled module instantiated the way Envoy does it (proxy-wasm-cpp-host + Envoy's wasm
// Context), its memory, its start-up, the calls into it and its failure state. The verbs mirror the
// ABI, in the style of proxy-wasm-go-sdk's proxytest: load a VM, create root contexts from plugin
// configurations (root.ts), open HTTP streams on a root (stream.ts) and feed them headers; every
// callback, header change, log line, metric and local reply is observable afterwards. The module's
// imports (imports.ts, wasi.ts) see the VM only as `HostCalls` (host-calls.ts); its contexts see it
// as `ContextVm` (context.ts).
//
// Traps: any exception while the module runs (WebAssembly.RuntimeError such as `unreachable` or an
// out-of-bounds access, a restricted host call during start, or an error thrown by the host itself)
// marks the VM failed, is recorded in `vm.trap` and in the logs, and is thrown from the call that
// ran into it as a WasmTrap (unless `throwOnTrap: false`). From then on the VM is never entered
// again: a stream applies the failure policy instead, as Envoy's CHECK_FAIL does: fail-open passes
// headers through untouched (`stream.skipped`), fail-closed answers 503 with details
// `wasm_fail_stream`.

import { ALLOWED_DURING_START, LOG_LEVEL_NAMES, LogLevel, WasmResult, type LogLevelName } from "./abi.js";
import { cryptoRandom, realClock, type Clock, type RandomSource } from "./clock.js";
import { ContextBase, VmContext, type ContextVm, type ModuleCallbacks, type WasmFn } from "./context.js";
import { ContextTable } from "./context-table.js";
import type { HostCalls, LogRecord, LogSource } from "./host-calls.js";
import { envImports } from "./imports.js";
import { compileFilter, toCompiled, WasmLoadError, type CompiledFilter } from "./link.js";
import { GuestMemory } from "./memory.js";
import { MetricStore, type MetricSnapshot } from "./metrics.js";
import { PropertyTree, stringValue, type PropertyInput } from "./properties.js";
import { RootContext } from "./root.js";
import { SharedData } from "./shared.js";
import { RestrictedCallback, WasmTrap } from "./trap.js";
import { wasiImports } from "./wasi.js";
import {
  isRuntimeError,
  isWasmGlobal,
  isWasmMemory,
  WA,
  type Imports,
  type WasmMemory,
  type WasmModule,
} from "./wasm-api.js";

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

type HostFn = (...args: never[]) => unknown;
type Arg = unknown;

/**
 * Wraps a host function so that it traps with restricted_callback while the VM starts (used for the
 * WASI imports; the env ones check by themselves). Fixed-arity wrappers keep the per-call cost to
 * one flag test (no rest-argument arrays).
 */
function restrict(vm: HostCalls, qualified: string, fn: HostFn): HostFn {
  const f = fn as (...args: Arg[]) => Arg;
  const deny = (): never => {
    throw new RestrictedCallback(qualified);
  };
  switch (fn.length) {
    case 0:
      return () => (vm.starting ? deny() : f());
    case 1:
      return (a: Arg) => (vm.starting ? deny() : f(a));
    case 2:
      return (a: Arg, b: Arg) => (vm.starting ? deny() : f(a, b));
    case 3:
      return (a: Arg, b: Arg, c: Arg) => (vm.starting ? deny() : f(a, b, c));
    case 4:
      return (a: Arg, b: Arg, c: Arg, d: Arg) => (vm.starting ? deny() : f(a, b, c, d));
    case 5:
      return (a: Arg, b: Arg, c: Arg, d: Arg, e: Arg) => (vm.starting ? deny() : f(a, b, c, d, e));
    default:
      return (...args: Arg[]) => (vm.starting ? deny() : f(...args));
  }
}

const EMPTY = new Uint8Array(0);

/** One VM: an instantiated module, its contexts, logs, metrics and failure state. */
export class WasmVm implements HostCalls, ContextVm {
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

  // ---- HostCalls and ContextVm: what the imports and the contexts read (see their interfaces) ----
  mem: GuestMemory = new GuestMemory(new WA.Memory({ initial: 0 }));
  current: ContextBase;
  effective: ContextBase | null = null;
  readonly environ: Uint8Array[];
  readonly defaults: PropertyTree;
  readonly callbacks: ModuleCallbacks;

  /** Live contexts by id (roots and streams), for set_effective_context and queue notifications. */
  private readonly contexts = new ContextTable<ContextBase>();
  private startingNow = false;
  private readonly vmContext: ContextBase;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly onLog?: (record: LogRecord) => void;
  private readonly rootList: RootContext[] = [];
  private nextId = 1;
  private depth = 0;
  private readonly after: (() => void)[] = [];
  private memory!: WasmMemory;
  private exported: Record<string, unknown> = {};

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
    this.callbacks = {};
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
    this.startingNow = true;
    try {
      instance = new WA.Instance(module, imports);
    } catch (e) {
      throw new WasmLoadError(`Failed to instantiate Wasm module: ${(e as Error).message}`, { cause: e });
    } finally {
      this.startingNow = false;
    }
    const ex = instance.exports as Record<string, unknown>;
    this.exported = ex;
    const memory = isWasmMemory(ex.memory) ? ex.memory : findImportedMemory(imports);
    if (memory === undefined) throw new WasmLoadError("Wasm module exports no memory");
    this.memory = memory;
    this.mem = new GuestMemory(memory);
    const fn = (name: string) => (typeof ex[name] === "function" ? (ex[name] as WasmFn) : undefined);
    this.mem.setAllocator((fn("malloc") ?? fn("proxy_on_memory_allocate")) as WasmFn);
    Object.assign(this.callbacks, {
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
    } satisfies ModuleCallbacks);
    // WasmBase::startVm: a WASI reactor's _initialize (then main, if any), else a command's _start.
    this.startingNow = true;
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
      this.startingNow = false;
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
    return RootContext.start(
      this,
      typeof configuration === "string" ? stringValue(configuration) : configuration,
      options.rootId ?? "",
      options.name ?? "",
    );
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

  /** The value of a global the module exports (a bigint for i64), or undefined when it exports no
   * global of that name: how an instrumented build reports what it counted (bench/work.ts). */
  exportedGlobal(name: string): unknown {
    const g = this.exported[name];
    return isWasmGlobal(g) ? g.value : undefined;
  }

  /** Current size of the module's linear memory in bytes. */
  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Drops the captured VM-level log records (per-stream logs are kept on the streams). */
  clearLogs(): void {
    this.logs.length = 0;
  }

  // ---- ContextVm and HostCalls (documented on the interfaces) ----

  get starting(): boolean {
    return this.startingNow;
  }

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

  restricted(qualifiedName: string): never {
    throw new RestrictedCallback(qualifiedName);
  }

  afterCall(fn: () => void): void {
    this.after.push(fn);
  }

  private flushAfter(): void {
    while (this.after.length > 0) (this.after.shift() as () => void)();
  }

  guestLog(level: number, msg: string, source: LogSource): void {
    if (level < this.logLevel) return;
    this.record(level, msg, source, this.effective ?? this.current);
  }

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

  now(): bigint {
    return this.clock();
  }

  fillRandom(target: Uint8Array): void {
    this.random(target);
  }

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

  nextContextId(): number {
    return this.nextId++;
  }

  addContext(ctx: ContextBase): void {
    this.contexts.add(ctx);
  }

  addRoot(root: RootContext): void {
    this.contexts.add(root);
    this.rootList.push(root);
  }

  removeContext(id: number): void {
    this.contexts.delete(id);
  }

  /** QueueOwner: delivers proxy_on_queue_ready to a root of this VM. */
  notify(rootContextId: number, token: number): void {
    const root = this.contexts.get(rootContextId);
    const fn = this.callbacks.onQueueReady;
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
