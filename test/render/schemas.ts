// Schema validation for tests: objects are checked against the schemas the real servers enforce.
// - Istio kinds: the @kubernetes-models/istio models (their own ajv schemas), and Istio 1.30.3's CRDs
//   (test/schemas, copied from istio/istio) as a structural API server would apply them: unknown fields
//   are errors (the server would prune them silently), and the CEL rules are evaluated.
// - Lane: our CRD (manifests/crd) the same way.
// - Kubernetes kinds: the field/type maps of @kubernetes/client-node's generated models (Kubernetes
//   OpenAPI v1.34), with required fields read from the models' declarations.
// CEL rules are evaluated from a table of the rules these CRDs contain; a rule missing from the table
// fails validation rather than passing unchecked.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { register, validate } from "@kubernetes-models/validate";
import * as k8s from "@kubernetes/client-node";
import * as istioNet from "@kubernetes-models/istio/networking.istio.io/v1beta1";
import * as istioNetA3 from "@kubernetes-models/istio/networking.istio.io/v1alpha3";
import * as istioExt from "@kubernetes-models/istio/extensions.istio.io/v1alpha1";
import { fromRoot } from "../../controller/src/paths.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function loadYamlFile(file: string): Json[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS({ maxAliasCount: 1000 }))
    .filter((v) => v !== null && v !== undefined);
}

// ---------- CRD schemas through ajv ----------

