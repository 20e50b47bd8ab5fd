// Trace headers end to end: the render option (`--trace-header`, the controller's `traceHeaders`)
// reaches the sidecar plugin config's propagation.traceHeaders, and the filter keys its trace memory
// by it. Seed 003's app forwards only `my-request-id`: it keeps its lane with the lane header left
// at x-lane.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fromRoot } from "../../controller/src/paths.js";
import { render, type KubeObject, type RenderOptions } from "../../controller/src/render/index.js";
import { optionsFromConfig } from "../../controller/src/render/options.js";
import { caseInput, caseOptions, TEST_OPTIONS } from "../render/golden.js";
import { configured, exchange, inbound, outbound, requests } from "../support/filter.js";

/** Every plugin config string (a JSON object with `role`) found anywhere in the rendered objects. */
function pluginConfigs(objects: KubeObject[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string" && v.startsWith("{")) {
      try {
        const c = JSON.parse(v) as Record<string, unknown>;
        if (typeof c.role === "string") out.push(c);
      } catch {
        // not a config
      }
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk);
  };
  walk(objects);
  return out;
}

function sidecarConfig(options: RenderOptions): Record<string, unknown> {
  const r = render(caseInput("seed-003"), options);
  assert.deepEqual(r.errors, []);
  const sidecars = pluginConfigs(r.apply).filter((c) => c.role === "sidecar");
  assert.ok(sidecars.length > 0, "a sidecar plugin config is rendered");
  for (const c of sidecars) assert.deepEqual(c, sidecars[0], "every sidecar gets the same config");
  return sidecars[0];
}

/** mocka's sidecar: the gateway's request arrives with the lane, Istio's x-request-id and the app's
 * own id; mocka then calls mockb forwarding only my-request-id (its outbound sidecar generates a
 * fresh x-request-id, as Envoy does for a request without one). The lane on that call, or null. */
async function seedHop(config: Record<string, unknown>): Promise<string | null> {
  const { vm, root } = await configured(config);
  exchange(
    root,
    [
      ["x-lane", "canary"],
      ["x-request-id", "istio-generated-1"],
      ["my-request-id", "seed-req-1"],
    ],
    [inbound],
  );
  const lane = exchange(
    root,
    [
      ["my-request-id", "seed-req-1"],
      ["x-request-id", "envoy-generated-2"],
    ],
    [outbound],
  ).lane;
  assert.equal(vm.failed, false);
  if (lane !== null) assert.equal(requests(vm, "canary", "sidecar", "outbound", "memory"), 1);
  return lane;
}

test("seed 003 with traceHeaders [my-request-id]: mocka's call to mockb keeps the canary lane", async () => {
  const config = sidecarConfig(caseOptions("seed-003-trace-headers"));
  assert.deepEqual(config.propagation, { traceHeaders: ["my-request-id"] });
  assert.equal(config.laneHeader, "x-lane", "the lane header stays x-lane");
  assert.equal(await seedHop(config), "canary");
});

test("seed 003 with the default trace headers: the lane is lost at mocka (what the option fixes)", async () => {
  const config = sidecarConfig(TEST_OPTIONS);
  assert.equal(config.propagation, undefined);
  assert.equal(await seedHop(config), null);
});

test("the controller's traceHeaders setting reaches the sidecar config; bad values are refused with the field", async () => {
  const o = optionsFromConfig({ traceHeaders: ["My-Request-Id", "traceparent"] }, TEST_OPTIONS.wasm.sha256);
  assert.deepEqual(o.traceHeaders, ["my-request-id", "traceparent"]);
  assert.deepEqual(sidecarConfig(o).propagation, { traceHeaders: ["my-request-id", "traceparent"] });
  // Other propagation fields from `sidecar.propagation` are kept; traceHeaders wins.
  const both = optionsFromConfig(
    { traceHeaders: ["my-request-id"], sidecar: { propagation: { ttlSeconds: 30, traceHeaders: ["x"] } } },
    TEST_OPTIONS.wasm.sha256,
  );
  assert.deepEqual(sidecarConfig(both).propagation, { ttlSeconds: 30, traceHeaders: ["my-request-id"] });
  assert.throws(
    () => optionsFromConfig({ traceHeaders: [] }, "x"),
    /^Error: traceHeaders: expected a non-empty list/,
  );
  assert.throws(() => optionsFromConfig({ traceHeaders: "my-request-id" }, "x"), /^Error: traceHeaders: /);
  assert.throws(
    () => optionsFromConfig({ traceHeaders: ["ok", "has space"] }, "x"),
    /^Error: traceHeaders\[1\]: expected a header name/,
  );
});

test("meshlane render --trace-header (a process, output into a pipe): the sidecar config carries it; a bad name is exit 2", () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [fromRoot("bin", "meshlane.js"), "render", ...args], {
      cwd: fromRoot(),
      encoding: "utf8",
    });
  const sha = TEST_OPTIONS.wasm.sha256;
  const ok = run([
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    sha,
    "-o",
    "json",
    "--trace-header",
    "My-Request-Id",
  ]);
  assert.equal(ok.status, 0, ok.stderr);
  const configs = pluginConfigs((JSON.parse(ok.stdout) as { items: KubeObject[] }).items);
  const sidecar = configs.find((c) => c.role === "sidecar");
  assert.deepEqual(sidecar?.propagation, { traceHeaders: ["my-request-id"] });
  assert.equal(
    configs.find((c) => c.role === "edge")?.propagation,
    undefined,
    "the edge keys nothing by trace",
  );
  const bad = run([
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    sha,
    "--trace-header",
    "my request id",
  ]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--trace-header: expected a header name/);
  assert.equal(bad.stdout, "");
});
