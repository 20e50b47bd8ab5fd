// A whole mesh on loopback, needing nothing but Node: an edge proxy running the filter in edge role,
// and services whose instances each sit behind a sidecar running the real filter in sidecar role.
//
//   client ─► edge ─► [in ▸ mocka-<lane> ▸ out] ─► [in ▸ mockb-base ▸ out] ─► [in ▸ mockc-<lane>]
//
// Each sidecar is one VM (vm_id "meshlane", its own shared data) with one plugin, serving two
// listeners as an Istio sidecar does: inbound (xds.listener_direction 1) in front of its app, and
// outbound (2), which the app calls for every upstream request, the way iptables capture sends it
// there in a pod. The app names the service it wants in `host`; the outbound listener runs the filter
// and then routes the way the controller's VirtualService does: `<lane header>: L` goes to L's
// instance if the service has one, else to the fallback (base). The apps forward only x-request-id,
// like the seed's app: the lane survives each hop only because the sidecars carry it.
import http from "node:http";
import { readFile } from "node:fs/promises";
import {
  compileFilter,
  SharedData,
  WasmVm,
  type CompiledFilter,
  type HeaderPairs,
  type RootContext,
} from "../host/index.js";
import { rejectionReason } from "../explain/reason.js";
import { statTags } from "../host/statname.js";
import { defaultWasmPath } from "../paths.js";
import { targetOf } from "../render/lanes.js";
import { BASE_LANE } from "../render/types.js";
import { callUpstream, headerValue, proxy, readBody, send, type Upstream } from "./proxy.js";
import { listen, socketPool } from "./sockets.js";
import {
  DEMO_NAMESPACE,
  EDGE_APP,
  EDGE_NAMESPACE,
  STATS_PATH,
  statsHandler,
  type StatsEndpoint,
} from "./stats.js";

/** One service of the demo: its lanes (each an instance) and the service it calls, if any. */
export interface ServiceSpec {
  name: string;
  lanes: string[];
  upstream?: string;
}

/** The seed's example grown by one hop: mockb has no canary, so canary traffic falls back to its base
 * and must come back to canary at mockc. */
export const DEMO_SERVICES: readonly ServiceSpec[] = [
  { name: "mocka", lanes: [BASE_LANE, "canary"], upstream: "mockb" },
  { name: "mockb", lanes: [BASE_LANE], upstream: "mockc" },
  { name: "mockc", lanes: [BASE_LANE, "canary"] },
];

/** The seed's dye rule: `agent: pc` goes to canary, everything else to base. */
export const DEMO_EDGE_CONFIG = {
  role: "edge",
  lanes: [BASE_LANE, "canary"],
  defaultLane: BASE_LANE,
  rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
};

export const SIDECAR_VM_ID = "meshlane";
export const EDGE_VM_ID = "meshlane-edge";
const INBOUND = 1;
const OUTBOUND = 2;

export interface MeshOptions {
  /** The filter: a file path (default build/meshlane.wasm), its bytes, or an already compiled module. */
  wasm?: string | Uint8Array | CompiledFilter;
  /** Edge plugin config (object or JSON text). Default DEMO_EDGE_CONFIG. */
  edgeConfig?: object | string;
  /** Sidecar plugin config. Default: role sidecar with the edge config's lanes, laneHeader and baggageKey. */
  sidecarConfig?: object | string;
  /** false: every proxy forwards without any wasm (the benchmark's baseline). Default true. */
  withFilter?: boolean;
  /** Services, the first being the one the edge routes to. Default DEMO_SERVICES. */
  services?: readonly ServiceSpec[];
  /** Progress and filter warnings, one line each. */
  log?: (line: string) => void;
  /** Upstream connections per destination per proxy (Envoy's circuit breaker default is 1024). */
  maxSockets?: number;
  /** Called (and awaited) when a request reaches an app, before it calls upstream or answers; tests
   * use it to hold requests inside the mesh. */
  onAppRequest?: (instance: string, requestId: string | undefined) => Promise<void> | void;
  /** How long a proxy or app waits for its upstream, in milliseconds (default 30 s; the client twice that). */
  timeoutMs?: number;
  /** Percent of its requests an instance's app answers with 500 (spread evenly, no randomness). */
  failPercent?: (instance: Instance) => number;
  /**
   * Picks the instance (`<service>-<lane>`) a request for `service` goes to (`edge`: at the edge
   * proxy), e.g. from rendered HTTPRoutes (gatewayapi.ts). Default, or when it returns undefined: the
   * lane header's lane if the service has it, else base, as meshlane's VirtualServices route.
   */
  router?: (service: string, headers: HeaderPairs, edge: boolean) => string | undefined;
}

