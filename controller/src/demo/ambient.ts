// An ambient-mode mesh on loopback (Istio ambient: no sidecars, one waypoint per namespace), running
// the real filter: the edge in role edge, each namespace's waypoint in role waypoint.
//
//   client ─► edge ─► waypoint(ns of mocka) ─► mocka-<lane> ─► waypoint(ns of mockb) ─► mockb-base ─► …
//
// The apps have no proxy of their own: an app's call goes straight to the waypoint of the namespace
// of the Service it calls (what ztunnel does with a Service that has a waypoint), naming the Service in
// `host` (ztunnel's HBONE target). The waypoint runs the filter and routes the way the controller's
// routes do: `<lane header>: L` to L's instance if the Service has one, else base. The edge sends its
// requests through the entry Service's waypoint too (Istio: `istio.io/ingress-use-waypoint: "true"`),
// so the waypoint sees the lane the edge decided. The apps copy only the `forward` headers from their
// request onto their call (default x-request-id): the lane crosses an app only through what the apps
// forward or the waypoint's trace memory, and the demo reports, hop by hop, which one it was.
import { WasmVm, type CompiledFilter, type HeaderPairs, type RootContext } from "../host/index.js";
import { statTags } from "../host/statname.js";
import { targetOf } from "../render/lanes.js";
import { BASE_LANE } from "../render/types.js";
import {
  DEMO_EDGE_CONFIG,
  DEMO_SERVICES,
  EDGE_VM_ID,
  SIDECAR_VM_ID,
  requestCounters,
  startPlugin,
  type CounterRow,
  type MeshResponse,
  type ServiceSpec,
} from "./mesh.js";
import { callUpstream, headerValue, proxy, readBody, send, type Upstream } from "./proxy.js";
import { listen, socketPool } from "./sockets.js";

/** Where the demo's Services live: all in namespace `demo`, or each in a namespace of its own name. */
export type NamespaceLayout = "one" | "per-service";

export interface AmbientOptions {
  wasm: CompiledFilter;
  /** Edge plugin config (object or JSON text). Default DEMO_EDGE_CONFIG. */
  edgeConfig?: object | string;
  /** Headers the apps copy from their request onto their upstream call (default x-request-id). */
  forward?: string[];
  namespaces?: NamespaceLayout;
  services?: readonly ServiceSpec[];
  log?: (line: string) => void;
  timeoutMs?: number;
}

/** How one hop's waypoint found the request's lane. */
export type HopLane = "header" | "baggage" | "memory" | "none";

/** One request through one waypoint: the Service it was for, its lane afterwards and where it came from. */
export interface Hop {
  waypoint: string;
  service: string;
  lane: string | null;
  from: HopLane;
}

export interface LookupRow {
  /** The waypoint's namespace. */
  waypoint: string;
  result: string;
  value: number;
}

export interface AmbientMesh {
  edgeUrl: string;
  /** Namespace → the Services its waypoint serves. */
  waypoints: Map<string, string[]>;
  instances: number;
  /** Sends one GET through the edge; the hops are those of this request (requests one at a time). */
  request(headers?: Record<string, string>): Promise<MeshResponse & { hops: Hop[] }>;
  /** meshlane_requests_total of the edge and every waypoint (component `waypoint <namespace>`). */
  counters(): CounterRow[];
  /** meshlane_trace_lookups_total of every waypoint. */
  lookups(): LookupRow[];
  close(): Promise<void>;
}

function asObject(config: object | string): Record<string, unknown> {
  if (typeof config !== "string") return config as Record<string, unknown>;
  try {
    const v: unknown = JSON.parse(config);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {}; // The filter's configure reports what is wrong with it.
  }
}

/** The baggage member `key`'s value in a baggage header (properties after ';' dropped), or undefined. */
function baggageMember(baggage: string | undefined, key: string): string | undefined {
  for (const m of (baggage ?? "").split(",")) {
    const eq = m.indexOf("=");
    if (eq > 0 && m.slice(0, eq).trim() === key)
      return m
        .slice(eq + 1)
        .split(";")[0]
        .trim();
  }
  return undefined;
}

