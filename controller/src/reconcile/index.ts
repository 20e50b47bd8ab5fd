// The controller runtime pieces (work queue, retries, informer, leader election, ops server, metrics,
// logs) and the lane controller built from them.
export { WorkQueue } from "./queue.js";
export type { HandlerResult, QueueHandler, QueueStats, WorkQueueOptions } from "./queue.js";
export {
  backoffDelay,
  isNetworkError,
  isRetryable,
  retryAfterMs,
  statusBody,
  statusCode,
  statusReason,
  withRetry,
} from "./retry.js";
export type { BackoffOptions, RetryOptions } from "./retry.js";
export { Informer, keyOf } from "./watch.js";
export type { InformerHandlers, InformerOptions, InformerStats, KubeObject } from "./watch.js";
export { LeaderElector } from "./leader.js";
export type { LeaderElectorOptions } from "./leader.js";
export { OpsServer, readinessChecks } from "./server.js";
export type { OpsServerOptions, ReadyCheck, RouteHandler } from "./server.js";
export { controllerMetrics, DEFAULT_BUCKETS, laneControllerMetrics, sampleValue } from "./metrics.js";
export type { ControllerMetrics, LaneControllerSources, Labels } from "./metrics.js";
export { createLogger, isLogLevel, LogLevel, silentLogger } from "./log.js";
export type { Fields, Logger, LoggerOptions } from "./log.js";
export { LaneController, writePhase } from "./controller.js";
export type { LaneControllerMetrics, LaneControllerOptions, LeaderElectionSettings } from "./controller.js";
export { Planner } from "./planner.js";
export { ChangeWriter, WriteTally } from "./writer.js";
export { Finalizers, hasFinalizer, isDeleting } from "./finalizers.js";
export { LaneStatuses } from "./lanestatus.js";
export { reconcilePass } from "./pass.js";
export { ClusterState, DEFAULT_NAMESPACE_SELECTOR, LANE_FINALIZER } from "./state.js";
export { computePlan, ownedEqual } from "./plan.js";
export type { Change, ChangeOp, Plan } from "./plan.js";
export { applyConfiguration, carryOut, userPatch } from "./apply.js";
export { desiredStatus, statusEqual } from "./status.js";
export type { LaneCondition, LaneHealth, LaneStatusBody } from "./status.js";
export { EventRecorder } from "./events.js";
export { FilterProbe } from "./probe.js";
export { FIELD_MANAGER, KubeClient, KubeError } from "./kube.js";
export { loadWasm, serveWasm, WASM_PATH } from "./wasm.js";
export type { WasmModule } from "./wasm.js";
