// Golden cases under test/golden/<case>/: input.yaml (the cluster: the user's objects as they stand,
// "original" objects included), optional inputs.txt (more repository files or directories to read
// first, one per line), optional options.yaml (RenderOptions overrides), and expected.yaml (the render
// result: apply, restore, delete, errors, warnings, lanes). Set UPDATE_GOLDEN=1 to rewrite expected.yaml
// files; review every change by hand before committing it.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { parse, stringify } from "yaml";
import { fromRoot } from "../../controller/src/paths.js";
import { keyOf } from "../../controller/src/render/objects.js";
import type {
  KubeObject,
  RenderOptions,
  RenderResult,
  RoutingMode,
} from "../../controller/src/render/index.js";
import { loadYamlFile } from "./schemas.js";

export const GOLDEN_DIR = fromRoot("test", "golden");

export const TEST_OPTIONS: RenderOptions = {
  install: "envoyfilter",
  wasm: {
    url: "http://meshlane-controller.meshlane-system.svc:8080/meshlane.wasm",
    sha256: "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592",
  },
};

export function goldenCases(): string[] {
  return readdirSync(GOLDEN_DIR)
    .filter((d) => statSync(path.join(GOLDEN_DIR, d)).isDirectory())
    .sort();
}

function yamlFiles(p: string): string[] {
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((f) => yamlFiles(path.join(p, f)))
    .filter((f) => /\.ya?ml$/.test(f));
}

export function caseInput(name: string): KubeObject[] {
  const dir = path.join(GOLDEN_DIR, name);
  const out: KubeObject[] = [];
  const list = path.join(dir, "inputs.txt");
  if (existsSync(list)) {
    for (const line of readFileSync(list, "utf8").split("\n")) {
      const rel = line.trim();
      if (rel && !rel.startsWith("#")) for (const f of yamlFiles(fromRoot(rel))) out.push(...loadYamlFile(f));
    }
  }
  const input = path.join(dir, "input.yaml");
  if (existsSync(input)) out.push(...loadYamlFile(input));
  return out;
}

/** Both routing modes render every case: `expected.yaml` (istio) and `expected.gateway-api.yaml`. */
export const ROUTING_CASES: { routing: RoutingMode; file: string }[] = [
  { routing: "istio", file: "expected.yaml" },
  { routing: "gateway-api", file: "expected.gateway-api.yaml" },
];

export function caseOptions(name: string, routing?: RoutingMode): RenderOptions {
  const file = path.join(GOLDEN_DIR, name, "options.yaml");
  const extra = existsSync(file) ? (parse(readFileSync(file, "utf8")) as Partial<RenderOptions>) : {};
  // istio is the default: its cases render with the options as they always were.
  return { ...TEST_OPTIONS, ...extra, ...(routing === "gateway-api" ? { routing } : {}) };
}

/** The committed form of a result. */
export function formatResult(r: RenderResult): string {
  return stringify(
    {
      apply: r.apply,
      restore: r.restore,
      delete: r.delete,
      errors: r.errors,
      warnings: r.warnings,
      lanes: r.lanes,
    },
    { lineWidth: 0, aliasDuplicateObjects: false },
  );
}

/** The cluster after a result is carried out: applies and restores written, deletions removed. */
export function carryOut(input: KubeObject[], r: RenderResult): KubeObject[] {
  const world = new Map<string, KubeObject>();
  input.forEach((o, i) => {
    const wellFormed = typeof o?.apiVersion === "string" && typeof o?.kind === "string" && o.metadata?.name;
    const key = wellFormed
      ? keyOf({ ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace ?? "default" } })
      : `#${i}`;
    world.set(key, o);
  });
  for (const o of [...r.apply, ...r.restore]) world.set(keyOf(o), JSON.parse(JSON.stringify(o)));
  for (const d of r.delete) {
    world.delete(
      keyOf({ apiVersion: d.apiVersion, kind: d.kind, metadata: { name: d.name, namespace: d.namespace } }),
    );
  }
  return [...world.values()];
}
