// `meshlane render`: manifests in, the Istio objects lanes need out, offline. The files stand in for the
// cluster; the output is what the controller would create or change.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileReason, parse, readInput, readInputText, runVerb, UsageError } from "./args.js";
import { loadFilterModule } from "./filter.js";
import { contractsRef } from "./help.js";
import { yaml11Misreadings } from "./yaml11.js";
import { defaultWasmPath } from "../paths.js";
import {
  DEFAULT_WASM_URL,
  deepEqual,
  laneProbes,
  render,
  type KubeObject,
  type Problem,
  type RenderOptions,
  type RoutingMode,
  ROUTING_MODES,
} from "../render/index.js";
import { parseManifests, toJsonList, toYaml } from "../render/manifests.js";
import { DNS_SUBDOMAIN, traceHeaderList, waypointNameArg } from "../render/options.js";
import { keyOf } from "../render/objects.js";

export const summary =
  "render Lanes and labelled workloads from manifests into Istio or Gateway API objects (offline)";

export const help = `Usage: meshlane render -f <file|dir|-> [-f ...] [options]

Reads Kubernetes manifests as if they were the cluster (multi-document YAML or JSON; a directory means
every *.yaml, *.yml and *.json file under it; "-" is standard input) and prints what meshlane would
create or change for every Service whose workloads carry meshlane.io/lane: with --routing istio,
DestinationRule subsets and VirtualService lane routes; with --routing gateway-api, per-lane Services
<service>-<lane> and HTTPRoutes (a mesh HTTPRoute per Service, lane rules in the user's HTTPRoutes).
Then the filter's EnvoyFilters (or WasmPlugins).

Output:
  stdout  the objects to create or change, in order: the apply entries that differ from the input,
          then the user objects to restore. YAML documents, or one JSON "List" with -o json.
  stderr  "delete: <apiVersion> <Kind> <namespace>/<name>" for each meshlane object to remove,
          "warning: <object>: <message>" and "error: <object>: <message>".
Exit status: 0 rendered; 1 some object had an error (everything valid is still printed); 2 usage: a
bad option or a file that cannot be read (one line saying which and why).
YAML output quotes every string a YAML 1.1 reader (kubectl) would take for something else ("on",
"yes", "~", "0x10", "012", "1e3", ...), so what kubectl applies is what was rendered. An unquoted
value in the input that kubectl would read as something else is a warning naming where it is.
The Lane resource, labels and annotations: ${contractsRef("Kubernetes objects")}.

A Lane carrying status.rollout (as "kubectl get lane -o yaml" prints it) is rendered at its current
step: a sticky share rule of status.rollout.percent after every Lane's dye rules.

Dye rules are checked with the real filter's configure when its module is available (--wasm), so a
Lane the filter would refuse is an error here, not a rejected config in Envoy.

Options:
  -f, --filename <path>          manifest file or directory, repeatable (required)
  -o, --output yaml|json         output format (default yaml)
      --all                      print every object that must exist, changed or not
      --routing istio|gateway-api
                                 the routing API lanes are written in (default istio); the other
                                 API's user objects meshlane had changed are restored
      --install envoyfilter|wasmplugin
                                 how the filter is installed (default envoyfilter)
      --gateway-name <name>      the ingress Gateway (gateway.networking.k8s.io) in the gateway
                                 namespace: with --install wasmplugin the edge WasmPlugin targets it
                                 (targetRefs, Istio 1.22+) instead of --gateway-selector
      --wasm <file>              the filter module: hashed for --wasm-sha256 and used to check dye
                                 rules (default ${defaultWasmPath})
      --wasm-url <url>           where proxies fetch the module (default ${DEFAULT_WASM_URL})
      --wasm-sha256 <hex>        its sha256 (default: the digest of --wasm)
      --lane-header <name>       header carrying the lane (default x-lane)
      --trace-header <name>      a trace header the apps forward, repeatable, in order of preference
                                 (default x-request-id, then traceparent)
      --gateway-selector <k=v,...>
                                 labels of the gateways running the edge filter (default istio=ingressgateway)
      --gateway-namespace <ns>   namespace of the edge filter objects (default istio-system)
      --root-namespace <ns>      Istio root namespace, for the sidecar filter (default istio-system)
      --ambient                  Istio ambient mode: also a WasmPlugin meshlane-waypoint (role waypoint)
                                 on each namespace's waypoint (docs/modes.md)
      --waypoint-name <name>     the waypoint Gateway's name in each namespace (default waypoint)
  -n, --namespace <ns>           namespace of manifests that name none (default "default")
  -h, --help                     this text
`;