/** One instance of a service: its app and its sidecar. */
export interface Instance {
  /** `<service>-<lane>`, as a Deployment would be named. */
  name: string;
  service: string;
  lane: string;
  appPort: number;
  inboundPort: number;
  outboundPort: number;
  /** The sidecar's VM (null without the filter). */
  vm: WasmVm | null;
}

/** One meshlane_requests_total series of one proxy. */
export interface CounterRow {
  /** "edge" or the instance name. */
  component: string;
  lane: string;
  role: string;
  direction: string;
  source: string;
  value: number;
}

/** One meshlane_trace_conflicts_total series of one sidecar. */
export interface ConflictRow {
  component: string;
  direction: string;
  value: number;
}

export interface MeshResponse {
  status: number;
  body: string;
  headers: HeaderPairs;
}

export interface Mesh {
  edgeUrl: string;
  edgeVm: WasmVm | null;
  instances: Instance[];
  services: readonly ServiceSpec[];
  /** Proxies one request passes through end to end (edge, then inbound and outbound sidecars). */
  hops: number;
  /** Sends one GET through the edge. */
  request(headers?: Record<string, string>, path?: string): Promise<MeshResponse>;
  /** meshlane_requests_total of every proxy, edge first. */
  counters(): CounterRow[];
  /** meshlane_trace_conflicts_total of every sidecar: trace keys seen live with two lanes. */
  conflicts(): ConflictRow[];
  /** Requests an app sent upstream carrying a lane header or baggage (the demo apps never do: 0). */
  laneHeadersFromApps(): number;
  /** Every proxy's `GET /stats/prometheus` endpoint, edge first (stats.ts). */
  stats: StatsEndpoint[];
  /** Applies a new edge plugin config, as Envoy applies a config update (a new root on the same VM);
   * MeshConfigError when the filter refuses it (the old config stays). */
  configureEdge(config: object | string): void;
  close(): Promise<void>;
}

/** The filter refused a plugin config (Envoy would reject the config update). */
export class MeshConfigError extends Error {
  override readonly name = "MeshConfigError";
}

/** The filter module could not be read. */
export class FilterNotFoundError extends Error {
  override readonly name = "FilterNotFoundError";
}

/** meshlane_requests_total of one VM, by tag (either order of the tag form: statname.ts). */
export function requestCounters(component: string, vm: WasmVm): CounterRow[] {
  const rows: CounterRow[] = [];
  for (const [name, m] of Object.entries(vm.metrics())) {
    const t = statTags(name, "meshlane_requests_total");
    if (t === null || !("value" in m)) continue;
    const { lane, role, direction, source } = t;
    if (lane === undefined || role === undefined || direction === undefined || source === undefined) continue;
    rows.push({ component, lane, role, direction, source, value: Number(m.value) });
  }
  return rows;
}

/** meshlane_trace_conflicts_total of one VM, by direction. */
export function conflictCounters(component: string, vm: WasmVm): ConflictRow[] {
  const rows: ConflictRow[] = [];
  for (const [name, m] of Object.entries(vm.metrics())) {
    const direction = statTags(name, "meshlane_trace_conflicts_total")?.direction;
    if (direction !== undefined && "value" in m) rows.push({ component, direction, value: Number(m.value) });
  }
  return rows;
}

