// Promotion `copy` of a Lane's rollout (docs/contracts.md, "Lane rollouts"): each lane workload's pod
// template is copied into the base workload of the same Service, as Flagger promotes a canary.
//
// Contract of `copyPromotion(lane, services)`:
// - `services` are the lane-enabled Services where the lane has workloads of its own (target = the lane).
//   At each, exactly one Deployment whose pod template carries `meshlane.io/lane: <lane>` and exactly
//   one carrying `meshlane.io/lane: base` must be selected by the Service; anything else is reported in
//   `message` and nothing of that Service is written (the rollout waits at its last share).
// - Base's pod template becomes the lane's, except its labels: the lane's labels, then base's own
//   `spec.selector.matchLabels` over them (so base still selects its pods), and `meshlane.io/lane: base`.
//   Base's selector, replicas and everything outside the template stay. The write is one JSON patch
//   guarded by base's resourceVersion (a concurrent edit fails it; the pass is retried on fresh state);
//   a template that already matches is not written again.
// - `done` is true once every base Deployment runs the copied template and is rolled out and ready:
//   `status.observedGeneration` ≥ its generation, and `updatedReplicas` and `availableReplicas` equal to
//   `spec.replicas` (default 1) with no older replicas left (`status.replicas`).
import { deepEqual, type KubeObject } from "../render/index.js";
import { selects } from "../render/objects.js";
import { BASE_LANE, LANE_LABEL } from "../render/types.js";
import { RESOURCES, type KubeClient } from "./kube.js";
import { isRetryable, statusCode, withRetry } from "./retry.js";
import type { ClusterState } from "./state.js";
import type { RetryPolicy, WriteTally } from "./writer.js";

export interface PromotionParts {
  client: KubeClient;
  state: Pick<ClusterState, "get" | "snapshot" | "observe">;
  tally: WriteTally;
  retry: RetryPolicy;
}

export interface CopyResult {
  done: boolean;
  /** What is being waited for, in words ("" when done). */
  message: string;
  /** Base Deployments whose template was written in this call. */
  written: string[];
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Obj = any;

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== "object" || v === null) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === "string") out[k] = x;
  return out;
}

/** Base's pod template after the copy: the lane's, with labels that base's selector still matches. */
export function copiedTemplate(laneDeployment: Obj, baseDeployment: Obj): Obj {
  const template = structuredClone(laneDeployment.spec?.template ?? {});
  template.metadata = { ...(template.metadata ?? {}) };
  template.metadata.labels = {
    ...stringMap(template.metadata.labels),
    ...stringMap(baseDeployment.spec?.selector?.matchLabels),
    [LANE_LABEL]: BASE_LANE,
  };
  return template;
}

/** Whether a Deployment runs its current template everywhere and is ready. */
export function rolledOut(d: Obj): boolean {
  const want = typeof d.spec?.replicas === "number" ? d.spec.replicas : 1;
  const s = d.status ?? {};
  return (
    typeof s.observedGeneration === "number" &&
    s.observedGeneration >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want
  );
}

export async function copyPromotion(
  lane: KubeObject,
  services: string[],
  p: PromotionParts,
  signal: AbortSignal,
): Promise<CopyResult> {
  const ns = lane.metadata.namespace ?? "";
  const deployments = p.state
    .snapshot()
    .filter((o) => o.kind === "Deployment" && (o.metadata.namespace ?? "") === ns);
  const waiting: string[] = [];
  const written: string[] = [];
  if (services.length === 0)
    return { done: false, message: "no Service has a workload of the lane", written };
  const r = RESOURCES["apps|Deployment"];
  for (const service of services) {
    const svc = p.state.get("v1", "Service", ns, service) as Obj;
    const selector = stringMap(svc?.spec?.selector);
    const of = (l: string) =>
      deployments.filter((d) => {
        const labels = stringMap((d.spec as Obj)?.template?.metadata?.labels);
        return labels[LANE_LABEL] === l && selects(selector, labels);
      });
    const laneDeps = of(lane.metadata.name);
    const baseDeps = of(BASE_LANE);
    if (laneDeps.length !== 1 || baseDeps.length !== 1) {
      waiting.push(
        `Service ${service}: copy needs exactly one Deployment of lane ${lane.metadata.name} and one of base ` +
          `(found ${laneDeps.length} and ${baseDeps.length})`,
      );
      continue;
    }
    // The informer keeps workloads slimmed to labels: read both whole.
    const get = (name: string) => withRetry(() => p.client.get(r, ns, name, signal), p.retry(signal));
    const from = (await get(laneDeps[0].metadata.name)) as Obj;
    const base = (await get(baseDeps[0].metadata.name)) as Obj;
    const template = copiedTemplate(from, base);
    if (!deepEqual(base.spec?.template, template)) {
      const patch = [
        { op: "test", path: "/metadata/resourceVersion", value: base.metadata.resourceVersion },
        { op: "replace", path: "/spec/template", value: template },
      ];
      try {
        const updated = await withRetry(
          () => p.client.patch(r, ns, base.metadata.name, "json", patch, { signal }),
          // A stale resourceVersion is not retried with the same body: the pass runs again on fresh state.
          p.retry(signal, (err) => isRetryable(err) && statusCode(err) !== 409),
        );
        p.tally.ok("patch", "Deployment");
        p.state.observe(updated as KubeObject);
      } catch (err) {
        p.tally.failed("patch", "Deployment", err);
        throw err;
      }
      written.push(base.metadata.name);
      waiting.push(`Deployment ${base.metadata.name}: rolling out the lane's pod template`);
      continue;
    }
    if (!rolledOut(base))
      waiting.push(`Deployment ${base.metadata.name}: waiting until rolled out and ready`);
  }
  return { done: waiting.length === 0, message: waiting.join("; "), written };
}