const MANIFEST_EXT = new Set([".yaml", ".yml", ".json"]);

async function manifestFiles(p: string): Promise<string[]> {
  const st = await stat(p).catch((err: unknown) => {
    throw new UsageError(`cannot read the manifests ${p}: ${fileReason(err)}`);
  });
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  const listing = await readdir(p, { withFileTypes: true }).catch((err: unknown) => {
    throw new UsageError(`cannot read the manifest directory ${p}: ${fileReason(err)}`);
  });
  const entries = listing.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const full = path.join(p, e.name);
    if (e.isDirectory()) out.push(...(await manifestFiles(full)));
    else if (MANIFEST_EXT.has(path.extname(e.name))) out.push(full);
  }
  return out;
}

/** An HTTP header name (an RFC 9110 token) of at most 256 characters, as the filter's config accepts. */
function isHeaderName(s: string): boolean {
  return s.length <= 256 && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(s);
}

function selectorArg(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of s.split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--gateway-selector: expected key=value[,key=value], got "${s}"`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function traceHeaderArg(names: string[]): string[] {
  try {
    return traceHeaderList(names, "--trace-header");
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/^--trace-header\[\d+\]/, "--trace-header"));
  }
}

/**
 * Runs each Lane's dye rules through the filter's own configure; rejections keyed namespace/name. The
 * default module may be missing (render works before a build, with its own checks); one named with
 * --wasm must load.
 */
async function filterVerdicts(
  objects: KubeObject[],
  options: RenderOptions,
  wasm: string | undefined,
): Promise<Record<string, string>> {
  const probes = laneProbes(objects, options);
  if (probes.length === 0) return {};
  if (wasm === undefined && !existsSync(defaultWasmPath)) {
    process.stderr.write(
      `note: ${defaultWasmPath} not found; dye rules checked by render's own validation only\n`,
    );
    return {};
  }
  const filter = await loadFilterModule(wasm ?? defaultWasmPath);
  const { configureOnly } = await import("../explain/run.js");
  const verdicts: Record<string, string> = {};
  for (const p of probes) {
    const r = await configureOnly(p.config, filter);
    if (!r.ok) verdicts[p.lane] = r.reason;
  }
  return verdicts;
}

function line(kind: string, p: Problem): string {
  return `${kind}: ${p.object}: ${p.message}\n`;
}

