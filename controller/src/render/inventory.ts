// Sorting the input into what render reads: Services, workloads (with their pod labels and readiness),
// Lanes, the user's VirtualServices and DestinationRules, and the objects meshlane manages. Objects
// that are not Kubernetes objects are reported as errors; kinds render does not use are ignored.
import { describe, groupOf, keyOf } from "./objects.js";
import {
  ENABLED_LABEL,
  LANE_API_VERSION,
  LANE_GROUP,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  SERVICE_LABEL,
  type KubeObject,
  type Problem,
} from "./types.js";

export interface Workload {
  obj: KubeObject;
  namespace: string;
  /** The labels its pods carry. */
  labels: Record<string, string>;
  isPod: boolean;
  /** Owned by another controller (a ReplicaSet of a Deployment, a Pod of a ReplicaSet). */
  owned: boolean;
  /** Ready pods it accounts for, when its status says. */
  ready?: number;
}

export interface Inventory {
  services: KubeObject[];
  workloads: Workload[];
  lanes: KubeObject[];
  virtualServices: KubeObject[];
  destinationRules: KubeObject[];
  /** The user's HTTPRoutes (gateway.networking.k8s.io). */
  httpRoutes: KubeObject[];
  /** Namespaces labelled `meshlane.io/enabled: "true"` among the input's Namespace objects. */
  enabledNamespaces: string[];
  /** Objects labelled managed-by meshlane, of the kinds render writes. */
  managed: KubeObject[];
  /** Every input object by identity (group, kind, namespace, name). */
  byKey: Map<string, KubeObject>;
  errors: Problem[];
  warnings: Problem[];
}

const WORKLOAD_KINDS = new Set([
  "apps|Deployment",
  "apps|StatefulSet",
  "apps|DaemonSet",
  "apps|ReplicaSet",
  "|ReplicationController",
  "|Pod",
  "apps.kruise.io|CloneSet",
  "apps.kruise.io|StatefulSet",
  "argoproj.io|Rollout",
]);

export const MANAGED_KINDS = new Set([
  "networking.istio.io|VirtualService",
  "networking.istio.io|DestinationRule",
  "networking.istio.io|EnvoyFilter",
  "extensions.istio.io|WasmPlugin",
  "gateway.networking.k8s.io|HTTPRoute",
  // Only the per-lane Services meshlane creates (they also carry meshlane.io/service): see `isManaged`.
  "|Service",
]);

/**
 * Whether an object is one meshlane created: labelled managed-by meshlane, of a kind render writes, and
 * for a Service also labelled `meshlane.io/service` (a Service of the user's or of meshlane's own
 * installation that only carries the managed-by label is never taken for a per-lane Service).
 */
export function isManaged(o: KubeObject, gk: string): boolean {
  if (o.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY || !MANAGED_KINDS.has(gk)) return false;
  return gk !== "|Service" || o.metadata.labels?.[SERVICE_LABEL] !== undefined;
}

/** Groups whose other kinds are ordinary cluster furniture: read silently past. */
const QUIET_GROUPS = new Set([
  "",
  "apps",
  "batch",
  "autoscaling",
  "policy",
  "rbac.authorization.k8s.io",
  "networking.k8s.io",
  "apiextensions.k8s.io",
  "admissionregistration.k8s.io",
  "coordination.k8s.io",
  "discovery.k8s.io",
  "events.k8s.io",
  "scheduling.k8s.io",
  "storage.k8s.io",
  "node.k8s.io",
  "certificates.k8s.io",
  "gateway.networking.k8s.io",
  "networking.istio.io",
  "security.istio.io",
  "telemetry.istio.io",
  "extensions.istio.io",
  "install.istio.io",
  "kustomize.config.k8s.io",
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === "string") out[k] = val;
  return out;
}

function readyCount(o: KubeObject, kind: string): number | undefined {
  const status = o.status;
  if (!isObject(status)) return undefined;
  if (kind === "Pod") {
    if (o.metadata.deletionTimestamp) return 0;
    const conds = Array.isArray(status.conditions) ? status.conditions : [];
    return conds.some((c) => isObject(c) && c.type === "Ready" && c.status === "True") ? 1 : 0;
  }
  const n = kind === "DaemonSet" ? status.numberReady : status.readyReplicas;
  return typeof n === "number" ? n : 0;
}

