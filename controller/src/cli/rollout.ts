// `meshlane rollout status|pause|resume|promote|abort|retry <lane>`: a Lane's rollout from the cluster.
//
// `status` reads the Lane (and with --watch follows it over the watch API); the commands write only the
// annotation meshlane.io/rollout-command on the Lane (a JSON merge patch guarded by resourceVersion),
// which the controller passes once to the step engine and removes. A command that makes no sense in the
// rollout's phase is refused before anything is written (rolloutcommand.ts).
import type { KubeConfig } from "@kubernetes/client-node";
import { parse, runVerb, UsageError } from "./args.js";
import { loadCluster, TLS_FAILURE } from "./cluster.js";
import { contractsRef, EXIT_FAILED, EXIT_OK } from "./help.js";
import { COMMANDS, decide, isCommand, ROLLOUT_COMMAND_ANNOTATION } from "./rolloutcommand.js";
import { renderRolloutView, type RolloutView } from "./rolloutview.js";
import { KubeClient, KubeError, RESOURCES, resourcePath, type JsonObject } from "../reconcile/kube.js";
import { Informer, type KubeObject } from "../reconcile/watch.js";
import { rollout as validateRollout } from "../render/rollout.js";
import { initialStatus, type Phase, type RolloutStatus } from "../rollout/engine.js";

export const summary =
  "show a Lane's rollout (status [--watch]) or steer it: pause, resume, promote, abort, retry";

export const help = `Usage: meshlane rollout status <lane> [-n <namespace>] [-o text|json] [--watch]
       meshlane rollout pause|resume|promote|abort|retry <lane> [-n <namespace>]

A Lane's rollout (spec.rollout, progress in status.rollout), read from the cluster.

status   the phase, step i/n, the share of users routed to the lane, the message, the steps, the
         analysis settings and each check (metric, Service or "lane" for the lane as a whole, verdict,
         value against its threshold, requests), and whether a command waits for the controller.
         -o json prints status.rollout as one JSON line (a rollout the controller has not started
         yet: {"phase":"Pending",...}).
         --watch follows the Lane over the watch API and prints again at every change of its rollout
         (a terminal: the screen is redrawn; a pipe or file: one block, or one JSON line, per change).
         It ends with exit 0 once the phase is Succeeded and exit 1 at RolledBack or Aborted (at once
         when the rollout is already there); Ctrl-C ends it with 130.

pause    hold the current step (a timed step stops counting; analysis keeps running)
resume   go on: after a step without pause, to the next step; after pause, with the same step
promote  skip to the last step and promote (spec.rollout.promotion: manual or copy)
abort    roll back now: the lane's share goes to 0% at once (phase Aborted)
retry    start a RolledBack or Aborted rollout again from the first step

A command sets the annotation ${ROLLOUT_COMMAND_ANNOTATION}: <command> on the Lane and prints what it
asked for; the controller acts on it at its next pass and removes the annotation. A command that
makes no sense in the rollout's phase (resume when not paused, retry when not RolledBack or Aborted,
anything but abort during a copy promotion or before the start, anything after the end) is refused
with a sentence and exit 1, and nothing is written; so is a second command while an earlier one still
waits for the controller (abort excepted: it replaces it).

Options:
  -n, --namespace <ns>   the Lane's namespace (default: the kubeconfig context's namespace, else default)
  --kubeconfig <file>    kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster;
                         with none of them: exit 2)
  -o, --output <format>  status: text (default) or json
  -w, --watch            status: follow the rollout until it ends (see above)
  -h, --help             this text

Exit status: 0 done; 1 the Lane is not found or has no spec.rollout, the command was refused, the
API server refused or could not be reached, or status --watch ended at RolledBack or Aborted; 2 a
usage error, no cluster configured, or credentials or TLS the API server refused; 3 output that could
not be written. See ${contractsRef("CLI exit status")} and ${contractsRef("Lane rollouts")}; a worked
release: docs/rollouts.md.
`;

const LANE = RESOURCES["meshlane.io|Lane"];
const TERMINAL: Phase[] = ["Succeeded", "RolledBack", "Aborted"];

/** A failure that ends the verb with exit 1 and one sentence on stderr. */
class Failed extends Error {}

interface Target {
  kc: KubeConfig;
  source: string;
  server: string;
  namespace: string;
  lane: string;
}

function say(verb: string, message: string): void {
  process.stderr.write(`meshlane rollout ${verb}: ${message}\n`);
}

/** One sentence for an API error: exit 1, or a UsageError (exit 2) for what will not fix itself. */
function apiFailure(err: unknown, t: Target): Error {
  const where = `the API server at ${t.server} (from ${t.source})`;
  if (err instanceof KubeError && err.statusCode !== undefined) {
    if (err.statusCode === 401) return new UsageError(`${where} refused the credentials (401 Unauthorized)`);
    let message = err.message;
    try {
      const status = JSON.parse(err.body) as { message?: unknown };
      if (typeof status.message === "string" && status.message) message = status.message;
    } catch {
      // not a Status: keep the message
    }
    return new Failed(`${where} answered ${err.statusCode}: ${message}`);
  }
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  if (TLS_FAILURE.test(code)) return new UsageError(`TLS with ${where} failed: ${message}`);
  return new Failed(`cannot reach ${where}: ${code || message}`);
}

