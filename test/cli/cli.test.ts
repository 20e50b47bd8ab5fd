// The CLI as a process: `meshlane explain`, `validate` and `--help`, formats and exit codes (docs/contracts.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fromRoot } from "../../controller/src/paths.js";

const dir = mkdtempSync(path.join(tmpdir(), "meshlane-cli-"));

function meshlane(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [fromRoot("bin", "meshlane.js"), ...args], {
    encoding: "utf8",
    input,
    cwd: fromRoot(),
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}

const edge = file("edge.json", {
  role: "edge",
  lanes: ["base", "canary"],
  defaultLane: "base",
  rules: [{ lane: "canary", when: { headers: { agent: { exact: "pc" } } } }],
});

test("explain prints one JSON object per request, then the summary", () => {
  const scenario = file("s.json", {
    requests: [
      {
        name: "pc-user",
        requestHeaders: [
          [":method", "GET"],
          [":path", "/"],
          [":authority", "shop"],
          ["agent", "pc"],
        ],
      },
      {
        name: "other",
        requestHeaders: [
          [":method", "GET"],
          [":path", "/"],
          [":authority", "shop"],
        ],
        responseHeaders: [[":status", "404"]],
      },
    ],
  });
  const r = meshlane(["explain", "--config", edge, "--scenario", scenario]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.deepEqual(Object.keys(lines[0]), [
    "name",
    "lane",
    "status",
    "requestHeaders",
    "responseHeaders",
    "localReply",
    "logs",
  ]);
  assert.equal(lines[0].name, "pc-user");
  assert.equal(lines[0].lane, "canary");
  assert.equal(lines[0].status, 200);
  assert.deepEqual(lines[0].requestHeaders.at(-2), ["x-lane", "canary"]);
  assert.equal(lines[0].localReply, null);
  assert.ok(
    lines[0].logs.some(
      (l: { level: string; msg: string }) => l.level === "debug" && l.msg.includes("lane=canary"),
    ),
  );
  assert.equal(lines[1].lane, "base");
  assert.equal(lines[1].status, 404);
  const metrics = lines[2].summary.metrics;
  assert.equal(
    metrics["lane=.=canary;.;role=.=edge;.;direction=.=gateway;.;source=.=rule;.;meshlane_requests_total"],
    1,
  );
  assert.equal(
    metrics["lane=.=base;.;role=.=edge;.;direction=.=gateway;.;source=.=default;.;meshlane_requests_total"],
    1,
  );
});

test("explain: one VM for the whole scenario, so a sidecar's inbound then outbound restores the lane", () => {
  const sidecar = file("sidecar.json", { role: "sidecar", lanes: ["base", "canary"] });
  const dirProp = (d: number) => ({ path: ["xds", "listener_direction"], int: d });
  const scenario = file("s2.json", {
    requests: [
      {
        name: "in",
        requestHeaders: [
          ["x-lane", "canary"],
          ["x-request-id", "r1"],
        ],
        properties: [dirProp(1)],
      },
      { name: "out", requestHeaders: [["x-request-id", "r1"]], properties: [dirProp(2)] },
      {
        name: "late",
        requestHeaders: [["x-request-id", "r1"]],
        properties: [dirProp(2)],
        advanceSeconds: 120,
      },
    ],
  });
  const r = meshlane(["explain", "--config", sidecar, "--scenario", scenario]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.slice(0, 3).map((l) => l.lane),
    ["canary", "canary", null],
  );
});

test("explain with JWT metadata properties from the contract's example", () => {
  const cfg = file("jwt.json", {
    role: "edge",
    rules: [{ lane: "canary", when: { jwtClaims: { groups: { exact: "beta" } } } }],
  });
  const scenario = file("s3.json", {
    requests: [
      {
        name: "beta-user",
        requestHeaders: [
          [":method", "GET"],
          [":path", "/"],
          [":authority", "shop"],
        ],
        properties: [
          { path: ["xds", "listener_direction"], int: 2 },
          { path: ["source", "address"], string: "203.0.113.7:51000" },
          {
            path: ["metadata", "filter_metadata", "envoy.filters.http.jwt_authn", "payload"],
            json: { sub: "u1", groups: ["beta"] },
          },
        ],
      },
    ],
  });
  const r = meshlane(["explain", "--config", cfg, "--scenario", scenario]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout.split("\n")[0]).lane, "canary");
});

test("explain: a rejected config exits 2 with the filter's reason on stderr", () => {
  const bad = file("bad.json", { role: "edge", rules: [{ lane: "c", percent: 250 }] });
  const scenario = file("s4.json", { requests: [] });
  const r = meshlane(["explain", "--config", bad, "--scenario", scenario]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /rules\[0\]\.percent: expected a number from 0 to 100/);
});

test("explain: a malformed scenario or missing option is a usage error (exit 2)", () => {
  const bad = file("s5.json", { requests: [{ requestHeaders: "nope" }] });
  const r = meshlane(["explain", "--config", edge, "--scenario", bad]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /requests\[0\]\.requestHeaders/);
  assert.equal(meshlane(["explain", "--config", edge]).code, 2);
});

test("validate: exit 0 for a good config, 2 with the field path for a bad one (also from stdin)", () => {
  const ok = meshlane(["validate", edge]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^valid: /);
  const bad = meshlane(["validate", "-"], JSON.stringify({ role: "edge", laneHeader: "bad header" }));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /laneHeader: not a valid header name/);
  const notJson = meshlane(["validate", "-"], "{");
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /configuration: not valid JSON/);
});

test("--help documents every verb and option", () => {
  const top = meshlane(["--help"]);
  assert.equal(top.code, 0);
  for (const verb of ["explain", "validate"]) assert.match(top.stdout, new RegExp(`\\b${verb}\\b`));
  const ex = meshlane(["explain", "--help"]);
  for (const opt of ["--config", "--scenario", "--wasm", "--log-level"])
    assert.ok(ex.stdout.includes(opt), opt);
  assert.ok(meshlane(["validate", "--help"]).stdout.includes("--wasm"));
  const unknown = meshlane(["frobnicate"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown verb/);
});
