// Istio ambient mode in render: a WasmPlugin `meshlane-waypoint` (role waypoint) attached by targetRefs
// to each managed namespace's waypoint Gateway, valid against Istio's CRDs and accepted by the real
// filter; the edge's default lane becomes base; turned off again, the WasmPlugins are deleted.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { parseAllDocuments } from "yaml";
import { render, type KubeObject, type RenderResult } from "../../controller/src/render/index.js";
import { optionsFromConfig } from "../../controller/src/render/options.js";
import { fromRoot } from "../../controller/src/paths.js";
import { configured } from "../support/filter.js";
import { caseInput, TEST_OPTIONS } from "./golden.js";
import { objectProblems } from "./schemas.js";

const SHA = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592";
const waypoints = (r: RenderResult) =>
  r.apply.filter((o) => o.kind === "WasmPlugin" && o.metadata.name === "meshlane-waypoint");
const edgeConfig = (r: RenderResult) => {
  const ef = r.apply.find((o) => o.kind === "EnvoyFilter" && o.metadata.name === "meshlane-edge")!;
  const value = ef.spec.configPatches[0].patch.value.typed_config.config.configuration.value as string;
  return JSON.parse(value) as Record<string, unknown>;
};

test("ambient: one WasmPlugin per managed namespace, targetRefs to its waypoint, valid and accepted by the filter", async () => {
  const r = render(caseInput("two-lanes"), { ...TEST_OPTIONS, ambient: true });
  const wps = waypoints(r);
  assert.deepEqual(
    wps.map((o) => o.metadata.namespace),
    ["two", "two-b"],
  );
  const sidecar = r.apply.find((o) => o.kind === "EnvoyFilter" && o.metadata.name === "meshlane-sidecar")!;
  const sidecarConfig = JSON.parse(
    sidecar.spec.configPatches[0].patch.value.typed_config.config.configuration.value as string,
  ) as Record<string, unknown>;
  for (const wp of wps) {
    assert.deepEqual(objectProblems(wp), [], JSON.stringify(wp));
    assert.deepEqual(wp.spec.targetRefs, [
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" },
    ]);
    assert.equal(wp.spec.selector, undefined);
    assert.equal(wp.metadata.labels?.["app.kubernetes.io/managed-by"], "meshlane");
    assert.deepEqual(wp.spec.pluginConfig, { ...sidecarConfig, role: "waypoint" });
    const { root } = await configured(wp.spec.pluginConfig as object);
    assert.equal(root.ok, true);
  }
  assert.equal(edgeConfig(r).defaultLane, "base");
  // Without ambient: no waypoint plugin, the edge's default lane as before.
  const plain = render(caseInput("two-lanes"), TEST_OPTIONS);
  assert.deepEqual(waypoints(plain), []);
  assert.equal(edgeConfig(plain).defaultLane, undefined);
});

test("ambient: waypointName names the Gateway; edge.defaultLane still wins", () => {
  const r = render(caseInput("two-lanes"), {
    ...TEST_OPTIONS,
    install: "wasmplugin",
    ambient: true,
    waypointName: "shop-waypoint",
    edge: { defaultLane: "" },
  });
  for (const wp of waypoints(r)) assert.equal(wp.spec.targetRefs[0].name, "shop-waypoint");
  const edge = r.apply.find((o) => o.kind === "WasmPlugin" && o.metadata.name === "meshlane-edge")!;
  assert.equal(edge.spec.pluginConfig.defaultLane, "");
});

test("ambient turned off: the waypoint WasmPlugins are deleted", () => {
  const input = caseInput("two-lanes");
  const first = render(input, { ...TEST_OPTIONS, ambient: true });
  const live: KubeObject[] = [...input, ...waypoints(first)];
  const off = render(live, TEST_OPTIONS);
  assert.deepEqual(
    off.delete.filter((d) => d.kind === "WasmPlugin").map((d) => `${d.namespace}/${d.name}`),
    ["two/meshlane-waypoint", "two-b/meshlane-waypoint"],
  );
  assert.deepEqual(render(live, { ...TEST_OPTIONS, ambient: true }).delete, []);
});

test("settings: ambient must be a boolean, waypointName a Gateway name (with the field path)", () => {
  assert.equal(optionsFromConfig({ ambient: true, waypointName: "wp-1" }, SHA).ambient, true);
  assert.throws(() => optionsFromConfig({ ambient: "yes" }, SHA), /^Error: ambient: expected true or false$/);
  assert.throws(
    () => optionsFromConfig({ waypointName: "Way_Point" }, SHA),
    /^Error: waypointName: expected a Gateway name/,
  );
});

test("meshlane render --ambient as a process: the waypoint WasmPlugins on stdout; a bad --waypoint-name exits 2", () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [fromRoot("bin", "meshlane.js"), "render", ...args], {
      cwd: fromRoot(),
      encoding: "utf8",
    });
  const r = run(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA, "--ambient"]);
  assert.equal(r.status, 0, r.stderr);
  const objs = parseAllDocuments(r.stdout).map((d) => d.toJS() as KubeObject);
  const wps = objs.filter((o) => o.kind === "WasmPlugin" && o.metadata.name === "meshlane-waypoint");
  assert.ok(wps.length > 0, r.stdout);
  for (const wp of wps) assert.equal(wp.spec.pluginConfig.role, "waypoint");
  const bad = run([
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    SHA,
    "--ambient",
    "--waypoint-name",
    "A B",
  ]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--waypoint-name: expected a Gateway name/);
});

test("ambient with istio routing warns that waypoints route with the Gateway API; gateway-api routing does not", () => {
  const why = /ambient waypoints route with the Gateway API/;
  const istio = render(caseInput("two-lanes"), { ...TEST_OPTIONS, ambient: true });
  assert.ok(
    istio.warnings.some((w) => why.test(w.message)),
    JSON.stringify(istio.warnings),
  );
  const gw = render(caseInput("two-lanes"), { ...TEST_OPTIONS, ambient: true, routing: "gateway-api" });
  assert.ok(!gw.warnings.some((w) => why.test(w.message)), JSON.stringify(gw.warnings));
  assert.ok(waypoints(gw).length > 0);
});
