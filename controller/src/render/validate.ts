// Lane validation. The dye rules follow the filter's own config parser (assembly/config.ts) field by
// field, with the same field paths and reasons, so a Lane accepted here compiles into a plugin config
// the filter accepts. The CRD schema (manifests/crd) expresses the same rules where OpenAPI and CEL can.
// Regex syntax is only screened here (length, lookaround, backreferences, possessive quantifiers, \p,
// unbalanced groups); the exact check is the filter's configure, which callers can run on `laneProbes()`
// and feed back through `RenderOptions.laneVerdicts`.
import { isIP } from "node:net";
import { BASE_LANE, LANE_NAME_PATTERN, type KubeObject } from "./types.js";
import type { RolloutSpec } from "../rollout/engine.js";
import { rollout } from "./rollout.js";
import {
  Problems,
  expectBool,
  expectObject,
  expectString,
  fail,
  isHeaderName,
  kindName,
  onlyFields,
  quote,
  stickyBy,
} from "./fields.js";

export { isHeaderName };

/** A Lane's spec after validation, defaults applied. `dye` holds the rules as the filter reads them. */
export interface LaneSpec {
  fallback: string;
  priority: number;
  dye: Record<string, unknown>[];
  /** Labels of the gateways whose edge filter carries this Lane's rules; undefined: the default gateways. */
  gatewayLabels?: Record<string, string>;
  /** The progressive release of this lane, defaults applied (the controller's rollout.ts drives it). */
  rollout?: RolloutSpec;
}

const SPEC_FIELDS = ["fallback", "dye", "priority", "workloadSelector", "rollout"];
const RULE_FIELDS = ["when", "percent", "stickyBy"];
const WHEN_FIELDS = [
  "headers",
  "cookies",
  "query",
  "jwtClaims",
  "baggage",
  "path",
  "method",
  "authority",
  "sourceIp",
];
const NAMED_FIELDS = ["headers", "cookies", "query", "jwtClaims", "baggage"];
const SINGLE_FIELDS = ["path", "method", "authority"];
const MATCH_KINDS = ["exact", "prefix", "suffix", "contains", "regex", "present", "oneOf"];
const MATCH_FIELDS = [...MATCH_KINDS, "ignoreCase", "invert"];
const MAX_REGEX = 1024;

export function isLaneName(s: string): boolean {
  return LANE_NAME_PATTERN.test(s);
}

function isV4(s: string): boolean {
  return /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/.test(
    s,
  );
}

/** An address or CIDR range as the filter's parseCidr takes it: no leading zeros, no zone, prefix in range. */
export function isCidr(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false;
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const v6 = addr.includes(":");
  if (v6 ? addr.includes("%") || isIP(addr) !== 6 : !isV4(addr)) return false;
  if (slash < 0) return true;
  const prefix = s.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return false;
  return Number(prefix) <= (v6 ? 128 : 32);
}

/** Screens a pattern for syntax the filter's RE2-style engine refuses; returns the reason or "". */
export function regexProblem(p: string): string {
  if (p.length > MAX_REGEX) return `pattern longer than ${MAX_REGEX} characters`;
  let depth = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "\\") {
      const n = p[i + 1];
      if (n === undefined) return `at offset ${i}: trailing backslash at end of pattern`;
      if (n >= "1" && n <= "9") return `at offset ${i}: backreferences are not supported`;
      if (n === "p" || n === "P") return `at offset ${i}: unicode classes \\p and \\P are not supported`;
      i++;
    } else if (c === "[") {
      let j = i + 1;
      if (p[j] === "^") j++;
      if (p[j] === "]") j++;
      while (j < p.length && p[j] !== "]") j += p[j] === "\\" ? 2 : 1;
      if (j >= p.length) return `at offset ${i}: missing closing ]`;
      i = j;
    } else if (c === "(") {
      const rest = p.slice(i + 1, i + 4);
      if (rest.startsWith("?=") || rest.startsWith("?!")) return `at offset ${i}: lookahead is not supported`;
      if (rest.startsWith("?<=") || rest.startsWith("?<!"))
        return `at offset ${i}: lookbehind is not supported`;
      if (rest.startsWith("?P=") || rest.startsWith("?P>"))
        return `at offset ${i}: backreferences are not supported`;
      depth++;
    } else if (c === ")") {
      if (--depth < 0) return `at offset ${i}: unexpected ) without a matching (`;
    } else if ((c === "*" || c === "+" || c === "?" || c === "}") && p[i + 1] === "+") {
      return `at offset ${i + 1}: possessive quantifiers are not supported`;
    }
  }
  return depth > 0 ? "missing closing )" : "";
}

