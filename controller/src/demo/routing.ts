// The demo's `--routing gateway-api`: the mesh's router from the objects render writes for the demo's
// services (gatewayapi.ts), and a few lines saying what those objects are.
import type { HeaderPairs } from "../host/index.js";
import { gatewayApiRouter } from "./gatewayapi.js";
import { DEMO_SERVICES } from "./mesh.js";

export function demoRouting(
  edgeConfig: object | string,
  out: (line: string) => void,
): { router: (service: string, headers: HeaderPairs, edge: boolean) => string | undefined } {
  let laneHeader = "x-lane";
  try {
    const c = typeof edgeConfig === "string" ? JSON.parse(edgeConfig) : edgeConfig;
    if (typeof c?.laneHeader === "string") laneHeader = c.laneHeader.toLowerCase();
  } catch {
    // A config the filter cannot read is reported when the edge starts.
  }
  const { router, objects } = gatewayApiRouter(DEMO_SERVICES, laneHeader);
  out("  routing: gateway-api, by the objects `meshlane render --routing gateway-api` writes for this mesh:");
  for (const o of objects.filter((x) => x.kind === "Service" || x.kind === "HTTPRoute")) {
    const rules =
      o.kind === "HTTPRoute"
        ? (o.spec.rules as {
            backendRefs?: { name: string }[];
            matches?: { headers?: { value: string }[] }[];
          }[])
        : [];
    const summary =
      o.kind === "HTTPRoute"
        ? rules
            .map((r) => `${r.matches?.[0]?.headers?.[0]?.value ?? "default"} -> ${r.backendRefs?.[0]?.name}`)
            .join(", ")
        : `selects ${Object.entries(o.spec.selector as Record<string, string>)
            .map(([k, v]) => `${k}=${v}`)
            .join(",")}`;
    out(`    ${o.kind} ${o.metadata.name}: ${summary}`);
  }
  return { router };
}
