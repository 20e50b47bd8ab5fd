// Manifests are read as YAML 1.2, but kubectl reads them as YAML 1.1, where an unquoted `on`, `yes`,
// `n` or `~` is a boolean or null and `012` or `1_000` a number. A file render accepts could then be
// applied as something else (a Lane whose `exact: on` the API server refuses). This finds the first
// such value of each document so render can warn about it.
import { parseAllDocuments } from "yaml";
import { deepEqual } from "../render/index.js";

/** The first path where two parsed values differ, with both values, or null when they are equal. */
function firstDifference(a: unknown, b: unknown, at: string): { at: string; a: unknown; b: unknown } | null {
  if (deepEqual(a, b)) return null;
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
    if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
      for (let i = 0; i < a.length; i++) {
        const d = firstDifference(a[i], b[i], `${at}[${i}]`);
        if (d) return d;
      }
    } else if (!Array.isArray(a) && !Array.isArray(b)) {
      const ra = a as Record<string, unknown>;
      const rb = b as Record<string, unknown>;
      const keys = Object.keys(ra);
      if (keys.length === Object.keys(rb).length && keys.every((k) => k in rb)) {
        for (const k of keys) {
          const d = firstDifference(ra[k], rb[k], at ? `${at}.${k}` : k);
          if (d) return d;
        }
      }
    }
  }
  return { at: at || "(the document)", a, b };
}

/**
 * For each document of `text` that a YAML 1.1 reader would read differently from render, one message:
 * `<path>: kubectl (YAML 1.1) reads <1.2 value> as <1.1 value>; quote it`. Documents that do not parse
 * are left to the manifest parser, which reports them.
 */
export function yaml11Misreadings(text: string): { document: number; message: string }[] {
  const as12 = parseAllDocuments(text, { prettyErrors: false });
  const as11 = parseAllDocuments(text, { prettyErrors: false, version: "1.1" });
  if (!Array.isArray(as12) || !Array.isArray(as11) || as12.length !== as11.length) return [];
  const out: { document: number; message: string }[] = [];
  as12.forEach((doc, i) => {
    const other = as11[i];
    if (doc.errors.length > 0 || other.errors.length > 0) return;
    let v12: unknown;
    let v11: unknown;
    try {
      v12 = doc.toJS({ maxAliasCount: 100 });
      v11 = other.toJS({ maxAliasCount: 100 });
    } catch {
      return;
    }
    const d = firstDifference(v12, v11, "");
    if (d) {
      const show = (v: unknown) => JSON.stringify(v) ?? String(v);
      out.push({
        document: i + 1,
        message: `${d.at}: kubectl (YAML 1.1) reads ${show(d.a)} as ${show(d.b)}; quote it`,
      });
    }
  });
  return out;
}