export function run(args: string[]): Promise<number> {
  return runVerb(help, async () => {
    const { values, positionals } = parse(args, {
      filename: { type: "string", short: "f", multiple: true },
      output: { type: "string", short: "o", default: "yaml" },
      all: { type: "boolean", default: false },
      install: { type: "string", default: "envoyfilter" },
      routing: { type: "string", default: "istio" },
      "gateway-name": { type: "string" },
      wasm: { type: "string" },
      "wasm-url": { type: "string", default: DEFAULT_WASM_URL },
      "wasm-sha256": { type: "string" },
      "lane-header": { type: "string" },
      "trace-header": { type: "string", multiple: true },
      "gateway-selector": { type: "string" },
      "gateway-namespace": { type: "string" },
      "root-namespace": { type: "string" },
      ambient: { type: "boolean" },
      "waypoint-name": { type: "string" },
      namespace: { type: "string", short: "n" },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (use -f)`);
    const files = values.filename ?? [];
    if (files.length === 0) throw new UsageError("render needs at least one -f <file|dir>");
    if (values.output !== "yaml" && values.output !== "json") throw new UsageError("-o must be yaml or json");
    if (values.install !== "envoyfilter" && values.install !== "wasmplugin") {
      throw new UsageError("--install must be envoyfilter or wasmplugin");
    }
    if (!ROUTING_MODES.includes(values.routing as RoutingMode)) {
      throw new UsageError(`--routing must be ${ROUTING_MODES.join(" or ")}`);
    }
    const gatewayName = values["gateway-name"];
    if (gatewayName !== undefined && !DNS_SUBDOMAIN.test(gatewayName)) {
      throw new UsageError(`--gateway-name: not a Kubernetes object name: "${gatewayName}"`);
    }
    const laneHeader = values["lane-header"];
    if (laneHeader !== undefined && !isHeaderName(laneHeader)) {
      throw new UsageError(
        `--lane-header: not a valid HTTP header name: "${laneHeader}" (letters, digits and !#$%&'*+-.^_\`|~)`,
      );
    }
    let sha256 = values["wasm-sha256"];
    if (sha256 === undefined) {
      const wasm = values.wasm ?? defaultWasmPath;
      if (values.wasm === undefined && !existsSync(wasm)) {
        throw new UsageError(
          `no --wasm-sha256 and no module at ${wasm} to hash (run \`npm run build\` or pass --wasm)`,
        );
      }
      sha256 = createHash("sha256")
        .update(await readInput(wasm, "the filter module"))
        .digest("hex");
    }
    if (!/^[a-f0-9]{64}$/.test(sha256))
      throw new UsageError("--wasm-sha256 must be 64 lower-case hex digits");

    const objects: unknown[] = [];
    const problems: Problem[] = [];
    const readAsOther: Problem[] = [];
    for (const f of files) {
      for (const file of f === "-" ? ["-"] : await manifestFiles(f)) {
        const text = await readInputText(file, "the manifest", { stdin: true });
        const source = file === "-" ? "<stdin>" : file;
        const parsed = parseManifests(text, source);
        objects.push(...parsed.objects);
        problems.push(...parsed.errors);
        for (const m of yaml11Misreadings(text)) {
          readAsOther.push({ object: `${source} document ${m.document}`, message: m.message });
        }
      }
    }

    const options: RenderOptions = { install: values.install, wasm: { url: values["wasm-url"], sha256 } };
    if (laneHeader !== undefined) options.laneHeader = laneHeader;
    // Set only when asked for, so the default (istio) leaves the options as they always were.
    if (values.routing !== "istio") options.routing = values.routing as RoutingMode;
    if (gatewayName !== undefined) options.gatewayName = gatewayName;
    if (values["trace-header"] !== undefined) options.traceHeaders = traceHeaderArg(values["trace-header"]);
    if (values["gateway-selector"]) options.gatewaySelector = selectorArg(values["gateway-selector"]);
    if (values["gateway-namespace"]) options.gatewayNamespace = values["gateway-namespace"];
    if (values["root-namespace"]) options.rootNamespace = values["root-namespace"];
    if (values.namespace) options.defaultNamespace = values.namespace;
    if (values.ambient) options.ambient = true;
    if (values["waypoint-name"] !== undefined) {
      try {
        options.waypointName = waypointNameArg(values["waypoint-name"], "--waypoint-name");
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    options.laneVerdicts = await filterVerdicts(objects as KubeObject[], options, values.wasm);

    const result = render(objects as KubeObject[], options);
    const inputByKey = new Map<string, unknown>();
    for (const o of objects as KubeObject[]) {
      if (
        typeof o?.apiVersion === "string" &&
        typeof o.kind === "string" &&
        typeof o.metadata?.name === "string"
      ) {
        const ns = o.metadata.namespace ?? options.defaultNamespace ?? "default";
        inputByKey.set(keyOf({ ...o, metadata: { ...o.metadata, namespace: ns } }), o);
      }
    }
    const changed = values.all
      ? result.apply
      : result.apply.filter((a) => {
          return !deepEqual(inputByKey.get(keyOf(a)), a);
        });
    const out = [...changed, ...result.restore];
    if (values.output === "json") process.stdout.write(toJsonList(out));
    else if (out.length > 0) process.stdout.write(toYaml(out));

    for (const d of result.delete)
      process.stderr.write(`delete: ${d.apiVersion} ${d.kind} ${d.namespace}/${d.name}\n`);
    for (const w of [...readAsOther, ...result.warnings]) process.stderr.write(line("warning", w));
    const errors = [...problems, ...result.errors];
    for (const e of errors) process.stderr.write(line("error", e));
    return errors.length > 0 ? 1 : 0;
  });
}
