// What every context answers to the module's host calls, and what a context needs from its VM.
// Roots (root.ts) and HTTP streams (stream.ts) refine the answers; the VM's own context (id 0, during
// start-up) keeps them. Contexts reach their VM only through `ContextVm`, which WasmVm implements.

import { BufferType, LogLevel, WasmResult } from "./abi.js";
import type { HeaderMap, HeaderPairs } from "./headers.js";
import type { HostContext, LogRecord } from "./host-calls.js";
import { stringValue, type PropertyResult, type PropertyTree } from "./properties.js";

/** A module export: proxy_on_* callbacks take up to three i32 arguments and return an i32. */
export type WasmFn = (...args: number[]) => number;

/** The module's proxy_on_* exports (undefined where the module has none). */
export interface ModuleCallbacks {
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

/** The VM as its contexts see it: its settings and state, its exports, and how to call them. */
export interface ContextVm {
  /** Envoy vm_id of this VM. */
  readonly vmId: string;
  /** VM configuration bytes (buffer type 6). */
  readonly vmConfig: Uint8Array;
  /** VM-wide property defaults; a stream's own properties take precedence. */
  readonly defaults: PropertyTree;
  /** Every captured log record, in order. */
  readonly logs: LogRecord[];
  /** True once the module trapped; the VM is never entered again. */
  readonly failed: boolean;
  /** Message of the first trap, or null. */
  readonly trap: string | null;
  /** Failure policy once failed: true = FAIL_OPEN, false = FAIL_CLOSED (503). */
  readonly failOpen: boolean;
  /** Throw WasmTrap from the call that trapped (else only record it). */
  readonly throwOnTrap: boolean;
  /** The module's proxy_on_* exports. */
  readonly callbacks: ModuleCallbacks;
  /**
   * Calls an export for a context, with cpp-host's save/restore of the current context. A trap
   * fails the VM and is thrown as a WasmTrap; after-call actions run once the outermost call returns.
   */
  call(name: string, fn: WasmFn, ctx: ContextBase, a?: number, b?: number, c?: number): number;
  /** A new context id: ids are never reused within a VM. */
  nextContextId(): number;
  /** Makes a context reachable by id (proxy_set_effective_context, queue notifications). */
  addContext(ctx: ContextBase): void;
  /** addContext for a new root, which the VM also lists among its roots. */
  addRoot(root: ContextBase): void;
  /** Forgets a context's id. */
  removeContext(id: number): void;
  /** A note from the host, attributed to `ctx`; dropped below the VM's log level. */
  hostLog(level: number, msg: string, ctx: ContextBase): void;
  /** Runs `fn` once the outermost call into the module has returned. */
  afterCall(fn: () => void): void;
}

/** The plugin (root context) a context belongs to, as the host calls read it. */
export interface Plugin {
  readonly id: number;
  /** Envoy plugin name (property plugin_name). */
  readonly name: string;
  /** Envoy plugin root_id (property plugin_root_id). */
  readonly rootId: string;
  /** Last period set with proxy_set_tick_period_milliseconds (0 = no tick). */
  tickPeriodMs: number;
}

const EMPTY = new Uint8Array(0);

function ok(value: Uint8Array): PropertyResult {
  return { code: WasmResult.Ok, value };
}

/**
 * What every context answers to host calls (HostContext, documented there); roots and streams
 * refine it.
 */
export abstract class ContextBase implements HostContext {
  // Created on first use: most streams log nothing, and every object a stream owns is one more the
  // collector has to trace and copy while the stream is in flight.
  private logList: LogRecord[] | null = null;
  /** True while proxy_on_log runs for this context (a stream sets it). */
  logPhase = false;
  /** Values written with proxy_set_property. */
  protected setProps: Map<string, Uint8Array> | null = null;

  constructor(
    /** The VM this context lives in. */ readonly vm: ContextVm,
    /** Context id the module sees. */ readonly id: number,
  ) {}

  /** Log records attributed to this context. */
  get logs(): LogRecord[] {
    return (this.logList ??= []);
  }

  /** The root (plugin) context this context belongs to; null for the VM's own context. */
  rootContext(): Plugin | null {
    return null;
  }

  headerMap(_type: number, _write: boolean): HeaderMap | null {
    return null;
  }

  rootContextId(): number {
    return this.rootContext()?.id ?? this.id;
  }

  buffer(type: number): Uint8Array | null {
    switch (type) {
      case BufferType.VmConfiguration:
        return this.vm.vmConfig;
      case BufferType.PluginConfiguration:
        return this.pluginConfiguration();
      case BufferType.HttpCallResponseBody:
        return null;
      default:
        return EMPTY;
    }
  }

  /** Buffer type 7 as this context may read it now (only a root, and only while it is configured). */
  protected pluginConfiguration(): Uint8Array | null {
    return null;
  }

  setBuffer(_type: number, _start: number, _length: number, _data: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }

  property(path: string): PropertyResult {
    const r = this.vm.defaults.lookup(path);
    if (r.code !== WasmResult.NotFound) return r;
    return this.derived(path) ?? this.ownProperty(path);
  }

  /** Values Envoy computes itself: plugin_name, plugin_root_id, plugin_vm_id. */
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

  setProperty(_path: string, _value: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }

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

  streamCall(_op: "continue" | "close", _type: number): void {}

  setTickPeriod(ms: number): void {
    const root = this.rootContext();
    if (root !== null) root.tickPeriodMs = ms;
  }

  done(): WasmResult {
    return WasmResult.NotFound;
  }
}

/** The VM's own context (id 0): what the module runs for while it starts. */
export class VmContext extends ContextBase {}
