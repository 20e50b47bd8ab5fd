// `meshlane controller`: the lane controller against a cluster (the container's entrypoint, see
// manifests/deployment.yaml). Runs until SIGTERM or SIGINT, then shuts down gracefully.
import { hostname } from "node:os";
import { parse as parseYaml } from "yaml";
import { fileReason, parse, readInputText, runVerb, UsageError } from "./args.js";
import { checkCluster, defaultLeaseNamespace, loadCluster } from "./cluster.js";
import { defaultWasmPath } from "../paths.js";
import { parseDuration as durationMs } from "../rollout/duration.js";
import { optionsFromConfig, ROUTING_MODES, type RoutingMode } from "../render/index.js";
import { chooseProvider, type PrometheusFactory } from "../rollout/choose.js";
import { PrometheusProvider } from "../rollout/prometheus.js";
import { LaneController } from "../reconcile/controller.js";
import { createLogger, isLogLevel } from "../reconcile/log.js";
import { DEFAULT_NAMESPACE_SELECTOR } from "../reconcile/state.js";
import { loadWasm } from "../reconcile/wasm.js";

export const summary = "run the lane controller against a cluster (KUBECONFIG or in-cluster)";

export const help = `Usage: meshlane controller [options]

Watches Lanes, Services, Deployments/StatefulSets/DaemonSets, VirtualServices, DestinationRules and
HTTPRoutes in
the namespaces the selector picks, and the filter's EnvoyFilters/WasmPlugins (the edge one in the
gateway namespace, the sidecar one in each namespace picked); renders what the lanes need and writes only what differs (server-side apply as field
manager "meshlane" for its own objects, resourceVersion-guarded patches of spec and the
meshlane.io/original-spec and meshlane.io/applied-hash annotations for the user's, where it owns only
its lane routes and subsets: other edits are kept; meshlane.io/ignore: "true" leaves one alone). A
finalizer on each Lane restores the user's objects and deletes meshlane's when the Lane goes. Serves /healthz, /readyz, /metrics and the filter
module at /meshlane.wasm (with its sha256, which render writes into the EnvoyFilters/WasmPlugins).
With --metrics-provider embedded, a rollout's analysis lists the pods behind the lane's Services and
scrapes their proxies' stats endpoints itself. Logs are JSON lines on stderr. SIGTERM or SIGINT: finish queued work, release the lease, exit 0.

Options:
  --config <file>              controller configuration (render options; see manifests/README.md)
                               (default: none, every setting at its default)
  --kubeconfig <file>          kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster;
                               with none of them: exit 2)
  --routing istio|gateway-api  the routing API lanes are written in (overrides the config key
                               routing; default istio). Restarting with the other mode moves every
                               object over: meshlane's objects of the old mode are deleted, the user's
                               objects it had changed are restored
  --namespace-selector <sel>   label selector of the namespaces to manage
                               (default ${DEFAULT_NAMESPACE_SELECTOR})
  --leader-elect               elect a leader on a Lease (default); --no-leader-elect to run alone
  --lease-namespace <ns>       namespace of the Lease; it must exist, with the leases Role of
                               manifests/rbac.yaml (default: the pod's namespace, from $POD_NAMESPACE
                               or the ServiceAccount; else meshlane-system)
  --lease-name <name>          name of the Lease (default meshlane-controller)
  --identity <name>            this replica's name (default $POD_NAME, else hostname-pid)
  --metrics-addr <[host]:port> where /healthz, /readyz, /metrics and /meshlane.wasm are served
                               (default :8080)
  --wasm <file>                the filter module to serve and check Lanes with
                               (default ${defaultWasmPath})
  --resync <duration>          period of the full resync: 300s, 5m, 1h, or ms (default 5m)
  --metrics-provider <kind>    where Lane rollouts' analysis reads metrics: prometheus (needs
                               --prometheus-url), embedded (scrapes the stats endpoints of the pods
                               behind the lane's Services itself: the controller must reach pod IPs),
                               or none (a rollout with analysis then gets no verdict, never a pass)
                               (default: prometheus with --prometheus-url, else none)
  --prometheus-url <url>       Prometheus (http or https base URL) that Lane rollouts' analysis queries
                               (default: none)
  --prometheus-timeout <dur>   timeout of one analysis round's queries (default 10s)
  --log-level <level>          debug, info, warn or error (default info)
  -h, --help                   this text
`;

/** "300" (milliseconds), or a duration with units as Lanes write them ("30s", "5m", "1h30m") → ms. */
export function parseDuration(s: string): number {
  const t = s.trim();
  const ms = /^\d+(?:\.\d+)?$/.test(t) ? Number(t) : durationMs(t);
  if (ms === undefined) throw new UsageError(`not a duration: "${s}" (use e.g. 30s, 5m, 1h)`);
  return Math.round(ms);
}

/** The Prometheus provider for `--prometheus-url`. */
const prometheusProvider: PrometheusFactory = (o) => new PrometheusProvider(o);

