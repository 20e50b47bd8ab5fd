// A small validator for the OpenAPI v3 subset that CRD structural schemas use, with the two things the
// real apiserver does before validating a custom resource: pruning unknown fields and applying defaults.
//
// Supported: type (object, array, string, integer, number, boolean), nullable, properties, required,
// additionalProperties (bool or schema), items, enum, pattern, minLength/maxLength, minItems/maxItems,
// uniqueItems, minProperties/maxProperties, minimum/maximum (+ boolean exclusiveMinimum/Maximum),
// multipleOf, oneOf/anyOf/allOf/not, default, x-kubernetes-preserve-unknown-fields,
// x-kubernetes-int-or-string, x-kubernetes-embedded-resource (treated as an object).
// Not supported (ignored): format checks, x-kubernetes-validations (CEL rules), list-type/map-keys.
import { readFileSync, existsSync } from "node:fs";
import YAML from "yaml";
import { clone, deepEqual, isObject, type Json, type JsonObject } from "./json.js";

export interface Schema {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: Json[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  oneOf?: Schema[];
  anyOf?: Schema[];
  allOf?: Schema[];
  not?: Schema;
  default?: Json;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
}

/** One entry of a Status' details.causes, as the apiserver reports field errors. */
export interface Cause {
  reason: string;
  message: string;
  field: string;
}

const show = (v: unknown): string =>
  typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? "null");

function fieldName(path: (string | number)[]): string {
  let s = "";
  for (const seg of path) s += typeof seg === "number" ? `[${seg}]` : s === "" ? seg : `.${seg}`;
  return s;
}

function typeOf(v: Json): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

function typeMatches(schema: Schema, v: Json): boolean {
  if (schema["x-kubernetes-int-or-string"]) return typeof v === "string" || Number.isInteger(v);
  const t = schema.type ?? (schema["x-kubernetes-embedded-resource"] ? "object" : undefined);
  if (!t) return true;
  const actual = typeOf(v);
  return t === actual || (t === "number" && actual === "integer");
}

