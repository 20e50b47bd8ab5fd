// `meshlane demo`: a local mesh on loopback running the real filter, and a few requests through it.
import { parse, readInputText, runVerb, UsageError } from "./args.js";
import { loadFilterModule } from "./filter.js";
import { contractsRef } from "./help.js";
import { defaultWasmPath } from "../paths.js";
import { DEMO_EDGE_CONFIG, MeshConfigError, startMesh, type CounterRow, type Mesh } from "../demo/mesh.js";
import { DEMO_ROLLOUT, expectedPhase, ROLLOUT_LANE, runRolloutDemo } from "../demo/rollout.js";
import { runAmbientDemo } from "../demo/ambient-run.js";

export const summary =
  "run a local mesh on loopback (edge + sidecars with the real filter) and show each call chain";

export const help = `Usage: meshlane demo [--requests N] [--header k:v]... [--config <plugin.json>] [--wasm <file>] [--keep]
       meshlane demo --rollout [--canary-error-rate <percent>] [--config <plugin.json>] [--wasm <file>]
       meshlane demo --ambient [--forward h1,h2] [--namespaces one|per-service] [options above]

Starts a mesh on 127.0.0.1 that needs nothing but Node: an edge proxy running the filter in edge role,
and the services mocka -> mockb -> mockc, where mocka and mockc have a base and a canary instance and
mockb only base. Every instance sits behind a sidecar running the filter in sidecar role (one VM for
its inbound and outbound listeners, as in Istio); outbound calls are routed by the lane header to the
lane's instance, or to base where the service has none. The apps forward only x-request-id.

Then sends the requests, alternating "agent: pc" (dyed canary by the default config) and
"agent: mobile", prints the call chain each one took and the filter's per-lane counters
(meshlane_requests_total: ${contractsRef("Metrics")}).

With --rollout, runs a rollout of the lane "${ROLLOUT_LANE}" instead: steps ${DEMO_ROLLOUT.steps.map((s) => `${s.percent}%`).join(", ")} of
users (sticky by the x-user header, after the dye rules), judged every round by the embedded metrics
provider (request-success-rate ≥ 95, request-duration p99 ≤ 2500 ms, per service and lane-wide, read
from the proxies' /stats/prometheus endpoints) under generated load; a virtual clock advances one
analysis interval per round. Each step, round and verdict is printed, then one JSON line
{"rollout": {"phase": ..., "step": ..., "percent": ...}}. --canary-error-rate P makes the canary
workloads answer 500 to P% of their requests, so the rollout rolls back. Exit 0 when the phase is the
one the flags lead to (Succeeded; RolledBack when the canary workloads on a request's path,
two of them, fail more than the 5 % the threshold allows: an error rate above about 2.5), else 1.

Exit status: 0 every request answered 200; 1 a request failed or the mesh did not start; 2 a bad
option, a file that cannot be read, or a plugin config the filter rejects.

Options:
  --requests N        requests to send (default 4)
  --header k:v        an extra header on every request (repeatable)
  --config <file>     the edge plugin config (default: agent: pc -> canary, else base)
  --wasm <file>       the filter module (default: ${defaultWasmPath})
  --keep              keep the mesh running after the requests, until Ctrl-C
  --rollout           run the canary lane's rollout (see above)
  --canary-error-rate <percent>
                      with --rollout: share of the canary workloads' requests that fail (0-100)
  --ambient           Istio ambient mode instead: apps without sidecars, one waypoint per namespace
                      running the filter in role waypoint; prints where each hop's lane came from
                      (forwarded, trace memory, or lost) and each waypoint's trace memory hit rate
  --forward h1,h2     with --ambient: the headers the apps copy onto their calls (default
                      x-request-id; "baggage" as OpenTelemetry does; "none")
  --namespaces one|per-service
                      with --ambient: all Services in one namespace (default), or each in its own
  -h, --help          this text
`;

