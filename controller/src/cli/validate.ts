// `meshlane validate <plugin.json>`: runs only the real filter's configure on a plugin config.
import { parse, readInputText, runVerb, UsageError } from "./args.js";
import { loadFilterModule } from "./filter.js";
import { contractsRef } from "./help.js";
import { configureOnly } from "../explain/run.js";
import { defaultWasmPath } from "../paths.js";

export const summary =
  "check a plugin config with the real filter's own configure (exit 0 valid, 2 rejected)";

export const help = `Usage: meshlane validate <plugin.json> [--wasm <file>]

Loads the filter (build/meshlane.wasm unless --wasm is given) in the in-process proxy-wasm host and
runs proxy_on_configure on the plugin config, exactly as Envoy would. Prints "valid: <file>" and exits
0 when the filter accepts it; otherwise prints the filter's reason (the field path and what was
expected) on stderr and exits 2. Use "-" to read the config from standard input. The fields the
filter accepts: ${contractsRef("Plugin configuration")}.

Exit status: 0 valid; 2 rejected, or the file cannot be read (one line saying which and why).

Options:
  --wasm <file>   the filter module to use (default: ${defaultWasmPath})
  -h, --help      this text
`;

export function run(args: string[]): Promise<number> {
  return runVerb(help, async () => {
    const { values, positionals } = parse(args, { wasm: { type: "string" } }, true);
    if (positionals.length !== 1) throw new UsageError("validate takes exactly one plugin config file");
    const file = positionals[0];
    const text = await readInputText(file, "the plugin config", { stdin: true });
    const filter = await loadFilterModule(values.wasm ?? defaultWasmPath);
    const result = await configureOnly(text, filter);
    if (result.ok) {
      process.stdout.write(`valid: ${file}\n`);
      return 0;
    }
    process.stderr.write(`invalid: ${file}: ${result.reason}\n`);
    return 2;
  });
}
