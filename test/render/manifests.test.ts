// Every file under manifests/ against the schemas of its kind, the validators themselves shown to catch
// mistakes, and the controller config readable as render options.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { fromRoot } from "../../controller/src/paths.js";
import { optionsFromConfig, render } from "../../controller/src/render/index.js";
import { loadYamlFile, objectProblems, structuralProblems } from "./schemas.js";

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = path.join(dir, f);
      return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
    });
}

const files = yamlFiles(fromRoot("manifests"));

test("manifests/ has the pieces of an installation", () => {
  const rel = files.map((f) => path.relative(fromRoot("manifests"), f));
  for (const f of [
    "namespace.yaml",
    "crd/lanes.meshlane.io.yaml",
    "rbac.yaml",
    "config.yaml",
    "deployment.yaml",
    "kustomization.yaml",
  ]) {
    assert.ok(rel.includes(f), `missing manifests/${f}`);
  }
  assert.ok(rel.some((f) => f.startsWith("examples/seed-003/")));
});

for (const file of files) {
  test(`${path.relative(fromRoot(), file)}: every object passes its schema`, () => {
    const objs = loadYamlFile(file);
    assert.ok(objs.length > 0);
    for (const o of objs) {
      if (o.kind === "Kustomization") {
        // Not an API object: check that it lists files that exist.
        for (const r of o.resources) assert.ok(statSync(path.join(path.dirname(file), r)).isFile(), r);
        for (const g of o.configMapGenerator ?? [])
          for (const f of g.files) assert.ok(statSync(path.join(path.dirname(file), f)).isFile(), f);
        continue;
      }
      assert.deepEqual(objectProblems(o), [], `${o.kind} ${o.metadata?.name}`);
    }
  });
}

test("the controller Deployment has probes, resources and a locked-down security context", () => {
  const [dep] = loadYamlFile(fromRoot("manifests", "deployment.yaml")).filter((o) => o.kind === "Deployment");
  const pod = dep.spec.template.spec;
  const c = pod.containers[0];
  assert.ok(c.livenessProbe && c.readinessProbe);
  assert.ok(c.resources.requests && c.resources.limits);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
  assert.equal(dep.spec.template.metadata.labels["sidecar.istio.io/inject"], "false");
});

test("RBAC grants writes only where meshlane writes", () => {
  const objs = loadYamlFile(fromRoot("manifests", "rbac.yaml"));
  const cluster = objs.find((o) => o.kind === "ClusterRole");
  for (const rule of cluster.rules) {
    const writes = rule.verbs.some((v: string) => ["create", "update", "patch", "delete"].includes(v));
    if (!writes) continue;
    // lanes: the controller's finalizer (metadata, so not writable through lanes/status).
    // envoyfilters, wasmplugins: the sidecar filter goes to every namespace the controller manages.
    // httproutes, services: gateway-api routing writes HTTPRoutes and per-lane Services in every
    // managed namespace; the controller writes and deletes only Services render labels as its own
    // (managed-by meshlane and meshlane.io/service), never one it did not create.
    // deployments: patch only (a rollout's copy promotion writes base's pod template), never create or
    // delete.
    if (rule.resources.includes("deployments") && rule.verbs.includes("patch")) {
      assert.deepEqual(rule.resources, ["deployments"], "patch of deployments alone");
      assert.deepEqual(rule.verbs, ["get", "patch"], "get and patch of deployments only");
      continue;
    }
    const ok = rule.resources.every((r: string) =>
      [
        "virtualservices",
        "destinationrules",
        "envoyfilters",
        "wasmplugins",
        "httproutes",
        "services",
        "lanes",
        "lanes/status",
        "events",
      ].includes(r),
    );
    assert.ok(ok, `cluster-wide write on ${rule.resources}`);
  }
  assert.ok(!JSON.stringify(objs).includes('"*"'), "no wildcards");
});

test("the controller config parses into render options", () => {
  const cm = loadYamlFile(fromRoot("manifests", "config.yaml"))[0];
  const o = optionsFromConfig(parse(cm.data["config.yaml"]), "a".repeat(64));
  assert.equal(o.install, "envoyfilter");
  assert.equal(o.wasm.url, "http://meshlane-controller.meshlane-system.svc:8080/meshlane.wasm");
  assert.deepEqual(o.gatewaySelector, { istio: "ingressgateway" });
  assert.throws(() => optionsFromConfig({ instal: "wasmplugin" }, ""), /instal: unknown setting/);
  assert.throws(() => optionsFromConfig({ install: "helm" }, ""), /install: expected/);
});

test("the example renders without errors or warnings", () => {
  const objs = yamlFiles(fromRoot("manifests", "examples", "seed-003")).flatMap(loadYamlFile);
  const r = render(objs, {
    install: "envoyfilter",
    wasm: { url: "http://x.svc:80/m.wasm", sha256: "b".repeat(64) },
  });
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, []);
});

// The validators must fail on real mistakes, or the tests above prove nothing.
test("the schema checks catch mistakes", () => {
  const dep = loadYamlFile(fromRoot("manifests", "deployment.yaml"))[0];
  const typo = structuredClone(dep);
  typo.spec.template.spec.containers[0].livenesProbe = typo.spec.template.spec.containers[0].livenessProbe;
  assert.match(objectProblems(typo).join("\n"), /livenesProbe: unknown field of V1Container/);
  const noImage = structuredClone(dep);
  delete noImage.spec.template.spec.containers[0].name;
  assert.match(objectProblems(noImage).join("\n"), /name: required by V1Container/);
  const badType = structuredClone(dep);
  badType.spec.replicas = "one";
  assert.match(objectProblems(badType).join("\n"), /replicas: expected a number/);

  const vs = {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "x", namespace: "y" },
    spec: { hosts: ["a"], http: [{ route: [{ destination: { host: "a", subst: "base" } }] }] },
  };
  assert.match(
    objectProblems(vs).join("\n"),
    /additional properties/i,
    "unknown field an API server would prune",
  );
  const ef = {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: { name: "x", namespace: "y" },
    spec: { workloadSelector: { labels: { app: "*" } }, configPatches: [{ applyTo: "HTTP_FILTERS" }] },
  };
  const efProblems = objectProblems(ef).join("\n");
  assert.match(efProblems, /allowed values/);
  assert.match(efProblems, /wildcard is not supported in selector/, "CEL rule evaluated");
  const wp = {
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: "x" },
    spec: { url: "ftp://x/y.wasm", sha256: "zz" },
  };
  const wpProblems = objectProblems(wp).join("\n");
  assert.match(wpProblems, /url must have schema one of/);
  assert.match(wpProblems, /must match pattern/);

  const crdSchema = {
    type: "object",
    properties: { a: { type: "string" } },
    oneOf: [{ required: ["b"], type: "object" }],
  };
  const s = structuralProblems(crdSchema).join("\n");
  assert.match(s, /type is not allowed inside/);
  assert.match(s, /required field b not declared/);
  assert.match(structuralProblems({ type: "object", properties: { x: {} } }).join("\n"), /\.x: no type/);
});
