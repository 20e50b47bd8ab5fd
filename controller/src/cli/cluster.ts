// Which cluster `meshlane controller` talks to, and where its Lease lives, decided once at start-up.
//
// The contract: a kubeconfig named by --kubeconfig or $KUBECONFIG must be readable and name a current
// cluster; without either, ~/.kube/config, else the in-cluster ServiceAccount. With none of these there
// is no cluster to talk to, and that is said in one sentence (a usage error), instead of retrying a
// made-up http://localhost:8080 forever; a server that fails TLS or refuses the credentials likewise.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient, KubeError } from "../reconcile/kube.js";
import { fileReason, UsageError } from "./args.js";

/** Where a pod's ServiceAccount credentials and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface Environment {
  env: NodeJS.ProcessEnv;
  home: string;
  /** The mounted ServiceAccount folder. */
  serviceAccountDir: string;
}

export function processEnvironment(): Environment {
  return {
    env: process.env,
    home: homedir(),
    serviceAccountDir: SERVICE_ACCOUNT_DIR,
  };
}

function loadFile(kc: KubeConfig, file: string, what: string): void {
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new UsageError(`${what ? `${what} ` : ""}${file}: ${fileReason(err)}`);
  }
}

/** The KubeConfig to use, and where it came from (for the start-up log line). */
export function loadCluster(
  kubeconfig: string | undefined,
  e: Environment = processEnvironment(),
): { kc: KubeConfig; source: string } {
  const kc = new KubeConfig();
  let source: string;
  if (kubeconfig !== undefined) {
    loadFile(kc, kubeconfig, "--kubeconfig");
    source = kubeconfig;
  } else if (e.env.KUBECONFIG) {
    const files = e.env.KUBECONFIG.split(path.delimiter).filter((f) => f !== "");
    loadFile(kc, files[0], "$KUBECONFIG:");
    for (const f of files.slice(1)) {
      const more = new KubeConfig();
      loadFile(more, f, "$KUBECONFIG:");
      kc.mergeConfig(more);
    }
    source = `$KUBECONFIG (${files.join(path.delimiter)})`;
  } else if (existsSync(path.join(e.home, ".kube", "config"))) {
    source = path.join(e.home, ".kube", "config");
    loadFile(kc, source, "");
  } else if (existsSync(path.join(e.serviceAccountDir, "token")) && e.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
    source = "in-cluster ServiceAccount";
  } else {
    throw new UsageError(
      "no cluster configured: pass --kubeconfig <file> or set $KUBECONFIG, create ~/.kube/config, " +
        "or run in a pod (in-cluster ServiceAccount)",
    );
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new UsageError(
      `${source}: no current cluster (current-context "${kc.getCurrentContext()}" names none)`,
    );
  }
  return { kc, source };
}

/**
 * The Lease's namespace when --lease-namespace is not given: the pod's own ($POD_NAMESPACE, else the
 * mounted ServiceAccount's namespace), else meshlane-system (where manifests/ install).
 */
export function defaultLeaseNamespace(e: Environment = processEnvironment()): string {
  if (e.env.POD_NAMESPACE) return e.env.POD_NAMESPACE;
  try {
    const ns = readFileSync(path.join(e.serviceAccountDir, "namespace"), "utf8").trim();
    if (ns) return ns;
  } catch {
    // Not in a pod: the default below.
  }
  return "meshlane-system";
}

/** Node's codes for a TLS handshake that failed (certificates, or no TLS at all on the other end). */
export const TLS_FAILURE =
  /^(EPROTO|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|CERT_)/;

/**
 * One request (GET /version) before starting. A failed TLS handshake or refused credentials will not fix
 * themselves: a UsageError saying which server and which kubeconfig. Anything else (connection refused,
 * a timeout, a 5xx) may: its description, for the caller to log once while the controller retries.
 */
export async function checkCluster(kc: KubeConfig, source: string): Promise<string | undefined> {
  const server = kc.getCurrentCluster()?.server ?? "";
  const client = new KubeClient(kc, { timeoutMs: 10_000 });
  try {
    await client.request("GET", "/version");
    return undefined;
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e.code === "string" ? e.code : "";
    const message = typeof e.message === "string" ? e.message : String(err);
    if (TLS_FAILURE.test(code)) {
      const why = /wrong version number/.test(message)
        ? "the server does not speak TLS (an http:// server?)"
        : message;
      throw new UsageError(
        `TLS with the API server at ${server} (from ${source}) failed: ${why}; check the server URL and certificate-authority`,
      );
    }
    if (err instanceof KubeError && err.statusCode === 401) {
      throw new UsageError(
        `the API server at ${server} refused the credentials from ${source} (401 Unauthorized)`,
      );
    }
    return `cannot reach the API server at ${server} (from ${source}): ${code || message}; retrying until it answers`;
  } finally {
    client.close();
  }
}
