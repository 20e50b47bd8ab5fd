// The per-lane Services of the Gateway API writer. An HTTPRoute routes to Services, not to subsets, so
// each lane of a lane-enabled Service (base included) that has workloads gets a Service of its own:
// `<service>-<lane>`, selecting the Service's pods that carry `meshlane.io/lane: <lane>`, with the same
// ports. They are meshlane's (managed-by label, plus `meshlane.io/service` naming the Service split) and
// go when the lane's workloads or the Lane go.
//
// The spec is written with the values the API server would default (type, protocol, targetPort), and
// an existing per-lane Service keeps what the server assigned (clusterIP, clusterIPs, ipFamilies, ...),
// so rendering the cluster's own state again changes nothing.
import type { Inventory } from "../inventory.js";
import type { PlannedService } from "../laneplan.js";
import { keyOf, managedMetadata } from "../objects.js";
import { BASE_LANE, LANE_LABEL, SERVICE_LABEL, type KubeObject } from "../types.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** Name of the per-lane Service of `service` for `lane`. */
export function laneServiceName(service: string, lane: string): string {
  return `${service}-${lane}`;
}

/** Service names are DNS-1035 labels: at most 63 characters. */
export const MAX_SERVICE_NAME = 63;

/** The lanes of a Service that get a per-lane Service: `base` first, then the others by name. */
export function serviceLanes(svc: PlannedService): string[] {
  return [BASE_LANE, ...[...svc.lanes].filter((l) => l !== BASE_LANE).sort()];
}

/** A Service port as the server stores it: protocol and targetPort filled in, nodePort left out. */
export function servicePort(p: Json): Json {
  const out: Json = {};
  if (typeof p?.name === "string") out.name = p.name;
  out.protocol = typeof p?.protocol === "string" ? p.protocol : "TCP";
  if (typeof p?.appProtocol === "string") out.appProtocol = p.appProtocol;
  out.port = p?.port;
  out.targetPort = p?.targetPort ?? p?.port;
  return out;
}

/** The Service's ports (server-defaulted form). */
export function portsOf(svc: PlannedService): Json[] {
  const ports = Array.isArray(svc.obj.spec?.ports) ? svc.obj.spec.ports : [];
  return ports.filter((p: Json) => typeof p?.port === "number").map(servicePort);
}

/** Fields of a ClusterIP Service's spec the server assigns or defaults; kept from an existing object. */
const SERVER_FIELDS = [
  "clusterIP",
  "clusterIPs",
  "ipFamilies",
  "ipFamilyPolicy",
  "internalTrafficPolicy",
  "sessionAffinity",
];

/** The per-lane Service of `svc` for `lane`, keeping the server's fields of the one in the cluster. */
export function laneService(svc: PlannedService, lane: string, inv: Inventory): KubeObject {
  const name = laneServiceName(svc.name, lane);
  const selector = { ...(svc.obj.spec?.selector ?? {}), [LANE_LABEL]: lane };
  const spec: Json = { type: "ClusterIP", selector, ports: portsOf(svc) };
  const metadata = managedMetadata(name, svc.namespace);
  const obj: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: { ...metadata, labels: { ...metadata.labels, [SERVICE_LABEL]: svc.name, [LANE_LABEL]: lane } },
    spec,
  };
  const existing = inv.byKey.get(keyOf(obj));
  const live = existing?.spec ?? {};
  for (const f of SERVER_FIELDS) if (live[f] !== undefined) spec[f] = live[f];
  if (existing === undefined) spec.sessionAffinity = "None";
  return obj;
}
