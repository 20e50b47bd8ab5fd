// The field checks Lane validation is built from: each throws `Invalid` with "<field path>: <reason>",
// and `Problems` gathers them, so validateLane reports every one. Shared by the dye rules
// (validate.ts) and the rollout (rollout.ts).

export class Invalid extends Error {}

const STICKY_FIELDS = ["header", "cookie", "jwtClaim", "sourceIp"];

export function fail(path: string, reason: string): never {
  throw new Invalid(`${path}: ${reason}`);
}

/** Problems gathered from checks run one after another, so one mistake does not hide the next. */
export class Problems {
  readonly found: string[] = [];

  /** Runs one check; the problem it throws is recorded, and the check gives undefined. */
  check<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (err) {
      if (!(err instanceof Invalid)) throw err;
      this.found.push(err.message);
      return undefined;
    }
  }

  /** Every problem, joined with "; ". */
  get message(): string {
    return this.found.join("; ");
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function kindName(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "boolean") return "a boolean";
  if (typeof v === "number") return "a number";
  if (typeof v === "string") return "a string";
  return "an object";
}

export function expectObject(v: unknown, path: string, what: string): Record<string, unknown> {
  if (!isObject(v)) fail(path, `expected ${what}, got ${kindName(v)}`);
  return v;
}

export function expectString(v: unknown, path: string): string {
  if (typeof v !== "string") fail(path, `expected a string, got ${kindName(v)}`);
  return v;
}

export function expectBool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, `expected a boolean, got ${kindName(v)}`);
  return v;
}

export function onlyFields(v: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) fail(`${path}.${k}`, `unknown field (expected one of ${allowed.join("|")})`);
  }
}

export function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? s.slice(0, 64) + "…" : s);
}

/** An RFC 7230 token after lower-casing, at most 256 characters: what the filter takes as a header name. */
export function isHeaderName(s: string): boolean {
  return s.length > 0 && s.length <= 256 && /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(s.toLowerCase());
}

export function stickyBy(v: unknown, path: string): Record<string, unknown> {
  const s = expectObject(v, path, "an object with one of header|cookie|jwtClaim|sourceIp");
  onlyFields(s, STICKY_FIELDS, path);
  const keys = Object.keys(s);
  if (keys.length !== 1) fail(path, "expected exactly one of header|cookie|jwtClaim|sourceIp");
  const k = keys[0];
  const p = `${path}.${k}`;
  if (k === "header") {
    const name = expectString(s.header, p);
    if (!isHeaderName(name)) fail(p, `not a valid header name: ${quote(name)}`);
  } else if (k === "sourceIp") {
    if (!expectBool(s.sourceIp, p)) fail(p, "must be true");
  } else if (expectString(s[k], p).length === 0) fail(p, "must not be empty");
  return { [k]: s[k] };
}
