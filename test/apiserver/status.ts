// The fake server's refusals: a `Status` body as the real server writes one, and the errors whose
// wording clients (and the controller's messages) depend on.
import { type Json, type JsonObject } from "./json.js";
import { groupResource, type ResourceType } from "./resources.js";
import { type Cause } from "./schema.js";

/** A refusal: answered as a `Status` with this code, reason, message and details. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The reason the real server gives for each code it answers with. */
export const REASONS: Record<number, string> = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  410: "Expired",
  415: "UnsupportedMediaType",
  422: "Invalid",
  429: "TooManyRequests",
  500: "InternalError",
  503: "ServiceUnavailable",
  504: "Timeout",
};

export function statusBody(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const body: JsonObject = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  if (details) {
    // As the real server's JSON (omitempty): no empty name or group (core kinds have none).
    const d = { ...details };
    if (d.name === "") delete d.name;
    if (d.group === "") delete d.group;
    body.details = d;
  }
  return body;
}

/** A path the server does not serve. */
export const pathNotFound = (): ApiError =>
  new ApiError(404, "NotFound", "the server could not find the requested resource");

/** An object that is not there: `plural.group "name" not found`. */
export function objectNotFound(rt: ResourceType, name: string): ApiError {
  return new ApiError(404, "NotFound", `${groupResource(rt)} "${name}" not found`, {
    name,
    group: rt.group,
    kind: rt.plural,
  });
}

/** A write refused for a changed resourceVersion or a failed delete precondition. */
export function conflict(rt: ResourceType, name: string, why: string): ApiError {
  return new ApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${groupResource(rt)} "${name}": ${why}`,
    {
      name,
      group: rt.group,
      kind: rt.plural,
    },
  );
}

/**
 * 422 Invalid as the real server words it: `Kind.group "name" is invalid: field: message`, the
 * fields in brackets when there are several; details.kind is the Kind, causes one per field.
 */
export function invalid(rt: ResourceType, name: string, causes: Cause[]): ApiError {
  const each = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = each.length === 1 ? each[0] : `[${each.join(", ")}]`;
  const kind = rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  return new ApiError(422, "Invalid", `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group: rt.group,
    kind: rt.kind,
    causes: causes as unknown as Json,
  });
}

/** The details of an object deleted at once (the `Success` Status a delete answers with). */
export function deleteDetails(rt: ResourceType, name: string, uid: string): JsonObject {
  const d: JsonObject = { name };
  if (rt.group !== "") d.group = rt.group;
  d.kind = rt.plural;
  d.uid = uid;
  return d;
}

export function toMillis(v: Json | undefined): number | undefined {
  const ms = Date.parse(String(v));
  return Number.isNaN(ms) ? undefined : ms;
}

/** A time as Go's time.Time prints it ("2020-01-01 00:00:00 +0000 UTC"). */
export function goTime(v: Json): string {
  const ms = toMillis(v);
  if (ms === undefined) return JSON.stringify(v);
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, " +0000 UTC");
}
