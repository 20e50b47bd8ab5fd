// The plugin configuration (docs/contracts.md, "Plugin configuration"): parsed and validated once, in proxy_on_configure, into the
// structures the request path uses. The first problem found is reported as "<field path>: <reason>"
// and the whole configuration is rejected; nothing here can trap on bad input.
import { JKind, JValue, parseJson } from "./lib/json";
import { compileRegex } from "./lib/regex";
import { Cidr, parseCidr } from "./lib/cidr";
import { saltState } from "./lib/hash";
import { intText, isLaneName, isToken, toLowerAscii } from "./lib/text";
import {
  Cond,
  COND_NONE,
  Match,
  NamedMatch,
  StringMatch,
  MATCH_CONTAINS,
  MATCH_EXACT,
  MATCH_ONE_OF,
  MATCH_PRESENT,
  MATCH_REGEX,
} from "./match";

export const ROLE_EDGE: i32 = 0;
export const ROLE_SIDECAR: i32 = 1;
/** An ambient-mode waypoint: remembers and restores on the one request it serves (see filter.ts). */
export const ROLE_WAYPOINT: i32 = 2;
const ROLES = '"edge", "sidecar" or "waypoint"';

export const STICKY_NONE: i32 = 0;
export const STICKY_HEADER: i32 = 1;
export const STICKY_COOKIE: i32 = 2;
export const STICKY_CLAIM: i32 = 3;
export const STICKY_SOURCE_IP: i32 = 4;

export const JWT_FROM_METADATA: i32 = 0;
export const JWT_FROM_HEADER: i32 = 1;

/** One dye rule. `percent` is in hundredths of a percent (0..10000), or -1 when the rule has none. */
export class Rule {
  lane: string = "";
  when: Match | null = null;
  percent: i32 = -1;
  sticky: i32 = STICKY_NONE;
  stickyName: string = "";
  /** saltState(lane): sticky buckets are salted with the lane. */
  salt: u64 = 0;
}

export class Config {
  role: i32 = ROLE_EDGE;
  laneHeader: string = "x-lane";
  baggageKey: string = "lane";
  /** The allow-list, or null for "any valid lane name". */
  lanes: Array<string> | null = null;
  defaultLane: string = "";
  trustedSources: Array<Cidr> = [];
  rules: Array<Rule> = [];
  /** Every rule's conditions in one list, in rule order (see Cond): what decide() walks. */
  conds: Array<Cond> = [];
  jwtFrom: i32 = JWT_FROM_METADATA;
  jwtHeader: string = "authorization";
  traceHeaders: Array<string> = ["x-request-id", "traceparent"];
  ttlSeconds: i32 = 60;
  capacity: i32 = 65536;
  echoHeader: string = "";
  /** Whether the edge and sidecar inbound record meshlane_responses_total and
   * meshlane_request_duration_milliseconds. */
  responseMetrics: bool = true;
  /** Whether any rule needs the source address, the JWT, cookies, baggage (to skip work). */
  needsSourceIp: bool = false;

  /** Adds a rule, and its conditions to `conds` (one that always holds for a rule without any). */
  addRule(rule: Rule): void {
    const conds = this.conds;
    const first = conds.length;
    const when = rule.when;
    if (when !== null) when.addConds(conds);
    if (conds.length == first) conds.push(new Cond(COND_NONE, "", null, null));
    for (let i = first; i < conds.length; i++) unchecked(conds[i]).skip = conds.length;
    unchecked(conds[conds.length - 1]).rule = this.rules.length;
    this.rules.push(rule);
  }

  /** Whether a lane value may be used: a valid lane name and, with an allow-list, on it. */
  allows(lane: string): bool {
    if (!isLaneName(lane)) return false;
    const list = this.lanes;
    if (list === null) return true;
    for (let i = 0; i < list.length; i++) if (unchecked(list[i]) == lane) return true;
    return false;
  }
}

export class ConfigResult {
  config: Config | null = null;
  error: string = "";
}

const MAX_CONFIG_BYTES = 1 << 20;

