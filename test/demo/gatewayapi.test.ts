// `meshlane demo --routing gateway-api`: the mesh routed by the HTTPRoutes and per-lane Services render
// writes for it (controller/src/demo/gatewayapi.ts), as a process and in-process.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fromRoot } from "../../controller/src/paths.js";
import { gatewayApiRouter, pickBackend } from "../../controller/src/demo/gatewayapi.js";
import { DEMO_SERVICES, startMesh } from "../../controller/src/demo/mesh.js";
import type { KubeObject } from "../../controller/src/render/index.js";

const CANARY = "-> mocka(version: canary) -> mockb(version: base) -> mockc(version: canary)";
const BASE = "-> mocka(version: base) -> mockb(version: base) -> mockc(version: base)";

function meshlane(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [fromRoot("bin", "meshlane.js"), ...args],
      { cwd: fromRoot(), timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test("demo --routing gateway-api: the rendered objects, then the same canary -> base -> canary chain", async () => {
  const r = await meshlane(["demo", "--routing", "gateway-api", "--requests", "2"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /HTTPRoute meshlane-mocka: canary -> mocka-canary, default -> mocka-base/);
  assert.match(r.stdout, /HTTPRoute edge: canary -> mocka-canary, default -> mocka-base/);
  assert.match(r.stdout, /Service mockc-canary: selects app=mockc,meshlane.io\/lane=canary/);
  assert.ok(r.stdout.includes(`agent: pc      ${CANARY}`), r.stdout);
  assert.ok(r.stdout.includes(`agent: mobile  ${BASE}`), r.stdout);
  const bad = await meshlane(["demo", "--routing", "ambient-ish"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--routing must be istio or gateway-api/);
});

test("the demo's router follows the HTTPRoutes: a route without the lane rule keeps canary on base", async () => {
  const { router, objects } = gatewayApiRouter(DEMO_SERVICES, "x-lane");
  const canary = [["x-lane", "canary"] as [string, string]];
  assert.equal(router("mocka", canary, false), "mocka-canary");
  assert.equal(router("mocka", canary, true), "mocka-canary");
  assert.equal(router("mocka", [], true), "mocka-base");
  assert.equal(router("mockb", canary, false), undefined, "no HTTPRoute for a Service without lanes");

  // The same mesh with mockc's lane rule taken out of its HTTPRoute: canary stays on base there.
  const routes = objects.filter((o) => o.kind === "HTTPRoute");
  const cut = routes.map((o) =>
    o.metadata.name === "meshlane-mockc" ? { ...o, spec: { ...o.spec, rules: o.spec.rules.slice(-1) } } : o,
  );
  const mesh = await startMesh({
    router: (service, headers, edge) => {
      const attached = cut.filter((r: KubeObject) =>
        r.spec.parentRefs.some((p: { kind: string; name: string }) =>
          edge ? p.kind === "Gateway" : p.kind === "Service" && p.name === service,
        ),
      );
      return pickBackend(attached, headers);
    },
  });
  try {
    const r = await mesh.request({ agent: "pc" });
    assert.equal(r.status, 200);
    assert.ok(
      r.body.startsWith("-> mocka(version: canary) -> mockb(version: base) -> mockc(version: base)"),
      r.body,
    );
  } finally {
    await mesh.close();
  }
});

test("pickBackend: the Gateway API's precedence, not rule order", () => {
  const rule = (path: string, headers: [string, string][], name: string) => ({
    matches: [
      {
        path: { type: "PathPrefix", value: path },
        headers: headers.map(([n, v]) => ({ type: "Exact", name: n, value: v })),
      },
    ],
    backendRefs: [{ name }],
  });
  const route = {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r" },
    spec: {
      rules: [rule("/", [], "all"), rule("/", [["x-lane", "canary"]], "lane"), rule("/api", [], "api")],
    },
  } as KubeObject;
  const h = (path: string, lane?: string): [string, string][] => [
    [":path", path],
    ...(lane ? [["x-lane", lane] as [string, string]] : []),
  ];
  assert.equal(pickBackend([route], h("/x")), "all");
  assert.equal(pickBackend([route], h("/x", "canary")), "lane", "more header matches win at equal path");
  assert.equal(pickBackend([route], h("/api/v1", "canary")), "api", "a longer path wins first");
  assert.equal(pickBackend([route], h("/apix", "canary")), "lane", "a prefix matches whole segments");
});
