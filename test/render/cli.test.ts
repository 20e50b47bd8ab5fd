// `meshlane render` as a process: output streams, exit codes, and what is printed for each kind of change.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { fromRoot } from "../../controller/src/paths.js";

const SHA = "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592";
const verbModule = fromRoot("dist", "controller", "src", "cli", "render.js");

/** Runs the verb in a child process, through bin/meshlane.js once the verb is registered there. */
function meshlane(args: string[], input?: string) {
  const verbs = readFileSync(fromRoot("controller", "src", "cli", "verbs.ts"), "utf8");
  const registered = /import \* as render from "\.\/render\.js"/.test(verbs);
  const argv = registered
    ? [fromRoot("bin", "meshlane.js"), "render", ...args]
    : [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(verbModule)}); process.exitCode = await m.run(process.argv.slice(1));`,
        "--",
        ...args,
      ];
  const r = spawnSync(process.execPath, argv, { cwd: fromRoot(), encoding: "utf8", input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const docs = (s: string) => parseAllDocuments(s).map((d) => d.toJS());

test("render the seed 003 example: the objects to create or change on stdout, exit 0", () => {
  const r = meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA]);
  assert.equal(r.status, 0, r.stderr);
  const out = docs(r.stdout);
  assert.deepEqual(
    out.map((o) => `${o.kind} ${o.metadata.name}`),
    [
      "DestinationRule dr-mocka",
      "DestinationRule dr-mockb",
      "VirtualService meshlane-mocka",
      "VirtualService vs-mocka",
      "VirtualService vs-mockb",
      "EnvoyFilter meshlane-sidecar",
      "EnvoyFilter meshlane-edge",
    ],
  );
  assert.doesNotMatch(r.stderr, /error|warning/);
});

test("-o json prints one List; --install wasmplugin switches the installation", () => {
  const r = meshlane([
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    SHA,
    "-o",
    "json",
    "--install",
    "wasmplugin",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  assert.equal(list.kind, "List");
  assert.deepEqual(
    list.items
      .filter((o: { kind: string }) => o.kind === "WasmPlugin")
      .map(
        (o: { metadata: { name: string; namespace: string } }) =>
          `${o.metadata.namespace}/${o.metadata.name}`,
      ),
    ["e2e/meshlane-sidecar", "istio-system/meshlane-edge"],
  );
  assert.ok(!list.items.some((o: { kind: string }) => o.kind === "EnvoyFilter"));
});

test("a no-op render prints nothing", () => {
  const r = meshlane(["-f", "test/golden/noop/input.yaml", "--wasm-sha256", SHA]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "");
});

test("removed lanes: restores on stdout, deletions on stderr", () => {
  const r = meshlane(["-f", "test/golden/lane-removed/input.yaml", "--wasm-sha256", SHA]);
  assert.equal(r.status, 0, r.stderr);
  const out = docs(r.stdout);
  assert.ok(out.some((o) => o.metadata.name === "vs-mocka" && !o.metadata.annotations));
  assert.match(r.stderr, /^delete: networking\.istio\.io\/v1 VirtualService e2e\/meshlane-mocka$/m);
});

test("bad input: errors name the object on stderr, valid objects still printed, exit 1", () => {
  const r = meshlane(["-f", "test/golden/bad-input/input.yaml", "--wasm-sha256", SHA]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: Lane bad\/cycle-a: fallback cycle cycle-a → cycle-b → cycle-a$/m);
  assert.match(r.stderr, /^error: VirtualService bad\/delegated-routes: a delegate VirtualService/m);
  assert.match(r.stderr, /^warning: Service bad\/unbased: /m);
  assert.ok(docs(r.stdout).some((o) => o.metadata.name === "meshlane-ok"));
});

test("invalid YAML is an error naming the file and document; the rest renders", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-render-"));
  const file = path.join(dir, "broken.yaml");
  writeFileSync(file, "apiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n---\nkind: ConfigMap\n");
  const r = meshlane(["-f", file, "-f", "manifests/examples/seed-003", "--wasm-sha256", SHA]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    new RegExp(`^error: ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} document 1: invalid YAML`, "m"),
  );
  assert.equal(docs(r.stdout).length, 7);
});

test("usage errors exit 2", () => {
  assert.equal(meshlane([]).status, 2);
  assert.equal(meshlane(["-f", "manifests/examples/seed-003", "-o", "xml", "--wasm-sha256", SHA]).status, 2);
  assert.equal(meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", "nothex"]).status, 2);
  assert.equal(meshlane(["-f", "no/such/dir", "--wasm-sha256", SHA]).status, 2);
  assert.equal(
    meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA, "--install", "helm"]).status,
    2,
  );
});

test("reads standard input with -f -", () => {
  const text = readFileSync(fromRoot("manifests", "examples", "seed-003", "lane.yaml"), "utf8");
  const r = meshlane(["-f", "-", "--wasm-sha256", SHA], text);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: Lane e2e\/canary: no workload/);
});

test("a Lane with several mistakes gets them all in its one error line", () => {
  const lane = [
    "apiVersion: meshlane.io/v1alpha1",
    "kind: Lane",
    "metadata: {name: beta, namespace: x}",
    "spec:",
    "  fallback: beta",
    "  dye:",
    "    - when: {headers: {agent: {exact: pc, prefix: p}}}",
    "    - percent: 200",
    "",
  ].join("\n");
  const r = meshlane(["-f", "-"], lane);
  assert.equal(r.status, 1);
  const line = r.stderr.split("\n").find((l) => l.startsWith("error: Lane x/beta: "));
  assert.equal(
    line,
    "error: Lane x/beta: spec.fallback: a Lane cannot fall back to itself; " +
      "spec.dye[0].when.headers.agent: expected exactly one of exact|prefix|suffix|contains|regex|present|oneOf; " +
      "spec.dye[1].percent: expected a number from 0 to 100",
  );
});

test("dye rules the real filter refuses are errors", () => {
  const lane =
    "apiVersion: meshlane.io/v1alpha1\nkind: Lane\nmetadata: {name: odd, namespace: x}\nspec:\n  dye:\n    - when: {path: {regex: '[z-a]'}}\n";
  const r = meshlane(["-f", "-"], lane);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /^error: Lane x\/odd: dye rules rejected by the filter: rules\[0\]\.when\.path\.regex: /m,
  );
});

// Strings YAML 1.1 readers (kubectl) take for booleans, null or numbers when printed plain.
const TRICKY = ["yes", "0x10", "012", "1e3", "~", "off", "y", "n", "12:30", "0o7", "1_000", ".inf", "null"];

/** A namespace where a lane is named "on", its dye rules and a user's route match use TRICKY strings. */
const trickyManifests = [
  {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "y11", labels: { "meshlane.io/enabled": "true" } },
  },
  {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "mock", namespace: "y11" },
    spec: { selector: { app: "mock" }, ports: [{ port: 80, name: "http" }] },
  },
  ...["base", "on"].map((lane) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `mock-${lane}`, namespace: "y11" },
    spec: {
      selector: { matchLabels: { app: "mock", version: lane } },
      template: { metadata: { labels: { app: "mock", version: lane, "meshlane.io/lane": lane } } },
    },
  })),
  {
    apiVersion: "meshlane.io/v1alpha1",
    kind: "Lane",
    metadata: { name: "on", namespace: "y11" },
    spec: {
      dye: [
        {
          when: {
            headers: { agent: { exact: "yes" }, "x-v": { oneOf: TRICKY } },
            cookies: { n: { exact: "no" } },
          },
        },
      ],
    },
  },
  {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: "vs-mock", namespace: "y11" },
    spec: {
      hosts: ["mock"],
      http: [
        { match: [{ headers: { env: { exact: "no" } } }], route: [{ destination: { host: "mock" } }] },
        { route: [{ destination: { host: "mock" } }] },
      ],
    },
  },
]
  .map((o) => JSON.stringify(o))
  .join("\n---\n");

type Obj = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

test("render YAML reads back as rendered in a YAML 1.1 reader (kubectl): on, yes, ~, 0x10, 012, 1e3 quoted", async () => {
  for (const install of ["envoyfilter", "wasmplugin"]) {
    const args = ["-f", "-", "--wasm-sha256", SHA, "--install", install];
    const yaml = meshlane(args, trickyManifests);
    assert.equal(yaml.status, 0, yaml.stderr);
    const json = meshlane([...args, "-o", "json"], trickyManifests);
    assert.equal(json.status, 0, json.stderr);
    const rendered = (JSON.parse(json.stdout) as { items: Obj[] }).items;
    for (const version of ["1.1", "1.2"] as const) {
      const read = parseAllDocuments(yaml.stdout, { version }).map((d) => d.toJS() as Obj);
      assert.deepEqual(read, rendered, `YAML ${version} reads what -o json prints (--install ${install})`);
    }
    const read = parseAllDocuments(yaml.stdout, { version: "1.1" }).map((d) => d.toJS() as Obj);
    const find = (kind: string, name: string) => {
      const o = read.find((x) => x.kind === kind && x.metadata.name === name);
      assert.ok(o, `${kind} ${name}`);
      return o;
    };
    const vs = JSON.stringify(find("VirtualService", "vs-mock").spec);
    assert.ok(vs.includes('"x-lane":{"exact":"on"}'), vs);
    assert.ok(vs.includes('"env":{"exact":"no"}'), vs);
    assert.ok(vs.includes('"subset":"on"'), vs);
    // The edge filter's plugin config, as the proxy would get it after kubectl applied the YAML.
    const edge = find(install === "wasmplugin" ? "WasmPlugin" : "EnvoyFilter", "meshlane-edge");
    const plugin =
      install === "wasmplugin"
        ? JSON.stringify(edge.spec.pluginConfig)
        : /"value":("(?:[^"\\]|\\.)*")/.exec(JSON.stringify(edge.spec))?.[1];
    assert.ok(plugin, "the edge config");
    const config = JSON.parse(install === "wasmplugin" ? plugin : (JSON.parse(plugin) as string)) as {
      rules: { lane: string; when: { headers: Record<string, { exact?: string; oneOf?: string[] }> } }[];
    };
    assert.equal(config.rules[0].lane, "on");
    assert.equal(config.rules[0].when.headers.agent.exact, "yes");
    assert.deepEqual(config.rules[0].when.headers["x-v"].oneOf, TRICKY);
    // ... and the real filter accepts it.
    const validate = spawnSync(process.execPath, [fromRoot("bin", "meshlane.js"), "validate", "-"], {
      cwd: fromRoot(),
      encoding: "utf8",
      input: JSON.stringify(config),
    });
    assert.equal(validate.status, 0, validate.stderr);
  }
});

test("an unquoted value kubectl (YAML 1.1) would read differently is a warning naming where", () => {
  const lane =
    "apiVersion: meshlane.io/v1alpha1\nkind: Lane\nmetadata: {name: beta, namespace: x}\nspec:\n  dye:\n    - when: {headers: {agent: {exact: pc}, beta: {exact: yes}}}\n";
  const r = meshlane(["-f", "-", "--wasm-sha256", SHA], lane);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /^warning: <stdin> document 1: spec\.dye\[0\]\.when\.headers\.beta\.exact: kubectl \(YAML 1\.1\) reads "yes" as true; quote it$/m,
  );
  const quoted = meshlane(["-f", "-", "--wasm-sha256", SHA], lane.replace("exact: yes", 'exact: "yes"'));
  assert.equal(quoted.status, 0, quoted.stderr);
  assert.doesNotMatch(quoted.stderr, /YAML 1\.1/);
});

test("--routing gateway-api prints per-lane Services and HTTPRoutes instead of subsets and routes", () => {
  const r = meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA, "--routing", "gateway-api"]);
  assert.equal(r.status, 0, r.stderr);
  const kinds = docs(r.stdout).map((o) => `${o.kind} ${o.metadata.name}`);
  for (const want of [
    "Service mocka-base",
    "Service mocka-canary",
    "Service mockb-base",
    "Service mockb-canary",
    "HTTPRoute meshlane-mocka",
    "HTTPRoute meshlane-mockb",
  ])
    assert.ok(kinds.includes(want), `${want} in ${kinds.join(", ")}`);
  assert.ok(!kinds.some((k) => k.startsWith("VirtualService") || k.startsWith("DestinationRule")));
  // The user's VirtualServices get no lane routes in this mode: a warning says so.
  assert.match(r.stderr, /^warning: VirtualService e2e\/vs-mocka: routes to lane-enabled/m);
  const istio = meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA, "--routing", "istio"]);
  assert.equal(istio.stdout, meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA]).stdout);
});

test("--routing and --gateway-name refuse bad values with exit 2", () => {
  const bad = meshlane(["-f", "manifests/examples/seed-003", "--wasm-sha256", SHA, "--routing", "linkerd"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--routing must be istio or gateway-api/);
  const name = meshlane([
    "-f",
    "manifests/examples/seed-003",
    "--wasm-sha256",
    SHA,
    "--gateway-name",
    "Bad_Name",
  ]);
  assert.equal(name.status, 2);
  assert.match(name.stderr, /--gateway-name: not a Kubernetes object name/);
  assert.match(meshlane(["--help"]).stdout, /--routing istio\|gateway-api/);
});

test("a Lane with status.rollout renders its current step: share rules after every dye rule, accepted by the real filter", () => {
  const text = readFileSync(fromRoot("test", "golden", "rollout-step", "input.yaml"), "utf8");
  const r = meshlane(["-f", "-", "--wasm-sha256", SHA], text);
  assert.equal(r.status, 0, r.stderr);
  const edge = docs(r.stdout).find((o) => o.kind === "EnvoyFilter" && o.metadata.name === "meshlane-edge");
  const config: string = JSON.stringify(edge).match(/"value":"(\{\\"role\\":\\"edge\\".*?\})"/)![1];
  const plugin = JSON.parse(JSON.parse(`"${config}"`)) as { rules: Record<string, unknown>[] };
  assert.deepEqual(
    plugin.rules.map((x) => `${x.lane}${x.percent === undefined ? "" : ` ${x.percent}%`}`),
    ["beta", "canary", "feature-x", "canary 10%", "feature-x 22.22%"],
  );
  const v = spawnSync(process.execPath, [fromRoot("bin", "meshlane.js"), "validate", "-"], {
    cwd: fromRoot(),
    encoding: "utf8",
    input: JSON.stringify(plugin),
  });
  assert.equal(v.status, 0, v.stderr);
});
