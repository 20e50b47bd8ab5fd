// The vocabulary shared by the render modules: the objects we read and write, the options, the result,
// and the names other components depend on (DESIGN §4.3).

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
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "meshlane";
/** JSON of a user object's spec before meshlane first changed it. */
export const ORIGINAL_SPEC_ANNOTATION = "meshlane.io/original-spec";
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
  /** Istio's root namespace: the sidecar filter installed there applies mesh-wide (default `istio-system`). */
  rootNamespace?: string;
  /** Kubernetes cluster domain for host names (default `cluster.local`). */
  clusterDomain?: string;
  /** Namespace of input objects that name none (default `default`), as kubectl would. */
  defaultNamespace?: string;
  /** Extra edge-role plugin fields (DESIGN §4.1), passed through when set. */
  edge?: {
    trustedSources?: string[];
    defaultLane?: string;
    jwt?: Record<string, unknown>;
    echoHeader?: string;
  };
  /** Extra sidecar-role plugin fields (DESIGN §4.1), passed through when set. */
  sidecar?: { propagation?: Record<string, unknown>; echoHeader?: string };
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
   * `app.kubernetes.io/managed-by: meshlane`) and user objects it changes (annotation
   * `meshlane.io/original-spec` holding the user's spec before the first change, kept as is once set).
   * An entry that equals its input object is that very input object, so "changed" is a deep compare.
   */
  apply: KubeObject[];
  /** User objects that carry `meshlane.io/original-spec` but need no lane any more: spec put back, annotation removed. */
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