/** Validates `v` against `schema`; returns causes (empty when valid). */
export function validate(schema: Schema, v: Json, path: (string | number)[] = []): Cause[] {
  const field = fieldName(path);
  const at = field === "" ? "<root>" : field;
  const invalid = (msg: string): Cause => ({
    reason: "FieldValueInvalid",
    message: `Invalid value: ${show(v)}: ${msg}`,
    field: at,
  });
  if (v === null) {
    if (schema.nullable || (!schema.type && !schema["x-kubernetes-int-or-string"])) return [];
    return [
      {
        reason: "FieldValueTypeInvalid",
        message: `Invalid value: "null": ${at} in body must be of type ${schema.type}: "null"`,
        field: at,
      },
    ];
  }
  if (!typeMatches(schema, v)) {
    const want = schema["x-kubernetes-int-or-string"] ? "integer or string" : schema.type;
    return [
      {
        reason: "FieldValueTypeInvalid",
        message: `Invalid value: ${show(typeOf(v))}: ${at} in body must be of type ${want}: ${show(typeOf(v))}`,
        field: at,
      },
    ];
  }
  const out: Cause[] = [];
  if (schema.enum && !schema.enum.some((e) => deepEqual(e, v))) {
    out.push({
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${show(v)}: supported values: ${schema.enum.map(show).join(", ")}`,
      field: at,
    });
  }
  if (typeof v === "string") {
    const len = [...v].length;
    if (schema.maxLength !== undefined && len > schema.maxLength) {
      out.push({
        reason: "FieldValueTooLong",
        message: `Too long: may not be longer than ${schema.maxLength}`,
        field: at,
      });
    }
    if (schema.minLength !== undefined && len < schema.minLength) {
      out.push(invalid(`${at} in body should be at least ${schema.minLength} chars long`));
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(v)) {
      out.push(invalid(`${at} in body should match '${schema.pattern}'`));
    }
  }
  if (typeof v === "number") {
    const { minimum, maximum } = schema;
    if (minimum !== undefined && (schema.exclusiveMinimum ? v <= minimum : v < minimum)) {
      out.push(
        invalid(
          `${at} in body should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${minimum}`,
        ),
      );
    }
    if (maximum !== undefined && (schema.exclusiveMaximum ? v >= maximum : v > maximum)) {
      out.push(
        invalid(
          `${at} in body should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${maximum}`,
        ),
      );
    }
    if (schema.multipleOf !== undefined && !Number.isInteger(v / schema.multipleOf)) {
      out.push(invalid(`${at} in body should be a multiple of ${schema.multipleOf}`));
    }
  }
  if (Array.isArray(v)) {
    if (schema.maxItems !== undefined && v.length > schema.maxItems) {
      out.push({
        reason: "FieldValueTooMany",
        message: `Too many: ${v.length}: must have at most ${schema.maxItems} items`,
        field: at,
      });
    }
    if (schema.minItems !== undefined && v.length < schema.minItems) {
      out.push(invalid(`${at} in body should have at least ${schema.minItems} items`));
    }
    if (schema.uniqueItems && v.some((x, i) => v.findIndex((y) => deepEqual(x, y)) !== i)) {
      out.push({ reason: "FieldValueDuplicate", message: `Duplicate value: ${at}`, field: at });
    }
    if (schema.items)
      v.forEach((item, i) => out.push(...validate(schema.items as Schema, item, [...path, i])));
  }
  if (isObject(v)) {
    const n = Object.keys(v).length;
    if (schema.maxProperties !== undefined && n > schema.maxProperties) {
      out.push(invalid(`${at} in body should have at most ${schema.maxProperties} properties`));
    }
    if (schema.minProperties !== undefined && n < schema.minProperties) {
      out.push(invalid(`${at} in body should have at least ${schema.minProperties} properties`));
    }
    for (const req of schema.required ?? []) {
      if (!(req in v)) {
        out.push({
          reason: "FieldValueRequired",
          message: "Required value",
          field: fieldName([...path, req]),
        });
      }
    }
    for (const [k, child] of Object.entries(v)) {
      const sub = schema.properties?.[k];
      if (sub) out.push(...validate(sub, child, [...path, k]));
      else if (isObject(schema.additionalProperties)) {
        out.push(...validate(schema.additionalProperties, child, [...path, k]));
      }
    }
  }
  if (schema.allOf) for (const s of schema.allOf) out.push(...validate(s, v, path));
  if (schema.anyOf && !schema.anyOf.some((s) => validate(s, v, path).length === 0)) {
    out.push(invalid(`${at} in body must match at least one schema in anyOf`));
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((s) => validate(s, v, path).length === 0).length;
    if (matching !== 1) out.push(invalid(`${at} in body must validate one and only one schema (oneOf)`));
  }
  if (schema.not && validate(schema.not, v, path).length === 0) {
    out.push(invalid(`${at} in body must not validate the schema (not)`));
  }
  return out;
}

function preserves(schema: Schema): boolean {
  return (
    schema["x-kubernetes-preserve-unknown-fields"] === true ||
    schema["x-kubernetes-embedded-resource"] === true ||
    schema.additionalProperties === true ||
    isObject(schema.additionalProperties as Json)
  );
}

/**
 * Drops object fields the schema does not declare (unless it preserves unknown fields) and fills in
 * `default`s of absent properties, returning a new value. At the root, apiVersion, kind and metadata are
 * always kept, as the apiserver does.
 */
export function pruneAndDefault(schema: Schema, v: Json, root = true): Json {
  if (Array.isArray(v))
    return schema.items ? v.map((x) => pruneAndDefault(schema.items as Schema, x, false)) : v;
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, child] of Object.entries(v)) {
    const sub = schema.properties?.[k];
    if (root && (k === "apiVersion" || k === "kind" || k === "metadata")) out[k] = child;
    else if (sub) out[k] = pruneAndDefault(sub, child, false);
    else if (isObject(schema.additionalProperties as Json)) {
      out[k] = pruneAndDefault(schema.additionalProperties as Schema, child, false);
    } else if (preserves(schema)) out[k] = child;
  }
  for (const [k, sub] of Object.entries(schema.properties ?? {})) {
    if (!(k in out) && sub.default !== undefined) out[k] = pruneAndDefault(sub, clone(sub.default), false);
  }
  return out;
}

/** Reads `spec.versions[name=version].schema.openAPIV3Schema` from a CRD YAML file, if the file exists. */
export function loadCrdSchema(file: string, version: string): Schema | undefined {
  if (!existsSync(file)) return undefined;
  for (const doc of YAML.parseAllDocuments(readFileSync(file, "utf8"))) {
    const crd = doc.toJS() as { kind?: string; spec?: { versions?: { name: string; schema?: unknown }[] } };
    if (crd?.kind !== "CustomResourceDefinition") continue;
    const v = crd.spec?.versions?.find((x) => x.name === version);
    const s = (v?.schema as { openAPIV3Schema?: Schema } | undefined)?.openAPIV3Schema;
    if (s) return s;
  }
  return undefined;
}