/** The Lane, or a sentence: not found (the Lane, or the Lane resource itself), refused, unreachable. */
async function getLane(client: KubeClient, t: Target): Promise<JsonObject> {
  try {
    return await client.get(LANE, t.namespace, t.lane);
  } catch (err) {
    if (err instanceof KubeError && err.statusCode === 404) {
      let details: { name?: unknown } = {};
      try {
        details = (JSON.parse(err.body) as { details?: { name?: unknown } }).details ?? {};
      } catch {
        // not a Status
      }
      if (details.name === t.lane)
        throw new Failed(
          `no Lane "${t.lane}" in namespace "${t.namespace}" (kubectl get lanes -n ${t.namespace})`,
        );
      throw new Failed(
        `the cluster does not serve lanes.meshlane.io (is the Lane CRD installed? kubectl apply -k manifests/)`,
      );
    }
    throw apiFailure(err, t);
  }
}

function annotations(obj: KubeObject): Record<string, string> {
  const a = obj.metadata?.annotations;
  return typeof a === "object" && a !== null ? (a as Record<string, string>) : {};
}

/** The Lane's rollout as the view shows it; a Failed sentence when the Lane has no spec.rollout. */
function viewOf(obj: KubeObject, t: Target): RolloutView {
  const spec = (obj.spec ?? {}) as { rollout?: unknown };
  if (spec.rollout === undefined || spec.rollout === null) {
    throw new Failed(
      `Lane ${t.namespace}/${t.lane} has no spec.rollout: it routes only its dye rules, nothing rolls out ` +
        `(docs/rollouts.md shows how to add one)`,
    );
  }
  const view: RolloutView = { namespace: t.namespace, lane: t.lane };
  try {
    view.spec = validateRollout(spec.rollout, "spec.rollout");
  } catch (err) {
    view.specError = err instanceof Error ? err.message : String(err);
  }
  const status = (obj.status as { rollout?: RolloutStatus } | undefined)?.rollout;
  if (status && typeof status === "object") view.status = status;
  const pending = annotations(obj)[ROLLOUT_COMMAND_ANNOTATION];
  if (pending) view.pendingCommand = pending;
  return view;
}

function output(view: RolloutView, json: boolean): string {
  if (json) return JSON.stringify(view.status ?? initialStatus()) + "\n";
  return renderRolloutView(view, new Date());
}

/** The exit code a watch ends with at this phase, or undefined while the rollout goes on. */
function endOf(view: RolloutView): number | undefined {
  const phase = view.status?.phase;
  if (phase === undefined || !TERMINAL.includes(phase)) return undefined;
  // A copy promotion is over only when base runs the lane's pod templates (then Succeeded).
  return phase === "Succeeded" ? EXIT_OK : EXIT_FAILED;
}

/**
 * Ctrl-C (or a TERM) while watching: resolves with the exit code a shell reports for the signal (128 +
 * its number). Installed before anything is printed, so a reader that sees output can interrupt.
 */
function interruption(): { code: Promise<number>; dispose(): void } {
  let resolve: (code: number) => void = () => {};
  const code = new Promise<number>((r) => (resolve = r));
  const onInt = () => resolve(130);
  const onTerm = () => resolve(143);
  process.once("SIGINT", onInt);
  process.once("SIGTERM", onTerm);
  return {
    code,
    dispose: () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    },
  };
}

async function status(client: KubeClient, t: Target, json: boolean, watch: boolean): Promise<number> {
  const signal = watch ? interruption() : undefined;
  try {
    const obj = await Promise.race([getLane(client, t), signal?.code ?? new Promise<never>(() => {})]);
    if (typeof obj === "number") return obj;
    const first = viewOf(obj, t);
    const tty = process.stdout.isTTY === true && !json;
    const print = (v: RolloutView, again: boolean) =>
      process.stdout.write((again ? (tty ? "\x1b[H\x1b[2J" : "\n") : "") + output(v, json));
    print(first, false);
    if (!signal) return EXIT_OK;
    const ended = endOf(first);
    if (ended !== undefined) return ended;
    return await follow(t, first, print, signal.code);
  } finally {
    signal?.dispose();
  }
}

/** The parts of a Lane a reprint depends on (its rollout, its pending command). */
function fingerprint(v: RolloutView): string {
  return JSON.stringify([v.spec, v.specError, v.status, v.pendingCommand]);
}

