// Proxy-Wasm ABI 0.2.1 as Envoy implements it: status codes, enums, and the exact import/export
// tables of proxy-wasm-cpp-host (`src/wasm.cc` registerCallbacks/getFunctions, `include/proxy-wasm/
// exports.h` FOR_ALL_HOST_FUNCTIONS / FOR_ALL_WASI_FUNCTIONS). Signatures are wasm32 value types in
// the form cpp-host prints them ("i32 i32 -> i32"), so a mismatch message reads like Envoy's.

/** WasmResult codes returned by every `proxy_*` host call. */
export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
export type WasmResult = (typeof WasmResult)[keyof typeof WasmResult];

/** FilterHeadersStatus values a headers callback returns. */
export const FilterHeadersStatus = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;
export type FilterHeadersStatus = (typeof FilterHeadersStatus)[keyof typeof FilterHeadersStatus];

/** FilterDataStatus values a body callback returns. */
export const FilterDataStatus = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;

/** FilterTrailersStatus values a trailers callback returns. */
export const FilterTrailersStatus = { Continue: 0, StopIteration: 1 } as const;

/** proxy_log levels. */
export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export type LogLevelName = keyof typeof LogLevel;
export const LOG_LEVEL_NAMES: readonly LogLevelName[] = [
  "trace",
  "debug",
  "info",
  "warn",
  "error",
  "critical",
];

/** Header map types of proxy_*_header_map_* calls. */
export const HeaderMapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export const HEADER_MAP_TYPE_MAX = 7;

/** Buffer types of proxy_*_buffer_* calls. */
export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  NetworkDownstreamData: 2,
  NetworkUpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export const BUFFER_TYPE_MAX = 8;

/** Metric types of proxy_define_metric. */
export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;

/** Stream types of proxy_continue_stream / proxy_close_stream. */
export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;
export const STREAM_TYPE_MAX = 3;

/** gRPC status Envoy attaches to the `wasm_fail_stream` local reply (Unavailable). */
export const GRPC_STATUS_UNAVAILABLE = 14;
export const GRPC_STATUS_MAX_KNOWN = 16;

const I3 = "i32 i32 i32";
const I4 = `${I3} i32`;
const I5 = `${I4} i32`;

/**
 * `env` functions Envoy registers for an ABI 0.2.1 module (FOR_ALL_HOST_FUNCTIONS plus the 0.2.1
 * specific continue_stream, close_stream, get_log_level, plus pthread_equal and
 * emscripten_notify_memory_growth). Anything else under `env` is a missing import.
 */
export const ENV_IMPORTS: Readonly<Record<string, string>> = {
  proxy_log: `${I3} -> i32`,
  proxy_get_log_level: "i32 -> i32",
  proxy_get_status: `${I3} -> i32`,
  proxy_set_property: `${I4} -> i32`,
  proxy_get_property: `${I4} -> i32`,
  proxy_send_local_response: `${I4} ${I4} -> i32`,
  proxy_continue_stream: "i32 -> i32",
  proxy_close_stream: "i32 -> i32",
  proxy_get_shared_data: `${I5} -> i32`,
  proxy_set_shared_data: `${I5} -> i32`,
  proxy_register_shared_queue: `${I3} -> i32`,
  proxy_resolve_shared_queue: `${I5} -> i32`,
  proxy_dequeue_shared_queue: `${I3} -> i32`,
  proxy_enqueue_shared_queue: `${I3} -> i32`,
  proxy_get_header_map_value: `${I5} -> i32`,
  proxy_add_header_map_value: `${I5} -> i32`,
  proxy_replace_header_map_value: `${I5} -> i32`,
  proxy_remove_header_map_value: `${I3} -> i32`,
  proxy_get_header_map_pairs: `${I3} -> i32`,
  proxy_set_header_map_pairs: `${I3} -> i32`,
  proxy_get_header_map_size: "i32 i32 -> i32",
  proxy_get_buffer_status: `${I3} -> i32`,
  proxy_get_buffer_bytes: `${I5} -> i32`,
  proxy_set_buffer_bytes: `${I5} -> i32`,
  proxy_http_call: `${I5} ${I5} -> i32`,
  proxy_grpc_call: `${I4} ${I4} ${I4} -> i32`,
  proxy_grpc_stream: `${I5} ${I4} -> i32`,
  proxy_grpc_close: "i32 -> i32",
  proxy_grpc_cancel: "i32 -> i32",
  proxy_grpc_send: `${I4} -> i32`,
  proxy_set_tick_period_milliseconds: "i32 -> i32",
  proxy_get_current_time_nanoseconds: "i32 -> i32",
  proxy_define_metric: `${I4} -> i32`,
  proxy_increment_metric: "i32 i64 -> i32",
  proxy_record_metric: "i32 i64 -> i32",
  proxy_get_metric: "i32 i32 -> i32",
  proxy_set_effective_context: "i32 -> i32",
  proxy_done: "-> i32",
  proxy_call_foreign_function: `${I3} ${I3} -> i32`,
  pthread_equal: "i32 i32 -> i32",
  emscripten_notify_memory_growth: "i32 ->",
};

/**
 * WASI functions Envoy registers under both `wasi_unstable` and `wasi_snapshot_preview1`
 * (FOR_ALL_WASI_FUNCTIONS). Note what is *not* here: sched_yield, poll_oneoff, fd_filestat_get...
 */
