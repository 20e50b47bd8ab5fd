// Generates test/envoy/envoy-api.json: the part of Envoy's xDS API that meshlane's EnvoyFilter patch
// values can reach, for each Envoy version of the supported Istio range, so the project's tests can
// check every patch value against the API of every supported Envoy without protobuf tooling.
//
//   node scripts/envoy-api.mjs <dir> [--versions 1.30,...] [--meta versions.json] > test/envoy/envoy-api.json
//   npx prettier --write test/envoy/envoy-api.json
//
// <dir> holds descriptor sets `envoy-<version>.pb` (google.protobuf.FileDescriptorSet, built from
// Envoy's data-plane-api with its dependencies); `--meta` names a JSON file
// `{"versions": [{"version", "data_plane_api_commit"}]}` saying which commit each was built from,
// recorded in the output. Run it again when the supported range changes.
//
// What is kept, per message reachable from ROOTS: every field (proto name, JSON name, type, repeated,
// message/enum type, oneof), map entries, and the rules Envoy enforces on them: protoc-gen-validate's
// `required` (message, Any, Duration, oneof), string `min_len`/`min_bytes`, repeated `min_items`, enum
// `defined_only`, numeric bounds; Envoy's `deprecated` and `disallowed_by_default` annotations. Enums:
// value names and numbers. A message or enum identical in several versions is stored once with the list
// of versions it holds for.
import { readFileSync, existsSync } from "node:fs";
import path from "node:path";

const DEFAULT_VERSIONS = ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37"];

/** The messages meshlane's patches are built of: patch value shapes and the `@type`s they carry. */
const ROOTS = [
  "envoy.config.core.v3.TypedExtensionConfig", // EXTENSION_CONFIG
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter", // HTTP_FILTER
  "envoy.extensions.filters.http.wasm.v3.Wasm",
  "google.protobuf.StringValue",
];
/** Types named only by URL (`config_discovery.type_urls`): their existence is recorded, not their fields. */
const NAMED = ["envoy.extensions.filters.http.rbac.v3.RBAC", "envoy.extensions.filters.http.wasm.v3.Wasm"];

// Extension field numbers.
const EXT_PGV = 1071; // validate.rules (FieldOptions), validate.required (OneofOptions)
const EXT_DISALLOWED = 189503207; // envoy.annotations.disallowed_by_default (FieldOptions)
const EXT_DEPRECATED_AT = 157299826; // envoy.annotations.deprecated_at_minor_version (FieldOptions)
const EXT_DISALLOWED_ENUM = 70100853; // envoy.annotations.disallowed_by_default_enum (EnumValueOptions)

const TYPES = {
  1: "double",
  2: "float",
  3: "int64",
  4: "uint64",
  5: "int32",
  6: "fixed64",
  7: "fixed32",
  8: "bool",
  9: "string",
  11: "message",
  12: "bytes",
  13: "uint32",
  14: "enum",
  15: "sfixed32",
  16: "sfixed64",
  17: "sint32",
  18: "sint64",
};

// --- protobuf wire format: just enough to read descriptors ---

/** Fields of one encoded message as [number, wireType, value]: varints as BigInt, length-delimited as bytes. */
function decode(buf) {
  const out = [];
  let i = 0;
  const varint = () => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const key = varint();
    const num = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (wt === 0) out.push([num, 0, varint()]);
    else if (wt === 2) {
      const len = Number(varint());
      out.push([num, 2, buf.subarray(i, i + len)]);
      i += len;
    } else if (wt === 1) {
      out.push([num, 1, buf.subarray(i, i + 8)]);
      i += 8;
    } else if (wt === 5) {
      out.push([num, 5, buf.subarray(i, i + 4)]);
      i += 4;
    } else throw new Error(`unsupported wire type ${wt}`);
  }
  return out;
}

const str = (b) => Buffer.from(b).toString("utf8");
const all = (fields, n) => fields.filter((f) => f[0] === n).map((f) => f[2]);
const one = (fields, n) => all(fields, n).at(-1);
const signed64 = (v) => Number(BigInt.asIntN(64, v));
const unsigned = (v) => Number(v);
const double = (b) => Buffer.from(b).readDoubleLE(0);

/** Numeric bounds of a PGV numeric rule message (lt, lte, gt, gte at fields 2..5 for every numeric kind). */
function bounds(bytes, kind) {
  const f = decode(bytes);
  const read = (v) => (kind === "double" ? double(v) : kind.startsWith("u") ? unsigned(v) : signed64(v));
  const out = {};
  for (const [name, n] of [
    ["lt", 2],
    ["lte", 3],
    ["gt", 4],
    ["gte", 5],
  ]) {
    const v = one(f, n);
    if (v !== undefined) out[name] = read(v);
  }
  return out;
}

/** The rules of one field that the checker applies (see the module comment). */
function fieldRules(options) {
  const o = decode(options);
  const r = {};
  if (one(o, 3) === 1n) r.deprecated = true;
  if (one(o, EXT_DEPRECATED_AT) !== undefined) r.deprecated = true;
  if (one(o, EXT_DISALLOWED) === 1n) r.disallowed = true;
  const pgv = one(o, EXT_PGV);
  if (pgv) {
    const p = decode(pgv);
    const sub = (n) => (one(p, n) ? decode(one(p, n)) : undefined);
    const msg = sub(17);
    if (msg && one(msg, 2) === 1n) r.required = true;
    const any = sub(20);
    if (any && one(any, 1) === 1n) r.required = true;
    const dur = sub(21);
    if (dur && one(dur, 1) === 1n) r.required = true;
    const s = sub(14);
    if (s) {
      const min = Math.max(Number(one(s, 2) ?? 0n), Number(one(s, 4) ?? 0n));
      if (min > 0) r.minLen = min;
    }
    const b = sub(15);
    if (b && Number(one(b, 2) ?? 0n) > 0) r.minLen = Number(one(b, 2));
    const rep = sub(18);
    if (rep && Number(one(rep, 1) ?? 0n) > 0) r.minItems = Number(one(rep, 1));
    const en = sub(16);
    if (en && one(en, 2) === 1n) r.definedOnly = true;
    for (const [n, kind] of [
      [3, "int32"],
      [4, "int64"],
      [5, "uint32"],
      [6, "uint64"],
      [2, "double"],
    ]) {
      const raw = one(p, n);
      if (raw) {
        const bnd = bounds(raw, kind);
        if (Object.keys(bnd).length > 0) r.bounds = bnd;
      }
    }
  }
  return r;
}

