// The controller runtime pieces: work queue, retries, informer, leader election, ops server, metrics, logs.
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
export { controllerMetrics, Counter, Gauge, Histogram, Registry, DEFAULT_BUCKETS } from "./metrics.js";
export type { ControllerMetrics, Labels } from "./metrics.js";
export { createLogger, isLogLevel, LogLevel, silentLogger } from "./log.js";
export type { Fields, Logger, LoggerOptions } from "./log.js";