function asObject(config: object | string | undefined): Record<string, unknown> {
  if (config === undefined) return {};
  if (typeof config !== "string") return config as Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(config);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {}; // The filter's configure reports what is wrong with it.
  }
}

function laneHeaderOf(config: Record<string, unknown>): string {
  const h = config.laneHeader;
  return typeof h === "string" && h.length > 0 ? h.toLowerCase() : "x-lane";
}

/** The sidecar config that matches an edge config: same allow-list and carriers. */
export function sidecarConfigFor(edge: object | string): Record<string, unknown> {
  const e = asObject(edge);
  const out: Record<string, unknown> = { role: "sidecar" };
  for (const key of ["lanes", "laneHeader", "baggageKey"]) if (e[key] !== undefined) out[key] = e[key];
  return out;
}

function rejection(vm: WasmVm): string {
  return rejectionReason(vm.logs);
}

/** A VM with one plugin configured, as Envoy starts it (its own shared data, warnings and errors to
 * `log` under `component`, fail-open on a trap); MeshConfigError when the filter refuses the config. */
export function startPlugin(
  compiled: CompiledFilter,
  component: string,
  vmId: string,
  config: object | string,
  log: (line: string) => void,
): { vm: WasmVm; root: RootContext } {
  const vm = WasmVm.instantiate(compiled, {
    vmId,
    sharedData: new SharedData(),
    logLevel: "warn",
    failOpen: true,
    throwOnTrap: false,
    onLog: (r) => {
      if (r.level >= 3) log(`[${component}] ${r.levelName}: ${r.msg}`);
    },
  });
  const root = vm.createRoot(typeof config === "string" ? config : JSON.stringify(config));
  if (!root.ok)
    throw new MeshConfigError(`${component}: the filter rejected its plugin config: ${rejection(vm)}`);
  return { vm, root };
}

async function loadFilter(wasm: MeshOptions["wasm"], log: (line: string) => void): Promise<CompiledFilter> {
  if (wasm !== undefined && typeof wasm !== "string" && !(wasm instanceof Uint8Array)) return wasm;
  let bytes: Uint8Array;
  if (wasm instanceof Uint8Array) {
    bytes = wasm;
  } else {
    const file = wasm ?? defaultWasmPath;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new FilterNotFoundError(`cannot read the filter ${file} (${why}): run npm run build first`);
    }
    log(`loading filter ${file} (${Math.round(bytes.length / 1024)} KiB)`);
  }
  return compileFilter(bytes);
}

