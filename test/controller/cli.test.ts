// `meshlane controller` as a process (the container's entrypoint): --help; then a real run against the
// fake API server: ready, serving the module with its sha256 and metrics, converging, and shutting down
// cleanly on SIGTERM (lease released, exit 0, JSON log lines).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { serviceAccountUser } from "../apiserver/rbac.js";
import { defaultWasmPath, fromRoot } from "../../controller/src/paths.js";
import {
  eventually,
  FakeApiServer,
  laneApi,
  laneApp,
  laneObject,
  seedAll,
  seedInstall,
  seedNamespace,
  yamlDocs,
  type Json,
} from "./helpers.js";

const bin = fromRoot("bin", "meshlane.js");

test("meshlane controller --help lists its options", () => {
  const r = spawnSync(process.execPath, [bin, "controller", "--help"], { encoding: "utf8" });
  assert.equal(r.status, 0);
  for (const opt of [
    "--config",
    "--kubeconfig",
    "--namespace-selector",
    "--leader-elect",
    "--no-leader-elect",
    "--lease-namespace",
    "--metrics-addr",
    "--wasm",
    "--resync",
    "--metrics-provider",
    "--prometheus-url",
    "--prometheus-timeout",
    "--log-level",
    "--routing",
  ]) {
    assert.ok(r.stdout.includes(opt), `help mentions ${opt}`);
  }
  const top = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8" });
  assert.match(top.stdout, /controller\s+run the lane controller/);
});

test("meshlane controller rejects bad options with exit 2", () => {
  const r = spawnSync(process.execPath, [bin, "controller", "--resync", "soon"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /not a duration/);
  const routing = spawnSync(process.execPath, [bin, "controller", "--routing", "linkerd"], {
    encoding: "utf8",
  });
  assert.equal(routing.status, 2);
  assert.match(routing.stderr, /--routing must be istio or gateway-api/);
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-config-"));
  const config = path.join(dir, "config.yaml");
  writeFileSync(config, "routing: gateway\n");
  const fromConfig = spawnSync(process.execPath, [bin, "controller", "--config", config], {
    encoding: "utf8",
  });
  assert.equal(fromConfig.status, 2);
  assert.match(fromConfig.stderr, /routing: expected istio or gateway-api, got "gateway"/);
  for (const [args, why] of [
    [["--prometheus-url", "prometheus:9090"], /--prometheus-url: expected an http:\/\/ or https:\/\/ URL/],
    [["--prometheus-url", "http://"], /--prometheus-url: not a URL/],
    [
      ["--prometheus-url", "http://p:9090", "--prometheus-timeout", "0s"],
      /--prometheus-timeout: must be longer than 0/,
    ],
    [["--prometheus-timeout", "later"], /not a duration/],
    [
      ["--metrics-provider", "statsd"],
      /--metrics-provider: expected prometheus, embedded, none, got "statsd"/,
    ],
    [["--metrics-provider", "prometheus"], /--metrics-provider prometheus needs --prometheus-url/],
    [
      ["--metrics-provider", "embedded", "--prometheus-url", "http://p:9090"],
      /--prometheus-url: only with --metrics-provider prometheus/,
    ],
  ] as const) {
    const bad = spawnSync(process.execPath, [bin, "controller", ...args], { encoding: "utf8" });
    assert.equal(bad.status, 2, args.join(" "));
    assert.match(bad.stderr, why);
  }
});

/** Starts a rollout of Lane cli/canary (success rate ≥ 99 %, a round a second) and waits for the
 * first round of analysis: the Lane's `status.rollout` then. */
async function firstAnalysisRound(server: FakeApiServer): Promise<Json> {
  await laneApi(server).create(
    laneObject("cli", "canary", {
      rollout: {
        steps: [{ percent: 10, pause: "1s" }, { percent: 20 }],
        analysis: {
          interval: "1s",
          progressDeadline: "1h",
          metrics: [{ name: "request-success-rate", thresholdRange: { min: 99 } }],
        },
      },
    }),
  );
  return eventually(
    () =>
      (server.getObject("lanes", "cli", "canary") as Json)?.status?.rollout?.checks?.length > 0 &&
      (server.getObject("lanes", "cli", "canary") as Json).status.rollout,
    "a round of analysis",
    60_000,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

test("meshlane controller runs against a cluster, serves the module, and stops on SIGTERM", async () => {
  // The process runs as the controller's ServiceAccount with exactly manifests/rbac.yaml's permissions.
  const server = await FakeApiServer.start({
    bookmarkIntervalMs: 200,
    rbac: {
      objects: yamlDocs(fromRoot("manifests", "rbac.yaml")),
      users: { "sa-token": serviceAccountUser("meshlane-system", "meshlane-controller") },
    },
  });
  seedInstall(server);
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-controller-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, server.kubeConfig("default", "sa-token").exportConfig());
  const config = path.join(dir, "config.yaml");
  writeFileSync(config, "install: envoyfilter\nlaneHeader: x-lane\n");
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      bin,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--config",
      config,
      "--metrics-addr",
      `127.0.0.1:${port}`,
      "--lease-namespace",
      "meshlane-system",
      "--identity",
      "cli-test",
      "--resync",
      "2s",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, "/readyz", 60_000, 100);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);

    const bytes = readFileSync(defaultWasmPath);
    const sha = createHash("sha256").update(bytes).digest("hex");
    const res = await fetch(`${base}/meshlane.wasm`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/wasm");
    assert.equal(res.headers.get("x-checksum-sha256"), sha);
    assert.equal(res.headers.get("etag"), `"${sha}"`);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(bytes));
    const cached = await fetch(`${base}/meshlane.wasm`, { headers: { "if-none-match": `"${sha}"` } });
    assert.equal(cached.status, 304);

    seedNamespace(server, "cli");
    seedAll(server, laneApp("cli", "web"));
    await laneApi(server).create(laneObject("cli", "canary"));
    await eventually(
      () => server.getObject("virtualservices", "cli", "meshlane-web"),
      "the controller's writes",
      60_000,
    );
    // The EnvoyFilters point at the served module, by its sha256.
    await eventually(
      () => server.getObject("envoyfilters", "cli", "meshlane-sidecar"),
      "EnvoyFilter",
      60_000,
    );
    const ef = server.getObject("envoyfilters", "cli", "meshlane-sidecar") as Json;
    assert.equal(ef.spec.configPatches[0].patch.value.typed_config.config.vm_config.code.remote.sha256, sha);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      "meshlane_reconcile_total",
      "meshlane_reconcile_errors_total",
      "meshlane_reconcile_duration_seconds_bucket",
      "meshlane_queue_depth",
      "meshlane_writes_total",
      "meshlane_leader 1",
    ]) {
      assert.ok(metrics.includes(name), `/metrics has ${name}`);
    }
    const lease = server.getObject("leases", "meshlane-system", "meshlane-controller") as Json;
    assert.equal(lease.spec.holderIdentity, "cli-test");

    // RBAC refused nothing the controller asked (every request was checked against the manifests).
    assert.equal(
      server.count((r) => r.user !== undefined && r.code === 403),
      0,
      "requests RBAC refused",
    );
    assert.ok(server.count((r) => r.user !== undefined) > 0);
    for (const [verb, resource] of [
      ["patch", "lanes"],
      ["create", "leases"],
      ["create", "events"],
      ["watch", "namespaces"],
    ]) {
      await eventually(() => server.count({ verb: verb as "patch", resource }) > 0, `${verb} ${resource}`);
    }

    child.kill("SIGTERM");
    assert.equal(await exited, 0, "exit 0 after SIGTERM");
    const released = server.getObject("leases", "meshlane-system", "meshlane-controller") as Json;
    assert.ok(!released.spec.holderIdentity, "the lease is released");
    const lines = stderr
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Json);
    assert.ok(
      lines.every(
        (l) => typeof l.time === "string" && typeof l.level === "string" && typeof l.msg === "string",
      ),
    );
    assert.ok(lines.some((l) => l.msg === "shutting down" && l.signal === "SIGTERM"));
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
  }
});

