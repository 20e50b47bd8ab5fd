// The mesh the provider tests judge: mocka has base, a healthy `canary` and a `broken` lane whose
// workload answers 500 to half its requests; mockb has only base. The real filter runs in every
// proxy and records the response metrics the providers read.
import { startMesh, type Mesh } from "../../controller/src/demo/mesh.js";
import type { RolloutMetric } from "../../controller/src/rollout/engine.js";
import type { AnalysisTarget } from "../../controller/src/rollout/provider.js";
import { DEMO_NAMESPACE } from "../../controller/src/demo/stats.js";
import { filterModule } from "../support/filter.js";

export const SERVICES = ["mocka", "mockb"];

export async function lanesMesh(): Promise<Mesh> {
  return startMesh({
    wasm: await filterModule(),
    services: [
      { name: "mocka", lanes: ["base", "canary", "broken"], upstream: "mockb" },
      { name: "mockb", lanes: ["base"] },
    ],
    edgeConfig: {
      role: "edge",
      lanes: ["base", "canary", "broken"],
      defaultLane: "base",
      rules: [
        { lane: "canary", when: { headers: { agent: { exact: "pc" } } } },
        { lane: "broken", when: { headers: { agent: { exact: "bad" } } } },
      ],
    },
    failPercent: (i) => (i.lane === "broken" ? 50 : 0),
  });
}

/** One round of traffic: `n` requests each for canary, broken and base. */
export async function traffic(mesh: Mesh, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await Promise.all(["pc", "bad", "mobile"].map((agent) => mesh.request({ agent })));
  }
}

export const SUCCESS = { name: "request-success-rate", thresholdRange: { min: 95 } };
export const DURATION = { name: "request-duration", thresholdRange: { max: 5000 } };

export function target(
  lane: string,
  metrics: RolloutMetric[],
  extra: Partial<AnalysisTarget> = {},
): AnalysisTarget {
  return {
    namespace: DEMO_NAMESPACE,
    lane,
    services: SERVICES,
    metrics,
    window: "30s",
    minRequests: 10,
    ...extra,
  };
}