function parseHeader(text: string): [string, string] {
  const i = text.indexOf(":");
  const name = i > 0 ? text.slice(0, i).trim().toLowerCase() : "";
  if (name.length === 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
    throw new UsageError(`--header expects name:value, got "${text}"`);
  }
  return [name, text.slice(i + 1).trim()];
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

export function run(args: string[]): Promise<number> {
  return runVerb(help, async () => {
    const { values } = parse(args, {
      requests: { type: "string" },
      header: { type: "string", multiple: true },
      config: { type: "string" },
      wasm: { type: "string" },
      keep: { type: "boolean" },
      rollout: { type: "boolean" },
      "canary-error-rate": { type: "string" },
      ambient: { type: "boolean" },
      forward: { type: "string", multiple: true },
      namespaces: { type: "string" },
    });
    const errorText = values["canary-error-rate"];
    const errorRate = errorText === undefined ? 0 : Number(errorText);
    if (
      errorText !== undefined &&
      (!values.rollout || !(errorRate >= 0 && errorRate <= 100) || errorText.trim() === "")
    ) {
      throw new UsageError(
        values.rollout
          ? `--canary-error-rate expects a percent from 0 to 100, got "${errorText}"`
          : "--canary-error-rate needs --rollout",
      );
    }
    if (values.rollout && values.ambient)
      throw new UsageError("--rollout runs on the sidecar mesh: not with --ambient");
    const count = values.requests === undefined ? 4 : Number(values.requests);
    if (!Number.isInteger(count) || count < 0 || count > 10_000) {
      throw new UsageError(`--requests expects a whole number from 0 to 10000, got "${values.requests}"`);
    }
    const extra = (values.header ?? []).map(parseHeader);

    let edgeConfig: object | string = DEMO_EDGE_CONFIG;
    if (values.config !== undefined) edgeConfig = await readInputText(values.config, "the plugin config");
    const wasm = values.wasm ?? defaultWasmPath;
    const ambient = ambientOptions(values);
    const filter = await loadFilterModule(wasm);
    if (ambient !== null) {
      const requests = Array.from({ length: count }, (_, i) => {
        const headers: Record<string, string> = { agent: i % 2 === 0 ? "pc" : "mobile" };
        for (const [k, v] of extra) headers[k] = v;
        return {
          headers,
          label: Object.entries(headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join(", "),
        };
      });
      const err = (l: string) => process.stderr.write(`${l}\n`);
      const keep = values.keep === true;
      return runAmbientDemo({ wasm: filter, edgeConfig, requests, keep, out, err, untilSignal, ...ambient });
    }

    out("meshlane demo: starting a local mesh on 127.0.0.1");
    out(`  loading filter ${wasm}`);
    let mesh: Mesh;
    try {
      mesh = await startMesh({
        wasm: filter,
        edgeConfig,
        log: (l) => out(`  ${l}`),
        ...(values.rollout
          ? {
              failPercent: (i: { lane: string }) => (i.lane === ROLLOUT_LANE ? errorRate : 0),
            }
          : {}),
      });
    } catch (e) {
      if (e instanceof MeshConfigError) {
        process.stderr.write(`meshlane demo: ${e.message}\n`);
        return 2;
      }
      process.stderr.write(
        `meshlane demo: the mesh did not start: ${e instanceof Error ? e.message : String(e)}\n`,
      );
      return 1;
    }

    if (values.rollout) {
      try {
        return await rollout(mesh, edgeConfig, errorRate);
      } finally {
        await mesh.close();
      }
    }
    let failed = 0;
    try {
      out(
        `mesh ready: edge ${mesh.edgeUrl}, ${mesh.instances.length} instances, ${mesh.hops} proxies per request`,
      );
      if (count > 0) out("");
      const requests = Array.from({ length: count }, (_, i) => {
        const headers: Record<string, string> = { agent: i % 2 === 0 ? "pc" : "mobile" };
        for (const [k, v] of extra) headers[k] = v;
        const label = Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", ");
        return { headers, label };
      });
      const width = Math.max(0, ...requests.map((r) => r.label.length));
      for (const { headers, label } of requests) {
        const r = await mesh.request(headers);
        if (r.status !== 200) failed++;
        out(`${label.padEnd(width)}  ${r.status === 200 ? r.body : `HTTP ${r.status}: ${r.body.trimEnd()}`}`);
      }
      printCounters(mesh.counters());
      if (values.keep) {
        out("");
        out(`the mesh keeps running: try: curl -H 'agent: pc' ${mesh.edgeUrl}  (Ctrl-C to stop)`);
        await untilSignal();
      }
    } finally {
      await mesh.close();
    }
    if (failed > 0) {
      process.stderr.write(`meshlane demo: ${failed} request(s) failed\n`);
      return 1;
    }
    return 0;
  });
}

async function rollout(mesh: Mesh, edgeConfig: object | string, errorRate: number): Promise<number> {
  const edge = (typeof edgeConfig === "string" ? JSON.parse(edgeConfig) : edgeConfig) as Record<
    string,
    unknown
  >;
  out(
    `mesh ready: edge ${mesh.edgeUrl}; stats endpoints: ${mesh.stats.map((s) => `${s.workload} ${s.url}`).join(", ")}`,
  );
  if (errorRate > 0) out(`the ${ROLLOUT_LANE} workloads fail ${errorRate}% of their requests`);
  out("");
  let r: Awaited<ReturnType<typeof runRolloutDemo>>;
  try {
    r = await runRolloutDemo({ mesh, edgeConfig: edge, out });
  } catch (e) {
    if (!(e instanceof MeshConfigError)) throw e;
    process.stderr.write(`meshlane demo: the rollout's edge config was refused: ${e.message}\n`);
    return 2;
  }
  const { phase, step, percent } = r.status;
  const lanes = mesh.instances.filter((i) => i.lane === ROLLOUT_LANE).length;
  const want = expectedPhase(DEMO_ROLLOUT, errorRate, lanes);
  out("");
  out(`rollout ${phase} after ${r.rounds} round(s) (expected ${want}): ${r.status.message}`);
  out(JSON.stringify({ rollout: { phase, step, percent } }));
  return phase === want ? 0 : 1;
}

/** --forward and --namespaces (only with --ambient), or null without --ambient. */
function ambientOptions(v: { ambient?: boolean; forward?: string[]; namespaces?: string }) {
  if (!v.ambient) {
    if (v.forward !== undefined || v.namespaces !== undefined)
      throw new UsageError("--forward and --namespaces apply only with --ambient");
    return null;
  }
  const namespaces = v.namespaces ?? "one";
  if (namespaces !== "one" && namespaces !== "per-service")
    throw new UsageError(`--namespaces expects one or per-service, got "${namespaces}"`);
  const forward: string[] = [];
  for (const h of (v.forward ?? ["x-request-id"]).flatMap((f) => f.split(","))) {
    const name = h.trim().toLowerCase();
    if (name === "none") continue;
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name))
      throw new UsageError(`--forward expects header names separated by commas, got "${h}"`);
    if (!forward.includes(name)) forward.push(name);
  }
  return { namespaces: namespaces as "one" | "per-service", forward };
}

function printCounters(rows: CounterRow[]): void {
  if (rows.length === 0) return;
  out("");
  out("meshlane_requests_total (per proxy; source=memory: lane restored after the app dropped it):");
  const order = (r: CounterRow) => (r.component === "edge" ? "" : r.component);
  const sorted = [...rows].sort(
    (a, b) =>
      order(a).localeCompare(order(b)) ||
      a.direction.localeCompare(b.direction) ||
      a.lane.localeCompare(b.lane) ||
      a.source.localeCompare(b.source),
  );
  const table = sorted.map((r) => [
    r.component,
    r.direction,
    `lane=${r.lane}`,
    `source=${r.source}`,
    String(r.value),
  ]);
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const row of table) {
    out(
      `  ${row.map((cell, c) => (c === row.length - 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join("  ")}`,
    );
  }
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}