/** Parses and validates a plugin configuration. */
export function parseConfig(text: string): ConfigResult {
  const out = new ConfigResult();
  if (text.length > MAX_CONFIG_BYTES) {
    out.error = "configuration: larger than 1 MiB";
    return out;
  }
  const parsed = parseJson(text);
  const root = parsed.value;
  if (root === null) {
    out.error = "configuration: not valid JSON (" + parsed.error + ")";
    return out;
  }
  const p = new Parser();
  const cfg = p.config(root);
  if (p.error.length > 0) out.error = p.error;
  else out.config = cfg;
  return out;
}

const TOP_FIELDS: string[] = [
  "role",
  "laneHeader",
  "baggageKey",
  "lanes",
  "defaultLane",
  "trustedSources",
  "rules",
  "jwt",
  "propagation",
  "echoHeader",
  "responseMetrics",
];
const EDGE_ONLY: string[] = ["defaultLane", "trustedSources", "rules", "jwt"];
const RULE_FIELDS: string[] = ["lane", "when", "percent", "stickyBy"];
const WHEN_FIELDS: string[] = [
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
const MATCH_KINDS: string[] = ["exact", "prefix", "suffix", "contains", "regex", "present", "oneOf"];
const MATCH_FIELDS: string[] = [
  "exact",
  "prefix",
  "suffix",
  "contains",
  "regex",
  "present",
  "oneOf",
  "ignoreCase",
  "invert",
];
const STICKY_FIELDS: string[] = ["header", "cookie", "jwtClaim", "sourceIp"];
const JWT_FIELDS: string[] = ["from", "header", "allowUnverified"];
const PROPAGATION_FIELDS: string[] = ["traceHeaders", "ttlSeconds", "capacity"];

/** Header names as the proxy keys them: an RFC 7230 token, lower-cased, at most 256 characters. */
export function isHeaderName(s: string): bool {
  if (s.length > 256 || !isToken(s)) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return false;
  }
  return true;
}

function kindName(k: JKind): string {
  switch (k) {
    case JKind.Null:
      return "null";
    case JKind.Bool:
      return "a boolean";
    case JKind.Number:
      return "a number";
    case JKind.String:
      return "a string";
    case JKind.Array:
      return "an array";
  }
  return "an object";
}

// Field paths are built from the field names the parser already holds (rather than literals such
// as ".regex"): each literal left out is a string less in the module.

/** The path of field `name` under `path` (just `name` at the top). */
function field(path: string, name: string): string {
  return path.length > 0 ? path + "." + name : name;
}

/** The path of item `i` of the list at `path`. */
function item(path: string, i: i32): string {
  return path + "[" + intText(i) + "]";
}

function contains(list: string[], s: string): bool {
  for (let i = 0; i < list.length; i++) if (unchecked(list[i]) == s) return true;
  return false;
}

/** Walks the JSON tree; records the first error and returns defaults after it. */
class Parser {
  error: string = "";

  fail(path: string, reason: string): void {
    if (this.error.length == 0) this.error = path + ": " + reason;
  }

  expect(v: JValue, kind: JKind, path: string, what: string): bool {
    if (v.kind == kind) return true;
    this.fail(path, "expected " + what + ", got " + kindName(v.kind));
    return false;
  }

  /** Checks that an object has only the known fields. */
  onlyFields(v: JValue, allowed: string[], path: string): bool {
    for (let i = 0; i < v.keys.length; i++) {
      const k = unchecked(v.keys[i]);
      if (!contains(allowed, k)) {
        this.fail(field(path, k), "unknown field (expected one of " + allowed.join("|") + ")");
        return false;
      }
      for (let j = 0; j < i; j++) {
        if (unchecked(v.keys[j]) == k) {
          this.fail(field(path, k), "field given twice");
          return false;
        }
      }
    }
    return true;
  }

  str(v: JValue, path: string): string {
    if (!this.expect(v, JKind.String, path, "a string")) return "";
    return v.s;
  }

  bool(v: JValue, path: string): bool {
    if (!this.expect(v, JKind.Bool, path, "a boolean")) return false;
    return v.b;
  }

