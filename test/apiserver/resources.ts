// The resource types the fake API server serves, with their discovery data and validation.
import { VirtualService as VirtualServiceV1beta1 } from "@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService";
import { DestinationRule as DestinationRuleV1beta1 } from "@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule";
import { Gateway as GatewayV1beta1 } from "@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway";
import { ServiceEntry as ServiceEntryV1beta1 } from "@kubernetes-models/istio/networking.istio.io/v1beta1/ServiceEntry";
import { Sidecar as SidecarV1beta1 } from "@kubernetes-models/istio/networking.istio.io/v1beta1/Sidecar";
import { EnvoyFilter } from "@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter";
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
import { isObject, type Json, type JsonObject } from "./json.js";
import { validate as validateSchema, type Cause, type Schema } from "./schema.js";
import { httpRouteResource, prepareService, validateService } from "./gatewayapi.js";

export interface ResourceType {
  group: string;
  /** Served versions; the first is the preferred one. Objects are stored once and served in any of them. */
  versions: string[];
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  /** Has a `/status` subresource: the main endpoint ignores status, `/status` ignores everything else. */
  status: boolean;
  /** Built-in kinds omit apiVersion/kind on list items, as the real server does; custom resources keep them. */
  builtin: boolean;
  shortNames?: string[];
  /** Names must be DNS-1123 labels (max 63) rather than subdomains (max 253). */
  dnsLabelName?: boolean;
  /** Extra validation of a whole object (spec semantics); returns field causes. */
  validate?: (obj: JsonObject) => Cause[];
  /** A CRD structural schema: objects are pruned, defaulted and validated against it. */
  schema?: Schema;
  /** Defaulting of a built-in kind before validation (`old`: the stored object, on update). */
  prepare?: (obj: JsonObject, old?: JsonObject) => JsonObject;
}

export const groupResource = (r: { group: string; plural: string }): string =>
  r.group === "" ? r.plural : `${r.plural}.${r.group}`;

/** An object's apiVersion in one of its resource's versions ("v1", "apps/v1"). */
export const apiVersionOf = (rt: ResourceType, version: string): string =>
  rt.group === "" ? version : `${rt.group}/${version}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

export function nameCauses(rt: ResourceType, name: string): Cause[] {
  const ok = rt.dnsLabelName
    ? name.length <= 63 && DNS_LABEL.test(name)
    : name.length <= 253 && DNS_SUBDOMAIN.test(name);
  if (ok) return [];
  const what = rt.dnsLabelName ? "a lowercase RFC 1123 label" : "a lowercase RFC 1123 subdomain";
  return [
    {
      reason: "FieldValueInvalid",
      message: `Invalid value: ${JSON.stringify(name)}: must be ${what}`,
      field: "metadata.name",
    },
  ];
}

/**
 * Decoding checks the real server does before validation (a failure is a 400 BadRequest, not a 422):
 * Lease times are metav1.MicroTime, which only parses with exactly six fractional digits.
 */
export function decodeError(rt: ResourceType, obj: JsonObject): string | undefined {
  const micro: [Json | undefined, string][] = [];
  if (rt.kind === "Lease" && isObject(obj.spec)) {
    micro.push([obj.spec.acquireTime, "spec.acquireTime"], [obj.spec.renewTime, "spec.renewTime"]);
  }
  if (rt.kind === "Event" && rt.group === "") {
    micro.push([obj.eventTime, "eventTime"]);
    if (isObject(obj.series)) micro.push([obj.series.lastObservedTime, "series.lastObservedTime"]);
  }
  for (const [v, field] of micro) {
    if (v !== undefined && v !== null && (typeof v !== "string" || !MICRO_TIME.test(v))) {
      return (
        `${rt.kind} in version "v1" cannot be handled as a ${rt.kind}: ${field}: parsing time ` +
        `${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse as RFC3339Micro`
      );
    }
  }
  return undefined;
}

interface ValidationErrorLike {
  errors?: { instancePath?: string; message?: string; keyword?: string; params?: Record<string, unknown> }[];
  message?: string;
}

type IstioModel = new (data: JsonObject) => { validate(): void };

/** Validates an Istio object with the schema that @kubernetes-models/istio bundles (ajv underneath). */
function istioValidator(model: IstioModel): (obj: JsonObject) => Cause[] {
  return (obj) => {
    const { apiVersion: _a, kind: _k, metadata, ...rest } = obj;
    const meta: JsonObject = {};
    if (isObject(metadata)) {
      if (metadata.name !== undefined) meta.name = metadata.name;
      if (metadata.namespace !== undefined) meta.namespace = metadata.namespace;
    }
    try {
      new model({ ...rest, metadata: meta }).validate();
      return [];
    } catch (e) {
      const errs = (e as ValidationErrorLike).errors ?? [];
      if (errs.length === 0) return [{ reason: "FieldValueInvalid", message: String(e), field: "<root>" }];
      return errs.map((er) => {
        const field = (er.instancePath ?? "")
          .split("/")
          .filter((s) => s !== "")
          .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
          .join("")
          .replace(/^\./, "");
        return {
          reason: er.keyword === "required" ? "FieldValueRequired" : "FieldValueInvalid",
          message: `Invalid value: ${field || "<root>"} ${er.message ?? "is invalid"}${er.params ? ` ${JSON.stringify(er.params)}` : ""}`,
          field: field || "<root>",
        };
      });
    }
  };
}

function leaseValidator(obj: JsonObject): Cause[] {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const causes: Cause[] = [];
  for (const f of ["leaseDurationSeconds", "leaseTransitions"]) {
    const v = spec[f];
    if (
      v !== undefined &&
      v !== null &&
      (!Number.isInteger(v) || (v as number) < (f === "leaseTransitions" ? 0 : 1))
    ) {
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: ${JSON.stringify(v)}: must be ${f === "leaseTransitions" ? "non-negative" : "greater than 0"}`,
        field: `spec.${f}`,
      });
    }
  }
  return causes;
}

