// meshlane's proxy-wasm ABI 0.2.1 host for Node: runs a real compiled filter the way Envoy does.
// See vm.ts for the lifecycle and failure semantics, README.md here for the modules, and
// docs/host.md for the Envoy behaviour mirrored.
export { WasmVm, type VmOptions } from "./vm.js";
export { compileFilter, WasmLoadError, type CompiledFilter } from "./link.js";
export { cryptoRandom, ManualClock, realClock, type Clock, type RandomSource } from "./clock.js";
export { ContextBase, type ContextVm, type Plugin } from "./context.js";
export { RootContext, type RootState } from "./root.js";
export { HttpStream, type LocalReply } from "./stream.js";
export { WasmTrap } from "./trap.js";
export type { HostCalls, HostContext, LogRecord, LogSource } from "./host-calls.js";
export {
  BufferType,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  HeaderMapType,
  LOG_LEVEL_NAMES,
  LogLevel,
  MetricType,
  StreamType,
  WasmResult,
  type LogLevelName,
} from "./abi.js";
export { HeaderMap, deserializePairs, serializePairs, type HeaderPair, type HeaderPairs } from "./headers.js";
export {
  encodeBool,
  encodeDouble,
  encodeInt64,
  encodeUint64,
  PropertyTree,
  type JsonValue,
  type PropertyInput,
} from "./properties.js";
export { SharedData } from "./shared.js";
export { MetricStore, type MetricKind, type MetricSnapshot } from "./metrics.js";