  int(v: JValue, path: string, min: i32, max: i32): i32 {
    if (!this.expect(v, JKind.Number, path, "an integer")) return min;
    if (!v.isInteger() || v.n < <f64>min || v.n > <f64>max) {
      this.fail(path, "expected an integer from " + intText(min) + " to " + intText(max));
      return min;
    }
    return <i32>v.n;
  }

  headerName(v: JValue, path: string, allowEmpty: bool): string {
    const s = this.str(v, path);
    if (this.error.length > 0) return "";
    if (s.length == 0 && allowEmpty) return "";
    const lower = toLowerAscii(s);
    if (!isHeaderName(lower)) {
      this.fail(path, "not a valid header name: " + quote(s));
      return "";
    }
    return lower;
  }

  laneName(v: JValue, path: string): string {
    const s = this.str(v, path);
    if (this.error.length > 0) return "";
    if (!isLaneName(s)) {
      this.fail(path, "not a valid lane name (lower-case letters, digits and '-', at most 63): " + quote(s));
      return "";
    }
    return s;
  }

  config(root: JValue): Config {
    const cfg = new Config();
    if (!this.expect(root, JKind.Object, "configuration", "a JSON object")) return cfg;
    if (!this.onlyFields(root, TOP_FIELDS, "")) return cfg;

    const role = root.get("role");
    if (role === null) {
      this.fail("role", "required: " + ROLES);
      return cfg;
    }
    const r = this.str(role, "role");
    if (r == "edge") cfg.role = ROLE_EDGE;
    else if (r == "sidecar") cfg.role = ROLE_SIDECAR;
    else if (r == "waypoint") cfg.role = ROLE_WAYPOINT;
    else {
      this.fail("role", "expected " + ROLES + ", got " + quote(r));
      return cfg;
    }
    if (cfg.role != ROLE_EDGE) {
      for (let i = 0; i < EDGE_ONLY.length; i++) {
        if (root.get(unchecked(EDGE_ONLY[i])) !== null) {
          this.fail(unchecked(EDGE_ONLY[i]), 'applies only to role "edge"');
          return cfg;
        }
      }
    }

    const lh = root.get("laneHeader");
    if (lh !== null) cfg.laneHeader = this.headerName(lh, "laneHeader", false);
    const bk = root.get("baggageKey");
    if (bk !== null) {
      const s = this.str(bk, "baggageKey");
      if (s.length > 0 && !isBaggageKey(s)) this.fail("baggageKey", "not a valid baggage key: " + quote(s));
      cfg.baggageKey = s;
    }
    const lanes = root.get("lanes");
    if (lanes !== null && this.expect(lanes, JKind.Array, "lanes", "an array of lane names")) {
      const list = new Array<string>();
      for (let i = 0; i < lanes.items.length; i++) {
        list.push(this.laneName(unchecked(lanes.items[i]), item("lanes", i)));
      }
      cfg.lanes = list;
    }
    const dl = root.get("defaultLane");
    if (dl !== null) {
      const s = this.str(dl, "defaultLane");
      if (s.length > 0) {
        const name = this.laneName(dl, "defaultLane");
        if (this.error.length == 0 && !cfg.allows(name))
          this.fail("defaultLane", quote(s) + " is not in lanes");
        cfg.defaultLane = name;
      }
    }
    const ts = root.get("trustedSources");
    if (ts !== null) cfg.trustedSources = this.cidrs(ts, "trustedSources");
    const jwt = root.get("jwt");
    if (jwt !== null) this.jwt(jwt, cfg);
    const rules = root.get("rules");
    if (rules !== null && this.expect(rules, JKind.Array, "rules", "an array of rules")) {
      for (let i = 0; i < rules.items.length; i++) {
        cfg.addRule(this.rule(unchecked(rules.items[i]), item("rules", i), cfg));
      }
    }
    const prop = root.get("propagation");
    if (prop !== null) this.propagation(prop, cfg);
    const echo = root.get("echoHeader");
    if (echo !== null) cfg.echoHeader = this.headerName(echo, "echoHeader", true);
    const rm = root.get("responseMetrics");
    if (rm !== null) cfg.responseMetrics = this.bool(rm, "responseMetrics");
    return cfg;
  }

