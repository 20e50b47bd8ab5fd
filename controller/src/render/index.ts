// render: cluster objects in, the Istio objects lanes need out. Pure (no I/O, no clock) and
// deterministic (stable ordering), so rendering twice gives identical results and a render whose input
// already holds its own previous output returns those objects unchanged (the very input objects).
//
// Contract for callers (the controller, `meshlane render`):
// - Input: what is in the cluster: Services; workloads (Deployments, StatefulSets, DaemonSets,
//   ReplicaSets, Pods, ...) whose pod labels carry `meshlane.io/lane`; Lanes; VirtualServices and
//   DestinationRules (the user's, and meshlane's own); the EnvoyFilters/WasmPlugins meshlane created.
// - `apply` lists every object that must exist with exactly those contents, `restore` the user objects to
//   put back, `delete` meshlane's objects to remove. Objects not mentioned are left alone.
// - In the user's VirtualServices and DestinationRules meshlane owns only its lane routes and subsets
//   (userobject.ts): other edits are kept and saved as the user's spec. One marked
//   `meshlane.io/ignore: "true"` is never in `apply` or `restore`.
// - An object with a problem is reported in `errors` and nothing is rendered for it; the rest still is.
//   Lanes that fail validation, conflict, or have a broken fallback chain are left out entirely; a
//   Service whose DestinationRule cannot take lane subsets is left unrouted.
import {
  leakySubsets,
  mergeDestinationRule,
  newDestinationRule,
  unmergeDestinationRule,
} from "./destinationrule.js";
import { hostCovers, resolveHost } from "./hosts.js";
import { edgeName, installObjects, type EdgeGroup } from "./install.js";
import { takeInventory } from "./inventory.js";
import { resolveLanes, targetOf, type LaneInfo } from "./lanes.js";
import {
  compareObjects,
  compareRefs,
  compareStrings,
  deepEqual,
  describe,
  keyOf,
  objectKey,
  refOf,
} from "./objects.js";
import { resolveOptions, type ResolvedOptions } from "./options.js";
import { edgeConfig, sidecarConfig } from "./pluginconfig.js";
import { scanServices, type LaneService } from "./services.js";
import {
  BASE_LANE,
  IGNORE_ANNOTATION,
  LANE_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  type KubeObject,
  type LaneStatus,
  type Problem,
  type RenderOptions,
  type RenderResult,
} from "./types.js";
import { userOutcome, userSpec } from "./userobject.js";
import {
  mergeVirtualService,
  newVirtualService,
  unmergeVirtualService,
  type RouteContext,
} from "./virtualservice.js";

export * from "./types.js";
export { laneProbes } from "./pluginconfig.js";
export { optionsFromConfig, DEFAULT_WASM_URL } from "./options.js";
export { validateLane } from "./validate.js";
export { deepEqual } from "./objects.js";
export { parseManifests, toJsonList, toYaml } from "./manifests.js";

function managedMeta(name: string, namespace: string) {
  return { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } };
}

/** A user object marked `meshlane.io/ignore: "true"`: meshlane neither merges into nor restores it. */
function isIgnored(o: KubeObject): boolean {
  return o.metadata.annotations?.[IGNORE_ANNOTATION] === "true";
}

function isMeshBound(vs: KubeObject): boolean {
  const gateways = vs.spec?.gateways;
  return !Array.isArray(gateways) || gateways.length === 0 || gateways.includes("mesh");
}

/** Hosts of the user's mesh VirtualServices, to tell which Services already have one. */
function meshHostIndex(vss: KubeObject[], domain: string) {
  const exact = new Set<string>();
  const wildcards: string[] = [];
  for (const vs of vss) {
    if (!isMeshBound(vs) || !Array.isArray(vs.spec?.hosts)) continue;
    for (const h of vs.spec.hosts) {
      if (typeof h !== "string") continue;
      const r = resolveHost(h, vs.metadata.namespace ?? "", domain);
      if (r.startsWith("*")) wildcards.push(r);
      else exact.add(r);
    }
  }
  return (fqdn: string) => exact.has(fqdn) || wildcards.some((w) => hostCovers(w, fqdn));
}

function edgeGroups(lanes: LaneInfo[], o: ResolvedOptions): EdgeGroup[] {
  const groups = new Map<string, { selector: Record<string, string>; lanes: LaneInfo[] }>();
  for (const l of lanes) {
    const selector = l.spec.gatewayLabels ?? o.gatewaySelector;
    const key = JSON.stringify(Object.entries(selector).sort());
    const g = groups.get(key);
    if (g) g.lanes.push(l);
    else groups.set(key, { selector, lanes: [l] });
  }
  return [...groups.values()]
    .map((g) => ({
      selector: g.selector,
      name: edgeName(g.selector, o.gatewaySelector),
      config: edgeConfig(g.lanes, lanes, o),
    }))
    .sort((a, b) => compareStrings(a.name, b.name));
}

function compareProblems(a: Problem, b: Problem): number {
  return compareStrings(a.object, b.object) || compareStrings(a.message, b.message);
}

