// `meshlane demo --routing gateway-api`: the demo mesh routed by the Gateway API objects meshlane
// renders, not by a rule of its own. The demo's services become the cluster render would see (a
// Service and a Deployment per lane, a Lane per non-base lane falling back to base, the user's
// HTTPRoute on the ingress Gateway to the entry service); render runs with `routing: gateway-api`;
// each proxy then routes a request by the rendered HTTPRoutes (the edge by the one attached to the
// Gateway, a sidecar by the mesh route attached to the called Service), and the chosen backend, a
// per-lane Service, names the instance whose pods it selects.
import { render, type KubeObject } from "../render/index.js";
import { BASE_LANE, LANE_LABEL } from "../render/types.js";
import type { HeaderPairs } from "../host/index.js";
import { headerValue } from "./proxy.js";
import type { ServiceSpec } from "./mesh.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const NAMESPACE = "demo";
const GATEWAY = "ingress";

/** The cluster the demo stands for, as render reads it. */
export function demoCluster(services: readonly ServiceSpec[], laneHeader: string): KubeObject[] {
  const objs: KubeObject[] = [];
  const lanes = new Set(services.flatMap((s) => s.lanes).filter((l) => l !== BASE_LANE));
  for (const lane of [...lanes].sort()) {
    objs.push({
      apiVersion: "meshlane.io/v1alpha1",
      kind: "Lane",
      metadata: { name: lane, namespace: NAMESPACE },
      spec: { fallback: BASE_LANE, dye: [{ when: { headers: { [laneHeader]: { exact: lane } } } }] },
    });
  }
  for (const s of services) {
    objs.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: s.name, namespace: NAMESPACE },
      spec: { selector: { app: s.name }, ports: [{ name: "http", port: 80 }] },
    });
    for (const lane of s.lanes) {
      objs.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${s.name}-${lane}`, namespace: NAMESPACE },
        spec: {
          selector: { matchLabels: { app: s.name, [LANE_LABEL]: lane } },
          template: { metadata: { labels: { app: s.name, [LANE_LABEL]: lane } } },
        },
      });
    }
  }
  objs.push({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "edge", namespace: NAMESPACE },
    spec: {
      parentRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: GATEWAY }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/" } }],
          backendRefs: [{ group: "", kind: "Service", name: services[0].name, port: 80, weight: 1 }],
        },
      ],
    },
  });
  return objs;
}

function pathMatches(m: Json, path: string): number {
  const p = m?.path ?? { type: "PathPrefix", value: "/" };
  if (p.type === "Exact") return path === p.value ? p.value.length + 1 : -1;
  const v = String(p.value);
  const ok = v === "/" || path === v || path.startsWith(v.endsWith("/") ? v : `${v}/`);
  return ok ? v.length : -1;
}

function headersMatch(m: Json, headers: HeaderPairs): boolean {
  return (Array.isArray(m?.headers) ? m.headers : []).every(
    (h: Json) =>
      (h.type ?? "Exact") === "Exact" && headerValue(headers, String(h.name).toLowerCase()) === h.value,
  );
}

/**
 * The backend an HTTPRoute sends a request to, by the Gateway API's precedence among matching rules:
 * the longest path match, then the most header matches, then rule order. The first backendRef of the
 * winning rule (the demo's routes have one per rule).
 */
export function pickBackend(routes: KubeObject[], headers: HeaderPairs): string | undefined {
  const path = (headerValue(headers, ":path") ?? "/").split("?")[0];
  let best: { score: [number, number, number]; backend: string } | undefined;
  routes.forEach((r, ri) => {
    (r.spec?.rules ?? []).forEach((rule: Json, i: number) => {
      for (const m of rule.matches ?? [{}]) {
        const p = pathMatches(m, path);
        if (p < 0 || !headersMatch(m, headers)) continue;
        const score: [number, number, number] = [p, (m.headers ?? []).length, -(ri * 100 + i)];
        const better =
          !best ||
          score[0] > best.score[0] ||
          (score[0] === best.score[0] &&
            (score[1] > best.score[1] || (score[1] === best.score[1] && score[2] > best.score[2])));
        const backend = rule.backendRefs?.[0]?.name;
        if (better && typeof backend === "string") best = { score, backend };
      }
    });
  });
  return best?.backend;
}

/** A router for the mesh from the rendered objects: (service, headers, at edge) → instance name. */
export function gatewayApiRouter(
  services: readonly ServiceSpec[],
  laneHeader: string,
): {
  router: (service: string, headers: HeaderPairs, edge: boolean) => string | undefined;
  objects: KubeObject[];
} {
  const result = render(demoCluster(services, laneHeader), {
    install: "envoyfilter",
    routing: "gateway-api",
    laneHeader,
    wasm: { url: "http://127.0.0.1/meshlane.wasm", sha256: "0".repeat(64) },
  });
  if (result.errors.length > 0)
    throw new Error(`render: ${result.errors[0].object}: ${result.errors[0].message}`);
  const objects = [...result.apply, ...result.restore];
  const routes = objects.filter((o) => o.kind === "HTTPRoute");
  const laneServices = new Map(
    objects
      .filter((o) => o.kind === "Service")
      .map((o) => [o.metadata.name, `${o.spec.selector.app}-${o.spec.selector[LANE_LABEL]}`]),
  );
  const attached = (edge: boolean, service: string) =>
    routes.filter((r) =>
      (r.spec?.parentRefs ?? []).some((p: Json) =>
        edge ? p.kind === "Gateway" && p.name === GATEWAY : p.kind === "Service" && p.name === service,
      ),
    );
  return {
    objects,
    router: (service, headers, edge) => {
      const backend = pickBackend(attached(edge, service), headers);
      // A backend that is a per-lane Service goes to that lane's instance; the lane-enabled Service
      // itself (a service with one lane has no HTTPRoute) to its base.
      if (backend === undefined) return undefined;
      return laneServices.get(backend) ?? `${backend}-${BASE_LANE}`;
    },
  };
}