export const WASI_IMPORTS: Readonly<Record<string, string>> = {
  fd_write: `${I4} -> i32`,
  fd_read: `${I4} -> i32`,
  fd_seek: "i32 i64 i32 i32 -> i32",
  fd_close: "i32 -> i32",
  fd_fdstat_get: "i32 i32 -> i32",
  environ_get: "i32 i32 -> i32",
  environ_sizes_get: "i32 i32 -> i32",
  args_get: "i32 i32 -> i32",
  args_sizes_get: "i32 i32 -> i32",
  clock_time_get: "i32 i64 i32 -> i32",
  random_get: "i32 i32 -> i32",
  proc_exit: "i32 ->",
  path_open: "i32 i32 i32 i32 i32 i64 i64 i32 i32 -> i32",
  fd_prestat_get: "i32 i32 -> i32",
  fd_prestat_dir_name: `${I3} -> i32`,
};

export const WASI_MODULES: readonly string[] = ["wasi_unstable", "wasi_snapshot_preview1"];

/** Host calls allowed while `_initialize`/`_start` runs (cpp-host WasmBase::startVm). */
export const ALLOWED_DURING_START: ReadonlySet<string> = new Set([
  "env.proxy_log",
  ...WASI_MODULES.flatMap((m) =>
    [
      "fd_write",
      "args_sizes_get",
      "args_get",
      "environ_sizes_get",
      "environ_get",
      "fd_prestat_get",
      "fd_prestat_dir_name",
      "clock_time_get",
      "random_get",
    ].map((f) => `${m}.${f}`),
  ),
]);

/** Why a well-known import is absent from Envoy, appended to the "missing import" message. */
export const MISSING_IMPORT_HINTS: Readonly<Record<string, string>> = {
  "env.proxy_clear_route_cache": "exists only for ABI 0.1.0; 0.2.1 clears the route cache on header changes",
  "env.proxy_get_configuration":
    "exists only for ABI 0.1.0; read buffer type 6/7 with proxy_get_buffer_bytes",
  "env.proxy_continue_request": "exists only for ABI 0.1.0; use proxy_continue_stream(0)",
  "env.proxy_continue_response": "exists only for ABI 0.1.0; use proxy_continue_stream(1)",
  "env.abort":
    "AssemblyScript's default abort is not an Envoy import; compile with --use abort=<your function>",
  "env.proxy_dictionary_get": "FastEdge-only host call",
  "env.proxy_get_secret": "FastEdge-only host call",
  "env.proxy_get_effective_at_secret": "FastEdge-only host call",
  "env.proxy_kv_store_open": "FastEdge-only host call",
  "env.proxy_kv_store_get": "FastEdge-only host call",
  "env.proxy_kv_store_scan": "FastEdge-only host call",
  "env.proxy_kv_store_zrange_by_score": "FastEdge-only host call",
  "env.proxy_kv_store_zscan": "FastEdge-only host call",
  "env.proxy_kv_store_bf_exists": "FastEdge-only host call",
};

/**
 * Module exports Envoy looks up, with the signature it insists on (cpp-host getModuleFunctionImpl
 * fails the load with "Bad function signature" otherwise). Network-filter callbacks are listed so a
 * wrong signature there is caught too, although this host only drives HTTP streams.
 */
export const KNOWN_EXPORTS: Readonly<Record<string, string>> = {
  _initialize: "->",
  _start: "->",
  main: "i32 i32 -> i32",
  malloc: "i32 -> i32",
  proxy_on_memory_allocate: "i32 -> i32",
  proxy_on_vm_start: "i32 i32 -> i32",
  proxy_validate_configuration: "i32 i32 -> i32",
  proxy_on_configure: "i32 i32 -> i32",
  proxy_on_context_create: "i32 i32 ->",
  proxy_on_request_headers: `${I3} -> i32`,
  proxy_on_request_body: `${I3} -> i32`,
  proxy_on_request_trailers: "i32 i32 -> i32",
  proxy_on_request_metadata: "i32 i32 -> i32",
  proxy_on_response_headers: `${I3} -> i32`,
  proxy_on_response_body: `${I3} -> i32`,
  proxy_on_response_trailers: "i32 i32 -> i32",
  proxy_on_response_metadata: "i32 i32 -> i32",
  proxy_on_tick: "i32 ->",
  proxy_on_queue_ready: "i32 i32 ->",
  proxy_on_done: "i32 -> i32",
  proxy_on_log: "i32 ->",
  proxy_on_delete: "i32 ->",
  proxy_on_foreign_function: `${I3} ->`,
  proxy_on_http_call_response: `${I5} ->`,
  proxy_on_grpc_receive_initial_metadata: `${I3} ->`,
  proxy_on_grpc_receive_trailing_metadata: `${I3} ->`,
  proxy_on_grpc_receive: `${I3} ->`,
  proxy_on_grpc_close: `${I3} ->`,
  proxy_on_new_connection: "i32 -> i32",
  proxy_on_downstream_data: `${I3} -> i32`,
  proxy_on_upstream_data: `${I3} -> i32`,
  proxy_on_downstream_connection_close: "i32 i32 ->",
  proxy_on_upstream_connection_close: "i32 i32 ->",
};

export const ABI_VERSION_EXPORT = "proxy_abi_version_0_2_1";
export const OTHER_ABI_VERSION_EXPORTS: readonly string[] = [
  "proxy_abi_version_0_1_0",
  "proxy_abi_version_0_2_0",
];