/** A validator from a CRD openAPIV3Schema (metadata is not checked against it, as in the real server). */
export function schemaValidator(schema: Schema): (obj: JsonObject) => Cause[] {
  return (obj) => {
    const { metadata: _m, ...rest } = obj;
    const root: Schema = { ...schema, properties: { ...schema.properties } };
    delete root.properties?.metadata;
    return validateSchema(root, rest as Json);
  };
}

const ISTIO_NET = ["v1", "v1beta1", "v1alpha3"];

export function defaultResources(): ResourceType[] {
  const routes: ResourceType = httpRouteResource(() => routes.schema);
  const core = (
    plural: string,
    kind: string,
    namespaced: boolean,
    status: boolean,
    extra: Partial<ResourceType> = {},
  ): ResourceType => ({
    group: "",
    versions: ["v1"],
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    status,
    builtin: true,
    ...extra,
  });
  const apps = (plural: string, kind: string): ResourceType => ({
    group: "apps",
    versions: ["v1"],
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: true,
    status: true,
    builtin: true,
  });
  const istio = (plural: string, kind: string, model: IstioModel, versions = ISTIO_NET): ResourceType => ({
    group: "networking.istio.io",
    versions,
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: true,
    status: true,
    builtin: false,
    validate: istioValidator(model),
  });
  return [
    core("namespaces", "Namespace", false, true, { dnsLabelName: true, shortNames: ["ns"] }),
    core("services", "Service", true, true, {
      dnsLabelName: true,
      shortNames: ["svc"],
      prepare: prepareService,
      validate: validateService,
    }),
    core("pods", "Pod", true, true, { shortNames: ["po"] }),
    core("endpoints", "Endpoints", true, false, { singular: "endpoints", shortNames: ["ep"] }),
    core("events", "Event", true, false, { shortNames: ["ev"] }),
    core("configmaps", "ConfigMap", true, false, { shortNames: ["cm"] }),
    apps("deployments", "Deployment"),
    apps("replicasets", "ReplicaSet"),
    apps("statefulsets", "StatefulSet"),
    apps("daemonsets", "DaemonSet"),
    {
      group: "discovery.k8s.io",
      versions: ["v1"],
      plural: "endpointslices",
      singular: "endpointslice",
      kind: "EndpointSlice",
      namespaced: true,
      status: false,
      builtin: true,
    },
    {
      group: "coordination.k8s.io",
      versions: ["v1"],
      plural: "leases",
      singular: "lease",
      kind: "Lease",
      namespaced: true,
      status: false,
      builtin: true,
      validate: leaseValidator,
    },
    istio("virtualservices", "VirtualService", VirtualServiceV1beta1 as unknown as IstioModel),
    istio("destinationrules", "DestinationRule", DestinationRuleV1beta1 as unknown as IstioModel),
    istio("gateways", "Gateway", GatewayV1beta1 as unknown as IstioModel),
    istio("serviceentries", "ServiceEntry", ServiceEntryV1beta1 as unknown as IstioModel),
    istio("sidecars", "Sidecar", SidecarV1beta1 as unknown as IstioModel),
    istio("envoyfilters", "EnvoyFilter", EnvoyFilter as unknown as IstioModel, ["v1alpha3"]),
    {
      group: "extensions.istio.io",
      versions: ["v1alpha1"],
      plural: "wasmplugins",
      singular: "wasmplugin",
      kind: "WasmPlugin",
      namespaced: true,
      status: true,
      builtin: false,
      validate: istioValidator(WasmPlugin as unknown as IstioModel),
    },
    routes,
    {
      group: "meshlane.io",
      versions: ["v1alpha1"],
      plural: "lanes",
      singular: "lane",
      kind: "Lane",
      namespaced: true,
      status: true,
      builtin: false,
    },
  ];
}
