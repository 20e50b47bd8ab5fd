// The fake Kubernetes API server for tests: see README.md beside this file.
export { FakeApiServer, type FakeApiServerOptions } from "./server.js";
export type { FailureHandle, FailureSpec } from "./failures.js";
export { WRITE_VERBS, type RequestFilter, type RequestRecord, type Verb } from "./records.js";
export type { ResourceType } from "./resources.js";
export type { Cause, Schema } from "./schema.js";
