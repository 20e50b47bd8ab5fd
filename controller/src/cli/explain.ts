// `meshlane explain`: runs the real filter on the requests of a scenario and prints what it did.
import { parse, readInputText, runVerb, UsageError } from "./args.js";
import { loadFilterModule } from "./filter.js";
import { contractsRef } from "./help.js";
import { explain, parseScenario } from "../explain/run.js";
import { defaultWasmPath } from "../paths.js";

export const summary = "run the real filter on a scenario's requests and print each one's lane";

export const help = `Usage: meshlane explain --config <plugin.json> --scenario <scenario.json> [--wasm <file>]

Runs every request of the scenario, in order, through one VM of the real filter (build/meshlane.wasm
unless --wasm is given) in the in-process proxy-wasm host, so shared data persists between them
(a sidecar's inbound request followed by its outbound call is one scenario). Prints one JSON object
per request:
  {"name", "lane", "status", "requestHeaders", "responseHeaders", "localReply", "logs"}
where "lane" is the lane header's value after on_request_headers (null when absent), then one line
{"summary": {"metrics": {name: value}}}.

Scenario file:
  {"properties": [...],            optional, given to every request
   "requests": [{"name": "pc-user",
     "requestHeaders": [[":method","GET"],[":path","/"],[":authority","shop"],["agent","pc"]],
     "responseHeaders": [[":status","200"]],                       optional
     "properties": [{"path": ["xds","listener_direction"], "int": 2},
                    {"path": ["source","address"], "string": "203.0.113.7:51000"},
                    {"path": ["metadata","filter_metadata","envoy.filters.http.jwt_authn","payload"],
                     "json": {"sub": "u1", "groups": ["beta"]}}],
     "advanceSeconds": 0}]}                                         optional: move the clock first
Property values: "string", "int", "uint", "double", "bool", "json" or "bytes" (base64).

The formats and every field: ${contractsRef("explain and validate")}.

Exit status: 0 done; 1 the filter trapped (reported on stderr, never hidden); 2 the filter rejected
the plugin config (its reason on stderr), a file cannot be read, or the arguments or the scenario are
malformed (one line saying what and where).

Options:
  --config <file>      plugin configuration (JSON; fields: ${contractsRef("Plugin configuration")})
  --scenario <file>    requests to run
  --wasm <file>        the filter module (default: ${defaultWasmPath})
  --log-level <level>  trace|debug|info|warn|error|critical, the proxy's log level (default: debug)
  -h, --help           this text
`;

/** The scenario file as JSON; an empty file or invalid JSON is a usage error in a sentence. */
export function scenarioJson(text: string, file: string): unknown {
  if (text.trim().length === 0) {
    throw new UsageError(`the scenario ${file} is empty: expected a JSON object {"requests": [...]}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new UsageError(`the scenario ${file} is not valid JSON (${why})`);
  }
}

export function run(args: string[]): Promise<number> {
  return runVerb(help, async () => {
    const { values } = parse(args, {
      config: { type: "string" },
      scenario: { type: "string" },
      wasm: { type: "string" },
      "log-level": { type: "string" },
    });
    if (!values.config) throw new UsageError("--config <plugin.json> is required");
    if (!values.scenario) throw new UsageError("--scenario <scenario.json> is required");
    const levels = ["trace", "debug", "info", "warn", "error", "critical"];
    const level = levels.indexOf(values["log-level"] ?? "debug");
    if (level < 0) throw new UsageError(`--log-level must be one of ${levels.join("|")}`);
    const config = await readInputText(values.config, "the plugin config");
    const text = await readInputText(values.scenario, "the scenario");
    const scenario = parseScenario(scenarioJson(text, values.scenario));
    if (typeof scenario === "string") throw new UsageError(`the scenario ${values.scenario}: ${scenario}`);
    const filter = await loadFilterModule(values.wasm ?? defaultWasmPath);
    const result = await explain(config, scenario, { wasmPath: filter, logLevel: level });
    if (result.rejected !== undefined) {
      process.stderr.write(`meshlane explain: plugin config rejected: ${result.rejected}\n`);
      return 2;
    }
    for (const line of result.lines) process.stdout.write(JSON.stringify(line) + "\n");
    if (result.trap !== undefined) {
      process.stderr.write(`meshlane explain: the filter trapped: ${result.trap}\n`);
      return 1;
    }
    return 0;
  });
}
