// Retrying Kubernetes API calls that may succeed on another try: conflicts, throttling, server errors and
// network errors, with jittered exponential backoff and respect for Retry-After.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The HTTP status of an error from @kubernetes/client-node 1.x: `ApiException.code` for API calls,
 * `statusCode` for a Watch that failed to start. Undefined for network errors (whose `code` is a string
 * such as "ECONNRESET") and anything else.
 */
export function statusCode(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown; response?: { statusCode?: unknown } };
  if (typeof e.code === "number") return e.code;
  if (typeof e.statusCode === "number") return e.statusCode;
  if (typeof e.response?.statusCode === "number") return e.response.statusCode;
  return undefined;
}

/** The Status object in an ApiException's body (client-node 1.x keeps the raw text), if any. */
export function statusBody(
  err: unknown,
): { reason?: string; message?: string; details?: Record<string, unknown> } | undefined {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const parsed = JSON.parse(body) as unknown;
      return typeof parsed === "object" && parsed !== null
        ? (parsed as ReturnType<typeof statusBody>)
        : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof body === "object" && body !== null ? (body as ReturnType<typeof statusBody>) : undefined;
}

/** The Status reason ("Conflict", "AlreadyExists", "NotFound", ...), if the error carries one. */
export function statusReason(err: unknown): string | undefined {
  return statusBody(err)?.reason;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

/** A failure below HTTP: connection refused or reset, DNS, a socket that hung up. */
export function isNetworkError(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; type?: unknown; cause?: unknown; message?: unknown };
  if (typeof e.code === "string" && NETWORK_CODES.has(e.code)) return true;
  if (e.type === "system") return true; // node-fetch FetchError for a socket error
  if (typeof e.message === "string" && /socket hang up|network|ECONNRESET|ECONNREFUSED/i.test(e.message)) {
    return true;
  }
  return e.cause !== undefined && e.cause !== err && isNetworkError(e.cause);
}

/** Retried by default: 409 Conflict (the caller re-reads on each attempt), 429, 5xx and network errors. */
export function isRetryable(err: unknown): boolean {
  const code = statusCode(err);
  if (code === undefined) return isNetworkError(err);
  return code === 409 || code === 429 || code >= 500;
}

/** Retry-After in milliseconds, from the header or the Status' details.retryAfterSeconds. */
export function retryAfterMs(err: unknown): number | undefined {
  const headers = (err as { headers?: unknown } | null)?.headers;
  let raw: unknown;
  if (headers && typeof headers === "object") {
    const h = headers as Record<string, unknown> & { get?: (k: string) => unknown };
    raw = typeof h.get === "function" ? h.get("retry-after") : (h["retry-after"] ?? h["Retry-After"]);
  }
  if (raw === undefined || raw === null) raw = statusBody(err)?.details?.retryAfterSeconds;
  if (raw === undefined || raw === null) return undefined;
  const s = Number(raw);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const date = Date.parse(String(raw));
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export interface BackoffOptions {
  /** First delay, ms. Default 100. */
  base?: number;
  /** Largest delay, ms. Default 10 000. */
  max?: number;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
}

/** Exponential backoff with jitter: attempt 0 → about `base`, doubling, capped at `max`; 50–100 % of that. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.base ?? 100;
  const max = opts.max ?? 10_000;
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling * (0.5 + 0.5 * (opts.random ?? Math.random)()));
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt. Default 5. */
  retries?: number;
  /** Which errors to retry. Default isRetryable. */
  retryOn?: (err: unknown) => boolean;
  /** Cap on a server-requested Retry-After, ms. Default 60 000. */
  maxRetryAfter?: number;
  /** Stops retrying (the last error is thrown) once aborted. */
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Calls `fn` until it resolves, a non-retryable error occurs, or `retries` retries are used up; the
 * last error is thrown. `fn` gets the attempt number (0 first) and must redo any read it depends on, so
 * that a retry after 409 Conflict works from fresh state.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? 5;
  const retryOn = opts.retryOn ?? isRetryable;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !retryOn(err) || opts.signal?.aborted) throw err;
      const after = retryAfterMs(err);
      const delay =
        after !== undefined ? Math.min(after, opts.maxRetryAfter ?? 60_000) : backoffDelay(attempt, opts);
      opts.onRetry?.(err, attempt + 1, delay);
      try {
        await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : undefined);
      } catch {
        throw err;
      }
    }
  }
}
