// Manifest text ⇄ objects: multi-document YAML (JSON is YAML too) in, `kind: List` flattened; YAML or a
// JSON List out. Pure: callers read and write the files.
import { Document, parseAllDocuments, visit } from "yaml";
import type { KubeObject, Problem } from "./types.js";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses the documents of one manifest file. A document that is not valid YAML, or not a mapping, is
 * reported (named `<source> document <n>`) and skipped; the others are returned. Empty documents are
 * skipped silently. Objects are returned as parsed; render checks their shape.
 */
export function parseManifests(text: string, source: string): { objects: unknown[]; errors: Problem[] } {
  const objects: unknown[] = [];
  const errors: Problem[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const where = `${source} document ${i + 1}`;
    if (doc.errors.length > 0) {
      errors.push({ object: where, message: `invalid YAML: ${doc.errors[0].message.split("\n")[0]}` });
      return;
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    if (!isObject(value)) {
      errors.push({ object: where, message: "not a Kubernetes object (expected a mapping)" });
      return;
    }
    if (typeof value.kind === "string" && value.kind.endsWith("List") && Array.isArray(value.items)) {
      objects.push(...value.items);
    } else {
      objects.push(value);
    }
  });
  return { objects, errors };
}

/** Words YAML 1.1 reads as booleans, null, a merge key or a default value when left unquoted. */
const YAML11_WORDS = new Set(
  ["y", "yes", "n", "no", "true", "false", "on", "off", "null"].flatMap((w) => [
    w,
    w[0].toUpperCase() + w.slice(1),
    w.toUpperCase(),
  ]),
);
YAML11_WORDS.add("~").add("<<").add("=").add("");

/**
 * True when a string, printed plain, could be read back as something else by a YAML 1.1 reader
 * (kubectl: `on`, `yes`, `~`, `0x10`, `012`, `1_000`, `12:30`, `2024-01-01`) or a YAML 1.2 one (`0o7`).
 * Anything that starts like a number is quoted: more quotes than strictly needed, never fewer.
 */
function misreadable(s: string): boolean {
  return YAML11_WORDS.has(s) || /^[-+]?\.?[0-9]/.test(s) || /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(s);
}

/**
 * YAML documents separated by `---`, long strings kept on one line. Every string, key or value, that a
 * YAML 1.1 or 1.2 reader would not keep as that string is double-quoted, so kubectl applies exactly what
 * was rendered.
 */
export function toYaml(objects: KubeObject[]): string {
  return objects
    .map((o) => {
      const doc = new Document(o, { aliasDuplicateObjects: false });
      visit(doc, {
        Scalar(_key, node) {
          if (typeof node.value === "string" && misreadable(node.value)) node.type = "QUOTE_DOUBLE";
        },
      });
      return doc.toString({ lineWidth: 0 });
    })
    .join("---\n");
}

/** One `v1 List` holding the objects, as kubectl prints several. */
export function toJsonList(objects: KubeObject[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2) + "\n";
}