  cidrs(v: JValue, path: string): Array<Cidr> {
    const out = new Array<Cidr>();
    if (!this.expect(v, JKind.Array, path, "an array of CIDR ranges")) return out;
    for (let i = 0; i < v.items.length; i++) {
      const p = item(path, i);
      const s = this.str(unchecked(v.items[i]), p);
      if (this.error.length > 0) return out;
      const c = parseCidr(s);
      if (c === null) {
        this.fail(p, "not a CIDR range or address: " + quote(s));
        return out;
      }
      out.push(c);
    }
    return out;
  }

  jwt(v: JValue, cfg: Config): void {
    if (!this.expect(v, JKind.Object, "jwt", "an object")) return;
    if (!this.onlyFields(v, JWT_FIELDS, "jwt")) return;
    const from = v.get("from");
    let allow = false;
    const au = v.get("allowUnverified");
    if (au !== null) allow = this.bool(au, field("jwt", "allowUnverified"));
    if (from !== null) {
      const f = this.str(from, field("jwt", "from"));
      if (f == "metadata") cfg.jwtFrom = JWT_FROM_METADATA;
      else if (f == "header") cfg.jwtFrom = JWT_FROM_HEADER;
      else this.fail(field("jwt", "from"), 'expected "metadata" or "header", got ' + quote(f));
    }
    const h = v.get("header");
    if (h !== null) cfg.jwtHeader = this.headerName(h, field("jwt", "header"), false);
    if (this.error.length > 0) return;
    if (cfg.jwtFrom == JWT_FROM_HEADER && !allow) {
      this.fail(
        field("jwt", "from"),
        '"header" decodes tokens without verifying them; set "allowUnverified": true to accept that, or use "metadata" with Istio RequestAuthentication',
      );
    }
  }

  propagation(v: JValue, cfg: Config): void {
    if (!this.expect(v, JKind.Object, "propagation", "an object")) return;
    if (!this.onlyFields(v, PROPAGATION_FIELDS, "propagation")) return;
    const th = v.get("traceHeaders");
    if (
      th !== null &&
      this.expect(th, JKind.Array, field("propagation", "traceHeaders"), "an array of header names")
    ) {
      const list = new Array<string>();
      for (let i = 0; i < th.items.length; i++) {
        const name = this.headerName(
          unchecked(th.items[i]),
          item(field("propagation", "traceHeaders"), i),
          false,
        );
        // A header listed twice is keyed once: the sidecar writes and reads each trace key once.
        if (!list.includes(name)) list.push(name);
      }
      if (list.length == 0) this.fail(field("propagation", "traceHeaders"), "needs at least one header");
      cfg.traceHeaders = list;
    }
    const ttl = v.get("ttlSeconds");
    if (ttl !== null) cfg.ttlSeconds = this.int(ttl, field("propagation", "ttlSeconds"), 1, 86400);
    const cap = v.get("capacity");
    if (cap !== null) cfg.capacity = this.int(cap, field("propagation", "capacity"), 1, 1 << 22);
  }

