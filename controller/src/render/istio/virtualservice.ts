// VirtualService lane routes. For every HTTP route that sends traffic to a lane-enabled Service, and
// for every lane of that Service's namespace whose target there is not `base`, a copy of the route is
// inserted just before it: the same matches plus `<laneHeader>: exact <lane>`, destinations switched to
// the target subset. Placing each copy right before its original keeps the user's route order intact:
// a request reaches the copy exactly when it would have reached the original. Then every destination
// of a lane-enabled host without a subset (HTTP, TCP, TLS, mirrors) is pinned to `base`, so lane pods
// never take unlabelled traffic.
import { resolveHost } from "../hosts.js";
import { deepEqual } from "../objects.js";
import type { PlannedService } from "../laneplan.js";
import { BASE_LANE, ROUTE_PREFIX } from "../types.js";

export interface RouteContext {
  laneHeader: string;
  domain: string;
  /** The lane-enabled Service behind a resolved host, if any. */
  service(fqdn: string): PlannedService | undefined;
  /** Names of the valid Lanes of a namespace, sorted. */
  lanesIn(namespace: string): string[];
  /** Where `lane` goes at `svc` (a lane it has, or `base`). */
  target(svc: PlannedService, lane: string): string;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

function laneServiceOf(dest: Json, namespace: string, ctx: RouteContext): PlannedService | undefined {
  const host = dest?.destination?.host;
  if (typeof host !== "string") return undefined;
  return ctx.service(resolveHost(host, namespace, ctx.domain));
}

function routesOf(spec: Json, section: string): Json[] {
  return Array.isArray(spec?.[section]) ? spec[section] : [];
}

/** Whether any route of the spec sends traffic to a lane-enabled Service. */
export function touchesLaneHosts(spec: Json, namespace: string, ctx: RouteContext): boolean {
  for (const section of ["http", "tcp", "tls"]) {
    for (const r of routesOf(spec, section)) {
      const dests = Array.isArray(r?.route) ? r.route : [];
      if (dests.some((d: Json) => laneServiceOf(d, namespace, ctx))) return true;
    }
  }
  return false;
}

function pin(dest: Json, namespace: string, ctx: RouteContext): Json {
  if (!dest?.destination || dest.destination.subset !== undefined || !laneServiceOf(dest, namespace, ctx))
    return dest;
  return { ...dest, destination: { ...dest.destination, subset: BASE_LANE } };
}

function pinMirror(m: Json, namespace: string, ctx: RouteContext): Json {
  if (!m || m.subset !== undefined) return m;
  const svc =
    typeof m.host === "string" ? ctx.service(resolveHost(m.host, namespace, ctx.domain)) : undefined;
  return svc ? { ...m, subset: BASE_LANE } : m;
}

function pinRoute(r: Json, namespace: string, ctx: RouteContext): Json {
  const out = { ...r };
  if (Array.isArray(r.route)) out.route = r.route.map((d: Json) => pin(d, namespace, ctx));
  if (r.mirror) out.mirror = pinMirror(r.mirror, namespace, ctx);
  if (Array.isArray(r.mirrors)) {
    out.mirrors = r.mirrors.map((m: Json) =>
      m?.destination ? { ...m, destination: pinMirror(m.destination, namespace, ctx) } : m,
    );
  }
  return out;
}

/** Destinations that differ only in weight become one, weights added; a lone destination drops its weight. */
function collapse(dests: Json[]): Json[] {
  if (dests.length === 1) {
    const { weight: _w, ...only } = dests[0];
    return [only];
  }
  const out: Json[] = [];
  const seen = new Map<string, Json>();
  for (const d of dests) {
    const { weight, ...rest } = d;
    const key = JSON.stringify(rest);
    const prev = seen.get(key);
    if (prev) {
      prev.weight = (prev.weight ?? 0) + (weight ?? 0);
    } else {
      const copy = weight === undefined ? { ...rest } : { ...rest, weight };
      seen.set(key, copy);
      out.push(copy);
    }
  }
  if (out.length === 1) delete out[0].weight;
  return out;
}

function laneVariant(r: Json, lane: string, namespace: string, ctx: RouteContext): Json | undefined {
  let changed = false;
  const dests = r.route.map((d: Json) => {
    const svc = laneServiceOf(d, namespace, ctx);
    if (!svc) return d;
    const target = ctx.target(svc, lane);
    if (target === BASE_LANE) return pin(d, namespace, ctx);
    changed = true;
    return { ...d, destination: { ...d.destination, subset: target } };
  });
  if (!changed) return undefined;
  const laneMatch = { [ctx.laneHeader]: { exact: lane } };
  const matches: Json[] = Array.isArray(r.match) && r.match.length > 0 ? r.match : [{}];
  // Shallow copies: the result shares the user's unchanged sub-objects (render never mutates either).
  const { name, match: _match, route: _route, ...rest } = r;
  const variant = {
    name: name ? `${name}-${ROUTE_PREFIX}${lane}` : `${ROUTE_PREFIX}${lane}`,
    match: matches.map((m: Json) => ({ ...m, headers: { ...(m.headers ?? {}), ...laneMatch } })),
    route: collapse(dests),
    ...rest,
  };
  return pinRoute(variant, namespace, ctx);
}

/**
 * Merges lane routes into a user's VirtualService spec (not modified). Returns the new spec (the same
 * object when nothing applies), or an error when the spec uses something a merge would get wrong: a
 * delegate VirtualService (no hosts) or a route that already matches on the lane header.
 */
export function mergeVirtualService(
  spec: Json,
  namespace: string,
  ctx: RouteContext,
): { spec: Json } | { error: string } {
  if (!touchesLaneHosts(spec, namespace, ctx)) return { spec };
  if (!Array.isArray(spec.hosts) || spec.hosts.length === 0) {
    return {
      error:
        "a delegate VirtualService (no hosts) routes to a lane-enabled Service; meshlane cannot merge lane " +
        "routes into delegated routing: route to it from a VirtualService with hosts instead",
    };
  }
  const out = { ...spec };
  if (Array.isArray(spec.http)) {
    const http: Json[] = [];
    for (const [i, r] of spec.http.entries()) {
      const dests: Json[] = Array.isArray(r?.route) ? r.route : [];
      const services = dests
        .map((d) => laneServiceOf(d, namespace, ctx))
        .filter((s): s is PlannedService => !!s);
      if (services.length === 0) {
        http.push(r);
        continue;
      }
      const matches: Json[] = Array.isArray(r.match) ? r.match : [];
      if (
        matches.some(
          (m) =>
            m?.headers?.[ctx.laneHeader] !== undefined || m?.withoutHeaders?.[ctx.laneHeader] !== undefined,
        )
      ) {
        return {
          error: `http[${i}] already matches on header ${ctx.laneHeader}; meshlane cannot add its lane matches to it`,
        };
      }
      const lanes = [...new Set(services.flatMap((s) => ctx.lanesIn(s.namespace)))].sort();
      for (const lane of lanes) {
        const v = laneVariant(r, lane, namespace, ctx);
        if (v) http.push(v);
      }
      http.push(pinRoute(r, namespace, ctx));
    }
    out.http = http;
  }
  for (const section of ["tcp", "tls"]) {
    if (Array.isArray(spec[section]))
      out[section] = spec[section].map((r: Json) => pinRoute(r, namespace, ctx));
  }
  return { spec: out };
}

/**
 * Whether an HTTP route is one of meshlane's lane routes: named `meshlane-<lane>` or
 * `<name>-meshlane-<lane>`, and every match requires `<laneHeader>: exact <lane>` for that same lane.
 * A user route cannot have that shape in an object meshlane merges into (merging refuses a user route
 * that matches on the lane header), so taking such routes out never takes out the user's.
 */
export function isLaneRoute(r: Json, laneHeader: string): boolean {
  if (typeof r?.name !== "string" || !Array.isArray(r.match) || r.match.length === 0) return false;
  const lane = r.match[0]?.headers?.[laneHeader]?.exact;
  if (typeof lane !== "string" || lane === "") return false;
  if (!r.match.every((m: Json) => m?.headers?.[laneHeader]?.exact === lane)) return false;
  const own = `${ROUTE_PREFIX}${lane}`;
  return r.name === own || r.name.endsWith(`-${own}`);
}

/** A route (or a TCP/TLS route) with every `subset: base` removed, to compare routes up to pinning. */
function withoutBase(r: Json, keep: (host: unknown) => boolean): Json {
  if (!r || typeof r !== "object") return r;
  const strip = (d: Json, host: unknown) => {
    if (!d || d.subset !== BASE_LANE || keep(host)) return d;
    const { subset: _s, ...rest } = d;
    return rest;
  };
  const out = { ...r };
  if (Array.isArray(r.route))
    out.route = r.route.map((d: Json) =>
      d?.destination ? { ...d, destination: strip(d.destination, d.destination.host) } : d,
    );
  if (r.mirror) out.mirror = strip(r.mirror, r.mirror.host);
  if (Array.isArray(r.mirrors))
    out.mirrors = r.mirrors.map((m: Json) =>
      m?.destination ? { ...m, destination: strip(m.destination, m.destination.host) } : m,
    );
  return out;
}

/**
 * Takes meshlane's pieces out of a live VirtualService spec (not modified): its lane routes
 * (`isLaneRoute`), and, when the user's saved spec is known, the `subset: base` pins it added to the
 * user's routes. A user route that equals a saved one up to `subset: base` is that saved route (the
 * same position first, then anywhere); any other route (new or edited by the user) loses `subset: base`
 * on destinations of lane-enabled Services, a subset meshlane owns. Without a saved spec only lane
 * routes are taken out: the rest is the user's as written.
 */
export function unmergeVirtualService(
  live: Json,
  original: Json,
  namespace: string,
  ctx: RouteContext,
): Json {
  if (!live || typeof live !== "object") return live;
  const out = { ...live };
  const laneHost = (host: unknown) =>
    typeof host === "string" && ctx.service(resolveHost(host, namespace, ctx.domain)) !== undefined;
  const anyBase = (r: Json) => withoutBase(r, () => false);
  const restoreRoute = (r: Json, i: number, saved: Json[]): Json => {
    if (original === undefined) return r;
    const bare = anyBase(r);
    if (i < saved.length && deepEqual(anyBase(saved[i]), bare)) return saved[i];
    const found = saved.find((s) => deepEqual(anyBase(s), bare));
    return found ?? withoutBase(r, (host) => !laneHost(host));
  };
  if (Array.isArray(live.http)) {
    const saved = routesOf(original, "http");
    out.http = live.http
      .filter((r: Json) => !isLaneRoute(r, ctx.laneHeader))
      .map((r: Json, i: number) => restoreRoute(r, i, saved));
  }
  for (const section of ["tcp", "tls"]) {
    if (Array.isArray(live[section])) {
      const saved = routesOf(original, section);
      out[section] = live[section].map((r: Json, i: number) => restoreRoute(r, i, saved));
    }
  }
  return out;
}

/** The spec of the mesh VirtualService meshlane creates for a lane-enabled Service that has none. */
export function newVirtualService(svc: PlannedService, ctx: RouteContext): Json {
  const base = { route: [{ destination: { host: svc.fqdn, subset: BASE_LANE } }] };
  const http: Json[] = [];
  for (const lane of ctx.lanesIn(svc.namespace)) {
    const target = ctx.target(svc, lane);
    if (target === BASE_LANE) continue;
    http.push({
      name: `${ROUTE_PREFIX}${lane}`,
      match: [{ headers: { [ctx.laneHeader]: { exact: lane } } }],
      route: [{ destination: { host: svc.fqdn, subset: target } }],
    });
  }
  http.push(base);
  const spec: Json = { hosts: [svc.fqdn], http };
  if (svc.tcp) spec.tcp = [{ route: [{ destination: { host: svc.fqdn, subset: BASE_LANE } }] }];
  return spec;
}
