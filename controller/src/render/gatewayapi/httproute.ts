// HTTPRoute lane rules. For every rule of a user's HTTPRoute that sends traffic to a lane-enabled
// Service, and for every lane of that Service's namespace whose target there is not `base`, a copy of
// the rule is put just before it: the same matches plus the lane header (`Exact <lane>`), the
// lane-enabled backends switched to the target's per-lane Service (`<service>-<target>`). The rule
// itself is then pinned: its lane-enabled backends go to `<service>-base`, so lane pods never take
// unlabelled traffic. Gateway API orders rules by match precedence, not position: a copy has its
// rule's path, method and query matches plus one header, so it wins exactly over its own rule and keeps
// its place against every other rule.
//
// Every value the API server would default (match path, header type, backend group/kind/weight) is
// written out, so what the server stores is what was rendered.
import { serviceFqdn } from "../hosts.js";
import type { PlannedService } from "../laneplan.js";
import { deepEqual } from "../objects.js";
import { BASE_LANE } from "../types.js";
import { laneServiceName } from "./laneservices.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** Limits of the Gateway API (HTTPRoute CRD): rules per route, header matches per match, matches per route. */
export const MAX_RULES = 16;
export const MAX_HEADER_MATCHES = 16;
export const MAX_MATCHES = 128;

export interface HttpRouteContext {
  laneHeader: string;
  domain: string;
  /** The routed lane-enabled Service behind a fully qualified name, if any. */
  service(fqdn: string): PlannedService | undefined;
  /** The valid Lanes of a namespace, sorted. */
  lanesIn(namespace: string): string[];
  target(svc: PlannedService, lane: string): string;
  /** The lane-enabled Service (its name) that a per-lane Service `name` splits, if meshlane creates one there. */
  laneServiceOwner(namespace: string, name: string): { service: string; lane: string } | undefined;
  /** For a `<service>-base` name in a namespace: the Service a base pin stood for, if it was one. */
  unpinned(namespace: string, name: string): string | undefined;
}

export const DEFAULT_PATH = { type: "PathPrefix", value: "/" };

/** A backendRef to a per-lane Service, with the server's defaults written out. */
export function laneBackend(svc: PlannedService, lane: string, port: number): Json {
  return { group: "", kind: "Service", name: laneServiceName(svc.name, lane), port, weight: 1 };
}

function isServiceRef(ref: Json): boolean {
  return (ref?.group ?? "") === "" && (ref?.kind ?? "Service") === "Service" && typeof ref?.name === "string";
}

function refNamespace(ref: Json, namespace: string): string {
  return typeof ref?.namespace === "string" && ref.namespace !== "" ? ref.namespace : namespace;
}

function laneServiceOf(ref: Json, namespace: string, ctx: HttpRouteContext): PlannedService | undefined {
  if (!isServiceRef(ref)) return undefined;
  return ctx.service(serviceFqdn(ref.name, refNamespace(ref, namespace), ctx.domain));
}

function backendsOf(rule: Json): Json[] {
  return Array.isArray(rule?.backendRefs) ? rule.backendRefs : [];
}

function matchesOf(rule: Json): Json[] {
  return Array.isArray(rule?.matches) && rule.matches.length > 0 ? rule.matches : [{ path: DEFAULT_PATH }];
}

function isLaneHeader(h: Json, laneHeader: string): boolean {
  return typeof h?.name === "string" && h.name.toLowerCase() === laneHeader;
}

/** A rule with its lane-enabled backends pointing at `lane`'s per-lane Service (`pin` for base). */
function withBackends(
  rule: Json,
  namespace: string,
  ctx: HttpRouteContext,
  laneFor: (s: PlannedService) => string,
) {
  let changed = false;
  const backendRefs = backendsOf(rule).map((ref) => {
    const svc = laneServiceOf(ref, namespace, ctx);
    if (!svc) return ref;
    const lane = laneFor(svc);
    if (lane !== BASE_LANE) changed = true;
    return { ...ref, name: laneServiceName(svc.name, lane) };
  });
  return { rule: { ...rule, backendRefs }, changed };
}

function laneVariant(rule: Json, lane: string, namespace: string, ctx: HttpRouteContext): Json | undefined {
  const { rule: routed, changed } = withBackends(rule, namespace, ctx, (s) => ctx.target(s, lane));
  if (!changed) return undefined;
  const header = { type: "Exact", name: ctx.laneHeader, value: lane };
  const variant: Json = {
    ...routed,
    matches: matchesOf(rule).map((m) => ({
      ...m,
      path: m.path ?? DEFAULT_PATH,
      headers: [...(Array.isArray(m.headers) ? m.headers : []), header],
    })),
  };
  if (typeof rule.name === "string") variant.name = `${rule.name}-meshlane-${lane}`;
  return variant;
}

/** Whether any rule sends traffic to a lane-enabled Service. */
function touchesLaneServices(spec: Json, namespace: string, ctx: HttpRouteContext): boolean {
  const rules: Json[] = Array.isArray(spec?.rules) ? spec.rules : [];
  return rules.some((r) => backendsOf(r).some((ref) => laneServiceOf(ref, namespace, ctx)));
}

/**
 * Merges lane rules into a user's HTTPRoute spec (not modified). Returns the new spec (the same object
 * when nothing applies), or an error when the route is one meshlane cannot merge into: a rule routing
 * to a lane-enabled Service already matches the lane header, a backend is a Service meshlane creates,
 * or the result would break a Gateway API limit (16 rules, 16 header matches, 128 matches).
 */
