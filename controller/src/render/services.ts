// Lane-enabled Services: those whose workloads carry `meshlane.io/lane`, with the lanes present and
// their ready pods. A Service qualifies only with a `base` workload and at least one other lane;
// anything that would leave unlabelled traffic nowhere to go is a warning and the Service is skipped.
import { serviceFqdn } from "./hosts.js";
import type { Inventory, Workload } from "./inventory.js";
import { compareStrings, describe, selects } from "./objects.js";
import { BASE_LANE, LANE_LABEL, LANE_NAME_PATTERN, type KubeObject, type Problem } from "./types.js";

export interface LaneService {
  obj: KubeObject;
  name: string;
  namespace: string;
  fqdn: string;
  /** Lane label values present on its workloads; always holds `base`. */
  lanes: Set<string>;
  /** Ready pods per lane, when the input says (Pods, or workload status). */
  ready: Map<string, number>;
  /** The workloads it selects (lane-labelled or not). */
  workloads: Workload[];
  /** Whether a port is declared TCP (name `tcp`/`tcp-*` or appProtocol `tcp`): those routes get pinned too. */
  tcp: boolean;
}

export interface ServiceScan {
  services: Map<string, LaneService>;
  /** namespace → lane values found on any workload there (for "Lane with no workloads"). */
  lanesSeen: Map<string, Set<string>>;
  warnings: Problem[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function selectorOf(svc: KubeObject): Record<string, string> | undefined {
  const sel = isObject(svc.spec) ? svc.spec.selector : undefined;
  if (!isObject(sel)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sel)) if (typeof v === "string") out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

function hasTcpPort(svc: KubeObject): boolean {
  const ports = isObject(svc.spec) && Array.isArray(svc.spec.ports) ? svc.spec.ports : [];
  return ports.some((p: unknown) => {
    if (!isObject(p)) return false;
    const name = typeof p.name === "string" ? p.name : "";
    return name === "tcp" || name.startsWith("tcp-") || p.appProtocol === "tcp";
  });
}

/** Finds the lane-enabled Services. Workloads are indexed by namespace and label so this stays linear. */
export function scanServices(inv: Inventory, domain: string): ServiceScan {
  const warnings: Problem[] = [];
  const index = new Map<string, Workload[]>();
  const lanesSeen = new Map<string, Set<string>>();
  for (const w of inv.workloads) {
    for (const [k, v] of Object.entries(w.labels)) {
      const key = `${w.namespace}\n${k}\n${v}`;
      const list = index.get(key);
      if (list) list.push(w);
      else index.set(key, [w]);
    }
    const lane = w.labels[LANE_LABEL];
    if (lane !== undefined) {
      if (!LANE_NAME_PATTERN.test(lane)) {
        if (!w.owned) {
          warnings.push({
            object: describe(w.obj),
            message: `${LANE_LABEL}=${JSON.stringify(lane)} is not a lane name; ignored`,
          });
        }
        continue;
      }
      let seen = lanesSeen.get(w.namespace);
      if (!seen) lanesSeen.set(w.namespace, (seen = new Set()));
      seen.add(lane);
    }
  }

  const services = new Map<string, LaneService>();
  const sorted = [...inv.services].sort(
    (a, b) =>
      compareStrings(a.metadata.namespace ?? "", b.metadata.namespace ?? "") ||
      compareStrings(a.metadata.name, b.metadata.name),
  );
  for (const svc of sorted) {
    const selector = selectorOf(svc);
    if (!selector) continue;
    const namespace = svc.metadata.namespace ?? "";
    const [k0, v0] = Object.entries(selector)[0];
    const candidates = index.get(`${namespace}\n${k0}\n${v0}`) ?? [];
    const selected = candidates.filter((w) => selects(selector, w.labels));
    const labelled = selected.filter((w) => LANE_NAME_PATTERN.test(w.labels[LANE_LABEL] ?? ""));
    if (labelled.length === 0) continue;
    const lanes = new Set(labelled.map((w) => w.labels[LANE_LABEL]));
    if (!lanes.has(BASE_LANE)) {
      warnings.push({
        object: describe(svc),
        message:
          `its workloads carry ${LANE_LABEL} but none has ${LANE_LABEL}=${BASE_LANE}; not lane-routed ` +
          `(label the stable workload ${LANE_LABEL}: ${BASE_LANE})`,
      });
      continue;
    }
    for (const w of selected) {
      if (w.owned || LANE_NAME_PATTERN.test(w.labels[LANE_LABEL] ?? "")) continue;
      if (w.labels[LANE_LABEL] === undefined) {
        warnings.push({
          object: describe(w.obj),
          message: `selected by ${describe(svc)} but has no ${LANE_LABEL} label: it gets no traffic while lanes route that Service`,
        });
      }
    }
    if (lanes.size < 2) continue;
    const pods = selected.filter((w) => w.isPod);
    const counted = pods.length > 0 ? pods : selected.filter((w) => !w.owned && !w.isPod);
    const ready = new Map<string, number>();
    for (const w of counted) {
      const lane = w.labels[LANE_LABEL];
      if (w.ready === undefined || !lanes.has(lane)) continue;
      ready.set(lane, (ready.get(lane) ?? 0) + w.ready);
    }
    const fqdn = serviceFqdn(svc.metadata.name, namespace, domain);
    services.set(fqdn, {
      obj: svc,
      name: svc.metadata.name,
      namespace,
      fqdn,
      lanes,
      ready,
      workloads: selected,
      tcp: hasTcpPort(svc),
    });
  }
  return { services, lanesSeen, warnings };
}
