// `meshlane demo --ambient`: starts the ambient mesh (ambient.ts), sends the requests and says, hop by
// hop, what the lane did: carried by what the apps forward, restored from a waypoint's trace memory,
// or lost; then each waypoint's trace memory hit rate. Exit status as `meshlane demo`.
import type { CompiledFilter } from "../host/index.js";
import { MeshConfigError } from "./mesh.js";
import { startAmbientMesh, type AmbientMesh, type Hop, type NamespaceLayout } from "./ambient.js";

export interface AmbientRun {
  wasm: CompiledFilter;
  edgeConfig: object | string;
  forward: string[];
  namespaces: NamespaceLayout;
  requests: { headers: Record<string, string>; label: string }[];
  keep: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
  untilSignal: () => Promise<void>;
}

const HOW: Record<Hop["from"], string> = {
  header: "carried (header)",
  baggage: "carried (baggage)",
  memory: "restored (trace memory)",
  none: "no lane",
};

/** One request's hops as one line: `lane canary: mocka carried (header) · mockb restored (trace memory)`. */
function hopLine(hops: Hop[]): string {
  const lane = hops.find((h) => h.lane !== null)?.lane ?? null;
  const each = hops.map((h) => {
    const how = h.lane === null && lane !== null ? "LOST (no lane)" : HOW[h.from];
    return `${h.service} ${how}${h.lane !== null && h.lane !== lane ? ` as ${h.lane}` : ""}`;
  });
  return `${lane === null ? "no lane" : `lane ${lane}`}: ${each.join(" · ")}`;
}

export async function runAmbientDemo(o: AmbientRun): Promise<number> {
  const { out } = o;
  out("meshlane demo --ambient: starting a local ambient mesh on 127.0.0.1");
  out("  (no sidecars; one waypoint per namespace running the filter in role waypoint)");
  let mesh: AmbientMesh;
  try {
    mesh = await startAmbientMesh({
      wasm: o.wasm,
      edgeConfig: o.edgeConfig,
      forward: o.forward,
      namespaces: o.namespaces,
      log: (l) => out(`  ${l}`),
    });
  } catch (e) {
    if (e instanceof MeshConfigError) {
      o.err(`meshlane demo: ${e.message}`);
      return 2;
    }
    o.err(`meshlane demo: the mesh did not start: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  let failed = 0;
  try {
    out(
      `mesh ready: edge ${mesh.edgeUrl}, ${mesh.instances} app instances, ${mesh.waypoints.size} waypoint(s); ` +
        `apps forward: ${o.forward.join(", ") || "no header"}`,
    );
    if (o.requests.length > 0) out("");
    const width = Math.max(0, ...o.requests.map((r) => r.label.length));
    const all: Hop[][] = [];
    for (const { headers, label } of o.requests) {
      const r = await mesh.request(headers);
      if (r.status !== 200) failed++;
      out(`${label.padEnd(width)}  ${r.status === 200 ? r.body : `HTTP ${r.status}: ${r.body.trimEnd()}`}`);
      out(`${" ".repeat(width)}  ${hopLine(r.hops)}`);
      all.push(r.hops);
    }
    report(mesh, all, o);
    if (o.keep) {
      out("");
      out(`the mesh keeps running: try: curl -H 'agent: pc' ${mesh.edgeUrl}  (Ctrl-C to stop)`);
      await o.untilSignal();
    }
  } finally {
    await mesh.close();
  }
  if (failed > 0) {
    o.err(`meshlane demo: ${failed} request(s) failed`);
    return 1;
  }
  return 0;
}

/** What the lane did over all requests, and each waypoint's trace memory hit rate. */
function report(mesh: AmbientMesh, all: Hop[][], o: AmbientRun): void {
  const { out } = o;
  const after = all.flatMap((hops) => {
    const lane = hops.find((h) => h.lane !== null)?.lane ?? null;
    return lane === null ? [] : hops.slice(1).map((h) => ({ ...h, dyed: lane }));
  });
  if (all.length === 0) return;
  out("");
  out("what the lane did after the first hop (requests that had one):");
  const carried = after.filter((h) => h.from === "header" || h.from === "baggage").length;
  const restored = after.filter((h) => h.from === "memory").length;
  const lost = after.filter((h) => h.lane === null);
  out(`  carried by the apps' forwarded headers: ${carried} hop(s)`);
  out(`  restored from a waypoint's trace memory: ${restored} hop(s)`);
  out(
    `  lost: ${lost.length} hop(s)${lost.length > 0 ? `, at ${[...new Set(lost.map((h) => `${h.service} (waypoint ${h.waypoint})`))].join(", ")}` : ""}`,
  );
  out("");
  out("trace memory lookups per waypoint (meshlane_trace_lookups_total; requests that came without a lane):");
  const rows = mesh.lookups();
  for (const ns of mesh.waypoints.keys()) {
    const n = (result: string) =>
      rows.filter((r) => r.waypoint === ns && r.result === result).reduce((s, r) => s + r.value, 0);
    const [hit, miss, conflict] = [n("hit"), n("miss"), n("conflict")];
    const total = hit + miss + conflict;
    const rate = total === 0 ? "no lookups" : `hit rate ${Math.round((100 * hit) / total)}%`;
    out(`  waypoint ${ns}: hit ${hit}, miss ${miss}, conflict ${conflict} (${rate})`);
  }
  out("");
  const forwardsBaggage = o.forward.includes("baggage");
  if (forwardsBaggage) {
    out("The apps forward baggage (as OpenTelemetry auto-instrumentation does): the lane travels with every");
    out("call, whatever waypoint it passes.");
  } else {
    out("The apps forward no baggage: past the first hop, the lane survives only through a waypoint's trace");
    out("memory, which holds while every hop of a trace passes the same waypoint instance (one waypoint");
    out("for the namespace, one replica). A Service behind another waypoint, or a second replica, loses it.");
    if (lost.length === 0 && mesh.waypoints.size === 1) {
      out("Here every Service shares one waypoint: --namespaces per-service shows where the lane is lost,");
      out("and --forward x-request-id,baggage how apps that forward baggage keep it.");
    } else {
      out("Apps that forward baggage (OpenTelemetry auto-instrumentation) keep it at every hop: try");
      out("--forward x-request-id,baggage.");
    }
  }
}