/** Starts the mesh; every server listens on 127.0.0.1 on an ephemeral port. */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const log = options.log ?? (() => {});
  const withFilter = options.withFilter ?? true;
  const services = options.services ?? DEMO_SERVICES;
  const edgeConfig = options.edgeConfig ?? DEMO_EDGE_CONFIG;
  const sidecarConfig = options.sidecarConfig ?? sidecarConfigFor(edgeConfig);
  const edgeLaneHeader = laneHeaderOf(asObject(edgeConfig));
  const sidecarLaneHeader = laneHeaderOf(asObject(sidecarConfig));
  const maxSockets = options.maxSockets ?? 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const byName = new Map(services.map((s) => [s.name, s]));
  for (const s of services) {
    if (s.lanes.length === 0) throw new Error(`service ${s.name} has no instance`);
    if (s.upstream !== undefined && !byName.has(s.upstream))
      throw new Error(`${s.name} calls unknown ${s.upstream}`);
  }

  const sockets = socketPool(maxSockets);

  try {
    const compiled = withFilter ? await loadFilter(options.wasm, log) : null;
    if (!withFilter) log("filter off: every proxy forwards without running any wasm");

    const plugin = (component: string, vmId: string, config: object | string) =>
      startPlugin(compiled as CompiledFilter, component, vmId, config, log);

    // Instances first (the routes below read their ports when requests arrive).
    const instances: Instance[] = [];
    const stats: StatsEndpoint[] = [];
    const inboundPort = new Map<string, number>(); // instance name → inbound listener
    const laneOf = (
      service: ServiceSpec,
      headers: HeaderPairs,
      laneHeader: string,
      edge = false,
    ): Upstream => {
      const lane = targetOf([headerValue(headers, laneHeader) ?? "", BASE_LANE], new Set(service.lanes));
      const name =
        options.router?.(service.name, headers, edge) ??
        `${service.name}-${service.lanes.includes(lane) ? lane : service.lanes[0]}`;
      return { name, port: inboundPort.get(name) ?? 0 };
    };
    let leaks = 0;

    for (const service of services) {
      for (const lane of service.lanes) {
        const name = `${service.name}-${lane}`;
        const sidecar = compiled ? plugin(name, SIDECAR_VM_ID, sidecarConfig) : null;
        const root = sidecar?.root ?? null;
        const inboundAgent = sockets.agent();
        const outboundAgent = sockets.agent();
        const inst: Instance = {
          name,
          service: service.name,
          lane,
          appPort: 0,
          inboundPort: 0,
          outboundPort: 0,
          vm: sidecar?.vm ?? null,
        };
        const toApp: Upstream = { name: `${name} app`, port: 0 };
        const inbound = sockets.server((req, res) => {
          void proxy(req, res, {
            root,
            direction: INBOUND,
            agent: inboundAgent,
            timeoutMs,
            route: () => toApp,
          });
        });
        const outbound = sockets.server((req, res) => {
          void proxy(req, res, {
            root,
            direction: OUTBOUND,
            agent: outboundAgent,
            timeoutMs,
            observe: (h) => {
              if (headerValue(h, sidecarLaneHeader) !== undefined || headerValue(h, "baggage") !== undefined)
                leaks++;
            },
            route: (h) => {
              const host = (headerValue(h, ":authority") ?? "").split(":")[0];
              const target = byName.get(host);
              return target === undefined ? null : laneOf(target, h, sidecarLaneHeader);
            },
          });
        });
        inst.inboundPort = await listen(inbound);
        inst.outboundPort = await listen(outbound);
        inboundPort.set(name, inst.inboundPort);
        log(
          `starting sidecar ${name} (inbound :${inst.inboundPort}, outbound :${inst.outboundPort}` +
            `${compiled ? `, vm_id ${SIDECAR_VM_ID}, role sidecar` : ", no filter"})`,
        );
        const statsPort = await listen(sockets.server(statsHandler(inst.vm)));
        stats.push({
          service: service.name,
          workload: name,
          lane,
          role: "sidecar",
          url: `http://127.0.0.1:${statsPort}${STATS_PATH}`,
          labels: { app: service.name, namespace: DEMO_NAMESPACE, pod: name },
        });
        const failPercent = options.failPercent?.(inst) ?? 0;
        const app = sockets.server(
          appHandler(service, lane, inst, sockets.agent(), timeoutMs, options.onAppRequest, failPercent),
        );
        inst.appPort = await listen(app);
        toApp.port = inst.appPort;
        log(
          `starting app ${name} on :${inst.appPort} (version: ${lane}` +
            `${service.upstream ? `, calls ${service.upstream} through :${inst.outboundPort}` : ""})`,
        );
        instances.push(inst);
      }
    }

    const entry = services[0];
    const edge = compiled ? plugin("edge", EDGE_VM_ID, edgeConfig) : null;
    let edgeRoot = edge?.root ?? null;
    let edgeHeader = edgeLaneHeader;
    const edgeAgent = sockets.agent();
    const edgeServer = sockets.server((req, res) => {
      void proxy(req, res, {
        root: edgeRoot,
        direction: OUTBOUND, // Istio gateways report outbound
        agent: edgeAgent,
        timeoutMs,
        route: (h) => laneOf(entry, h, edgeHeader, true),
      });
    });
    const edgeStatsPort = await listen(sockets.server(statsHandler(edge?.vm ?? null)));
    stats.unshift({
      service: EDGE_APP,
      workload: EDGE_APP,
      role: "edge",
      url: `http://127.0.0.1:${edgeStatsPort}${STATS_PATH}`,
      labels: { app: EDGE_APP, namespace: EDGE_NAMESPACE, pod: EDGE_APP },
    });
    const edgePort = await listen(edgeServer);
    const edgeUrl = `http://127.0.0.1:${edgePort}/`;
    log(
      `starting edge proxy on ${edgeUrl} (${compiled ? `vm_id ${EDGE_VM_ID}, role edge` : "no filter"}, routes to ${entry.name})`,
    );

    let hops = 1;
    const seen = new Set<string>();
    for (
      let s: ServiceSpec | undefined = entry;
      s !== undefined && !seen.has(s.name);
      s = byName.get(s.upstream ?? "")
    ) {
      seen.add(s.name);
      hops += s.upstream ? 2 : 1;
    }

    const clientAgent = sockets.agent(Infinity);
    return {
      edgeUrl,
      edgeVm: edge?.vm ?? null,
      instances,
      services,
      hops,
      async request(headers = {}, path = "/") {
        const flatHeaders = ["host", "demo.meshlane.local"];
        for (const [k, v] of Object.entries(headers)) flatHeaders.push(k, v);
        const r = await send(clientAgent, edgePort, "GET", path, flatHeaders, Buffer.alloc(0), 2 * timeoutMs);
        return { status: r.status, body: r.body.toString("utf8"), headers: r.headers };
      },
      counters() {
        const rows = edge ? requestCounters("edge", edge.vm) : [];
        for (const i of instances) if (i.vm) rows.push(...requestCounters(i.name, i.vm));
        return rows;
      },
      conflicts: () => instances.flatMap((i) => (i.vm ? conflictCounters(i.name, i.vm) : [])),
      laneHeadersFromApps: () => leaks,
      stats,
      configureEdge(config) {
        if (edge === null) return;
        const root = edge.vm.createRoot(typeof config === "string" ? config : JSON.stringify(config));
        if (!root.ok) {
          root.retire();
          throw new MeshConfigError(`edge: the filter rejected its plugin config: ${rejection(edge.vm)}`);
        }
        edgeRoot?.retire();
        edgeRoot = root;
        edgeHeader = laneHeaderOf(asObject(config));
      },
      close: () => sockets.close(),
    };
  } catch (e) {
    await sockets.close();
    throw e;
  }
}