  rule(v: JValue, path: string, cfg: Config): Rule {
    const rule = new Rule();
    if (!this.expect(v, JKind.Object, path, "a rule object")) return rule;
    if (!this.onlyFields(v, RULE_FIELDS, path)) return rule;
    const lane = v.get("lane");
    if (lane === null) {
      this.fail(field(path, "lane"), "required");
      return rule;
    }
    rule.lane = this.laneName(lane, field(path, "lane"));
    rule.salt = saltState(rule.lane);
    if (this.error.length > 0) return rule;
    if (!cfg.allows(rule.lane)) {
      this.fail(field(path, "lane"), quote(rule.lane) + " is not in lanes");
      return rule;
    }
    const when = v.get("when");
    if (when !== null) rule.when = this.when(when, field(path, "when"), cfg);
    const pct = v.get("percent");
    if (pct !== null) {
      const p = field(path, "percent");
      if (this.expect(pct, JKind.Number, p, "a number from 0 to 100")) {
        const hundredths = pct.n * 100.0;
        const rounded = Math.round(hundredths);
        if (!(pct.n >= 0.0 && pct.n <= 100.0)) this.fail(p, "expected a number from 0 to 100");
        else if (Math.abs(hundredths - rounded) > 1e-6) this.fail(p, "at most two decimals");
        else rule.percent = <i32>rounded;
      }
    }
    const sticky = v.get("stickyBy");
    if (sticky !== null) {
      const p = field(path, "stickyBy");
      if (pct === null) {
        this.fail(p, "needs percent (stickyBy only decides who falls in the percentage)");
        return rule;
      }
      const keys = STICKY_FIELDS.join("|");
      if (!this.expect(sticky, JKind.Object, p, "an object with one of " + keys)) return rule;
      if (!this.onlyFields(sticky, STICKY_FIELDS, p)) return rule;
      if (sticky.keys.length != 1) {
        this.fail(p, "expected exactly one of " + keys);
        return rule;
      }
      const k = unchecked(sticky.keys[0]);
      const val = unchecked(sticky.values[0]);
      if (k == "header") {
        rule.sticky = STICKY_HEADER;
        rule.stickyName = this.headerName(val, field(p, "header"), false);
      } else if (k == "cookie") {
        rule.sticky = STICKY_COOKIE;
        rule.stickyName = this.nonEmpty(val, field(p, "cookie"));
      } else if (k == "jwtClaim") {
        rule.sticky = STICKY_CLAIM;
        rule.stickyName = this.nonEmpty(val, field(p, "jwtClaim"));
      } else {
        rule.sticky = STICKY_SOURCE_IP;
        if (!this.bool(val, field(p, "sourceIp")) && this.error.length == 0)
          this.fail(field(p, "sourceIp"), "must be true");
        cfg.needsSourceIp = true;
      }
    }
    return rule;
  }

  nonEmpty(v: JValue, path: string): string {
    const s = this.str(v, path);
    if (this.error.length == 0 && s.length == 0) this.fail(path, "must not be empty");
    return s;
  }

  when(v: JValue, path: string, cfg: Config): Match {
    const m = new Match();
    if (!this.expect(v, JKind.Object, path, "a match object")) return m;
    if (!this.onlyFields(v, WHEN_FIELDS, path)) return m;
    // WHEN_FIELDS in order: five maps of name → StringMatch (headers first), three StringMatches.
    for (let k = 0; k < 8; k++) {
      const f = unchecked(WHEN_FIELDS[k]);
      const x = v.get(f);
      if (x === null) continue;
      const p = field(path, f);
      if (k < 5) {
        const list = this.namedMatches(x, p, k == 0);
        if (k == 0) m.headers = list;
        else if (k == 1) m.cookies = list;
        else if (k == 2) m.query = list;
        else if (k == 3) m.jwtClaims = list;
        else m.baggage = list;
      } else {
        const sm = this.stringMatch(x, p);
        if (k == 5) m.path = sm;
        else if (k == 6) m.method = sm;
        else m.authority = sm;
      }
    }
    const s = v.get("sourceIp");
    if (s !== null) {
      m.sourceIp = this.cidrs(s, field(path, "sourceIp"));
      cfg.needsSourceIp = true;
    }
    return m;
  }

  namedMatches(v: JValue, path: string, headerNames: bool): Array<NamedMatch> {
    const out = new Array<NamedMatch>();
    if (!this.expect(v, JKind.Object, path, "an object of name → StringMatch")) return out;
    for (let i = 0; i < v.keys.length; i++) {
      let name = unchecked(v.keys[i]);
      const p = field(path, name);
      if (name.length == 0) {
        this.fail(p, "empty name");
        return out;
      }
      if (headerNames) {
        name = toLowerAscii(name);
        if (!isHeaderName(name)) {
          this.fail(p, "not a valid header name: " + quote(name));
          return out;
        }
      }
      out.push(new NamedMatch(name, this.stringMatch(unchecked(v.values[i]), p)));
      if (this.error.length > 0) return out;
    }
    return out;
  }