export function mergeHttpRoute(
  spec: Json,
  namespace: string,
  ctx: HttpRouteContext,
): { spec: Json } | { error: string } {
  const rules: Json[] = Array.isArray(spec?.rules) ? spec.rules : [];
  for (const [i, r] of rules.entries()) {
    for (const [j, ref] of backendsOf(r).entries()) {
      if (!isServiceRef(ref)) continue;
      const ns = refNamespace(ref, namespace);
      const owner = ctx.laneServiceOwner(ns, ref.name);
      if (owner) {
        return {
          error:
            `rules[${i}].backendRefs[${j}]: routes to Service ${ns}/${ref.name}, the Service meshlane creates for lane ` +
            `${owner.lane} of ${ns}/${owner.service}; route to ${owner.service} and let meshlane pick the lane`,
        };
      }
    }
  }
  if (!touchesLaneServices(spec, namespace, ctx)) return { spec };
  const out: Json[] = [];
  for (const [i, r] of rules.entries()) {
    const services = backendsOf(r)
      .map((ref) => laneServiceOf(ref, namespace, ctx))
      .filter((s): s is PlannedService => !!s);
    if (services.length === 0) {
      out.push(r);
      continue;
    }
    for (const [k, m] of matchesOf(r).entries()) {
      const headers: Json[] = Array.isArray(m?.headers) ? m.headers : [];
      if (headers.some((h) => isLaneHeader(h, ctx.laneHeader))) {
        return {
          error: `rules[${i}].matches[${k}] already matches on header ${ctx.laneHeader}; meshlane cannot add its lane matches to it`,
        };
      }
      if (headers.length >= MAX_HEADER_MATCHES) {
        return {
          error: `rules[${i}].matches[${k}] has ${headers.length} header matches; with the lane header it would pass the Gateway API limit of ${MAX_HEADER_MATCHES}`,
        };
      }
    }
    const lanes = [...new Set(services.flatMap((s) => ctx.lanesIn(s.namespace)))].sort();
    for (const lane of lanes) {
      const v = laneVariant(r, lane, namespace, ctx);
      if (v) out.push(v);
    }
    out.push(withBackends(r, namespace, ctx, () => BASE_LANE).rule);
  }
  if (out.length > MAX_RULES) {
    return {
      error:
        `${out.length} rules with meshlane's lane rules (${rules.length} of the user's); the Gateway API allows ` +
        `${MAX_RULES} per HTTPRoute: split the routes to lane-enabled Services over several HTTPRoutes`,
    };
  }
  const matches = out.reduce((n, r) => n + matchesOf(r).length, 0);
  if (matches > MAX_MATCHES) {
    return {
      error: `${matches} matches with meshlane's lane rules; the Gateway API allows ${MAX_MATCHES} per HTTPRoute`,
    };
  }
  return { spec: { ...spec, rules: out } };
}

/**
 * Whether a rule is one of meshlane's lane rules: every match requires the lane header, `Exact`, the
 * same lane. A user rule cannot have that shape in a route meshlane merged into (merging refuses a rule
 * that matches on the lane header), so taking such rules out of a merged route never takes out the
 * user's.
 */
export function isLaneRule(r: Json, laneHeader: string): boolean {
  if (!Array.isArray(r?.matches) || r.matches.length === 0) return false;
  let lane: string | undefined;
  for (const m of r.matches) {
    const h = (Array.isArray(m?.headers) ? m.headers : []).find((x: Json) => isLaneHeader(x, laneHeader));
    if (!h || (h.type ?? "Exact") !== "Exact" || typeof h.value !== "string") return false;
    if (lane !== undefined && h.value !== lane) return false;
    lane = h.value;
  }
  return true;
}

/** A rule with every base pin (`<service>-base` standing for a lane-enabled `<service>`) taken back. */
function unpin(r: Json, namespace: string, ctx: HttpRouteContext): Json {
  if (!Array.isArray(r?.backendRefs)) return r;
  let changed = false;
  const backendRefs = r.backendRefs.map((ref: Json) => {
    if (!isServiceRef(ref)) return ref;
    const svc = ctx.unpinned(refNamespace(ref, namespace), ref.name);
    if (svc === undefined) return ref;
    changed = true;
    return { ...ref, name: svc };
  });
  return changed ? { ...r, backendRefs } : r;
}

/**
 * Takes meshlane's pieces out of a live HTTPRoute spec (not modified), when the user's saved spec is
 * known: its lane rules and the base pins. A rule equal to a saved one up to base pins is that saved
 * rule (same position first, then anywhere); any other rule loses its base pins. Without a saved spec
 * the route was never merged into, and nothing is taken out: rules carry no name in the standard
 * channel, so a lane rule is told from a user's rule matching the lane header only by that record.
 */
export function unmergeHttpRoute(live: Json, original: Json, namespace: string, ctx: HttpRouteContext): Json {
  if (!live || typeof live !== "object" || !Array.isArray(live.rules)) return live;
  // Never merged (no saved spec): every rule is the user's, lane-header rules included.
  if (original === undefined) return live;
  const kept = live.rules.filter((r: Json) => !isLaneRule(r, ctx.laneHeader));
  const saved: Json[] = Array.isArray(original?.rules) ? original.rules : [];
  const bare = (r: Json) => unpin(r, namespace, ctx);
  const rules = kept.map((r: Json, i: number) => {
    const b = bare(r);
    if (i < saved.length && deepEqual(bare(saved[i]), b)) return saved[i];
    return saved.find((s) => deepEqual(bare(s), b)) ?? b;
  });
  return { ...live, rules };
}
