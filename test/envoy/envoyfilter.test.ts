// Every EnvoyFilter meshlane renders, checked patch value by patch value against the Envoy API of each
// Envoy of the supported Istio range (envoy-api.json; see api.ts). A value one of them refuses means the
// filter never loads on that Istio. The checker itself is tested on values Envoy is known to refuse,
// among them the render output as it was when it set both `fail_open` and `failure_policy`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, type KubeObject, type RenderOptions } from "../../controller/src/render/index.js";
import { caseInput, caseOptions, goldenCases } from "../render/golden.js";
import { Checker, EnvoyApi, checkEnvoyFilter, envoyVersions } from "./api.js";

const VERSIONS = envoyVersions();

/** Option variants that change what the EnvoyFilters carry. */
const VARIANTS: { name: string; options: Partial<RenderOptions> }[] = [
  { name: "defaults", options: {} },
  {
    name: "https url outside the cluster, own timeout",
    options: { wasm: { url: "https://example.com/meshlane.wasm", sha256: "ab".repeat(32), timeout: "30s" } },
  },
  {
    name: "own cluster",
    options: {
      wasm: {
        url: "http://wasm.tools.svc:9000/m.wasm",
        sha256: "cd".repeat(32),
        cluster: "outbound|9000||x",
      },
    },
  },
  {
    name: "other gateways and root",
    options: { gatewaySelector: { app: "edge" }, rootNamespace: "mesh-root" },
  },
];

function envoyFilters(): { where: string; ef: KubeObject }[] {
  const out: { where: string; ef: KubeObject }[] = [];
  for (const name of goldenCases()) {
    for (const v of VARIANTS) {
      const options = { ...caseOptions(name), install: "envoyfilter" as const, ...v.options };
      for (const o of render(caseInput(name), options).apply) {
        if (o.kind === "EnvoyFilter") out.push({ where: `${name} (${v.name})`, ef: o });
      }
    }
  }
  return out;
}

test("meshlane's EnvoyFilters cover every patch kind it emits, edge and sidecar", () => {
  const all = envoyFilters();
  const kinds = new Set(
    all.flatMap(({ ef }) => (ef.spec?.configPatches ?? []).map((p: { applyTo: string }) => p.applyTo)),
  );
  assert.deepEqual([...kinds].sort(), ["EXTENSION_CONFIG", "HTTP_FILTER"]);
  assert.ok(all.some(({ ef }) => ef.metadata.name.startsWith("meshlane-edge")));
  assert.ok(all.some(({ ef }) => ef.metadata.name === "meshlane-sidecar"));
});

test("the carried API covers Envoy 1.30 to 1.37 (Istio 1.22 to 1.29)", () => {
  assert.deepEqual(VERSIONS, ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37"]);
});

for (const version of VERSIONS) {
  test(`every EnvoyFilter patch value meshlane renders is accepted by Envoy ${version}`, () => {
    const problems: string[] = [];
    for (const { where, ef } of envoyFilters()) {
      problems.push(...checkEnvoyFilter(ef, version).problems.map((p) => `${where}: ${p}`));
    }
    assert.deepEqual(problems, []);
  });
}

// --- the checker finds what Envoy refuses ---

/** One rendered ECDS patch value (TypedExtensionConfig) and HTTP_FILTER patch value, to mutate. */
function sample(): { ecds: Record<string, unknown>; httpFilter: Record<string, unknown>; ef: KubeObject } {
  const ef = envoyFilters()[0].ef;
  const patches = ef.spec.configPatches as { applyTo: string; patch: { value: Record<string, unknown> } }[];
  return {
    ef,
    ecds: structuredClone(patches.find((p) => p.applyTo === "EXTENSION_CONFIG")!.patch.value),
    httpFilter: structuredClone(patches.find((p) => p.applyTo === "HTTP_FILTER")!.patch.value),
  };
}

function problemsOf(version: string, type: string, value: unknown): string[] {
  const c = new Checker(new EnvoyApi(version));
  c.message(type, value, "");
  return c.problems.map((p) => `${p.path}: ${p.message}`);
}

const TEC = "envoy.config.core.v3.TypedExtensionConfig";
const HF = "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter";
type Json = Record<string, Record<string, Record<string, unknown>>>;

test("the old render output (fail_open with failure_policy) is refused by every supported Envoy", () => {
  const { ef } = sample();
  const old = structuredClone(ef);
  for (const p of old.spec.configPatches as { applyTo: string; patch: { value: Json } }[]) {
    if (p.applyTo === "EXTENSION_CONFIG") p.patch.value.typed_config.config.failure_policy = "FAIL_OPEN";
  }
  for (const version of VERSIONS) {
    const { problems } = checkEnvoyFilter(old, version);
    const expected = Number(version.split(".")[1]) >= 33 ? /both set/ : /unknown field "failure_policy"/;
    assert.equal(problems.length, 1, `${version}: ${problems.join("; ")}`);
    assert.match(problems[0], expected, version);
  }
});

test("failure_policy alone: unknown before Envoy 1.33, accepted from 1.33", () => {
  const { ecds } = sample();
  const cfg = (ecds as Json).typed_config.config;
  delete cfg.fail_open;
  cfg.failure_policy = "FAIL_OPEN";
  assert.match(problemsOf("1.32", TEC, ecds).join(), /unknown field "failure_policy"/);
  assert.deepEqual(problemsOf("1.33", TEC, ecds), []);
  cfg.failure_policy = "FAIL_SOMETIMES";
  assert.match(problemsOf("1.33", TEC, ecds).join(), /FAIL_SOMETIMES is not a value/);
});

test("the checker refuses unknown fields, wrong types, two oneof members and missing required fields", () => {
  const { ecds, httpFilter } = sample();
  const cases: [string, (v: Json) => void, RegExp][] = [
    ["unknown field", (v) => (v.typed_config.config.vm_id = "x" as never), /unknown field "vm_id"/],
    ["wrong type", (v) => (v.typed_config.config.fail_open = "yes" as never), /expected true or false/],
    [
      "bad duration",
      (v) => {
        const remote = (v.typed_config.config.vm_config as Json).code.remote as Json;
        remote.http_uri.timeout = 10 as never;
      },
      /duration string/,
    ],
    [
      "oneof twice",
      (v) => {
        const code = (v.typed_config.config.vm_config as Json).code;
        code.local = { filename: "/x.wasm" } as never;
      },
      /oneof specifier .* has/,
    ],
    [
      "missing required",
      (v) => delete (v as Record<string, unknown>).typed_config,
      /required field typed_config/,
    ],
    [
      "unknown @type",
      (v) => (v.typed_config["@type"] = "type.googleapis.com/no.Such" as never),
      /does not exist/,
    ],
  ];
  for (const [name, mutate, expected] of cases) {
    const v = structuredClone(ecds) as Json;
    mutate(v);
    assert.match(problemsOf("1.37", TEC, v).join("; "), expected, name);
  }
  const hf = structuredClone(httpFilter) as Json;
  (hf.config_discovery as Record<string, unknown>).type_urls = ["type.googleapis.com/envoy.no.Such"];
  assert.match(problemsOf("1.30", HF, hf).join(), /does not exist in Envoy 1.30/);
  const both = structuredClone(httpFilter) as Record<string, unknown>;
  both.typed_config = { "@type": "type.googleapis.com/google.protobuf.StringValue", value: "x" };
  assert.match(problemsOf("1.30", HF, both).join(), /oneof config_type/);
});