function stringMatch(v: unknown, path: string): Record<string, unknown> {
  const m = expectObject(v, path, "a StringMatch object");
  onlyFields(m, MATCH_FIELDS, path);
  const kinds = Object.keys(m).filter((k) => MATCH_KINDS.includes(k));
  if (kinds.length !== 1) fail(path, `expected exactly one of ${MATCH_KINDS.join("|")}`);
  if ("ignoreCase" in m) expectBool(m.ignoreCase, `${path}.ignoreCase`);
  if ("invert" in m) expectBool(m.invert, `${path}.invert`);
  const kind = kinds[0];
  if (kind === "present") expectBool(m.present, `${path}.present`);
  else if (kind === "oneOf") {
    if (!Array.isArray(m.oneOf))
      fail(`${path}.oneOf`, `expected an array of strings, got ${kindName(m.oneOf)}`);
    if (m.oneOf.length === 0) fail(`${path}.oneOf`, "needs at least one value");
    m.oneOf.forEach((s, i) => expectString(s, `${path}.oneOf[${i}]`));
  } else {
    const s = expectString(m[kind], `${path}.${kind}`);
    if (kind === "regex") {
      if (m.ignoreCase === true) {
        fail(`${path}.ignoreCase`, "does not apply to regex (write the pattern to accept both cases)");
      }
      const problem = regexProblem(s);
      if (problem) fail(`${path}.regex`, problem);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of MATCH_FIELDS) if (k in m) out[k] = m[k];
  return out;
}

function namedMatches(v: unknown, path: string, headerNames: boolean): Record<string, unknown> {
  const map = expectObject(v, path, "an object of name → StringMatch");
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(map).sort()) {
    const p = `${path}.${name}`;
    if (name.length === 0) fail(p, "empty name");
    // The filter names the header as it reads it: ASCII letters lower-cased.
    if (headerNames && !isHeaderName(name))
      fail(p, `not a valid header name: ${quote(name.replace(/[A-Z]/g, (c) => c.toLowerCase()))}`);
    out[name] = stringMatch(map[name], p);
  }
  return out;
}

function cidrs(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) fail(path, `expected an array of CIDR ranges, got ${kindName(v)}`);
  return v.map((item, i) => {
    const s = expectString(item, `${path}[${i}]`);
    if (!isCidr(s)) fail(`${path}[${i}]`, `not a CIDR range or address: ${quote(s)}`);
    return s;
  });
}

function when(v: unknown, path: string): Record<string, unknown> {
  const w = expectObject(v, path, "a match object");
  onlyFields(w, WHEN_FIELDS, path);
  const out: Record<string, unknown> = {};
  for (const k of WHEN_FIELDS) {
    if (!(k in w)) continue;
    if (NAMED_FIELDS.includes(k)) out[k] = namedMatches(w[k], `${path}.${k}`, k === "headers");
    else if (SINGLE_FIELDS.includes(k)) out[k] = stringMatch(w[k], `${path}.${k}`);
    else out[k] = cidrs(w[k], `${path}.${k}`);
  }
  return out;
}

function percent(v: unknown, path: string): number {
  if (typeof v !== "number") fail(path, `expected a number from 0 to 100, got ${kindName(v)}`);
  const hundredths = v * 100;
  if (!(v >= 0 && v <= 100)) fail(path, "expected a number from 0 to 100");
  if (Math.abs(hundredths - Math.round(hundredths)) > 1e-6) fail(path, "at most two decimals");
  return v;
}

