// Every verb writes all of its output whatever stdout is: here a pipe, with more output than the pipe
// holds, so a process that ended before its writes drained would be caught short (issue: explain with
// 2,050 requests printed ~210 lines into `| wc -l`, exit 0).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { fromRoot } from "../../controller/src/paths.js";
import { meshlane, PIPE_BUFFER } from "./run.js";

const dir = mkdtempSync(path.join(tmpdir(), "meshlane-pipe-"));
const write = (name: string, content: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

const REQUESTS = 2050;
const config = write(
  "edge.json",
  JSON.stringify({
    role: "edge",
    lanes: ["base", "canary"],
    defaultLane: "base",
    rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
  }),
);
const scenario = write(
  "big.json",
  JSON.stringify({
    requests: Array.from({ length: REQUESTS }, (_, i) => ({
      name: `r${i}`,
      requestHeaders: [
        [":method", "GET"],
        [":path", "/"],
        [":authority", "shop"],
        ["agent", i % 2 === 0 ? "pc" : "mobile"],
      ],
    })),
  }),
);

test("explain: every line of a 2,050-request scenario reaches a pipe", async () => {
  const r = await meshlane(["explain", "--config", config, "--scenario", scenario]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Buffer.byteLength(r.stdout) > PIPE_BUFFER, "the output must exceed the pipe buffer");
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, REQUESTS + 1);
  const parsed = lines.map((l) => JSON.parse(l));
  assert.equal(parsed[REQUESTS - 1].name, `r${REQUESTS - 1}`);
  assert.equal(parsed[REQUESTS - 1].lane, "base");
  assert.ok(parsed[REQUESTS].summary.metrics, "the summary line comes last");
});

/** A namespace with `services` services, each with a base and a canary Deployment, and a canary Lane. */
function bigManifests(services: number): string {
  const docs: object[] = [
    {
      apiVersion: "meshlane.io/v1alpha1",
      kind: "Lane",
      metadata: { name: "canary", namespace: "big" },
      spec: { dye: [{ when: { headers: { agent: { exact: "pc" } } } }] },
    },
  ];
  for (let i = 0; i < services; i++) {
    const app = `svc-${i}`;
    docs.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: app, namespace: "big" },
      spec: { selector: { app }, ports: [{ name: "http", port: 80 }] },
    });
    for (const lane of ["base", "canary"]) {
      docs.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: `${app}-${lane}`, namespace: "big" },
        spec: {
          selector: { matchLabels: { app, version: lane } },
          template: { metadata: { labels: { app, version: lane, "meshlane.io/lane": lane } } },
        },
      });
    }
  }
  return docs.map((d) => JSON.stringify(d)).join("\n---\n");
}

test("render: hundreds of objects reach a pipe, as YAML and as JSON", async () => {
  const SHA = "a".repeat(64);
  const input = write("big.yaml", bigManifests(150));
  const yaml = await meshlane(["render", "-f", input, "--wasm-sha256", SHA]);
  assert.equal(yaml.code, 0, yaml.stderr);
  assert.ok(Buffer.byteLength(yaml.stdout) > PIPE_BUFFER, "the output must exceed the pipe buffer");
  const json = await meshlane(["render", "-f", input, "--wasm-sha256", SHA, "-o", "json"]);
  assert.equal(json.code, 0, json.stderr);
  assert.ok(Buffer.byteLength(json.stdout) > PIPE_BUFFER);
  const items = (JSON.parse(json.stdout) as { items: { kind: string; metadata: { name: string } }[] }).items;
  // Per service a DestinationRule and a VirtualService, then the edge and sidecar EnvoyFilters.
  assert.equal(items.length, 150 * 2 + 2);
  const docs = parseAllDocuments(yaml.stdout).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string } },
  );
  assert.deepEqual(
    docs.map((d) => `${d.kind} ${d.metadata.name}`),
    items.map((d) => `${d.kind} ${d.metadata.name}`),
  );
  const filters = docs.filter((d) => d.kind === "EnvoyFilter").map((d) => d.metadata.name);
  assert.deepEqual(filters.sort(), ["meshlane-edge", "meshlane-sidecar"]);
});

test("demo: a thousand call chains and the counters reach a pipe", async () => {
  const r = await meshlane(["demo", "--requests", "1000"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Buffer.byteLength(r.stdout) > PIPE_BUFFER, "the output must exceed the pipe buffer");
  assert.equal(r.stdout.split("\n").filter((l) => l.startsWith("agent: ")).length, 1000);
  assert.match(r.stdout, /edge\s+gateway\s+lane=canary\s+source=rule\s+500\n/);
  assert.match(r.stdout, /mockc-canary\s+inbound\s+lane=canary\s+source=header\s+500\n$/);
});

test("a reader that stops early ends the CLI quietly: no EPIPE trace, the verb's exit code", async () => {
  const child = spawn(
    process.execPath,
    [fromRoot("bin", "meshlane.js"), "explain", "--config", config, "--scenario", scenario],
    { cwd: fromRoot(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  // Read the first chunk, then close our end of the pipe as `| head -1` does.
  child.stdout.once("data", () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  assert.equal(stderr, "");
  assert.equal(code, 0);
});
