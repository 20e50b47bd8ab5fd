// Plugin configs (docs/contracts.md, "Plugin configuration") compiled from the Lanes. The edge config carries every Lane's dye rules,
// each rule tagged with its Lane's name, Lanes ordered by priority (higher first), then name, then
// namespace; then, after all of them, the sticky share rules of the Lanes rolling out
// (`status.rollout.percent` > 0, read from the Lane objects given to render), in the same order. The
// sidecar config only needs the lane header and the allow-list.
import { rolloutRules, type LaneRollout } from "../rollout/gateway.js";
import { compareStrings } from "./objects.js";
import type { LaneInfo } from "./lanes.js";
import { resolveOptions, type ResolvedOptions } from "./options.js";
import { BASE_LANE, LANE_API_VERSION, type KubeObject, type RenderOptions } from "./types.js";
import { validateLane } from "./validate.js";

/** Lanes in the order their rules are evaluated at the edge. */
export function byPriority(lanes: LaneInfo[]): LaneInfo[] {
  return [...lanes].sort(
    (a, b) =>
      b.spec.priority - a.spec.priority ||
      compareStrings(a.name, b.name) ||
      compareStrings(a.namespace, b.namespace),
  );
}

/** The allow-list: every valid lane name once, sorted, then `base`. */
export function laneList(lanes: LaneInfo[]): string[] {
  return [...new Set(lanes.map((l) => l.name))].sort(compareStrings).concat(BASE_LANE);
}

function rulesOf(lanes: LaneInfo[]): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  for (const l of byPriority(lanes)) {
    // Same-named Lanes of several namespaces have the same rules (lanes.ts enforces it): compile them once.
    if (seen.has(l.name)) continue;
    seen.add(l.name);
    for (const r of l.spec.dye) rules.push({ lane: l.name, ...r });
  }
  return rules;
}

/** A Lane's routed rollout share: `status.rollout.percent` when it is a number above 0, else 0. */
export function rolloutShare(lane: KubeObject): number {
  const p = (lane.status as { rollout?: { percent?: unknown } } | undefined)?.rollout?.percent;
  return typeof p === "number" && Number.isFinite(p) && p > 0 ? Math.min(p, 100) : 0;
}

/**
 * The rolling-out Lanes' shares in the gateway's rule order. Same-named Lanes of several namespaces make
 * one rule (their dye rules are one): the first of them in that order with a share gives it.
 */
function rollouts(lanes: LaneInfo[]): LaneRollout[] {
  const out: LaneRollout[] = [];
  const seen = new Set<string>();
  for (const l of byPriority(lanes)) {
    const percent = rolloutShare(l.obj);
    if (l.spec.rollout === undefined || percent <= 0 || seen.has(l.name)) continue;
    seen.add(l.name);
    const r: LaneRollout = { lane: l.name, percent };
    if (l.spec.rollout.stickyBy !== undefined) r.stickyBy = l.spec.rollout.stickyBy;
    out.push(r);
  }
  return out;
}

/** The edge-role config for a group of Lanes (those whose rules run on one set of gateways). */
export function edgeConfig(group: LaneInfo[], all: LaneInfo[], o: ResolvedOptions): Record<string, unknown> {
  const c: Record<string, unknown> = { role: "edge", laneHeader: o.laneHeader };
  if (o.baggageKey !== undefined) c.baggageKey = o.baggageKey;
  c.lanes = laneList(all);
  if (o.edge?.defaultLane !== undefined) c.defaultLane = o.edge.defaultLane;
  // Ambient: every request entering the mesh carries a lane, so a waypoint never restores a lane
  // for a request whose trace key a client forged (it conflicts instead; see docs/modes.md).
  else if (o.ambient) c.defaultLane = BASE_LANE;
  if (o.edge?.trustedSources !== undefined) c.trustedSources = o.edge.trustedSources;
  if (o.edge?.jwt !== undefined) c.jwt = o.edge.jwt;
  // Testers named by dye rules always keep their lane: the rollout shares come after every dye rule.
  c.rules = [...rulesOf(group), ...rolloutRules(rollouts(group))];
  if (o.edge?.echoHeader !== undefined) c.echoHeader = o.edge.echoHeader;
  if (o.edge?.responseMetrics !== undefined) c.responseMetrics = o.edge.responseMetrics;
  return c;
}

/** The sidecar-role config, the same for every sidecar. */
export function sidecarConfig(all: LaneInfo[], o: ResolvedOptions): Record<string, unknown> {
  const c: Record<string, unknown> = { role: "sidecar", laneHeader: o.laneHeader };
  if (o.baggageKey !== undefined) c.baggageKey = o.baggageKey;
  c.lanes = laneList(all);
  // `traceHeaders` (render option, controller setting) wins over sidecar.propagation.traceHeaders.
  const propagation =
    o.traceHeaders === undefined
      ? o.sidecar?.propagation
      : { ...o.sidecar?.propagation, traceHeaders: o.traceHeaders.map((h) => h.toLowerCase()) };
  if (propagation !== undefined) c.propagation = propagation;
  if (o.sidecar?.echoHeader !== undefined) c.echoHeader = o.sidecar.echoHeader;
  if (o.sidecar?.responseMetrics !== undefined) c.responseMetrics = o.sidecar.responseMetrics;
  return c;
}

/**
 * One edge config per Lane that passes render's own validation, holding only that Lane's rules: run
 * each through the real filter's configure and pass the rejections back as `RenderOptions.laneVerdicts`
 * (key `namespace/name`) to have render treat exactly what the filter refuses as invalid.
 */
export function laneProbes(
  objects: KubeObject[],
  options: RenderOptions,
): { lane: string; config: string }[] {
  const o = resolveOptions(options);
  const out: { lane: string; config: string }[] = [];
  for (const obj of objects) {
    if (
      obj?.kind !== "Lane" ||
      obj.apiVersion !== LANE_API_VERSION ||
      typeof obj.metadata?.name !== "string"
    ) {
      continue;
    }
    const v = validateLane(obj);
    if ("error" in v) continue;
    const name = obj.metadata.name;
    const c = {
      role: "edge",
      laneHeader: o.laneHeader,
      lanes: [name, BASE_LANE],
      rules: v.spec.dye.map((r) => ({ lane: name, ...r })),
    };
    out.push({ lane: `${obj.metadata.namespace ?? o.defaultNamespace}/${name}`, config: JSON.stringify(c) });
  }
  return out;
}