  stringMatch(v: JValue, path: string): StringMatch {
    const m = new StringMatch();
    const expected = "expected exactly one of " + MATCH_KINDS.join("|");
    if (!this.expect(v, JKind.Object, path, "a StringMatch object")) return m;
    if (!this.onlyFields(v, MATCH_FIELDS, path)) return m;
    let kinds = 0;
    for (let i = 0; i < v.keys.length; i++) if (contains(MATCH_KINDS, unchecked(v.keys[i]))) kinds++;
    if (kinds != 1) {
      this.fail(path, expected);
      return m;
    }
    const ic = v.get("ignoreCase");
    if (ic !== null) m.ignoreCase = this.bool(ic, field(path, "ignoreCase"));
    const inv = v.get("invert");
    if (inv !== null) m.invert = this.bool(inv, field(path, "invert"));
    // exact, prefix, suffix, contains: MATCH_KINDS[k] is kind k, a string value.
    for (let k = MATCH_EXACT; k <= MATCH_CONTAINS; k++) {
      const name = unchecked(MATCH_KINDS[k]);
      const s = v.get(name);
      if (s !== null) {
        m.kind = k;
        m.value = this.str(s, field(path, name));
      }
    }
    let x = v.get("present");
    if (x !== null) {
      m.kind = MATCH_PRESENT;
      m.present = this.bool(x, field(path, "present"));
    }
    x = v.get("oneOf");
    if (x !== null) {
      m.kind = MATCH_ONE_OF;
      if (this.expect(x, JKind.Array, field(path, "oneOf"), "an array of strings")) {
        if (x.items.length == 0) this.fail(field(path, "oneOf"), "needs at least one value");
        for (let i = 0; i < x.items.length; i++) {
          const s = this.str(unchecked(x.items[i]), item(field(path, "oneOf"), i));
          m.values.push(m.ignoreCase ? toLowerAscii(s) : s);
        }
      }
    }
    x = v.get("regex");
    if (x !== null) {
      m.kind = MATCH_REGEX;
      const pattern = this.str(x, field(path, "regex"));
      if (this.error.length > 0) return m;
      if (m.ignoreCase) {
        this.fail(
          field(path, "ignoreCase"),
          "does not apply to regex (write the pattern to accept both cases)",
        );
        return m;
      }
      const compiled = compileRegex(pattern);
      if (compiled.regex === null) this.fail(field(path, "regex"), compiled.error);
      m.regex = compiled.regex;
      m.value = requiredLiteral(pattern);
    }
    if (m.ignoreCase) m.value = toLowerAscii(m.value);
    m.seal();
    return m;
  }
}

/** A W3C baggage key is an RFC 7230 token. */
function isBaggageKey(s: string): bool {
  if (s.length > 256) return false;
  return isHeaderName(toLowerAscii(s));
}

function quote(s: string): string {
  let short = s.length > 64 ? s.substring(0, 64) + "…" : s;
  return '"' + short + '"';
}

/** For a pattern of the form `.*LITERAL.*` with a literal of letters and digits only, the literal:
 * every match contains it, so a value without it is refused without running the automaton. ""
 * for any other pattern. */
function requiredLiteral(pattern: string): string {
  const n = pattern.length;
  const dotStar = ((<u32>0x2a) << 16) | 0x2e; // ".*" as two UTF-16 units
  const base = changetype<usize>(pattern);
  if (n < 5 || load<u32>(base) != dotStar || load<u32>(base + ((<usize>(n - 2)) << 1)) != dotStar) return "";
  for (let i = 2; i < n - 2; i++) {
    const c = <u32>pattern.charCodeAt(i);
    if ((c | 0x20) - 0x61 >= 26 && c - 0x30 >= 10) return "";
  }
  return pattern.substring(2, n - 2);
}
