// Label and field selectors as the apiserver parses them from `labelSelector` / `fieldSelector`.
import { isObject, type Json } from "./json.js";

export class SelectorError extends Error {}

export type Matcher = (obj: Json) => boolean;

interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!";
  values: string[];
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== "");
}

function parseLabelTerm(term: string): Requirement {
  let m = /^([^\s=!()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m) {
    const values = m[3]
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    return { key: m[1], op: m[2] as "in" | "notin", values };
  }
  m = /^([^\s=!()]+)\s*(==|=|!=)\s*([^\s=!(),]*)$/.exec(term);
  if (m) return { key: m[1], op: m[2] === "!=" ? "!=" : "=", values: [m[3]] };
  m = /^!\s*([^\s=!()]+)$/.exec(term);
  if (m) return { key: m[1], op: "!", values: [] };
  m = /^([^\s=!()]+)$/.exec(term);
  if (m) return { key: m[1], op: "exists", values: [] };
  throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
}

function holds(req: Requirement, value: string | undefined): boolean {
  switch (req.op) {
    case "=":
      return value === req.values[0];
    case "!=":
      return value !== req.values[0];
    case "in":
      return value !== undefined && req.values.includes(value);
    case "notin":
      return value === undefined || !req.values.includes(value);
    case "exists":
      return value !== undefined;
    case "!":
      return value === undefined;
  }
}

export function labelMatcher(selector: string | null | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = splitTerms(selector).map(parseLabelTerm);
  return (obj) => {
    const meta = isObject(obj) ? obj.metadata : undefined;
    const labels = isObject(meta) && isObject(meta.labels) ? meta.labels : {};
    return reqs.every((r) => {
      const v = labels[r.key];
      return holds(r, typeof v === "string" ? v : undefined);
    });
  };
}

/**
 * Field selectors: `path=value`, `path==value`, `path!=value`, joined by commas. Any dotted path is
 * accepted (the real server allows only a per-kind list: metadata.name, metadata.namespace, and a few
 * such as spec.nodeName or involvedObject.name); a missing field compares as "".
 */
export function fieldMatcher(selector: string | null | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = splitTerms(selector).map((term) => {
    const m = /^([A-Za-z0-9_.-]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw new SelectorError(`invalid field selector: ${JSON.stringify(term)}`);
    return { path: m[1].split("."), neg: m[2] === "!=", value: m[3] };
  });
  return (obj) =>
    reqs.every((r) => {
      let cur: Json | undefined = obj;
      for (const seg of r.path) cur = isObject(cur) ? cur[seg] : undefined;
      const s = cur === undefined || cur === null ? "" : String(cur);
      return (s === r.value) !== r.neg;
    });
}