/** All messages and enums of a descriptor set, by full name. */
function index(file) {
  const messages = new Map();
  const enums = new Map();
  const addEnum = (fields, scope) => {
    const name = `${scope}.${str(one(fields, 1))}`;
    const values = {};
    const disallowed = [];
    for (const v of all(fields, 2)) {
      const vf = decode(v);
      const vname = str(one(vf, 1));
      values[vname] = signed64(one(vf, 2) ?? 0n);
      const opts = one(vf, 3);
      if (opts && one(decode(opts), EXT_DISALLOWED_ENUM) === 1n) disallowed.push(vname);
    }
    enums.set(name, disallowed.length ? { values, disallowed } : { values });
  };
  const addMessage = (fields, scope) => {
    const name = `${scope}.${str(one(fields, 1))}`;
    const opts = one(fields, 7);
    const mapEntry = opts ? one(decode(opts), 7) === 1n : false;
    const oneofs = all(fields, 8).map((o) => {
      const of = decode(o);
      const oo = one(of, 2);
      const required = oo ? one(decode(oo), EXT_PGV) === 1n : false;
      return required ? { name: str(one(of, 1)), required } : { name: str(one(of, 1)) };
    });
    const synthetic = new Set();
    const list = all(fields, 2).map((raw) => {
      const f = decode(raw);
      const field = {
        name: str(one(f, 1)),
        json: one(f, 10) ? str(one(f, 10)) : undefined,
        type: TYPES[Number(one(f, 5))],
      };
      if (one(f, 4) === 3n) field.repeated = true;
      if (one(f, 6)) field.typeName = str(one(f, 6)).replace(/^\./, "");
      const oneof = one(f, 9);
      if (oneof !== undefined) {
        if (one(f, 17) === 1n) synthetic.add(Number(oneof));
        else field.oneof = oneofs[Number(oneof)].name;
      }
      if (one(f, 8)) Object.assign(field, fieldRules(one(f, 8)));
      if (field.json === undefined || field.json === field.name) delete field.json;
      return field;
    });
    const real = oneofs.filter((_, i) => !synthetic.has(i));
    const def = { fields: list };
    if (real.length) def.oneofs = real;
    if (mapEntry) def.mapEntry = true;
    messages.set(name, def);
    for (const n of all(fields, 3)) addMessage(decode(n), name);
    for (const e of all(fields, 4)) addEnum(decode(e), name);
  };
  for (const fd of all(decode(file), 1)) {
    const f = decode(fd);
    const pkg = one(f, 2) ? str(one(f, 2)) : "";
    for (const m of all(f, 4)) addMessage(decode(m), pkg);
    for (const e of all(f, 5)) addEnum(decode(e), pkg);
  }
  return { messages, enums };
}

/** The messages and enums reachable from ROOTS in one version. */
function closure(api) {
  const messages = {};
  const enums = {};
  const todo = [...ROOTS];
  while (todo.length) {
    const name = todo.pop();
    if (messages[name]) continue;
    const def = api.messages.get(name);
    if (!def) continue;
    messages[name] = def;
    for (const f of def.fields) {
      if (f.type === "message") todo.push(f.typeName);
      if (f.type === "enum" && api.enums.has(f.typeName)) enums[f.typeName] = api.enums.get(f.typeName);
    }
  }
  return { messages, enums };
}

function main() {
  const args = process.argv.slice(2);
  const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
  const dir = args.find((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"));
  const versions = opt("--versions")?.split(",") ?? DEFAULT_VERSIONS;
  if (!dir) {
    console.error("usage: node scripts/envoy-api.mjs <descriptor-dir> [--versions 1.30,...]");
    process.exit(2);
  }
  const metaFile = opt("--meta");
  const meta = metaFile && existsSync(metaFile) ? JSON.parse(readFileSync(metaFile, "utf8")).versions : [];
  const out = { generatedBy: "scripts/envoy-api.mjs", versions: [], roots: ROOTS, messages: {}, enums: {} };
  const merge = (table, name, def, version) => {
    const variants = (table[name] ??= []);
    const key = JSON.stringify(def);
    const same = variants.find((v) => JSON.stringify(v.def) === key);
    if (same) same.in.push(version);
    else variants.push({ in: [version], def });
  };
  for (const v of versions) {
    const api = index(readFileSync(path.join(dir, `envoy-${v}.pb`)));
    const c = closure(api);
    const m = meta.find((x) => x.version === v);
    out.versions.push({
      envoy: v,
      dataPlaneApiCommit: m?.data_plane_api_commit,
      named: NAMED.filter((n) => api.messages.has(n)),
    });
    for (const [name, def] of Object.entries(c.messages)) merge(out.messages, name, def, v);
    for (const [name, def] of Object.entries(c.enums)) merge(out.enums, name, def, v);
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main();
