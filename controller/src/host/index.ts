// meshlane's proxy-wasm ABI 0.2.1 host for Node: runs a real compiled filter the way Envoy does.
// See vm.ts for the lifecycle and failure semantics, and docs/host.md for the Envoy behaviour mirrored.
export {
  compileFilter,
  ContextBase,
  cryptoRandom,
  HttpStream,
  ManualClock,
  realClock,
  RootContext,
  WasmLoadError,
  WasmTrap,
  WasmVm,
  type Clock,
  type CompiledFilter,
  type LocalReply,
  type LogRecord,
  type LogSource,
  type RandomSource,
  type RootState,
  type VmOptions,
} from "./vm.js";
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