/** An OpenAPI v3 CRD schema as ajv takes it: Kubernetes extensions removed, unknown fields forbidden. */
export function toAjvSchema(s: Json, root = true): Json {
  if (Array.isArray(s)) return s.map((x) => toAjvSchema(x, false));
  if (!isObject(s)) return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "description" || k.startsWith("x-kubernetes-")) continue;
    if (k === "properties") {
      out.properties = {};
      for (const [pk, pv] of Object.entries(v as Json)) out.properties[pk] = toAjvSchema(pv, false);
    } else if (["items", "additionalProperties", "not"].includes(k) && isObject(v)) {
      out[k] = toAjvSchema(v, false);
    } else if (["oneOf", "anyOf", "allOf"].includes(k)) {
      out[k] = (v as Json[]).map((x) => toAjvSchema(x, false));
    } else {
      out[k] = v;
    }
  }
  if (root) {
    out.properties = {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...out.properties,
    };
  }
  if (s["x-kubernetes-int-or-string"] && !s.anyOf) out.anyOf = [{ type: "integer" }, { type: "string" }];
  if (s.properties && !s["x-kubernetes-preserve-unknown-fields"] && s.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

function parseDuration(s: string): number {
  const m = /^((\d+(\.\d+)?)(h|ms|m|s|us|µs|ns))+$/.test(s)
    ? s.match(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)!
    : null;
  if (!m) throw new Error(`not a duration: ${s}`);
  const unit: Record<string, number> = { h: 3.6e6, m: 6e4, s: 1e3, ms: 1, us: 1e-3, µs: 1e-3, ns: 1e-6 };
  return m.reduce((t, part) => {
    const [, n, u] = part.match(/(\d+(?:\.\d+)?)(\D+)/)!;
    return t + Number(n) * unit[u];
  }, 0);
}

const LANE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** The CEL rules of the CRDs we validate against, written out in JavaScript. */
const CEL: Record<string, (self: Json) => boolean> = {
  // manifests/crd/lanes.meshlane.io.yaml
  "self.metadata.name.matches('^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$')": (s) =>
    LANE_NAME.test(s.metadata.name),
  "self.metadata.name != 'base'": (s) => s.metadata.name !== "base",
  "!has(self.spec) || !has(self.spec.fallback) || self.spec.fallback != self.metadata.name": (s) =>
    !s.spec || s.spec.fallback === undefined || s.spec.fallback !== s.metadata.name,
  "!has(self.stickyBy) || has(self.percent)": (s) => s.stickyBy === undefined || s.percent !== undefined,
  "!has(self.percent) || (self.percent * 100.0 - double(int(self.percent * 100.0 + 0.5)) < 0.000001 && double(int(self.percent * 100.0 + 0.5)) - self.percent * 100.0 < 0.000001)":
    (s) => {
      if (s.percent === undefined) return true;
      const h = s.percent * 100;
      const r = Math.trunc(h + 0.5);
      return h - r < 0.000001 && r - h < 0.000001;
    },
  "!has(self.regex) || !has(self.ignoreCase) || !self.ignoreCase": (s) =>
    s.regex === undefined || s.ignoreCase !== true,
  "self.map(s, s.percent).isSorted()": (s) =>
    s.every((x: Json, i: number) => i === 0 || s[i - 1].percent <= x.percent),
  "has(self.query) || self.name in ['request-success-rate', 'request-duration']": (s) =>
    s.query !== undefined || ["request-success-rate", "request-duration"].includes(s.name),
  "!has(self.min) || !has(self.max) || self.min <= self.max": (s) =>
    s.min === undefined || s.max === undefined || s.min <= s.max,
  // Istio 1.30.3
  'self.all(key, !key.contains("*"))': (s) => Object.keys(s).every((k) => !k.includes("*")),
  "self.all(key, key.size() != 0)": (s) => Object.keys(s).every((k) => k.length !== 0),
  '!self.contains("*")': (s) => !s.includes("*"),
  "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1": (s) =>
    [s.selector, s.targetRef, s.targetRefs].filter((x) => x !== undefined).length <= 1,
  "(has(self.workloadSelector) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1": (s) =>
    [s.workloadSelector, s.targetRefs].filter((x) => x !== undefined).length <= 1,
  'has(self.context) ? ((self.context == "WAYPOINT") ? has(self.waypoint) : !has(self.waypoint)) : !has(self.waypoint)':
    (s) => (s.context === "WAYPOINT" ? s.waypoint !== undefined : s.waypoint === undefined),
  "self.size() == 0": (s) => s.length === 0,
  'isURL(self) ? (url(self).getScheme() in ["", "http", "https", "oci", "file"]) : (isURL("http://" + self) && url("http://" + self).getScheme() in ["", "http", "https", "oci", "file"])':
    (s) => {
      const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
      return m ? ["http", "https", "oci", "file"].includes(m[1].toLowerCase()) : URL.canParse("http://" + s);
    },
  "duration(self) >= duration('1ms')": (s) => parseDuration(s) >= 1,
  '(has(self.valueFrom) ? self.valueFrom : "") != "HOST" || !has(self.value)': (s) =>
    s.valueFrom !== "HOST" || s.value === undefined,
  "0 < self && self <= 65535": (s) => 0 < s && s <= 65535,
  // Gateway API v1.2.1 HTTPRoute (standard channel)
  ...gatewayApiCel(),
};

/** The CEL rules of the Gateway API HTTPRoute CRD (v1.2.1, standard), as JavaScript. */
function gatewayApiCel(): Record<string, (self: Json) => boolean> {
  const has = (o: Json, k: string) => isObject(o) && o[k] !== undefined;
  const same = (a: Json, b: Json) => (a ?? "") === (b ?? "");
  const sameParent = (p1: Json, p2: Json) =>
    p1.group === p2.group && p1.kind === p2.kind && p1.name === p2.name && same(p1.namespace, p2.namespace);
  const noSection = (p: Json) => (p.sectionName ?? "") === "";
  const pathOk = (rule: Json, pred: (f: Json) => boolean): boolean => {
    const m = rule.matches ?? [];
    return !(m.length !== 1 || !has(m[0], "path") || m[0].path.type !== "PathPrefix") || !pred(rule);
  };
  const prefixRedirect = (f: Json) =>
    has(f, "requestRedirect") &&
    has(f.requestRedirect, "path") &&
    f.requestRedirect.path.type === "ReplacePrefixMatch" &&
    has(f.requestRedirect.path, "replacePrefixMatch");
  const prefixRewrite = (f: Json) =>
    has(f, "urlRewrite") &&
    has(f.urlRewrite, "path") &&
    f.urlRewrite.path.type === "ReplacePrefixMatch" &&
    has(f.urlRewrite.path, "replacePrefixMatch");
  const one = (xs: Json[] | undefined, pred: (x: Json) => boolean) => (xs ?? []).filter(pred).length === 1;
  const out: Record<string, (self: Json) => boolean> = {
    "self.all(p1, self.all(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) ? ((!has(p1.sectionName) || p1.sectionName == '') == (!has(p2.sectionName) || p2.sectionName == '')) : true))":
      (s) => s.every((a: Json) => s.every((b: Json) => !sameParent(a, b) || noSection(a) === noSection(b))),
    "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))":
      (s) => s.every((a: Json) => one(s, (b) => sameParent(a, b) && same(a.sectionName, b.sectionName))),
    "(has(self.backendRefs) && size(self.backendRefs) > 0) ? (!has(self.filters) || self.filters.all(f, !has(f.requestRedirect))): true":
      (s) => !(s.backendRefs?.length > 0) || (s.filters ?? []).every((f: Json) => !has(f, "requestRedirect")),
    "(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true":
      (s) => pathOk(s, (r) => one(r.filters, prefixRedirect)),
    "(has(self.filters) && self.filters.exists_one(f, has(f.urlRewrite) && has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch' && has(f.urlRewrite.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true":
      (s) => pathOk(s, (r) => one(r.filters, prefixRewrite)),
    "(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true":
      (s) => pathOk(s, (r) => one(r.backendRefs, (b) => one(b.filters, prefixRedirect))),
    "(has(self.backendRefs) && self.backendRefs.exists_one(b, (has(b.filters) && b.filters.exists_one(f, has(f.urlRewrite) && has(f.urlRewrite.path) && f.urlRewrite.path.type == 'ReplacePrefixMatch' && has(f.urlRewrite.path.replacePrefixMatch))) )) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true":
      (s) => pathOk(s, (r) => one(r.backendRefs, (b) => one(b.filters, prefixRewrite))),
    "(size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true": (s) =>
      !((s.group ?? "") === "" && s.kind === "Service") || s.port !== undefined,
    "!(self.exists(f, f.type == 'RequestRedirect') && self.exists(f, f.type == 'URLRewrite'))": (s) =>
      !(s.some((f: Json) => f.type === "RequestRedirect") && s.some((f: Json) => f.type === "URLRewrite")),
    '(self.type in [\'Exact\',\'PathPrefix\']) ? self.value.matches(r"""^(?:[-A-Za-z0-9/._~!$&\'()*+,;=:@]|[%][0-9a-fA-F]{2})+$""") : true':
      (s) =>
        !["Exact", "PathPrefix"].includes(s.type) ||
        /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$/.test(s.value),
    "self.type in ['Exact','PathPrefix'] || self.type == 'RegularExpression'": (s) =>
      ["Exact", "PathPrefix", "RegularExpression"].includes(s.type),
    "self.type == 'ReplaceFullPath' ? has(self.replaceFullPath) : true": (s) =>
      s.type !== "ReplaceFullPath" || s.replaceFullPath !== undefined,
    "has(self.replaceFullPath) ? self.type == 'ReplaceFullPath' : true": (s) =>
      s.replaceFullPath === undefined || s.type === "ReplaceFullPath",
    "self.type == 'ReplacePrefixMatch' ? has(self.replacePrefixMatch) : true": (s) =>
      s.type !== "ReplacePrefixMatch" || s.replacePrefixMatch !== undefined,
    "has(self.replacePrefixMatch) ? self.type == 'ReplacePrefixMatch' : true": (s) =>
      s.replacePrefixMatch === undefined || s.type === "ReplacePrefixMatch",
    "!(has(self.request) && has(self.backendRequest) && duration(self.request) != duration('0s') && duration(self.backendRequest) > duration(self.request))":
      (s) =>
        !(s.request !== undefined && s.backendRequest !== undefined) ||
        parseDuration(s.request) === 0 ||
        parseDuration(s.backendRequest) <= parseDuration(s.request),
  };
  // At most 128 matches over the (at most 16) rules.
  out[
    Array.from({ length: 16 }, (_, i) => `(self.size() > ${i} ? self[${i}].matches.size() : 0)`).join(" + ") +
      " <= 128"
  ] = (s) => s.reduce((n: number, r: Json) => n + (r.matches?.length ?? 0), 0) <= 128;
  // Path matches (Exact and PathPrefix): what a path value must and must not contain.
  for (const [expr, fn] of [
    ["self.value.startsWith('/')", (v: string) => v.startsWith("/")],
    ...["//", "/./", "/../", "%2f", "%2F", "#"].map(
      (x) => [`!self.value.contains('${x}')`, (v: string) => !v.includes(x)] as const,
    ),
    ...["/..", "/."].map((x) => [`!self.value.endsWith('${x}')`, (v: string) => !v.endsWith(x)] as const),
  ] as const) {
    out[`(self.type in ['Exact','PathPrefix']) ? ${expr} : true`] = (s) =>
      !["Exact", "PathPrefix"].includes(s.type) || fn(s.value);
  }
  // Filters: one of each modifier at most, and the field named by `type` present (and no other).
  for (const [field, type] of [
    ["requestHeaderModifier", "RequestHeaderModifier"],
    ["responseHeaderModifier", "ResponseHeaderModifier"],
    ["requestMirror", "RequestMirror"],
    ["requestRedirect", "RequestRedirect"],
    ["urlRewrite", "URLRewrite"],
    ["extensionRef", "ExtensionRef"],
  ]) {
    out[`!(has(self.${field}) && self.type != '${type}')`] = (s) =>
      !(s[field] !== undefined && s.type !== type);
    out[`!(!has(self.${field}) && self.type == '${type}')`] = (s) =>
      !(s[field] === undefined && s.type === type);
    out[`self.filter(f, f.type == '${type}').size() <= 1`] = (s) =>
      s.filter((f: Json) => f.type === type).length <= 1;
  }
  return out;
}

/** Whether a CEL rule (as a CRD writes it) is in the table above. */
export function celRuleKnown(rule: string): boolean {
  return CEL[rule.replace(/\s+/g, " ").trim()] !== undefined;
}

/** The CEL rules of a CRD schema that `data` breaks: field path (dotted, `[i]` for items) and message. */
export function celViolations(schema: Json, data: Json, at = ""): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = [];
  if (!isObject(schema) || data === undefined || data === null) return out;
  for (const v of schema["x-kubernetes-validations"] ?? []) {
    const rule = String(v.rule).replace(/\s+/g, " ").trim();
    const fn = CEL[rule];
    if (!fn) out.push({ field: at, message: `CEL rule not evaluated by the test table: ${rule}` });
    else if (!fn(data)) out.push({ field: at, message: v.message ?? rule });
  }
  const join = (k: string) => (at === "" ? k : `${at}.${k}`);
  if (isObject(schema.properties) && isObject(data)) {
    for (const [k, s] of Object.entries(schema.properties)) out.push(...celViolations(s, data[k], join(k)));
  }
  if (isObject(schema.additionalProperties) && isObject(data)) {
    for (const [k, v] of Object.entries(data))
      out.push(...celViolations(schema.additionalProperties, v, join(k)));
  }
  if (isObject(schema.items) && Array.isArray(data))
    data.forEach((v, i) => out.push(...celViolations(schema.items, v, `${at}[${i}]`)));
  return out;
}

