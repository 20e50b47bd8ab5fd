// The dye filter's four modules in Envoy's own host library, when one is at hand. Set
// MESHLANE_REFHOST to a runner built on proxy-wasm-cpp-host that takes
// `--bench N MODULE.wasm SCENARIO.json` and prints `{"bench": true, …, "ns_per_request": x}`
// (several runners, e.g. an interpreter and a JIT build, separated by the path delimiter). Each
// module runs the same request as in our host, full lifecycle each time, in interleaved rounds; the
// fastest round of each counts. The project does not ship such a runner: without one this part is
// skipped and says how to enable it.

import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { PropertyInput } from "../controller/src/host/index.js";
import { fromRoot } from "../controller/src/paths.js";
import type { DyeCosts } from "./goals.js";
import { TYPICAL_REQUEST_HEADERS, TYPICAL_RESPONSE_HEADERS } from "./host-lifecycle.js";

export const REFHOST_ENV = "MESHLANE_REFHOST";

/** The runners named by MESHLANE_REFHOST (none when unset or empty). */
export function refhostRunners(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env[REFHOST_ENV] ?? "").split(path.delimiter).filter((p) => p.trim() !== "");
}

/** What the bench prints when no runner is configured. */
export const REFHOST_SKIPPED =
  `skipped: set ${REFHOST_ENV} to a proxy-wasm-cpp-host runner that takes ` +
  "`--bench N MODULE.wasm SCENARIO.json` (several separated by ':') to measure there too";

/** One module and the request it gets, as in our host's bench. */
export interface RefhostCase {
  wasm: string;
  pluginConfig: string;
  requestHeaders: readonly (readonly [string, string])[];
  properties: readonly PropertyInput[];
}

/** Property inputs as the runner's nested form: one key per path segment; strings, integers, JSON. */
export function nestedProperties(inputs: readonly PropertyInput[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of inputs) {
    let value: unknown;
    if (p.string !== undefined) value = p.string;
    else if (p.int !== undefined) value = Number(p.int);
    else if (p.json !== undefined) value = p.json;
    else throw new Error(`property ${p.path.join(".")}: only string, int and json go to the runner`);
    let node = out;
    p.path.slice(0, -1).forEach((seg) => {
      const next = node[seg];
      node = (next !== null && typeof next === "object" ? next : (node[seg] = {})) as Record<string, unknown>;
    });
    node[p.path[p.path.length - 1]] = value;
  }
  return out;
}

/** The runner's scenario for one case: one request, the same headers and properties as in our host. */
export function scenario(c: RefhostCase): object {
  return {
    vm_id: "",
    root_id: "",
    plugin_config: c.pluginConfig,
    fail_open: false,
    log_level: 2,
    requests: [
      {
        properties: nestedProperties(c.properties),
        request_headers: c.requestHeaders,
        response_headers: TYPICAL_RESPONSE_HEADERS,
      },
    ],
  };
}

/** Runs `requests` lifecycles of the case's one request in the runner; mean ns per request. */
export async function runnerNsPerRequest(
  runner: string,
  wasm: string,
  scenarioPath: string,
  requests: number,
) {
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      runner,
      ["--bench", String(requests), wasm, scenarioPath],
      { maxBuffer: 16 << 20 },
      (err, out, errOut) => {
        // The stock SDK traps in its proxy_on_done when the runner shuts the plugin down (its dispatch
        // looks roots up among streams): the measured requests are done by then, so a bench line counts.
        if (/"bench":\s*true/.test(out)) resolve(out);
        else
          reject(
            new Error(`${runner} ${path.basename(wasm)}: ${err?.message ?? "no bench line"}\n${errOut}`),
          );
      },
    );
  });
  const line = stdout.split("\n").find((l) => /"bench":\s*true/.test(l)) as string;
  const ns = (JSON.parse(line) as { ns_per_request?: unknown }).ns_per_request;
  if (typeof ns !== "number" || !(ns > 0)) throw new Error(`${runner}: no ns_per_request in ${line}`);
  return ns;
}

/** Cases (the four of the dye goals, and any others) in one runner, `rounds` interleaved rounds of
 * `requests` each; the fastest of each. */
export async function refhostCosts<K extends string>(
  runner: string,
  cases: Record<K, RefhostCase>,
  requests: number,
  rounds: number,
): Promise<Record<K, number>> {
  const dir = await mkdtemp(path.join(tmpdir(), "meshlane-refhost-"));
  try {
    const keys = Object.keys(cases) as K[];
    const files = {} as Record<K, string>;
    const best = {} as Record<K, number>;
    for (const k of keys) {
      files[k] = path.join(dir, `${k}.json`);
      best[k] = Infinity;
      await writeFile(files[k], JSON.stringify(scenario(cases[k])));
    }
    for (let i = 0; i < rounds; i++) {
      for (const k of keys) {
        const ns = await runnerNsPerRequest(runner, cases[k].wasm, files[k], requests);
        best[k] = Math.min(best[k], ns);
      }
    }
    return best;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The bench's four cases: the project's own fixtures and release build, the bench's requests. */
export function dyeCases(
  tenRules: object,
  edgeHeaders: readonly (readonly [string, string])[],
  edgeProps: readonly PropertyInput[],
): Record<keyof DyeCosts, RefhostCase> {
  const plain = { pluginConfig: "", requestHeaders: TYPICAL_REQUEST_HEADERS, properties: [] };
  return {
    a: { ...plain, wasm: fromRoot("build", "fixtures", "noop.wasm") },
    b: { ...plain, wasm: fromRoot("build", "fixtures", "stock-sdk-empty.wasm") },
    c: {
      wasm: fromRoot("build", "meshlane.wasm"),
      pluginConfig: JSON.stringify(tenRules),
      requestHeaders: edgeHeaders,
      properties: edgeProps,
    },
    d: {
      wasm: fromRoot("build", "fixtures", "host-calls.wasm"),
      pluginConfig: "",
      requestHeaders: edgeHeaders,
      properties: edgeProps,
    },
  };
}