/** Whether an input value is shaped like a Kubernetes object; the reason when it is not. */
function shapeProblem(v: unknown): string {
  if (!isObject(v)) return "not an object";
  if (typeof v.apiVersion !== "string" || v.apiVersion === "") return "no apiVersion";
  if (typeof v.kind !== "string" || v.kind === "") return "no kind";
  if (!isObject(v.metadata)) return "no metadata";
  if (typeof v.metadata.name !== "string" || v.metadata.name === "") return "no metadata.name";
  for (const f of ["labels", "annotations"]) {
    const m = v.metadata[f];
    if (m !== undefined && (!isObject(m) || Object.values(m).some((x) => typeof x !== "string"))) {
      return `metadata.${f} must map strings to strings`;
    }
  }
  return "";
}

const NAMESPACED_GROUPS = new Set([
  "networking.istio.io",
  "extensions.istio.io",
  "gateway.networking.k8s.io",
  LANE_GROUP,
]);

/**
 * Sorts the input. Objects of the kinds render reads get `defaultNamespace` when they name none (a
 * shallow copy; everything else keeps its identity so unchanged objects compare as the same object).
 */
export function takeInventory(objects: unknown[], defaultNamespace: string): Inventory {
  const inv: Inventory = {
    services: [],
    workloads: [],
    lanes: [],
    virtualServices: [],
    destinationRules: [],
    httpRoutes: [],
    enabledNamespaces: [],
    managed: [],
    byKey: new Map(),
    errors: [],
    warnings: [],
  };
  objects.forEach((raw, index) => {
    const problem = shapeProblem(raw);
    if (problem) {
      const r = raw as { kind?: unknown; metadata?: { name?: unknown } };
      const name = typeof r?.metadata?.name === "string" ? ` (name ${JSON.stringify(r.metadata.name)})` : "";
      const what =
        typeof r?.kind === "string" ? `${r.kind} #${index + 1}${name}` : `object #${index + 1}${name}`;
      inv.errors.push({ object: what, message: `not a Kubernetes object: ${problem}` });
      return;
    }
    let o = raw as KubeObject;
    const group = groupOf(o.apiVersion);
    const gk = `${group}|${o.kind}`;
    const reads = gk === "|Service" || WORKLOAD_KINDS.has(gk) || NAMESPACED_GROUPS.has(group);
    if (reads && !o.metadata.namespace)
      o = { ...o, metadata: { ...o.metadata, namespace: defaultNamespace } };
    const key = keyOf(o);
    if (inv.byKey.has(key)) {
      inv.warnings.push({
        object: describe(o),
        message: "appears more than once in the input; the last one is used",
      });
    }
    inv.byKey.set(key, o);
  });

  for (const o of inv.byKey.values()) {
    const group = groupOf(o.apiVersion);
    const gk = `${group}|${o.kind}`;
    const ns = o.metadata.namespace ?? "";
    if (isManaged(o, gk)) {
      inv.managed.push(o);
    } else if (gk === "|Service") {
      inv.services.push(o);
    } else if (gk === "|Namespace") {
      if (o.metadata.labels?.[ENABLED_LABEL] === "true") inv.enabledNamespaces.push(o.metadata.name);
    } else if (WORKLOAD_KINDS.has(gk)) {
      const isPod = o.kind === "Pod";
      const template = isObject(o.spec) && isObject(o.spec.template) ? o.spec.template : undefined;
      const labels = isPod
        ? (o.metadata.labels ?? {})
        : stringMap(isObject(template?.metadata) ? template.metadata.labels : undefined);
      const refs = o.metadata.ownerReferences;
      const owned = Array.isArray(refs) && refs.some((r) => isObject(r) && r.controller === true);
      inv.workloads.push({ obj: o, namespace: ns, labels, isPod, owned, ready: readyCount(o, o.kind) });
    } else if (gk === "networking.istio.io|VirtualService") {
      inv.virtualServices.push(o);
    } else if (gk === "networking.istio.io|DestinationRule") {
      inv.destinationRules.push(o);
    } else if (gk === "gateway.networking.k8s.io|HTTPRoute") {
      inv.httpRoutes.push(o);
    } else if (group === LANE_GROUP) {
      if (o.kind !== "Lane") {
        inv.errors.push({ object: describe(o), message: `unknown kind: ${LANE_GROUP} defines only Lane` });
      } else if (o.apiVersion !== LANE_API_VERSION) {
        inv.errors.push({
          object: describe(o),
          message: `unknown apiVersion ${o.apiVersion} (expected ${LANE_API_VERSION})`,
        });
      } else {
        inv.lanes.push(o);
      }
    } else if (!QUIET_GROUPS.has(group)) {
      inv.warnings.push({
        object: describe(o),
        message: `kind ${o.kind} (${o.apiVersion}) is not one render reads; ignored`,
      });
    }
  }
  return inv;
}
