// Structured JSON logs: one object per line with time, level and msg first, then the caller's fields.

export const LogLevel = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LogLevel;

export type Fields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every record (e.g. {component: "leader"}). */
  child(fields: Fields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  /** Records below this level are dropped. Default "info". */
  level?: LogLevel;
  /** Where each line goes (without its newline). Default: process.stderr. */
  sink?: (line: string) => void;
  /** Fields on every record. */
  fields?: Fields;
  /** Clock, for tests. */
  now?: () => Date;
}

export function isLogLevel(s: string): s is LogLevel {
  return Object.prototype.hasOwnProperty.call(LogLevel, s);
}

/** Errors become {message, code?, reason?}; bigints become strings; cycles are cut. */
function toJsonable(v: unknown, seen = new WeakSet<object>()): unknown {
  if (v instanceof Error) {
    const e = v as Error & { code?: unknown; statusCode?: unknown; body?: unknown };
    const out: Fields = { message: e.message.split("\n")[0] };
    if (e.code !== undefined) out.code = e.code;
    else if (e.statusCode !== undefined) out.code = e.statusCode;
    if (e.name && e.name !== "Error") out.type = e.name;
    return out;
  }
  if (typeof v === "bigint") return v.toString();
  if (typeof v !== "object" || v === null) return v;
  if (seen.has(v)) return "[cycle]";
  seen.add(v);
  if (Array.isArray(v)) return v.map((x) => toJsonable(x, seen));
  if (v instanceof Date) return v.toISOString();
  const out: Fields = {};
  for (const [k, x] of Object.entries(v)) out[k] = toJsonable(x, seen);
  return out;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? "info";
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + "\n"));
  const now = opts.now ?? (() => new Date());
  const base = opts.fields ?? {};
  const enabled = (l: LogLevel) => LogLevel[l] >= LogLevel[level];
  const emit = (l: LogLevel, msg: string, fields?: Fields) => {
    if (!enabled(l)) return;
    const record = {
      time: now().toISOString(),
      level: l,
      msg,
      ...(toJsonable({ ...base, ...fields }) as Fields),
    };
    sink(JSON.stringify(record));
  };
  return {
    level,
    enabled,
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger({ level, sink, now, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (the default for library pieces when the caller passes none). */
export const silentLogger: Logger = createLogger({ level: "error", sink: () => {} });
