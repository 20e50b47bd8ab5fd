// Manifest text ⇄ objects: multi-document YAML (JSON is YAML too) in, `kind: List` flattened; YAML or a
// JSON List out. Pure: callers read and write the files.
import { parseAllDocuments, stringify } from "yaml";
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

/** YAML documents separated by `---`, long strings kept on one line. */
export function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join("---\n");
}

/** One `v1 List` holding the objects, as kubectl prints several. */
export function toJsonList(objects: KubeObject[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }, null, 2) + "\n";
}
