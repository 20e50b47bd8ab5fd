// The filter on Istio ambient-mode waypoints (render option / setting `ambient`). Ambient namespaces
// have no sidecars: the L7 proxy a request passes is the waypoint of its destination's namespace, a
// Gateway of class istio-waypoint (named `waypoint` by `istioctl waypoint apply`). Each namespace the
// sidecar filter would go to also gets a WasmPlugin `meshlane-waypoint` attached to that Gateway by
// `targetRefs` (the only way Istio attaches a WasmPlugin to a waypoint; Istio 1.22+), running the
// filter in role waypoint with the sidecar's settings. EnvoyFilter is not supported on waypoints, so
// this is a WasmPlugin whatever `install` says. The sidecar objects stay: in a namespace without
// sidecars they match no proxy, and a mesh mixing both modes keeps working.
import { ROOT_ID } from "./install.js";
import type { ResolvedOptions } from "./options.js";
import { MANAGED_BY, MANAGED_BY_LABEL, type KubeObject } from "./types.js";

/** Name of the WasmPlugin in each namespace whose waypoint runs the filter. */
export const WAYPOINT_PLUGIN_NAME = "meshlane-waypoint";
/** The waypoint Gateway's name when none is configured (`istioctl waypoint apply`'s default). */
export const DEFAULT_WAYPOINT_NAME = "waypoint";

/** The waypoint role's config: the sidecar's, role waypoint. */
export function waypointConfig(sidecar: Record<string, unknown>): Record<string, unknown> {
  return { ...sidecar, role: "waypoint" };
}

/** One WasmPlugin per namespace, attached to the namespace's waypoint. */
export function waypointPlugins(
  sidecar: Record<string, unknown>,
  namespaces: string[],
  o: ResolvedOptions,
): KubeObject[] {
  const name = o.waypointName ?? DEFAULT_WAYPOINT_NAME;
  return namespaces.map((ns) => ({
    apiVersion: "extensions.istio.io/v1alpha1",
    kind: "WasmPlugin",
    metadata: { name: WAYPOINT_PLUGIN_NAME, namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec: {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name }],
      url: o.wasm.url,
      ...(o.wasm.sha256 ? { sha256: o.wasm.sha256 } : {}),
      pluginName: ROOT_ID,
      failStrategy: "FAIL_OPEN",
      type: "HTTP",
      phase: "STATS",
      pluginConfig: waypointConfig(sidecar),
    },
  }));
}
