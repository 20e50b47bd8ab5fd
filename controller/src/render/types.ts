// The vocabulary shared by the render modules: the objects we read and write, the options, the result,
// and the names other components depend on (docs/contracts.md, "Kubernetes objects").

/** Any Kubernetes object as read from a manifest or the API server. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  // Specs are open-ended JSON (Istio's and ours); the modules that read them check shapes as they go.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  [k: string]: unknown;
}

/** Pod label naming the lane a workload belongs to; stable workloads carry `base`. */
export const LANE_LABEL = "meshlane.io/lane";
export const BASE_LANE = "base";
/** Namespace label the controller selects by default; `render` also reads it on input Namespaces. */
export const ENABLED_LABEL = "meshlane.io/enabled";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "meshlane";
/**
 * JSON of a user object's own spec: as it was before meshlane first changed it, updated whenever the
 * user changes the object (anything but meshlane's lane routes and subsets) after that.
 */
export const ORIGINAL_SPEC_ANNOTATION = "meshlane.io/original-spec";
/** Hash of the spec meshlane last wrote to a user object: a live spec that differs was edited since. */
export const APPLIED_HASH_ANNOTATION = "meshlane.io/applied-hash";
/** `"true"` on a user VirtualService or DestinationRule: meshlane neither merges into nor restores it. */
export const IGNORE_ANNOTATION = "meshlane.io/ignore";
export const LANE_GROUP = "meshlane.io";
export const LANE_API_VERSION = "meshlane.io/v1alpha1";
/** Name prefix of the lane routes meshlane adds to a VirtualService (Istio's HTTPRoute.name). */
export const ROUTE_PREFIX = "meshlane-";
/** `meshlane.io/lane` values: DNS labels, as the filter's `isLaneName` accepts. */
export const LANE_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export type InstallMode = "envoyfilter" | "wasmplugin";

export interface RenderOptions {
  /** How the filter is installed: EnvoyFilters with ECDS (default) or WasmPlugins. */
  install: InstallMode;
  /**
   * Where proxies fetch the filter. istio-agent downloads `url` (http/https; oci:// and file:// for
   * WasmPlugin only) and checks `sha256`. `cluster` is the Envoy cluster named in the EnvoyFilter's
   * http_uri (required by Envoy's schema, used only if the agent does not rewrite the fetch); by
   * default it is derived from a `*.svc[.<domain>]` URL as `outbound|<port>||<host>`.
   */
  wasm: { url: string; sha256: string; cluster?: string; timeout?: string };
  /** Header carrying the lane between hops (default `x-lane`). */
  laneHeader?: string;
  /** Baggage member carrying the lane; passed to the filter only when set (its default is `lane`). */
  baggageKey?: string;
  /**
   * Trace headers the applications forward, in order of preference: the sidecars remember trace →
   * lane by the first one present. Passed to the sidecar filter as `propagation.traceHeaders` only
   * when set (its default is `x-request-id`, `traceparent`).
   */
  traceHeaders?: string[];
  /** Labels of the gateway workloads that run the edge filter (default `istio: ingressgateway`). */
  gatewaySelector?: Record<string, string>;
  /** Namespace of the edge EnvoyFilter/WasmPlugin (default `istio-system`). */
  gatewayNamespace?: string;
  /**
   * Istio's root namespace (default `istio-system`). An EnvoyFilter or WasmPlugin there applies to every
   * proxy of the mesh, so the sidecar filter is never installed there.
   */
  rootNamespace?: string;
  /**
   * Namespaces whose sidecars run the sidecar filter, besides those render finds itself (namespaces of
   * valid Lanes, and input Namespaces labelled `meshlane.io/enabled: "true"`). The controller passes the namespaces it manages, so a namespace that
   * only calls lane-routed Services (and must carry the lane on) gets the filter too.
   */
  sidecarNamespaces?: string[];
  /**
   * Istio ambient mode: also install the filter (role waypoint) on each managed namespace's waypoint,
   * a WasmPlugin with targetRefs to the Gateway `waypointName` (default `waypoint`); the edge's
   * default lane becomes `base` unless `edge.defaultLane` says otherwise. See docs/modes.md.
   */
  ambient?: boolean;
  waypointName?: string;
  /** Kubernetes cluster domain for host names (default `cluster.local`). */
  clusterDomain?: string;
  /** Namespace of input objects that name none (default `default`), as kubectl would. */
  defaultNamespace?: string;
  /** Extra edge-role plugin fields (docs/contracts.md), passed through when set. */
  edge?: {
    trustedSources?: string[];
    defaultLane?: string;
    jwt?: Record<string, unknown>;
    echoHeader?: string;
    responseMetrics?: boolean;
  };
  /** Extra sidecar-role plugin fields (docs/contracts.md), passed through when set. */
  sidecar?: { propagation?: Record<string, unknown>; echoHeader?: string; responseMetrics?: boolean };
  /**
   * Verdicts of the real filter on each Lane's dye rules, keyed `namespace/name`, as produced by running
   * `laneProbes()` through the filter's configure: a Lane listed here is rejected with that reason.
   */
  laneVerdicts?: Record<string, string>;
}

export interface Problem {
  /** `Kind namespace/name` of the object concerned. */
  object: string;
  message: string;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface LaneStatus {
  namespace: string;
  name: string;
  services: { service: string; target: string; readyEndpoints?: number }[];
}

export interface RenderResult {
  /**
   * Every object that must exist with exactly these contents: objects meshlane creates (label
   * `app.kubernetes.io/managed-by: meshlane`) and user objects it changes (annotations
   * `meshlane.io/original-spec`, the user's own spec, and `meshlane.io/applied-hash`, of the spec written).
   * An entry that equals its input object is that very input object, so "changed" is a deep compare.
   */
  apply: KubeObject[];
  /** User objects that carry `meshlane.io/original-spec` but need no lane any more: the user's spec put back, annotations removed. */
  restore: KubeObject[];
  /** Managed objects present in the input that should no longer exist. */
  delete: ObjectRef[];
  /** Problems that stopped an object from being rendered; nothing was rendered for that object. */
  errors: Problem[];
  /** Things worth knowing that did not stop rendering. */
  warnings: Problem[];
  /** For each valid Lane, where its traffic goes at each lane-enabled Service of its namespace. */
  lanes: LaneStatus[];
}