/** Follows the Lane until its rollout ends, it goes away, or a signal; returns the exit code. */
async function follow(
  t: Target,
  first: RolloutView,
  print: (v: RolloutView, again: boolean) => void,
  interrupted: Promise<number>,
): Promise<number> {
  let last = fingerprint(first);
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));
  const informer = new Informer({
    kc: t.kc,
    path: resourcePath(LANE, t.namespace),
    fieldSelector: `metadata.name=${t.lane}`,
    onHealth: (up, afterFailure) => {
      if (!up) say("status", `the watch failed (${informer.lastError?.message ?? "unknown"}); retrying`);
      else if (afterFailure) say("status", "watching again");
    },
  });
  const seen = (obj: KubeObject) => {
    let v: RolloutView;
    try {
      v = viewOf(obj, t);
    } catch (err) {
      say("status", err instanceof Error ? err.message : String(err));
      return finish(EXIT_FAILED);
    }
    const f = fingerprint(v);
    if (f === last) return;
    last = f;
    print(v, true);
    const end = endOf(v);
    if (end !== undefined) finish(end);
  };
  const deleted = () => {
    say("status", `Lane ${t.namespace}/${t.lane} was deleted`);
    finish(EXIT_FAILED);
  };
  informer.on({ add: seen, update: seen, delete: deleted });
  void interrupted.then(finish);
  informer.start();
  // Deleted between the first read and the informer's list: the list has no Lane to delete later.
  void informer.waitForSync().then(() => {
    if (!informer.get(`${t.namespace}/${t.lane}`)) deleted();
  });
  try {
    return await done;
  } finally {
    await informer.stop();
  }
}

/** Writes the command annotation, re-deciding on a conflict (the Lane changed under us). */
async function command(client: KubeClient, t: Target, verb: (typeof COMMANDS)[number]): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const obj = await getLane(client, t);
    const view = viewOf(obj, t);
    if (!view.spec) throw new Failed(`spec.rollout is invalid, so nothing rolls out: ${view.specError}`);
    const pending = view.pendingCommand;
    if (pending === verb) {
      process.stdout.write(
        `${t.namespace}/${t.lane}: "${verb}" was already asked and waits for the controller; nothing written\n`,
      );
      return EXIT_OK;
    }
    const d = decide(verb, view.spec, view.status, pending);
    if (!d.ok) throw new Failed(`${t.namespace}/${t.lane}: ${d.reason}`);
    try {
      await client.patch(LANE, t.namespace, t.lane, "merge", {
        metadata: {
          resourceVersion: obj.metadata?.resourceVersion,
          annotations: { [ROLLOUT_COMMAND_ANNOTATION]: verb },
        },
      });
    } catch (err) {
      // A conflict: the Lane changed since it was read (the controller took a command, the step moved);
      // decide again on the new state. Not found: the next read says so.
      if (err instanceof KubeError && err.statusCode === 409 && attempt < 4) continue;
      if (err instanceof KubeError && err.statusCode === 404) continue;
      throw apiFailure(err, t);
    }
    const replaced = pending && pending !== verb ? ` (replacing the waiting "${pending}")` : "";
    process.stdout.write(
      `${t.namespace}/${t.lane}: asked to ${verb}${replaced}: ${d.effect}.\n` +
        `The controller acts on it at its next pass; follow it with: meshlane rollout status ${t.lane} -n ${t.namespace} --watch\n`,
    );
    return EXIT_OK;
  }
}

export function run(args: string[]): Promise<number> {
  return runVerb(help, async () => {
    const { values, positionals } = parse(
      args,
      {
        namespace: { type: "string", short: "n" },
        kubeconfig: { type: "string" },
        output: { type: "string", short: "o" },
        watch: { type: "boolean", short: "w" },
      },
      true,
    );
    const [sub, lane, extra] = positionals;
    const subs = ["status", ...COMMANDS];
    if (sub === undefined) throw new UsageError(`which command? one of ${subs.join(", ")}`);
    if (sub !== "status" && !isCommand(sub))
      throw new UsageError(`unknown command "${sub}" (one of ${subs.join(", ")})`);
    if (lane === undefined) throw new UsageError(`${sub}: which Lane? meshlane rollout ${sub} <lane>`);
    if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
    if (sub !== "status" && (values.watch || values.output !== undefined))
      throw new UsageError(`${values.watch ? "--watch" : "--output"} is an option of status only`);
    const format = values.output ?? "text";
    if (format !== "text" && format !== "json")
      throw new UsageError(`--output must be text or json, not "${format}"`);
    if (values.namespace === "") throw new UsageError("--namespace must not be empty");

    const { kc, source } = loadCluster(values.kubeconfig);
    const context = kc.getContextObject(kc.getCurrentContext());
    const t: Target = {
      kc,
      source,
      server: kc.getCurrentCluster()?.server ?? "",
      namespace: values.namespace ?? (context?.namespace || "default"),
      lane,
    };
    const client = new KubeClient(kc, { timeoutMs: 15_000, maxSockets: 2 });
    try {
      return sub === "status"
        ? await status(client, t, format === "json", values.watch === true)
        : await command(client, t, sub);
    } catch (err) {
      if (err instanceof Failed) {
        say(sub, err.message);
        return EXIT_FAILED;
      }
      throw err;
    } finally {
      client.close();
    }
  });
}