function celErrors(schema: Json, data: Json, at: string, out: string[]): void {
  for (const v of celViolations(schema, data)) out.push(`${at}${v.field ? "." + v.field : ""}: ${v.message}`);
}

interface CrdSchema {
  id: string;
  schema: Json;
}

const crdSchemas = new Map<string, CrdSchema>();

/** Registers the schema of every version of the CRDs in a file; keyed `group/version|Kind`. */
export function registerCrds(file: string): void {
  for (const crd of loadYamlFile(file)) {
    if (crd.kind !== "CustomResourceDefinition") continue;
    for (const v of crd.spec.versions) {
      const key = `${crd.spec.group}/${v.name}|${crd.spec.names.kind}`;
      const id = `meshlane.test/${key}`;
      const schema = v.schema.openAPIV3Schema;
      register(id, toAjvSchema(schema));
      crdSchemas.set(key, { id, schema });
    }
  }
}

/** Problems of an object against a registered CRD schema (ajv, then the CEL rules); [] when valid. */
export function crdProblems(obj: Json): string[] {
  ensureRegistered();
  const entry = crdSchemas.get(`${obj.apiVersion}|${obj.kind}`);
  if (!entry) return [`no CRD schema registered for ${obj.apiVersion} ${obj.kind}`];
  const out: string[] = [];
  try {
    validate(entry.id, obj);
  } catch (err) {
    out.push(err instanceof Error ? err.message : String(err));
  }
  celErrors(entry.schema, obj, "", out);
  return out;
}

