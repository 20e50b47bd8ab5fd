// Render time for a large mesh: 1,000 Services in 10 namespaces, 5 Lanes per namespace (chained
// fallbacks), each Service with its user's VirtualService and DestinationRule, its base workload and
// 2-3 lane workloads. Measures a steady-state render (the cluster already holds the previous output),
// which is what the controller does on every change; goal ≤ 1 s. With `gateway-api` routing the
// user's objects are an HTTPRoute per Service on the ingress Gateway instead (same two rules), and
// render writes per-lane Services and HTTPRoutes; same goal.
import { fileURLToPath } from "node:url";
import {
  render,
  type KubeObject,
  type RenderOptions,
  type RoutingMode,
} from "../controller/src/render/index.js";

const NAMESPACES = 10;
const SERVICES_PER_NAMESPACE = 100;
const LANES = 5;

const baseOptions: RenderOptions = {
  install: "envoyfilter",
  wasm: { url: "http://meshlane-controller.meshlane-system.svc:8080/meshlane.wasm", sha256: "a".repeat(64) },
};

function deployment(ns: string, app: string, lane: string): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `${app}-${lane}`, namespace: ns },
    spec: {
      selector: { matchLabels: { app, "meshlane.io/lane": lane } },
      template: {
        metadata: { labels: { app, version: lane, "meshlane.io/lane": lane } },
        spec: { containers: [{ name: app, image: `example/${app}:${lane}` }] },
      },
    },
    status: { readyReplicas: 2 },
  };
}

/** The synthetic cluster, before meshlane: the user's routing objects in the given API. */
export function benchWorld(routing: RoutingMode = "istio"): KubeObject[] {
  const objs: KubeObject[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = `team-${n}`;
    for (let l = 1; l <= LANES; l++) {
      objs.push({
        apiVersion: "meshlane.io/v1alpha1",
        kind: "Lane",
        metadata: { name: `lane-${l}`, namespace: ns },
        spec: {
          fallback: l > 1 && l % 2 === 1 ? `lane-${l - 1}` : "base",
          priority: l,
          dye: [
            { when: { headers: { "x-team": { exact: `t${l}` } } } },
            {
              when: { cookies: { lane: { exact: `lane-${l}` } } },
              percent: 10,
              stickyBy: { cookie: "session" },
            },
          ],
        },
      });
    }
    for (let i = 0; i < SERVICES_PER_NAMESPACE; i++) {
      const app = `svc-${i}`;
      const next = `svc-${(i + 1) % SERVICES_PER_NAMESPACE}`;
      objs.push({
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: app, namespace: ns },
        spec: { selector: { app }, ports: [{ name: "http", port: 8080 }] },
      });
      objs.push(deployment(ns, app, "base"));
      for (let l = 1; l <= LANES; l++)
        if ((i + l) % 2 === 0 || l === (i % LANES) + 1) objs.push(deployment(ns, app, `lane-${l}`));
      if (routing === "gateway-api") {
        const backend = (name: string, weight: number) => ({
          group: "",
          kind: "Service",
          name,
          port: 8080,
          weight,
        });
        objs.push({
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "HTTPRoute",
          metadata: { name: app, namespace: ns },
          spec: {
            parentRefs: [
              {
                group: "gateway.networking.k8s.io",
                kind: "Gateway",
                name: "ingress",
                namespace: "istio-ingress",
              },
            ],
            hostnames: [`${app}.${ns}.example.com`],
            rules: [
              {
                matches: [{ path: { type: "PathPrefix", value: "/v2" } }],
                backendRefs: [backend(app, 90), backend(next, 10)],
              },
              {
                matches: [{ path: { type: "PathPrefix", value: "/" } }],
                backendRefs: [backend(app, 1)],
                timeouts: { request: "3s" },
              },
            ],
          },
        });
        continue;
      }
      objs.push({
        apiVersion: "networking.istio.io/v1",
        kind: "DestinationRule",
        metadata: { name: app, namespace: ns },
        spec: {
          host: app,
          trafficPolicy: { connectionPool: { http: { http1MaxPendingRequests: 100 } } },
          subsets: [{ name: "v-base", labels: { version: "base" } }],
        },
      });
      objs.push({
        apiVersion: "networking.istio.io/v1",
        kind: "VirtualService",
        metadata: { name: app, namespace: ns },
        spec: {
          hosts: [app],
          http: [
            {
              match: [{ uri: { prefix: "/v2" } }],
              route: [
                { destination: { host: app, subset: "v-base" }, weight: 90 },
                { destination: { host: next }, weight: 10 },
              ],
            },
            { route: [{ destination: { host: app } }], timeout: "3s" },
          ],
        },
      });
    }
  }
  return objs;
}

/** The cluster after a render was carried out (what the controller sees from then on). */
function carriedOut(world: KubeObject[], options: RenderOptions): KubeObject[] {
  const r = render(world, options);
  const key = (o: KubeObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
  const m = new Map(world.map((o) => [key(o), o]));
  for (const o of [...r.apply, ...r.restore]) m.set(key(o), JSON.parse(JSON.stringify(o)));
  return [...m.values()];
}

export async function benchRender(
  routing: RoutingMode = "istio",
): Promise<{ services: number; lanes: number; ms: number }> {
  const options = routing === "istio" ? baseOptions : { ...baseOptions, routing };
  const world = carriedOut(benchWorld(routing), options);
  render(world, options); // warm-up (JIT)
  const runs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = render(world, options);
    runs.push(performance.now() - t0);
    if (r.errors.length > 0) throw new Error(`bench world has errors: ${r.errors[0].message}`);
  }
  runs.sort((a, b) => a - b);
  return { services: NAMESPACES * SERVICES_PER_NAMESPACE, lanes: LANES, ms: Math.round(runs[2] * 10) / 10 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const routing of ["istio", "gateway-api"] as const) {
    const r = await benchRender(routing);
    process.stdout.write(
      `render (${routing}): ${r.services} Services x ${r.lanes} Lanes: ${r.ms} ms (median of 5)\n`,
    );
  }
}