/** Starts the ambient mesh on 127.0.0.1 (ephemeral ports); MeshConfigError when a config is refused. */
export async function startAmbientMesh(options: AmbientOptions): Promise<AmbientMesh> {
  const log = options.log ?? (() => {});
  const services = options.services ?? DEMO_SERVICES;
  const forward = options.forward ?? ["x-request-id"];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const edgeConfig = options.edgeConfig ?? DEMO_EDGE_CONFIG;
  const edge = asObject(edgeConfig);
  const waypointConfig: Record<string, unknown> = { role: "waypoint" };
  for (const k of ["lanes", "laneHeader", "baggageKey"])
    if (edge[k] !== undefined) waypointConfig[k] = edge[k];
  const laneHeader = typeof edge.laneHeader === "string" ? edge.laneHeader.toLowerCase() : "x-lane";
  const baggageKey = typeof edge.baggageKey === "string" ? edge.baggageKey : "lane";
  const nsOf = (service: string) => (options.namespaces === "per-service" ? service : "demo");
  const byName = new Map(services.map((s) => [s.name, s]));

  const vms: { component: string; vm: WasmVm }[] = [];
  const sockets = socketPool();
  const plugin = (component: string, vmId: string, config: object | string): RootContext => {
    const { vm, root } = startPlugin(options.wasm, component, vmId, config, log);
    vms.push({ component, vm });
    return root;
  };

  let hops: Hop[] = [];
  try {
    const appPorts = new Map<string, number>(); // `<service>-<lane>` → app port
    const waypointPorts = new Map<string, number>(); // namespace → waypoint port
    const waypoints = new Map<string, string[]>();
    for (const s of services) waypoints.set(nsOf(s.name), [...(waypoints.get(nsOf(s.name)) ?? []), s.name]);

    for (const [ns, served] of waypoints) {
      const component = `waypoint ${ns}`;
      const root = plugin(component, SIDECAR_VM_ID, waypointConfig);
      const agent = sockets.agent();
      let arrived: HeaderPairs = [];
      const server = sockets.server((req, res) => {
        void proxy(req, res, {
          root,
          direction: 1, // a waypoint's filter does not read it
          agent,
          timeoutMs,
          // observe and route run in one synchronous stretch of proxy(): `arrived` is this request's.
          observe: (h) => {
            arrived = h;
          },
          route: (h) => {
            const host = (headerValue(h, ":authority") ?? "").split(":")[0];
            const service = byName.get(host);
            if (service === undefined || nsOf(service.name) !== ns) return null;
            const lane = headerValue(h, laneHeader) ?? null;
            let from: HopLane = "none";
            if (lane !== null) {
              if (headerValue(arrived, laneHeader) === lane) from = "header";
              else if (baggageMember(headerValue(arrived, "baggage"), baggageKey) === lane) from = "baggage";
              else from = "memory";
            }
            hops.push({ waypoint: ns, service: service.name, lane, from });
            const target = targetOf([lane ?? "", BASE_LANE], new Set(service.lanes));
            const name = `${service.name}-${service.lanes.includes(target) ? target : service.lanes[0]}`;
            return { name, port: appPorts.get(name) ?? 0 } satisfies Upstream;
          },
        });
      });
      waypointPorts.set(ns, await listen(server));
      log(
        `starting waypoint ${ns}/waypoint on :${waypointPorts.get(ns)} (vm_id ${SIDECAR_VM_ID}, role waypoint; ` +
          `serves ${served.join(", ")})`,
      );
    }

    let instances = 0;
    for (const service of services) {
      for (const lane of service.lanes) {
        const name = `${service.name}-${lane}`;
        const up = service.upstream === undefined ? undefined : byName.get(service.upstream);
        const agent = sockets.agent();
        const me = `-> ${service.name}(version: ${lane})`;
        const app = sockets.server((req, res) => {
          void (async () => {
            let status = 200;
            let text = me;
            try {
              await readBody(req);
              if (up !== undefined) {
                // No proxy of its own: the call goes to the upstream Service's waypoint.
                const headers = ["host", up.name];
                for (const h of forward) {
                  const v = req.headers[h];
                  if (typeof v === "string") headers.push(h, v);
                }
                const port = waypointPorts.get(nsOf(up.name)) ?? 0;
                const r = await callUpstream(agent, port, up.name, headers, timeoutMs);
                text += r.text;
                if (r.failed) status = 502;
              }
            } catch {
              status = 400;
            }
            if (res.destroyed) return;
            res.writeHead(status, {
              "content-type": "text/plain",
              "content-length": Buffer.byteLength(text),
            });
            res.end(text);
          })();
        });
        appPorts.set(name, await listen(app));
        instances++;
        log(
          `starting app ${name} on :${appPorts.get(name)} (namespace ${nsOf(service.name)}, no sidecar, version: ${lane}` +
            `${up ? `, calls ${up.name} through waypoint ${nsOf(up.name)}/waypoint, forwarding ${forward.join(", ") || "no header"}` : ""})`,
        );
      }
    }

    const entry = services[0];
    const edgeRoot = plugin("edge", EDGE_VM_ID, edgeConfig);
    const edgeAgent = sockets.agent();
    const edgeServer = sockets.server((req, res) => {
      void proxy(req, res, {
        root: edgeRoot,
        direction: 2, // Istio gateways report outbound
        agent: edgeAgent,
        timeoutMs,
        route: () => ({
          name: `waypoint ${nsOf(entry.name)}`,
          port: waypointPorts.get(nsOf(entry.name)) ?? 0,
        }),
      });
    });
    const edgePort = await listen(edgeServer);
    const edgeUrl = `http://127.0.0.1:${edgePort}/`;
    log(
      `starting edge proxy on ${edgeUrl} (vm_id ${EDGE_VM_ID}, role edge; routes to ${entry.name} through ` +
        `waypoint ${nsOf(entry.name)}/waypoint, as istio.io/ingress-use-waypoint does)`,
    );

    const clientAgent = sockets.agent();
    return {
      edgeUrl,
      waypoints,
      instances,
      async request(headers = {}) {
        hops = [];
        const flat = ["host", entry.name];
        for (const [k, v] of Object.entries(headers)) flat.push(k, v);
        const r = await send(clientAgent, edgePort, "GET", "/", flat, Buffer.alloc(0), 2 * timeoutMs);
        return { status: r.status, body: r.body.toString("utf8"), headers: r.headers, hops: [...hops] };
      },
      counters: () => vms.flatMap(({ component, vm }) => requestCounters(component, vm)),
      lookups() {
        const rows: LookupRow[] = [];
        for (const { component, vm } of vms) {
          for (const [name, m] of Object.entries(vm.metrics())) {
            const result = statTags(name, "meshlane_trace_lookups_total")?.result;
            if (result !== undefined && "value" in m)
              rows.push({ waypoint: component.replace(/^waypoint /, ""), result, value: Number(m.value) });
          }
        }
        return rows;
      },
      close: () => sockets.close(),
    };
  } catch (e) {
    await sockets.close();
    throw e;
  }
}