test("meshlane controller --prometheus-url: a rollout's analysis asks that Prometheus; its error is no verdict", async () => {
  // A stand-in for Prometheus' query API that refuses every query: the wiring of the flag is what is
  // tested here (the provider itself is tested against a real Prometheus in test/rollout).
  const queries: string[] = [];
  const prom = createHttpServer((req, res) => {
    queries.push(new URL(req.url ?? "/", "http://x").searchParams.get("query") ?? "");
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "error", errorType: "bad_data", error: "the stand-in refuses" }));
  });
  await new Promise<void>((resolve) => prom.listen(0, "127.0.0.1", resolve));
  const promUrl = `http://127.0.0.1:${(prom.address() as { port: number }).port}`;
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedInstall(server);
  seedNamespace(server, "cli");
  seedAll(server, laneApp("cli", "web"));
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-controller-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, server.kubeConfig("default").exportConfig());
  const child = spawn(
    process.execPath,
    [
      bin,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--no-leader-elect",
      "--metrics-addr",
      `127.0.0.1:${await freePort()}`,
      "--prometheus-url",
      promUrl,
      "--prometheus-timeout",
      "5s",
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const checks = await firstAnalysisRound(server);
    assert.ok(
      queries.some((q) => q.includes("canary")),
      `Prometheus was asked about the lane: ${queries[0]}`,
    );
    assert.ok(
      checks.checks.every((c: Json) => c.verdict === "none" && /the stand-in refuses/.test(c.reason)),
    );
    assert.equal(checks.step, 0, "no verdict never advances the step");
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
    await new Promise((resolve) => prom.close(resolve));
  }
});

test("meshlane controller --metrics-provider embedded: a rollout's analysis scrapes the pods behind the lane's Services", async () => {
  // A Ready pod whose stats annotation points at a port where nothing listens: the round names that
  // URL and gives no verdict (the provider's scraping of real proxies: embedded.test.ts).
  const closed = await freePort();
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedInstall(server);
  seedNamespace(server, "cli");
  seedAll(server, [
    ...laneApp("cli", "web"),
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-canary-1",
        namespace: "cli",
        labels: { app: "web", version: "canary", "meshlane.io/lane": "canary" },
        annotations: { "prometheus.io/port": String(closed), "prometheus.io/path": "/stats/prometheus" },
      },
      spec: { containers: [{ name: "app", image: "example/app:1" }] },
      status: { phase: "Running", podIP: "127.0.0.1", conditions: [{ type: "Ready", status: "True" }] },
    },
  ]);
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-controller-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, server.kubeConfig("default").exportConfig());
  const child = spawn(
    process.execPath,
    [
      bin,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--no-leader-elect",
      "--metrics-addr",
      `127.0.0.1:${await freePort()}`,
      "--metrics-provider",
      "embedded",
    ],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const r = await firstAnalysisRound(server);
    const url = `http://127.0.0.1:${closed}/stats/prometheus`;
    assert.ok(
      r.checks.every((c: Json) => c.verdict === "none" && c.reason.includes(`scrape of ${url} failed`)),
      JSON.stringify(r.checks),
    );
    assert.equal(r.step, 0, "no verdict never advances the step");
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
  }
});
