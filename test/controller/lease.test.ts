// Where the controller's Lease lives, and what it says when it cannot have one (the process, as a user
// runs it): a lease namespace that does not exist is reported once, with the namespace and the fix,
// /readyz says why, and the controller leads as soon as the namespace is created; with no cluster
// configured at all it exits 2 with one sentence.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { fromRoot } from "../../controller/src/paths.js";
import { defaultLeaseNamespace, loadCluster } from "../../controller/src/cli/cluster.js";
import { eventually, FakeApiServer, type Json } from "./helpers.js";

const bin = fromRoot("bin", "meshlane.js");

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

/** The environment of a user's shell with no cluster: no KUBECONFIG, an empty HOME, no pod. */
function bareEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const k of ["KUBECONFIG", "POD_NAMESPACE", "POD_NAME", "KUBERNETES_SERVICE_HOST"]) delete env[k];
  return env;
}

test("a lease namespace that does not exist: one clear error, /readyz says why, leads once it exists", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "istio-system" } });
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-lease-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, server.kubeConfig().exportConfig());
  const port = await freePort();
  // No --lease-namespace and not in a pod: the default, meshlane-system, which this cluster lacks.
  const child = spawn(
    process.execPath,
    [
      bin,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--metrics-addr",
      `127.0.0.1:${port}`,
      "--identity",
      "solo",
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: bareEnv(dir) },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = () =>
    stderr
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Json);
  const base = `http://127.0.0.1:${port}`;
  try {
    // Several tries fail on the missing namespace ...
    await eventually(
      () =>
        server.count({ verb: "create", resource: "leases", namespace: "meshlane-system", code: 404 }) >= 3,
      "three failed tries",
      60_000,
    );
    // ... and it is said once, naming the namespace and both fixes.
    const errors = lines().filter((l) => l.level === "error" || l.level === "warn");
    assert.equal(errors.length, 1, `one error line, got: ${JSON.stringify(errors.map((l) => l.msg))}`);
    assert.match(errors[0].msg, /lease namespace "meshlane-system" does not exist/);
    assert.match(errors[0].msg, /kubectl create namespace meshlane-system/);
    assert.match(errors[0].msg, /--lease-namespace/);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(
      await ready.text(),
      /leader-election failed: the lease namespace "meshlane-system" does not exist/,
    );

    // The user creates it: the controller takes the Lease at its next try, and says so.
    await server
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: "meshlane-system" } } });
    await eventually(
      () =>
        (server.getObject("leases", "meshlane-system", "meshlane-controller") as Json)?.spec
          .holderIdentity === "solo",
      "the Lease taken",
      60_000,
    );
    await eventually(async () => (await fetch(`${base}/readyz`)).status === 200, "/readyz ok", 60_000);
    assert.ok(lines().some((l) => l.msg === "the lease is reachable again"));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
  }
});

test("--lease-namespace picks where the Lease lives", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  for (const name of ["istio-system", "ops"])
    server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-lease-"));
  const kubeconfig = path.join(dir, "kubeconfig");
  writeFileSync(kubeconfig, server.kubeConfig().exportConfig());
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      bin,
      "controller",
      "--kubeconfig",
      kubeconfig,
      "--metrics-addr",
      `127.0.0.1:${port}`,
      "--lease-namespace",
      "ops",
      "--lease-name",
      "lanes",
      "--identity",
      "solo",
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: bareEnv(dir) },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await eventually(() => server.getObject("leases", "ops", "lanes"), "the Lease in ops", 60_000);
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
  }
});

test("no cluster configured: exit 2 with one sentence, not a retry loop", () => {
  const home = mkdtempSync(path.join(tmpdir(), "meshlane-nohome-"));
  const r = spawnSync(process.execPath, [bin, "controller"], {
    encoding: "utf8",
    env: bareEnv(home),
    timeout: 60_000,
  });
  assert.equal(r.status, 2);
  assert.match(
    r.stderr.split("\n")[0],
    /no cluster configured: pass --kubeconfig <file> or set \$KUBECONFIG/,
  );
  const missing = path.join(home, "nope.yaml");
  const m = spawnSync(process.execPath, [bin, "controller"], {
    encoding: "utf8",
    env: { ...bareEnv(home), KUBECONFIG: missing },
    timeout: 60_000,
  });
  assert.equal(m.status, 2);
  assert.match(m.stderr.split("\n")[0], new RegExp(`KUBECONFIG: ${missing}: no such file`));
  const k = spawnSync(process.execPath, [bin, "controller", "--kubeconfig", missing], {
    encoding: "utf8",
    env: bareEnv(home),
    timeout: 60_000,
  });
  assert.equal(k.status, 2);
  assert.match(k.stderr.split("\n")[0], new RegExp(`--kubeconfig ${missing}: no such file`));
});

test("a server that fails TLS: exit 2 with one sentence naming the server and the kubeconfig", async () => {
  const server = await FakeApiServer.start();
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-tls-"));
  // https:// to a plain-http server: the handshake fails, as with a wrong certificate-authority.
  const tls = path.join(dir, "tls");
  writeFileSync(tls, server.kubeConfig().exportConfig().replace("http://", "https://"));
  try {
    // (spawn, not spawnSync: the fake API server answers from this process's event loop.)
    const child = spawn(process.execPath, [bin, "controller", "--kubeconfig", tls], {
      stdio: ["ignore", "ignore", "pipe"],
      env: bareEnv(dir),
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    assert.equal(status, 2, stderr);
    assert.match(
      stderr.split("\n")[0],
      new RegExp(
        `TLS with the API server at https://127\\.0\\.0\\.1:${server.port} \\(from ${tls}\\) failed`,
      ),
    );
  } finally {
    await server.stop();
  }
});

test("the Lease's default namespace: $POD_NAMESPACE, else the ServiceAccount's, else meshlane-system", () => {
  const sa = mkdtempSync(path.join(tmpdir(), "meshlane-sa-"));
  const none = path.join(sa, "absent");
  assert.equal(defaultLeaseNamespace({ env: {}, home: sa, serviceAccountDir: none }), "meshlane-system");
  writeFileSync(path.join(sa, "namespace"), "lanes-ops\n");
  assert.equal(defaultLeaseNamespace({ env: {}, home: sa, serviceAccountDir: sa }), "lanes-ops");
  assert.equal(
    defaultLeaseNamespace({ env: { POD_NAMESPACE: "from-env" }, home: sa, serviceAccountDir: sa }),
    "from-env",
  );
  // ~/.kube/config is found without $KUBECONFIG.
  const home = mkdtempSync(path.join(tmpdir(), "meshlane-home-"));
  mkdirSync(path.join(home, ".kube"));
  writeFileSync(
    path.join(home, ".kube", "config"),
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]",
      "users: [{name: u, user: {token: x}}]",
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
    ].join("\n"),
  );
  const found = loadCluster(undefined, { env: {}, home, serviceAccountDir: none });
  assert.equal(found.kc.getCurrentCluster()?.server, "https://127.0.0.1:1");
  assert.equal(found.source, path.join(home, ".kube", "config"));
});
