// Small helpers shared by the fake API server's and the reconcile pieces' tests.
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";

/** Creates namespaces through the API, as a user would first (a real server refuses objects in others). */
export async function createNamespaces(kc: KubeConfig, ...names: string[]): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of names) await core.createNamespace({ body: { metadata: { name } } });
}

/** Polls `cond` until it returns a truthy value or `timeoutMs` passes (generous: CI machines are slow). */
export async function eventually<T>(
  cond: () => T | Promise<T>,
  what = "condition",
  timeoutMs = 15_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/** The HTTP status of a client-node error (ApiException.code, or statusCode from Watch). */
export function codeOf(e: unknown): number | undefined {
  const x = e as { code?: unknown; statusCode?: unknown };
  if (typeof x?.code === "number") return x.code;
  if (typeof x?.statusCode === "number") return x.statusCode;
  return undefined;
}

/** The Status body of a client-node ApiException (its body is the raw response text). */
export function statusOf(e: unknown): {
  reason?: string;
  code?: number;
  message?: string;
  details?: { causes?: { field: string; reason: string; message: string }[] };
} {
  const body = (e as { body?: unknown }).body;
  if (typeof body === "string") {
    try {
      return JSON.parse(body) as ReturnType<typeof statusOf>;
    } catch {
      return {};
    }
  }
  return (body ?? {}) as ReturnType<typeof statusOf>;
}

/** Awaits a promise that must reject; returns the error. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected the call to fail");
}
