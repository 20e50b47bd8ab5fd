// The one interface between the module's imports (`env.proxy_*` in imports.ts, WASI in wasi.ts) and
// the rest of the host. The imports see the VM and the context the module runs for only through
// `HostCalls` and `HostContext`; WasmVm and the context classes implement them. Like
// proxy-wasm-go-sdk's proxytest, whose emulator puts a root part and an HTTP part behind one host
// interface: the imports do not know which kind of context answers, nor how the VM runs.

import type { LogLevelName, WasmResult } from "./abi.js";
import type { HeaderMap, HeaderPairs } from "./headers.js";
import type { GuestMemory } from "./memory.js";
import type { MetricStore } from "./metrics.js";
import type { PropertyResult } from "./properties.js";
import type { QueueOwner, SharedData } from "./shared.js";

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

/**
 * What a context answers to the module's host calls (Envoy's wasm Context). Every method returns
 * what Envoy's would for that kind of context: the VM's own context and a root have no header maps
 * and no bodies, a stream has them while the callback that delivered them may touch them.
 */
export interface HostContext {
  /** True while proxy_on_log runs: maps are readable, not writable, and a missing one is NotFound. */
  readonly logPhase: boolean;
  /** The header map of `type` if it is available now (for writing, if `write`), else null. */
  headerMap(type: number, write: boolean): HeaderMap | null;
  /**
   * A buffer as Envoy's Context::getBuffer returns it: VM configuration always, plugin
   * configuration only during the root's context creation and configure, bodies when present,
   * nothing for HTTP-call responses (null = NotFound); other types are an empty buffer.
   */
  buffer(type: number): Uint8Array | null;
  /** proxy_set_buffer_bytes: only HTTP bodies are mutable. */
  setBuffer(type: number, start: number, length: number, data: Uint8Array): WasmResult;
  /** proxy_get_property: a path's segments joined by "\0". */
  property(path: string): PropertyResult;
  /** proxy_set_property: needs stream info, so NotFound outside a stream. */
  setProperty(path: string, value: Uint8Array): WasmResult;
  /** proxy_send_local_response; outside a stream it is logged and ignored. */
  sendLocalResponse(status: number, body: string, details: string, headers: HeaderPairs, grpc: number): void;
  /** proxy_continue_stream / proxy_close_stream. */
  streamCall(op: "continue" | "close", type: number): void;
  /** proxy_set_tick_period_milliseconds: applies to the context's root. */
  setTickPeriod(ms: number): void;
  /** Id used for shared-queue registration: the root's. */
  rootContextId(): number;
  /** proxy_done: finishes a root whose on_done returned false (on_delete follows the call); else NotFound. */
  done(): WasmResult;
}

/**
 * The VM as the module's imports see it. Host calls act on `effective ?? current` (cpp-host's
 * contextOrEffectiveContext). Memory is only valid after `mem.sync()`, since the module may have grown it.
 */
export interface HostCalls extends QueueOwner {
  /** The module's linear memory. */
  readonly mem: GuestMemory;
  /** True while _initialize/_start (or a start section) runs: most host calls must then trap. */
  readonly starting: boolean;
  /** Context the module is running for. */
  readonly current: HostContext;
  /** Context set by proxy_set_effective_context for the rest of the current callback, or null. */
  readonly effective: HostContext | null;
  /** Envoy vm_id: the shared-data and shared-queue namespace. */
  readonly vmId: string;
  /** proxy_get_log_level's answer. */
  readonly logLevel: number;
  readonly sharedData: SharedData;
  readonly metricStore: MetricStore;
  /** WASI environment entries, each "k=v\0". */
  readonly environ: readonly Uint8Array[];
  /** Traps the running call with restricted_callback (a host call Envoy refuses during start). */
  restricted(qualifiedName: string): never;
  /** proxy_log / fd_write: dropped below the log level. */
  guestLog(level: number, msg: string, source: LogSource): void;
  /** A note from the host, attributed to the calling context; dropped below the log level. */
  hostLog(level: number, msg: string): void;
  /** Current time from the VM's clock, in ns since the epoch. */
  now(): bigint;
  /** Random bytes from the VM's random source. */
  fillRandom(target: Uint8Array): void;
  /** Runs `fn` once the outermost call into the module has returned (Envoy's after-VM-call actions). */
  afterCall(fn: () => void): void;
  /** proxy_set_effective_context: 0 resets to the calling context; an unknown id is BadArgument. */
  setEffectiveContext(id: number): WasmResult;
}