// ---------- @kubernetes-models/istio ----------

const ISTIO_MODELS: Record<string, new (d: Json) => { validate(): void }> = {
  "networking.istio.io|VirtualService": istioNet.VirtualService,
  "networking.istio.io|DestinationRule": istioNet.DestinationRule,
  "networking.istio.io|Gateway": istioNet.Gateway,
  "networking.istio.io|EnvoyFilter": istioNetA3.EnvoyFilter,
  "extensions.istio.io|WasmPlugin": istioExt.WasmPlugin,
};

/**
 * Problems of an Istio object per @kubernetes-models/istio 2.3.0. The package has no networking v1
 * models; v1's schema is identical to v1beta1's in the CRDs, so v1 objects are checked as v1beta1.
 */
export function istioModelProblems(obj: Json): string[] {
  const group = String(obj.apiVersion).split("/")[0];
  const Model = ISTIO_MODELS[`${group}|${obj.kind}`];
  if (!Model) return [`no @kubernetes-models/istio model for ${obj.apiVersion} ${obj.kind}`];
  const { apiVersion: _a, ...rest } = obj;
  try {
    new Model(rest).validate();
    return [];
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}

// ---------- Kubernetes models ----------

const require = createRequire(import.meta.url);
const modelsDir = path.join(path.dirname(require.resolve("@kubernetes/client-node")), "gen", "models");
const requiredCache = new Map<string, Set<string>>();

function requiredFields(model: string): Set<string> {
  let r = requiredCache.get(model);
  if (!r) {
    const dts = readFileSync(path.join(modelsDir, `${model}.d.ts`), "utf8");
    r = new Set([...dts.matchAll(/^\s+'([^']+)': /gm)].map((m) => m[1]));
    requiredCache.set(model, r);
  }
  return r;
}

function checkType(type: string, v: Json, at: string, out: string[]): void {
  if (type === "any") return;
  if (type === "string" || type === "Date") {
    if (typeof v !== "string") out.push(`${at}: expected a string`);
    return;
  }
  if (type === "number") {
    if (typeof v !== "number") out.push(`${at}: expected a number`);
    return;
  }
  if (type === "boolean") {
    if (typeof v !== "boolean") out.push(`${at}: expected a boolean`);
    return;
  }
  if (type === "IntOrString") {
    if (typeof v !== "number" && typeof v !== "string") out.push(`${at}: expected an integer or a string`);
    return;
  }
  const arr = /^Array<(.+)>$/.exec(type);
  if (arr) {
    if (!Array.isArray(v)) out.push(`${at}: expected an array`);
    else v.forEach((x, i) => checkType(arr[1], x, `${at}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isObject(v)) out.push(`${at}: expected a map`);
    else for (const [k, x] of Object.entries(v)) checkType(map[1], x, `${at}.${k}`, out);
    return;
  }
  checkModel(type, v, at, out);
}

function checkModel(model: string, v: Json, at: string, out: string[]): void {
  const cls = (k8s as Json)[model];
  if (!cls?.getAttributeTypeMap) {
    out.push(`${at}: unknown Kubernetes model ${model}`);
    return;
  }
  if (!isObject(v)) {
    out.push(`${at}: expected an object (${model})`);
    return;
  }
  const attrs: { baseName: string; type: string }[] = cls.getAttributeTypeMap();
  const byName = new Map(attrs.map((a) => [a.baseName, a.type]));
  for (const [k, x] of Object.entries(v)) {
    const t = byName.get(k);
    if (!t) out.push(`${at}.${k}: unknown field of ${model}`);
    else checkType(t, x, `${at}.${k}`, out);
  }
  for (const r of requiredFields(model)) {
    const base = attrs.find((a) => a.baseName === r || (a as Json).name === r)?.baseName ?? r;
    if (v[base] === undefined) out.push(`${at}.${base}: required by ${model}`);
  }
}

/** Problems of a Kubernetes built-in object per the client-node model of `v1 <Kind>`; [] when valid. */
export function kubeModelProblems(obj: Json): string[] {
  const out: string[] = [];
  checkModel(`V1${obj.kind}`, obj, obj.kind, out);
  return out;
}

// ---------- structural schema rules (for our CRD) ----------

/**
 * Violations of Kubernetes' structural schema rules: every node typed (or int-or-string / preserve
 * unknown), no type/description/default/additionalProperties/nullable inside oneOf/anyOf/allOf/not,
 * fields named in those junctors also declared outside, and defaults valid against their node.
 */
export function structuralProblems(s: Json, at = "", inJunctor = false, declared?: Set<string>): string[] {
  const out: string[] = [];
  if (!isObject(s)) return out;
  if (inJunctor) {
    for (const k of ["type", "description", "default", "additionalProperties", "nullable"]) {
      if (k in s) out.push(`${at}: ${k} is not allowed inside oneOf/anyOf/allOf/not`);
    }
    for (const r of s.required ?? [])
      if (declared && !declared.has(r))
        out.push(`${at}: required field ${r} not declared outside the junctor`);
    if (isObject(s.properties)) {
      for (const p of Object.keys(s.properties))
        if (declared && !declared.has(p)) out.push(`${at}.${p}: not declared outside the junctor`);
    }
  } else if (!s.type && !s["x-kubernetes-int-or-string"] && !s["x-kubernetes-preserve-unknown-fields"]) {
    out.push(`${at || "<root>"}: no type`);
  }
  const props = inJunctor ? declared : new Set(Object.keys(isObject(s.properties) ? s.properties : {}));
  for (const j of ["oneOf", "anyOf", "allOf"]) {
    (s[j] ?? []).forEach((x: Json, i: number) =>
      out.push(...structuralProblems(x, `${at}.${j}[${i}]`, true, props)),
    );
  }
  if (s.not) out.push(...structuralProblems(s.not, `${at}.not`, true, props));
  if (!inJunctor) {
    if (isObject(s.properties))
      for (const [k, v] of Object.entries(s.properties)) out.push(...structuralProblems(v, `${at}.${k}`));
    if (isObject(s.items)) out.push(...structuralProblems(s.items, `${at}[]`));
    if (isObject(s.additionalProperties)) out.push(...structuralProblems(s.additionalProperties, `${at}.*`));
    if (s.default !== undefined) {
      const id = `meshlane.test/default${at}`;
      register(id, toAjvSchema(s, false));
      try {
        validate(id, s.default);
      } catch (err) {
        out.push(`${at}: default does not validate: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return out;
}

// ---------- everything ----------

let registered = false;
function ensureRegistered(): void {
  if (registered) return;
  registerCrds(fromRoot("test", "schemas", "istio-1.30.3-crds.yaml"));
  registerCrds(fromRoot("manifests", "crd", "lanes.meshlane.io.yaml"));
  registerCrds(fromRoot("test", "schemas", "gateway-api-v1.2.1-httproute-crd.yaml"));
  registered = true;
}

const KUBE_GROUPS = new Set(["", "apps", "rbac.authorization.k8s.io", "apiextensions.k8s.io"]);

/** All problems of any object we render or ship, against the schemas that apply to its kind. */
export function objectProblems(obj: Json): string[] {
  ensureRegistered();
  const group = String(obj.apiVersion ?? "").includes("/") ? String(obj.apiVersion).split("/")[0] : "";
  if (group === "networking.istio.io" || group === "extensions.istio.io") {
    return [...istioModelProblems(obj), ...crdProblems(obj)];
  }
  if (group === "meshlane.io" || group === "gateway.networking.k8s.io") return crdProblems(obj);
  if (KUBE_GROUPS.has(group)) {
    const out = kubeModelProblems(obj);
    if (obj.kind === "CustomResourceDefinition") {
      for (const v of obj.spec?.versions ?? []) out.push(...structuralProblems(v.schema?.openAPIV3Schema));
    }
    return out;
  }
  return [`no schema for ${obj.apiVersion} ${obj.kind}`];
}
