// A real Prometheus server for tests: Debian's `prometheus` (2.42), started on a loopback port with a
// temporary config and storage directory, scraping given static targets every second. When the binary
// is missing, it is installed with apt-get where that can work (root, apt-get present), as .ci/run
// does; otherwise the test fails with a message saying what to install. Never skipped.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface StaticTarget {
  /** `host:port`. */
  address: string;
  metricsPath: string;
  labels: Record<string, string>;
}

export interface RunningPrometheus {
  url: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its files. Idempotent. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "the Prometheus provider's test needs a real Prometheus: install Debian's package (apt-get install prometheus) " +
  "or put a prometheus binary on PATH";

function onPath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const p = path.join(dir, "prometheus");
    if (dir !== "" && existsSync(p)) return p;
  }
  return existsSync("/usr/bin/prometheus") ? "/usr/bin/prometheus" : undefined;
}

/** The prometheus binary; installs Debian's package when missing and possible, else throws. */
export function prometheusBinary(): string {
  const found = onPath();
  if (found !== undefined) return found;
  const root = typeof process.getuid === "function" && process.getuid() === 0;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).status === 0;
  if (!root || !apt)
    throw new Error(
      `${INSTALL_HINT} (no prometheus on PATH; cannot install: ${root ? "no apt-get" : "not root"})`,
    );
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update"], ["install", "-y", "--no-install-recommends", "prometheus"]]) {
    const r = spawnSync("apt-get", args, { env, encoding: "utf8", timeout: 600_000 });
    if (r.status !== 0)
      throw new Error(`${INSTALL_HINT} (apt-get ${args.join(" ")} failed: ${(r.stderr ?? "").slice(-500)})`);
  }
  const installed = onPath();
  if (installed === undefined) throw new Error(`${INSTALL_HINT} (installed, but no prometheus binary found)`);
  return installed;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a value (not undefined), at most `limitMs`; the last error explains a timeout. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  limitMs = 60_000,
): Promise<T> {
  const end = Date.now() + limitMs;
  let last = "";
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = (e as Error).message;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** Starts Prometheus scraping `targets` every second; resolves once it answers /-/ready. */
export async function startPrometheus(targets: StaticTarget[]): Promise<RunningPrometheus> {
  const bin = prometheusBinary();
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-prometheus-"));
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "  evaluation_interval: 1s",
    "scrape_configs:",
    ...targets.map((t, i) =>
      [
        `  - job_name: ${yamlString(`target-${i}`)}`,
        `    metrics_path: ${yamlString(t.metricsPath)}`,
        "    static_configs:",
        `      - targets: [${yamlString(t.address)}]`,
        "        labels:",
        ...Object.entries(t.labels).map(([k, v]) => `          ${k}: ${yamlString(v)}`),
      ].join("\n"),
    ),
  ].join("\n");
  writeFileSync(path.join(dir, "prometheus.yml"), `${config}\n`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      "Prometheus to be ready",
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}: ${output}`);
        const r = await fetch(`${url}/-/ready`);
        await r.text();
        return r.ok ? true : undefined;
      },
      60_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, stop };
}
