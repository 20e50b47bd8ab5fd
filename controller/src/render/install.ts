// The filter's installation. Default: EnvoyFilters that add the Wasm filter through ECDS, the one
// EnvoyFilter path whose remote module istio-agent downloads and rewrites to a local file (see
// manifests/README.md, "How proxies get the filter"). Option: WasmPlugins, which Istio turns into the
// same ECDS pattern itself.
//
// Edge: on the gateways (`gatewaySelector`, or a Lane's own workloadSelector), vm_id `meshlane-edge`,
// inserted just before the router, so after jwt_authn. Sidecar: one object in each namespace whose
// sidecars need the filter (never the root namespace, where it would load a Wasm VM into every proxy of
// the mesh), applying to all sidecars of that namespace; inbound and outbound listeners share one ECDS
// resource and so one vm_id (`meshlane`), which is what lets the outbound half read the trace→lane
// records the inbound half wrote. Fail-open everywhere.
import { shortHash } from "./objects.js";
import type { ResolvedOptions } from "./options.js";
import { MANAGED_BY, MANAGED_BY_LABEL, type KubeObject } from "./types.js";

export const WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
export const RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
export const STRING_VALUE_TYPE = "type.googleapis.com/google.protobuf.StringValue";
export const ROOT_ID = "meshlane";
export const SIDECAR_VM_ID = "meshlane";
export const EDGE_VM_ID = "meshlane-edge";
/** Name of the sidecar EnvoyFilter/WasmPlugin, one in each namespace whose sidecars run the filter. */
export const SIDECAR_NAME = "meshlane-sidecar";

/** One edge filter: the gateways it runs on, its object name and its compiled config. */
export interface EdgeGroup {
  selector: Record<string, string>;
  name: string;
  config: Record<string, unknown>;
}

/** Name of the edge object for a gateway selector: `meshlane-edge` for the default gateways. */
export function edgeName(selector: Record<string, string>, defaultSelector: Record<string, string>): string {
  const canon = (s: Record<string, string>) => JSON.stringify(Object.entries(s).sort());
  return canon(selector) === canon(defaultSelector)
    ? "meshlane-edge"
    : `meshlane-edge-${shortHash(canon(selector))}`;
}

function meta(name: string, namespace: string) {
  return { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } };
}

/** The Envoy cluster of an in-cluster URL (`outbound|port||host`), else a name Envoy will not find. */
export function wasmCluster(url: string, domain: string): string {
  try {
    const u = new URL(url);
    const port = u.port || (u.protocol === "https:" ? "443" : "80");
    let host = u.hostname;
    if (host.endsWith(".svc")) host = `${host}.${domain}`;
    if (host.endsWith(`.svc.${domain}`)) return `outbound|${port}||${host}`;
  } catch {
    // Not a URL: the agent reports it when fetching.
  }
  return "meshlane-wasm";
}

function extensionConfig(name: string, vmId: string, config: Record<string, unknown>, o: ResolvedOptions) {
  return {
    applyTo: "EXTENSION_CONFIG",
    patch: {
      operation: "ADD",
      value: {
        name,
        typed_config: {
          "@type": WASM_TYPE,
          config: {
            name,
            root_id: ROOT_ID,
            vm_config: {
              vm_id: vmId,
              runtime: "envoy.wasm.runtime.v8",
              code: {
                remote: {
                  http_uri: {
                    uri: o.wasm.url,
                    cluster: o.wasm.cluster ?? wasmCluster(o.wasm.url, o.clusterDomain),
                    timeout: o.wasm.timeout ?? "10s",
                  },
                  sha256: o.wasm.sha256,
                },
              },
            },
            configuration: { "@type": STRING_VALUE_TYPE, value: JSON.stringify(config) },
            // `fail_open` alone: every Envoy of the supported range takes it (deprecated, not disallowed,
            // from 1.33), and istio-agent reads it when `failure_policy` is unset. `failure_policy` is
            // unknown before Envoy 1.33 and, from 1.33, refused together with `fail_open`.
            fail_open: true,
          },
        },
      },
    },
  };
}