/** Renders the objects lanes need. See the module comment for the contract. */
export function render(objects: KubeObject[], options: RenderOptions): RenderResult {
  const o = resolveOptions(options);
  const inv = takeInventory(objects, o.defaultNamespace);
  const errors: Problem[] = [...inv.errors];
  const warnings: Problem[] = [...inv.warnings];
  const lanes = resolveLanes(inv.lanes, o.laneVerdicts);
  errors.push(...lanes.errors);
  const scan = scanServices(inv, o.clusterDomain);
  warnings.push(...scan.warnings);
  const services = scan.services;

  for (const l of lanes.valid) {
    if (!scan.lanesSeen.get(l.namespace)?.has(l.name)) {
      warnings.push({
        object: describe(l.obj),
        message: `no workload in namespace ${l.namespace} carries ${LANE_LABEL}=${l.name}: its traffic goes to the fallbacks`,
      });
    }
  }
  for (const svc of services.values()) {
    for (const lane of [...svc.lanes].sort()) {
      if (lane !== BASE_LANE && !lanes.byNamespace.get(svc.namespace)?.has(lane)) {
        warnings.push({
          object: describe(svc.obj),
          message: `workloads labelled ${LANE_LABEL}=${lane} get no traffic: there is no valid Lane ${svc.namespace}/${lane}`,
        });
      }
    }
  }

  const managedName = (svc: LaneService) => `meshlane-${svc.name}`;
  const desiredManaged: KubeObject[] = [];
  const userApply: KubeObject[] = [];
  const restore: KubeObject[] = [];

  // DestinationRules first: a Service whose subsets cannot be added anywhere is not lane-routed at all,
  // since routes to missing subsets would fail.
  const drHost = (dr: KubeObject) =>
    typeof dr.spec?.host === "string"
      ? resolveHost(dr.spec.host, dr.metadata.namespace ?? "", o.clusterDomain)
      : "";
  const drop = (svc: LaneService, why: string) => {
    if (!services.has(svc.fqdn)) return;
    services.delete(svc.fqdn);
    warnings.push({ object: describe(svc.obj), message: `not lane-routed: ${why}` });
  };
  const failedDrs = new Set<KubeObject>();
  for (const dr of inv.destinationRules) {
    const svc = services.get(drHost(dr));
    if (!svc) continue;
    if (isIgnored(dr)) {
      // Left as it is: usable only if it already has every lane subset, as meshlane would add them.
      const merged = mergeDestinationRule(dr.spec, svc);
      if ("spec" in merged && deepEqual(merged.spec, dr.spec)) continue;
      errors.push({
        object: describe(dr),
        message: `carries ${IGNORE_ANNOTATION}: "true" and lacks the lane subsets of ${describe(svc.obj)}, so meshlane leaves that Service's routing unmanaged`,
      });
      failedDrs.add(dr);
      drop(svc, `${describe(dr)} carries ${IGNORE_ANNOTATION} and lacks the lane subsets`);
      continue;
    }
    const base = userSpec(dr, unmergeDestinationRule);
    const merged = "error" in base ? base : mergeDestinationRule(base.spec, svc);
    if ("error" in merged) {
      errors.push({ object: describe(dr), message: merged.error });
      failedDrs.add(dr);
      drop(svc, `${describe(dr)} cannot take the lane subsets`);
    }
  }
  const drCovered = new Set<string>();
  for (const dr of inv.destinationRules) {
    const svc = services.get(drHost(dr));
    if (svc && (dr.metadata.namespace === svc.namespace || dr.metadata.namespace === o.rootNamespace)) {
      drCovered.add(svc.fqdn);
    }
  }
  for (const svc of [...services.values()]) {
    const key = objectKey({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      namespace: svc.namespace,
      name: managedName(svc),
    });
    const other = inv.byKey.get(key);
    if (!drCovered.has(svc.fqdn) && other && other.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      errors.push({
        object: describe(other),
        message: `exists and is not managed by meshlane; meshlane needs the name for ${describe(svc.obj)}`,
      });
      drop(svc, `the name ${managedName(svc)} is taken`);
    }
  }

  for (const dr of inv.destinationRules) {
    if (failedDrs.has(dr) || isIgnored(dr)) continue;
    const svc = services.get(drHost(dr));
    if (svc) {
      const base = userSpec(dr, unmergeDestinationRule);
      if ("spec" in base)
        for (const m of leakySubsets(base.spec, svc)) warnings.push({ object: describe(dr), message: m });
    }
    const out = userOutcome(
      dr,
      (base) => (svc ? mergeDestinationRule(base, svc) : { spec: base }),
      unmergeDestinationRule,
    );
    if (out.kind === "apply") userApply.push(out.obj);
    else if (out.kind === "restore") restore.push(out.obj);
    else if (out.kind === "error") errors.push({ object: describe(dr), message: out.message });
  }
  for (const svc of services.values()) {
    if (drCovered.has(svc.fqdn)) continue;
    desiredManaged.push({
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: managedMeta(managedName(svc), svc.namespace),
      spec: newDestinationRule(svc),
    });
  }

  const ctx: RouteContext = {
    laneHeader: o.laneHeader,
    domain: o.clusterDomain,
    service: (fqdn) => services.get(fqdn),
    lanesIn: (ns) => lanes.namesIn(ns),
    target: (svc, lane) => {
      const l = lanes.byNamespace.get(svc.namespace)?.get(lane);
      return l ? targetOf(l.chain, svc.lanes) : BASE_LANE;
    },
  };
  for (const vs of inv.virtualServices) {
    const ns = vs.metadata.namespace ?? "";
    const unmerge = (live: unknown, original: unknown) => unmergeVirtualService(live, original, ns, ctx);
    if (isIgnored(vs)) {
      // Left as it is; worth an error only when lane traffic through it misses lane routes.
      const merged = mergeVirtualService(unmerge(vs.spec, undefined), ns, ctx);
      if (!("spec" in merged && deepEqual(merged.spec, vs.spec))) {
        errors.push({
          object: describe(vs),
          message: `carries ${IGNORE_ANNOTATION}: "true" and lacks the lane routes or base pins meshlane would add for the lane-enabled Services it routes to: lane traffic through it is unmanaged`,
        });
      }
      continue;
    }
    const out = userOutcome(vs, (base) => mergeVirtualService(base, ns, ctx), unmerge);
    if (out.kind === "apply") userApply.push(out.obj);
    else if (out.kind === "restore") restore.push(out.obj);
    else if (out.kind === "error") errors.push({ object: describe(vs), message: out.message });
  }
  const hasMeshVs = meshHostIndex(inv.virtualServices, o.clusterDomain);
  for (const svc of services.values()) {
    if (hasMeshVs(svc.fqdn)) continue;
    desiredManaged.push({
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: managedMeta(managedName(svc), svc.namespace),
      spec: newVirtualService(svc, ctx),
    });
  }

  // The sidecar filter's namespaces: those given, those of valid Lanes, and input Namespaces labelled
  // enabled. Never the root namespace (it would reach every proxy of the mesh).
  const sidecarNamespaces = () => {
    const all = new Set([
      ...(o.sidecarNamespaces ?? []),
      ...inv.enabledNamespaces,
      ...lanes.valid.map((l) => l.namespace),
    ]);
    if (all.delete(o.rootNamespace)) {
      warnings.push({
        object: `Namespace ${o.rootNamespace}`,
        message:
          `is Istio's root namespace: a sidecar filter there would run in every proxy of the mesh, ` +
          `so its own sidecars get none`,
      });
    }
    return [...all].sort(compareStrings);
  };
  if (lanes.valid.length > 0) {
    const edges = edgeGroups(lanes.valid, o);
    if (edges.length > 1) {
      warnings.push({
        object: `EnvoyFilter/WasmPlugin ${o.gatewayNamespace}/meshlane-edge*`,
        message:
          `Lanes select ${edges.length} different gateway sets (spec.workloadSelector); ` +
          `a gateway matching more than one selector runs several edge filters: keep the selectors disjoint`,
      });
    }
    desiredManaged.push(...installObjects(edges, sidecarConfig(lanes.valid, o), sidecarNamespaces(), o));
  }

  // Managed objects keep what the server added (uid, resourceVersion, status, other labels) so that an
  // unchanged one is returned as the input object itself.
  const apply: KubeObject[] = [...userApply];
  const wanted = new Set<string>();
  for (const d of desiredManaged) {
    const key = keyOf(d);
    const existing = inv.byKey.get(key);
    if (existing && existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) {
      if (d.kind !== "DestinationRule") {
        errors.push({
          object: describe(existing),
          message: "exists and is not managed by meshlane; meshlane needs the name",
        });
      }
      continue;
    }
    wanted.add(key);
    if (!existing) {
      apply.push(d);
      continue;
    }
    const merged: KubeObject = {
      ...existing,
      metadata: { ...existing.metadata, labels: { ...existing.metadata.labels, ...d.metadata.labels } },
      spec: d.spec,
    };
    apply.push(deepEqual(merged, existing) ? existing : merged);
  }
  const del = inv.managed.filter((m) => !wanted.has(keyOf(m))).map(refOf);

  const status: LaneStatus[] = [...lanes.valid]
    .sort((a, b) => compareStrings(a.namespace, b.namespace) || compareStrings(a.name, b.name))
    .map((l) => ({
      namespace: l.namespace,
      name: l.name,
      services: [...services.values()]
        .filter((s) => s.namespace === l.namespace)
        .sort((a, b) => compareStrings(a.name, b.name))
        .map((s) => {
          const target = targetOf(l.chain, s.lanes);
          const ready = s.ready.get(target);
          return ready === undefined
            ? { service: s.name, target }
            : { service: s.name, target, readyEndpoints: ready };
        }),
    }));

  return {
    apply: apply.sort(compareObjects),
    restore: restore.sort(compareObjects),
    delete: del.sort(compareRefs),
    errors: errors.sort(compareProblems),
    warnings: warnings.sort(compareProblems),
    lanes: status,
  };
}
