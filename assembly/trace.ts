// Trace keys: what identifies one end-to-end request across hops, taken from the headers the
// application already forwards. Pure.

import { strLen, unitAt } from "./lib/raw";

const MAX_KEY = 128;

function isHex(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
}

/** The trace-id of a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), or null when malformed or
 * all zeros. Later versions may append fields after the flags; the first four are read. */
export function traceparentId(v: string): string | null {
  if (v.length < 55) return null;
  if (v.charCodeAt(2) != 0x2d || v.charCodeAt(35) != 0x2d || v.charCodeAt(52) != 0x2d) return null;
  if (v.length > 55 && v.charCodeAt(55) != 0x2d) return null;
  if (!isHex(v.charCodeAt(0)) || !isHex(v.charCodeAt(1))) return null;
  if (v.charCodeAt(0) == 0x66 && v.charCodeAt(1) == 0x66) return null; // version ff is invalid
  let zero = true;
  for (let i = 3; i < 35; i++) {
    const c = v.charCodeAt(i);
    if (!isHex(c)) return null;
    if (c != 0x30) zero = false;
  }
  if (zero) return null;
  return v.substring(3, 35);
}

/** A plain trace header value (x-request-id and the like) usable as a key: 1..128 visible ASCII
 * characters; anything else is no key at all, so it can never be confused with another trace. */
export function plainTraceKey(v: string): string | null {
  const n = strLen(v);
  if (n == 0 || n > MAX_KEY) return null;
  for (let i = 0; i < n; i++) {
    const c = unitAt(v, i);
    if (c <= 0x20 || c >= 0x7f) return null;
  }
  return v;
}

/** The key of one trace header's value: traceparent's trace-id, or the plain value. The header
 * name is part of the key, so different headers never collide. */
export function traceKey(header: string, value: string): string | null {
  const k = header == "traceparent" ? traceparentId(value) : plainTraceKey(value);
  if (k === null) return null;
  return header + "=" + k;
}