/**
 * The demo app, like the seed's: answers `-> <service>(version: <lane>)`, followed by its upstream's
 * answer, and calls its upstream with nothing but x-request-id (never the lane header, never baggage).
 */
function appHandler(
  service: ServiceSpec,
  lane: string,
  inst: Instance,
  agent: http.Agent,
  timeoutMs: number,
  hook: MeshOptions["onAppRequest"],
  failPercent = 0,
): http.RequestListener {
  const me = `-> ${service.name}(version: ${lane})`;
  let served = 0;
  return (req, res) => {
    void (async () => {
      let status = 200;
      let text = me;
      try {
        await readBody(req);
        const id = req.headers["x-request-id"];
        const requestId = typeof id === "string" ? id : undefined;
        await hook?.(inst.name, requestId);
        // Fails `failPercent` of requests, evenly: the n-th fails when floor(n·p/100) steps up.
        served++;
        const failing =
          Math.floor((served * failPercent) / 100) > Math.floor(((served - 1) * failPercent) / 100);
        if (failing) {
          status = 500;
          text += " (failed on purpose)";
        } else if (service.upstream !== undefined) {
          const headers = ["host", service.upstream];
          if (requestId !== undefined) headers.push("x-request-id", requestId);
          const up = await callUpstream(agent, inst.outboundPort, service.upstream, headers, timeoutMs);
          text += up.text;
          if (up.failed) status = 502;
        }
      } catch {
        status = 400;
      }
      if (res.destroyed) return;
      res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
      res.end(text);
    })();
  };
}
