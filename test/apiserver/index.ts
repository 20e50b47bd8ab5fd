// The fake Kubernetes API server for tests: see README.md beside this file.
export { FakeApiServer, WRITE_VERBS } from "./server.js";
export type {
  FakeApiServerOptions,
  FailureHandle,
  FailureSpec,
  RequestFilter,
  RequestRecord,
  Verb,
} from "./server.js";
export type { ResourceType } from "./resources.js";
export type { Cause, Schema } from "./schema.js";