/** "[host]:port" → {host, port}; an empty host listens on every address. */
export function parseAddr(s: string): { host?: string; port: number } {
  const i = s.lastIndexOf(":");
  const host = i >= 0 ? s.slice(0, i).replace(/^\[|\]$/g, "") : "";
  const port = Number(i >= 0 ? s.slice(i + 1) : s);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`not an address: "${s}"`);
  return host ? { host, port } : { port };
}

export function run(args: string[]): Promise<number> {
  return runVerb(help, async () => {
    const { values, positionals } = parse(args, {
      config: { type: "string" },
      routing: { type: "string" },
      kubeconfig: { type: "string" },
      "namespace-selector": { type: "string", default: DEFAULT_NAMESPACE_SELECTOR },
      "leader-elect": { type: "boolean" },
      "no-leader-elect": { type: "boolean" },
      "lease-namespace": { type: "string" },
      "lease-name": { type: "string", default: "meshlane-controller" },
      identity: { type: "string" },
      "metrics-addr": { type: "string", default: ":8080" },
      wasm: { type: "string", default: defaultWasmPath },
      resync: { type: "string", default: "5m" },
      "metrics-provider": { type: "string" },
      "prometheus-url": { type: "string" },
      "prometheus-timeout": { type: "string", default: "10s" },
      "log-level": { type: "string", default: "info" },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const level = values["log-level"];
    if (!isLogLevel(level)) throw new UsageError("--log-level must be debug, info, warn or error");
    if (values["leader-elect"] && values["no-leader-elect"])
      throw new UsageError("--leader-elect and --no-leader-elect exclude each other");
    const resyncMs = parseDuration(values.resync);
    let metricsProvider;
    try {
      metricsProvider = chooseProvider(
        {
          metricsProvider: values["metrics-provider"],
          prometheusUrl: values["prometheus-url"],
          prometheusTimeoutMs: parseDuration(values["prometheus-timeout"]),
        },
        prometheusProvider,
        () => "embedded" as const,
      );
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(err instanceof Error ? err.message : String(err));
    }
    const addr = parseAddr(values["metrics-addr"]);
    const identity = values.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
    const log = createLogger({ level, fields: { identity } });

    let config: unknown = {};
    if (values.config !== undefined) {
      const text = await readInputText(values.config, "the controller configuration");
      try {
        config = parseYaml(text) ?? {};
      } catch (err) {
        const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
        throw new UsageError(`the controller configuration ${values.config} is not valid YAML: ${why}`);
      }
    }
    const wasm = await loadWasm(values.wasm).catch((err: unknown) => {
      const why = fileReason(err).replace(`${values.wasm}: `, "");
      throw new UsageError(`cannot load the filter module ${values.wasm}: ${why}`);
    });
    let renderOptions;
    try {
      renderOptions = optionsFromConfig(config, wasm.sha256);
    } catch (err) {
      throw new UsageError(`${values.config}: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (values.routing !== undefined) {
      if (!ROUTING_MODES.includes(values.routing as RoutingMode))
        throw new UsageError(`--routing must be ${ROUTING_MODES.join(" or ")}`);
      renderOptions.routing = values.routing as RoutingMode;
    }
    const { kc, source } = loadCluster(values.kubeconfig);
    const leaseNamespace = values["lease-namespace"] ?? defaultLeaseNamespace();
    if (values["lease-namespace"] === "") throw new UsageError("--lease-namespace must not be empty");

    const unreachable = await checkCluster(kc, source);
    if (unreachable) log.error(unreachable);
    const controller = new LaneController({
      kc,
      render: renderOptions,
      wasm,
      identity,
      namespaceSelector: values["namespace-selector"],
      leaderElection: values["no-leader-elect"]
        ? false
        : {
            namespace: leaseNamespace,
            name: values["lease-name"],
          },
      resyncMs,
      ops: addr,
      metricsProvider,
      logger: log,
    });
    let signalled: (name: string) => void = () => {};
    const stopping = new Promise<string>((resolve) => (signalled = resolve));
    const onSignal = (name: NodeJS.Signals) => () => signalled(name);
    const term = onSignal("SIGTERM");
    const int = onSignal("SIGINT");
    process.once("SIGTERM", term);
    process.once("SIGINT", int);
    log.info("starting", {
      cluster: kc.getCurrentCluster()?.server,
      kubeconfig: source,
      lease: values["no-leader-elect"] ? undefined : `${leaseNamespace}/${values["lease-name"]}`,
      wasm: wasm.source,
      sha256: wasm.sha256,
      namespaceSelector: values["namespace-selector"],
      metricsProvider:
        metricsProvider === undefined ? "none" : metricsProvider === "embedded" ? "embedded" : "prometheus",
      prometheus: values["prometheus-url"],
    });
    const started = controller.start().then(
      () => "started",
      (err: unknown) => {
        log.error("start failed", { err });
        return "failed";
      },
    );
    const first = await Promise.race([started, stopping]);
    if (first === "failed") {
      await controller.stop();
      return 1;
    }
    const signal = first === "started" ? await stopping : first;
    log.info("shutting down", { signal });
    await controller.stop();
    process.off("SIGTERM", term);
    process.off("SIGINT", int);
    return 0;
  });
}