function httpFilter(name: string, context: string) {
  return {
    applyTo: "HTTP_FILTER",
    match: {
      context,
      listener: {
        filterChain: {
          filter: {
            name: "envoy.filters.network.http_connection_manager",
            subFilter: { name: "envoy.filters.http.router" },
          },
        },
      },
    },
    patch: {
      operation: "INSERT_BEFORE",
      value: {
        name,
        config_discovery: {
          // Wait for the agent's answer (the module, or an allow-all RBAC filter when a fail-open fetch
          // fails) rather than serve requests with the filter missing.
          config_source: { ads: {}, initial_fetch_timeout: "0s" },
          type_urls: [WASM_TYPE, RBAC_TYPE],
        },
      },
    },
  };
}

function envoyFilters(
  edges: EdgeGroup[],
  sidecar: Record<string, unknown>,
  sidecarNamespaces: string[],
  o: ResolvedOptions,
): KubeObject[] {
  const out: KubeObject[] = edges.map((g) => ({
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: meta(g.name, o.gatewayNamespace),
    spec: {
      workloadSelector: { labels: g.selector },
      configPatches: [extensionConfig(g.name, EDGE_VM_ID, g.config, o), httpFilter(g.name, "GATEWAY")],
    },
  }));
  for (const ns of sidecarNamespaces) {
    // No workloadSelector: every sidecar of the namespace (a workload without lanes of its own still
    // carries the lane on to the Services it calls); the SIDECAR_* contexts leave gateways out.
    out.push({
      apiVersion: "networking.istio.io/v1alpha3",
      kind: "EnvoyFilter",
      metadata: meta(SIDECAR_NAME, ns),
      spec: {
        configPatches: [
          extensionConfig(SIDECAR_NAME, SIDECAR_VM_ID, sidecar, o),
          httpFilter(SIDECAR_NAME, "SIDECAR_INBOUND"),
          httpFilter(SIDECAR_NAME, "SIDECAR_OUTBOUND"),
        ],
      },
    });
  }
  return out;
}

/**
 * Where an edge WasmPlugin applies. The default gateways, when `gatewayName` names their Gateway
 * (gateway.networking.k8s.io): `targetRefs` to it (Istio 1.22 and later). Otherwise a `selector` on the
 * gateway pods' labels, which every Istio version takes. Never both: Istio's CRD refuses a WasmPlugin
 * that sets more than one of selector, targetRef and targetRefs.
 */
function edgeTarget(g: EdgeGroup, o: ResolvedOptions): Record<string, unknown> {
  if (o.gatewayName !== undefined && g.name === edgeName(o.gatewaySelector, o.gatewaySelector)) {
    return { targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: o.gatewayName }] };
  }
  return { selector: { matchLabels: g.selector } };
}

function wasmPlugins(
  edges: EdgeGroup[],
  sidecar: Record<string, unknown>,
  sidecarNamespaces: string[],
  o: ResolvedOptions,
): KubeObject[] {
  const common = (config: Record<string, unknown>) => ({
    url: o.wasm.url,
    ...(o.wasm.sha256 ? { sha256: o.wasm.sha256 } : {}),
    pluginName: ROOT_ID,
    failStrategy: "FAIL_OPEN",
    type: "HTTP",
    pluginConfig: config,
  });
  const out: KubeObject[] = edges.map((g) => ({
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: meta(g.name, o.gatewayNamespace),
    // AUTHZ: after Istio's authentication filters (jwt_authn), so verified claims are visible.
    spec: { ...edgeTarget(g, o), phase: "AUTHZ", ...common(g.config) },
  }));
  for (const ns of sidecarNamespaces) {
    out.push({
      apiVersion: "extensions.istio.io/v1alpha1",
      kind: "WasmPlugin",
      metadata: meta(SIDECAR_NAME, ns),
      // No selector: every proxy of the namespace. STATS: after the edge plugin (AUTHZ) on a gateway
      // that runs in this namespace, where this plugin also lands.
      spec: { phase: "STATS", match: [{ mode: "CLIENT_AND_SERVER" }], ...common(sidecar) },
    });
  }
  return out;
}

/** The objects that install the filter: the edge groups, and the sidecar filter in each given namespace. */
export function installObjects(
  edges: EdgeGroup[],
  sidecar: Record<string, unknown>,
  sidecarNamespaces: string[],
  o: ResolvedOptions,
): KubeObject[] {
  return o.install === "wasmplugin"
    ? wasmPlugins(edges, sidecar, sidecarNamespaces, o)
    : envoyFilters(edges, sidecar, sidecarNamespaces, o);
}
