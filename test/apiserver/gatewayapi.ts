// What the test API server adds for Gateway API routing: HTTPRoutes (gateway.networking.k8s.io v1 and
// v1beta1, the carried v1.2.1 CRD's structural schema plus its CEL rules) and the core Service's
// defaulting and validation as kube-apiserver does them (the parts meshlane's per-lane Services meet).
// Checked against kube-apiserver 1.28 with the v1.2.1 CRDs installed: the same defaults (a per-lane
// Service renders back unchanged from either), the same refusals with the same field paths and words.
import { fromRoot } from "../../controller/src/paths.js";
import { celViolations } from "../render/schemas.js";
import { isObject, type Json, type JsonObject } from "./json.js";
import type { ResourceType } from "./resources.js";
import type { Cause, Schema } from "./schema.js";

export const GATEWAY_API_CRD = fromRoot("test", "schemas", "gateway-api-v1.2.1-httproute-crd.yaml");

/** HTTPRoutes; the structural schema is set by the server from GATEWAY_API_CRD, the CEL rules here. */
export function httpRouteResource(schemaOf: () => Schema | undefined): ResourceType {
  return {
    group: "gateway.networking.k8s.io",
    versions: ["v1", "v1beta1"],
    plural: "httproutes",
    singular: "httproute",
    kind: "HTTPRoute",
    namespaced: true,
    status: true,
    builtin: false,
    validate: (obj) => {
      const { metadata: _m, ...rest } = obj;
      return celViolations(schemaOf(), rest).map((v) => ({
        reason: "FieldValueInvalid",
        message: `Invalid value: "object": ${v.message}`,
        field: v.field || "<root>",
      }));
    },
  };
}

let nextClusterIp = 1;

/** A ClusterIP from 10.96.0.0/12, as the service IP allocator gives them (never twice). */
function allocateClusterIp(): string {
  const n = nextClusterIp++;
  return `10.96.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * Service defaulting on create and update, as the real server does it: type ClusterIP, sessionAffinity
 * None, each port's protocol TCP and targetPort its port; a ClusterIP Service gets a cluster IP (kept
 * from the stored object on update when the write leaves it out), ipFamilies, ipFamilyPolicy and
 * internalTrafficPolicy.
 */
export function prepareService(obj: JsonObject, old?: JsonObject): JsonObject {
  if (!isObject(obj.spec)) return obj;
  const spec: JsonObject = { ...obj.spec };
  const before = isObject(old?.spec) ? old.spec : {};
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (Array.isArray(spec.ports)) {
    spec.ports = spec.ports.map((p: Json) =>
      isObject(p) ? { ...p, protocol: p.protocol ?? "TCP", targetPort: p.targetPort ?? p.port } : p,
    );
  }
  if (spec.type === "ClusterIP" || spec.type === "NodePort" || spec.type === "LoadBalancer") {
    if (spec.clusterIP === undefined || spec.clusterIP === "") {
      spec.clusterIP = typeof before.clusterIP === "string" ? before.clusterIP : allocateClusterIp();
    }
    if (spec.clusterIPs === undefined) spec.clusterIPs = before.clusterIPs ?? [spec.clusterIP];
    spec.ipFamilies ??= before.ipFamilies ?? ["IPv4"];
    spec.ipFamilyPolicy ??= before.ipFamilyPolicy ?? "SingleStack";
    spec.internalTrafficPolicy ??= "Cluster";
  }
  return { ...obj, spec };
}

const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The Service validation kube-apiserver does that meshlane's Services could meet, in its words. */
export function validateService(obj: JsonObject): Cause[] {
  const out: Cause[] = [];
  const spec = isObject(obj.spec) ? obj.spec : {};
  const bad = (field: string, value: Json, why: string) =>
    out.push({
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(value)}: ${why}`,
      field,
    });
  if (!TYPES.includes(String(spec.type))) {
    out.push({
      reason: "FieldValueNotSupported",
      message: `Unsupported value: ${JSON.stringify(spec.type)}: supported values: ${TYPES.map((t) => `"${t}"`).join(", ")}`,
      field: "spec.type",
    });
  }
  const ports: Json[] = Array.isArray(spec.ports) ? spec.ports : [];
  if (ports.length === 0 && spec.type !== "ExternalName" && spec.clusterIP !== "None") {
    out.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.ports" });
  }
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    if (!isObject(p)) return bad(at, p, "must be an object");
    if (ports.length > 1 && (p.name === undefined || p.name === "")) {
      out.push({ reason: "FieldValueRequired", message: "Required value", field: `${at}.name` });
    } else if (p.name !== undefined && p.name !== "") {
      if (typeof p.name !== "string" || p.name.length > 63 || !PORT_NAME.test(p.name))
        bad(
          `${at}.name`,
          p.name,
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        );
      else if (names.has(p.name))
        out.push({
          reason: "FieldValueDuplicate",
          message: `Duplicate value: ${JSON.stringify(p.name)}`,
          field: `${at}.name`,
        });
      names.add(String(p.name));
    }
    const port = typeof p.port === "number" ? p.port : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      bad(`${at}.port`, p.port, "must be between 1 and 65535, inclusive");
    if (!PROTOCOLS.includes(String(p.protocol))) {
      out.push({
        reason: "FieldValueNotSupported",
        message: `Unsupported value: ${JSON.stringify(p.protocol)}: supported values: "SCTP", "TCP", "UDP"`,
        field: `${at}.protocol`,
      });
    }
    const tp = p.targetPort;
    if (typeof tp === "number" && (!Number.isInteger(tp) || tp < 1 || tp > 65535))
      bad(`${at}.targetPort`, tp, "must be between 1 and 65535, inclusive");
  });
  if (spec.selector !== undefined) {
    if (!isObject(spec.selector)) bad("spec.selector", spec.selector, "must be a map of strings");
    else
      for (const v of Object.values(spec.selector)) {
        if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v))
          bad(
            "spec.selector",
            v,
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
          );
      }
  }
  return out;
}
