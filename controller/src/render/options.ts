// Render options with their defaults applied.
import type { RenderOptions } from "./types.js";

/** An HTTP header name as the filter takes it: an RFC 9110 token, at most 256 characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-zA-Z-]{1,256}$/;

/**
 * Checks a list of trace header names (`traceHeaders`, `--trace-header`) and returns them lower-cased,
 * each once, in order; throws with `path` and the reason when one is not a header name or the list
 * is empty. Pseudo-headers (":path") are not trace headers.
 */
export function traceHeaderList(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.length === 0)
    throw new Error(`${path}: expected a non-empty list of header names`);
  const out: string[] = [];
  v.forEach((h, i) => {
    if (typeof h !== "string" || !HEADER_NAME.test(h))
      throw new Error(
        `${path}[${i}]: expected a header name (letters, digits and -), got ${JSON.stringify(h)}`,
      );
    const name = h.toLowerCase();
    if (!out.includes(name)) out.push(name);
  });
  return out;
}

/** A waypoint Gateway's name (a DNS label); throws with `path` otherwise. */
export function waypointNameArg(v: string, path: string): string {
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(v))
    throw new Error(
      `${path}: expected a Gateway name (lower-case letters, digits and -), got ${JSON.stringify(v)}`,
    );
  return v;
}

/** Options after defaults, as the render modules use them. */
export interface ResolvedOptions extends RenderOptions {
  laneHeader: string;
  gatewaySelector: Record<string, string>;
  gatewayNamespace: string;
  rootNamespace: string;
  clusterDomain: string;
  defaultNamespace: string;
}

export function resolveOptions(o: RenderOptions): ResolvedOptions {
  return {
    ...o,
    laneHeader: (o.laneHeader ?? "x-lane").toLowerCase(),
    gatewaySelector: o.gatewaySelector ?? { istio: "ingressgateway" },
    gatewayNamespace: o.gatewayNamespace ?? "istio-system",
    rootNamespace: o.rootNamespace ?? "istio-system",
    clusterDomain: o.clusterDomain ?? "cluster.local",
    defaultNamespace: o.defaultNamespace ?? "default",
  };
}

/** Where the controller serves the filter inside the cluster (manifests/deployment.yaml). */
export const DEFAULT_WASM_URL = "http://meshlane-controller.meshlane-system.svc:8080/meshlane.wasm";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `responseMetrics` of an edge/sidecar map, checked as the filter checks it (a boolean when set). */
function responseMetricsFlag(m: Record<string, unknown>, path: string): void {
  if (m.responseMetrics !== undefined && typeof m.responseMetrics !== "boolean")
    throw new Error(
      `${path}.responseMetrics: expected true or false, got ${JSON.stringify(m.responseMetrics)}`,
    );
}

function stringMap(v: unknown, path: string): Record<string, string> {
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) {
    throw new Error(`${path}: expected a map of strings`);
  }
  return v as Record<string, string>;
}

/**
 * Reads render options from the controller's configuration (the `config.yaml` key of ConfigMap
 * meshlane-system/meshlane-config, already parsed). `sha256` is the digest of the module the controller
 * serves. Unknown fields are errors, so a misspelt setting does not silently fall back to a default.
 */
export function optionsFromConfig(config: unknown, sha256: string): RenderOptions {
  const c = config ?? {};
  if (!isObject(c)) throw new Error("configuration: expected a map");
  const known = [
    "install",
    "wasmUrl",
    "laneHeader",
    "baggageKey",
    "traceHeaders",
    "gatewaySelector",
    "gatewayNamespace",
    "rootNamespace",
    "clusterDomain",
    "edge",
    "sidecar",
    "ambient",
    "waypointName",
  ];
  for (const k of Object.keys(c))
    if (!known.includes(k)) throw new Error(`${k}: unknown setting (expected one of ${known.join("|")})`);
  const install = c.install ?? "envoyfilter";
  if (install !== "envoyfilter" && install !== "wasmplugin")
    throw new Error(`install: expected envoyfilter or wasmplugin`);
  const str = (k: string): string | undefined => {
    if (c[k] === undefined) return undefined;
    if (typeof c[k] !== "string" || c[k] === "") throw new Error(`${k}: expected a non-empty string`);
    return c[k] as string;
  };
  const o: RenderOptions = { install, wasm: { url: str("wasmUrl") ?? DEFAULT_WASM_URL, sha256 } };
  for (const k of [
    "laneHeader",
    "baggageKey",
    "gatewayNamespace",
    "rootNamespace",
    "clusterDomain",
  ] as const) {
    const v = str(k);
    if (v !== undefined) o[k] = v;
  }
  if (o.laneHeader !== undefined && !HEADER_NAME.test(o.laneHeader))
    throw new Error(
      `laneHeader: not a valid HTTP header name: ${JSON.stringify(o.laneHeader)} (letters, digits and !#$%&'*+-.^_\`|~)`,
    );
  if (c.ambient !== undefined) {
    if (typeof c.ambient !== "boolean") throw new Error("ambient: expected true or false");
    o.ambient = c.ambient;
  }
  const wp = str("waypointName");
  if (wp !== undefined) o.waypointName = waypointNameArg(wp, "waypointName");
  if (c.traceHeaders !== undefined) o.traceHeaders = traceHeaderList(c.traceHeaders, "traceHeaders");
  if (c.gatewaySelector !== undefined) o.gatewaySelector = stringMap(c.gatewaySelector, "gatewaySelector");
  if (c.edge !== undefined) {
    if (!isObject(c.edge)) throw new Error("edge: expected a map");
    responseMetricsFlag(c.edge, "edge");
    o.edge = c.edge as RenderOptions["edge"];
  }
  if (c.sidecar !== undefined) {
    if (!isObject(c.sidecar)) throw new Error("sidecar: expected a map");
    responseMetricsFlag(c.sidecar, "sidecar");
    o.sidecar = c.sidecar as RenderOptions["sidecar"];
  }
  return o;
}