function rule(v: unknown, path: string): Record<string, unknown> {
  const r = expectObject(v, path, "a rule object");
  if ("lane" in r)
    fail(`${path}.lane`, "not allowed here: a Lane's rules dye requests with the Lane's own name");
  onlyFields(r, RULE_FIELDS, path);
  const out: Record<string, unknown> = {};
  if ("when" in r) out.when = when(r.when, `${path}.when`);
  if ("percent" in r) out.percent = percent(r.percent, `${path}.percent`);
  if ("stickyBy" in r) {
    if (!("percent" in r)) {
      fail(`${path}.stickyBy`, "needs percent (stickyBy only decides who falls in the percentage)");
    }
    out.stickyBy = stickyBy(r.stickyBy, `${path}.stickyBy`);
  }
  return out;
}

function labelMap(v: unknown, path: string): Record<string, string> {
  const m = expectObject(v, path, "an object of label → value");
  const keys = Object.keys(m);
  if (keys.length === 0) fail(path, "needs at least one label");
  const out: Record<string, string> = {};
  for (const k of keys.sort()) out[k] = expectString(m[k], `${path}.${k}`);
  return out;
}

/**
 * Validates a Lane. Returns the normalised spec, or every problem found as "<field path>: <reason>",
 * joined with "; " (paths start at the object: `metadata.name`, `spec.dye[2].when.headers.agent`).
 * Each field of the spec, and each dye rule, is checked on its own, so one mistake does not hide the
 * next: a user fixes them all in one edit. Within one rule, the first problem is reported.
 */
export function validateLane(lane: KubeObject): { spec: LaneSpec } | { error: string } {
  const problems = new Problems();
  const name = lane.metadata.name;
  problems.check(() => {
    if (!isLaneName(name)) {
      fail(
        "metadata.name",
        `not a valid lane name (lower-case letters, digits and '-', at most 63): ${quote(name)}`,
      );
    }
    if (name === BASE_LANE) fail("metadata.name", `"${BASE_LANE}" is reserved for the stable workloads`);
  });
  const spec = problems.check(() =>
    lane.spec === undefined || lane.spec === null ? {} : expectObject(lane.spec, "spec", "an object"),
  );
  if (spec === undefined) return { error: problems.message };
  problems.check(() => onlyFields(spec, SPEC_FIELDS, "spec"));
  const fallback =
    problems.check(() => {
      if (!("fallback" in spec)) return BASE_LANE;
      const f = expectString(spec.fallback, "spec.fallback");
      if (!isLaneName(f)) fail("spec.fallback", `not a valid lane name: ${quote(f)}`);
      if (f === name) fail("spec.fallback", "a Lane cannot fall back to itself");
      return f;
    }) ?? BASE_LANE;
  const priority =
    problems.check(() => {
      if (!("priority" in spec)) return 0;
      const p = spec.priority;
      if (typeof p !== "number" || !Number.isInteger(p) || p < -2147483648 || p > 2147483647) {
        fail("spec.priority", "expected a 32-bit integer");
      }
      return p;
    }) ?? 0;
  const dye: Record<string, unknown>[] = [];
  if ("dye" in spec) {
    const rules = problems.check(() => {
      if (!Array.isArray(spec.dye)) fail("spec.dye", `expected an array of rules, got ${kindName(spec.dye)}`);
      return spec.dye as unknown[];
    });
    rules?.forEach((r, i) => {
      const out = problems.check(() => rule(r, `spec.dye[${i}]`));
      if (out !== undefined) dye.push(out);
    });
  }
  const out: LaneSpec = { fallback, priority, dye };
  if ("workloadSelector" in spec) {
    problems.check(() => {
      const ws = expectObject(spec.workloadSelector, "spec.workloadSelector", "an object");
      onlyFields(ws, ["labels"], "spec.workloadSelector");
      out.gatewayLabels = labelMap(ws.labels, "spec.workloadSelector.labels");
    });
  }
  if ("rollout" in spec) problems.check(() => (out.rollout = rollout(spec.rollout, "spec.rollout")));
  return problems.found.length > 0 ? { error: problems.message } : { spec: out };
}
