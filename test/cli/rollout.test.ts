// `meshlane rollout` as a process against the test API server: the status view of a Lane whose
// status.rollout was written through the API (text and -o json), --watch printing again on each change
// and ending at a terminal phase, each command writing the annotation (and only when it makes sense),
// not found, no spec.rollout, no cluster, and output into a pipe.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { FakeApiServer } from "../apiserver/index.js";
import { laneApi, laneObject, seedNamespace, type Json } from "../controller/helpers.js";
import { fromRoot } from "../../controller/src/paths.js";
import { KubeClient, RESOURCES } from "../../controller/src/reconcile/kube.js";
import { rollout as validateRollout } from "../../controller/src/render/rollout.js";
import { meshlane, PIPE_BUFFER } from "./run.js";

const NS = "shop";
const ANNOTATION = "meshlane.io/rollout-command";
const LANE = RESOURCES["meshlane.io|Lane"];

const ROLLOUT = {
  stickyBy: { cookie: "user" },
  steps: [{ percent: 1, pause: "5m" }, { percent: 10 }, { percent: 50, pause: "10m" }, { percent: 100 }],
  analysis: {
    interval: "30s",
    failureLimit: 2,
    metrics: [
      { name: "request-success-rate", thresholdRange: { min: 99 } },
      { name: "request-duration", thresholdRange: { max: 500 }, maxIncreaseOverBase: 50 },
    ],
  },
};

let server: FakeApiServer;
let kubeconfig: string;
let client: KubeClient;

before(async () => {
  server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  seedNamespace(server, NS);
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-rollout-"));
  kubeconfig = path.join(dir, "kubeconfig");
  // The context's namespace is the default of -n.
  writeFileSync(kubeconfig, server.kubeConfig(NS).exportConfig());
  client = new KubeClient(server.kubeConfig(NS));
});

after(async () => {
  client.close();
  await server.stop();
});

/** A Lane with spec.rollout (through the API, as kubectl would) and, when given, its status.rollout. */
async function lane(name: string, rollout: Json = ROLLOUT, status?: Json): Promise<void> {
  await laneApi(server).create(laneObject(NS, name, rollout === undefined ? {} : { rollout }));
  if (status !== undefined) await setStatus(name, status);
}

/** Writes status.rollout through the /status subresource, as the controller does. */
async function setStatus(name: string, rollout: Json): Promise<void> {
  await client.patch(LANE, NS, name, "merge", { status: { rollout } }, { subresource: "status" });
}

function annotationOf(name: string): string | undefined {
  return (server.getObject("lanes", NS, name) as Json).metadata.annotations?.[ANNOTATION];
}

function rollout(args: string[]) {
  return meshlane(["rollout", ...args, "--kubeconfig", kubeconfig]);
}

const PROGRESSING = {
  phase: "Progressing",
  step: 2,
  percent: 50,
  message: "step 3/4: 50% of users for 10m",
  stepStartedAt: "2026-01-01T00:00:00Z",
  failures: 1,
  lastRound: "fail",
  checks: [
    {
      metric: "request-success-rate",
      verdict: "pass",
      value: 99.5,
      requests: 1200,
      at: "2026-01-01T00:01:00Z",
    },
    {
      metric: "request-duration",
      service: "checkout",
      verdict: "fail",
      value: 612.25,
      requests: 300,
      at: "2026-01-01T00:01:00Z",
    },
    {
      metric: "request-success-rate",
      service: "payments",
      verdict: "none",
      requests: 3,
      reason: "3 requests, fewer than minRequests 10",
      at: "2026-01-01T00:01:00Z",
    },
  ],
};

test("rollout --help is its own, and the top help lists the verb", async () => {
  const h = await meshlane(["rollout", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^Usage: meshlane rollout status <lane>/);
  for (const word of [
    "--watch",
    "--namespace",
    "--output",
    "pause",
    "resume",
    "promote",
    "abort",
    "retry",
    ANNOTATION,
  ])
    assert.ok(h.stdout.includes(word), word);
  const sub = await meshlane(["rollout", "status", "--help"]);
  assert.equal(sub.stdout, h.stdout);
  const top = await meshlane(["--help"]);
  assert.match(top.stdout, /^ {2}rollout\s+show a Lane's rollout/m);
});

test("status shows phase, step i/n, percent, the steps and every check against its threshold", async () => {
  await lane("checkout", ROLLOUT, PROGRESSING);
  const r = await rollout(["status", "checkout", "-n", NS]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  const out = r.stdout;
  assert.match(out, /^Lane:\s+shop\/checkout$/m);
  assert.match(out, /^Phase:\s+Progressing$/m);
  assert.match(out, /^Step:\s+3\/4$/m);
  assert.match(out, /^Percent:\s+50% of users/m);
  assert.match(
    out,
    /^Next:\s+step 4 at the next passing round \(pause over; rolls back 10m after it without one\)$/m,
  );
  assert.match(out, /^Message:\s+step 3\/4: 50% of users for 10m$/m);
  assert.match(out, /^Sticky by:\s+cookie "user"$/m);
  assert.match(out, /^ {2}>\s+3\s+50%\s+10m\s+current$/m);
  assert.match(out, /^ {2}\s+1\s+1%\s+5m\s+done$/m);
  assert.match(out, /^ {2}\s+2\s+10%\s+until resume\s+done$/m);
  assert.match(out, /failed rounds in a row: 1\/2/);
  // The lane as a whole ("lane") first, then each Service; value, threshold, requests.
  const checks = out.slice(out.indexOf("Checks:")).split("\n").slice(1, 5);
  assert.match(checks[0], /METRIC\s+SERVICE\s+VERDICT\s+VALUE\s+THRESHOLD\s+REQUESTS/);
  assert.match(checks[1], /request-success-rate\s+lane\s+pass\s+99\.5\s+>= 99\s+1200\s+\S+ ago/);
  assert.match(checks[2], /request-duration\s+checkout\s+fail\s+612\.25\s+<= 500, <= base\+50\s+300/);
  assert.match(
    checks[3],
    /request-success-rate\s+payments\s+none\s+-\s+>= 99\s+3\s+.*fewer than minRequests 10$/,
  );
});

test("status -o json prints status.rollout as one JSON line; the context's namespace is the default", async () => {
  const r = await rollout(["status", "checkout", "-o", "json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split("\n").length, 2, "one line");
  const stored = (server.getObject("lanes", NS, "checkout") as Json).status.rollout;
  assert.deepEqual(JSON.parse(r.stdout), stored);
  assert.equal(JSON.parse(r.stdout).phase, "Progressing");
});

test("status of a rollout the controller has not started: Pending", async () => {
  await lane("fresh");
  const text = await rollout(["status", "fresh"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Phase:\s+Pending \(the controller has not started it yet\)$/m);
  assert.match(text.stdout, /^Checks: none yet$/m);
  const json = await rollout(["status", "fresh", "-o", "json"]);
  assert.equal(JSON.parse(json.stdout).phase, "Pending");
});

test("a Lane without spec.rollout, or no Lane at all: a sentence and exit 1", async () => {
  await laneApi(server).create(laneObject(NS, "plain"));
  for (const args of [
    ["status", "plain"],
    ["status", "plain", "-o", "json"],
    ["pause", "plain"],
  ]) {
    const r = await rollout(args);
    assert.equal(r.code, 1, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^meshlane rollout \w+: Lane shop\/plain has no spec\.rollout: .*\n$/);
  }
  for (const args of [
    ["status", "nope"],
    ["abort", "nope", "-n", "elsewhere"],
  ]) {
    const r = await rollout(args);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^meshlane rollout \w+: no Lane "nope" in namespace "(shop|elsewhere)"/);
    assert.equal(r.stderr.split("\n").length, 2, "one line");
  }
});

test("no cluster configured: exit 2 with one line", async () => {
  const home = mkdtempSync(path.join(tmpdir(), "meshlane-nohome-"));
  const env = { PATH: process.env.PATH, HOME: home };
  const r = await meshlane(["rollout", "status", "checkout"], { env });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^meshlane rollout: no cluster configured: pass --kubeconfig/);
  assert.equal(r.stderr.split("\n").filter((l) => l !== "").length, 2, "the line and the help hint");
  const unreachable = await meshlane(["rollout", "status", "x", "--kubeconfig", path.join(home, "missing")], {
    env,
  });
  assert.equal(unreachable.code, 2);
  assert.match(unreachable.stderr, /--kubeconfig .*missing: no such file or directory/);
});

test("usage errors: exit 2", async () => {
  for (const [args, what] of [
    [["status"], /which Lane/],
    [["frobnicate", "x"], /unknown command "frobnicate"/],
    [["pause", "x", "--watch"], /--watch is an option of status only/],
    [["status", "x", "-o", "yaml"], /--output must be text or json/],
    [[], /which command/],
  ] as const) {
    const r = await rollout([...args]);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, what);
  }
});

test("each command sets the annotation when it makes sense in the phase, and says what it asked", async () => {
  const cases: [string, Json, string, RegExp][] = [
    ["pause", { phase: "Progressing", step: 0, percent: 1 }, "p-pause", /hold step 1\/4 \(1%\) until resume/],
    [
      "resume",
      { phase: "Paused", pausedBy: "step", step: 1, percent: 10 },
      "p-resume",
      /go on to step 3\/4 \(50%\)/,
    ],
    [
      "promote",
      { phase: "Paused", pausedBy: "user", step: 0, percent: 1 },
      "p-promote",
      /skip to the last step/,
    ],
    ["abort", { phase: "Progressing", step: 2, percent: 50 }, "p-abort", /share 0% at once/],
    ["retry", { phase: "RolledBack", step: 2, percent: 0 }, "p-retry", /start again from step 1\/4/],
  ];
  for (const [verb, status, name, effect] of cases) {
    await lane(name, ROLLOUT, { message: "", checks: [], failures: 0, ...status });
    const r = await rollout([verb, name]);
    assert.equal(r.code, 0, `${verb}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^shop/${name}: asked to ${verb}: `));
    assert.match(r.stdout, effect);
    assert.equal(annotationOf(name), verb);
    // A merge patch of the Lane itself, not its status.
    const write = server.requests.filter((q) => q.verb === "patch" && q.name === name).at(-1);
    assert.equal(write?.contentType, "application/merge-patch+json");
    assert.equal(write?.subresource, "");
    // The status view says a command waits for the controller.
    const s = await rollout(["status", name]);
    assert.match(
      s.stdout,
      new RegExp(`^Command:\\s+${verb} \\(asked; the controller has not taken it yet\\)$`, "m"),
    );
  }
});

test("commands that make no sense in the phase are refused with a sentence; nothing is written", async () => {
  const cases: [string, Json, RegExp][] = [
    [
      "retry",
      { phase: "Progressing", step: 0, percent: 1 },
      /retry restarts a rolled-back or aborted rollout/,
    ],
    ["resume", { phase: "Progressing", step: 0, percent: 1 }, /not paused \(phase Progressing/],
    ["pause", { phase: "Paused", pausedBy: "user", step: 0, percent: 1 }, /already paused/],
    ["pause", { phase: "Succeeded", step: 3, percent: 100 }, /over \(phase Succeeded\)/],
    [
      "abort",
      { phase: "Aborted", step: 1, percent: 0 },
      /over \(phase Aborted, share 0%\): `retry` starts it again/,
    ],
    [
      "promote",
      { phase: "Progressing", step: 3, percent: 100, promotion: { state: "Copying" } },
      /only abort stops it/,
    ],
  ];
  let i = 0;
  for (const [verb, status, why] of cases) {
    const name = `refuse-${i++}`;
    await lane(name, ROLLOUT, { message: "", checks: [], failures: 0, ...status });
    const writes = server.writes();
    const r = await rollout([verb, name]);
    assert.equal(r.code, 1, `${verb} in ${status.phase}`);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, new RegExp(`^meshlane rollout ${verb}: shop/${name}: `));
    assert.match(r.stderr, why);
    assert.equal(annotationOf(name), undefined);
    assert.equal(server.writes(), writes, "nothing written");
  }
  // Before the controller started it, only abort.
  await lane("not-started");
  const early = await rollout(["promote", "not-started"]);
  assert.equal(early.code, 1);
  assert.match(early.stderr, /has not started yet/);
  assert.equal((await rollout(["abort", "not-started"])).code, 0);
});

test("a command waiting for the controller: the same again writes nothing, another is refused, abort replaces it", async () => {
  await lane("waiting", ROLLOUT, {
    phase: "Progressing",
    step: 0,
    percent: 1,
    message: "",
    checks: [],
    failures: 0,
  });
  assert.equal((await rollout(["pause", "waiting"])).code, 0);
  const writes = server.writes();
  const again = await rollout(["pause", "waiting"]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already asked and waits for the controller; nothing written/);
  assert.equal(server.writes(), writes);
  const other = await rollout(["promote", "waiting"]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /the command "pause" given earlier has not been taken by the controller yet/);
  assert.equal(annotationOf("waiting"), "pause");
  const abort = await rollout(["abort", "waiting"]);
  assert.equal(abort.code, 0, abort.stderr);
  assert.match(abort.stdout, /replacing the waiting "pause"/);
  assert.equal(annotationOf("waiting"), "abort");
});

/** `meshlane rollout status --watch` as a child whose stdout lines are read as they come. */
function watch(name: string, extra: string[] = []) {
  const child = spawn(
    process.execPath,
    [
      fromRoot("bin", "meshlane.js"),
      "rollout",
      "status",
      name,
      "--watch",
      "--kubeconfig",
      kubeconfig,
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  const waiters: (() => void)[] = [];
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on("data", (c: Buffer) => (err += c.toString()));
  const exit = new Promise<{ code: number | null }>((resolve) =>
    child.on("close", (code) => resolve({ code })),
  );
  return {
    child,
    exit,
    get stdout() {
      return out;
    },
    get stderr() {
      return err;
    },
    /** Resolves once stdout satisfies `ok`. */
    async until(ok: (out: string) => boolean): Promise<void> {
      while (!ok(out)) {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${err}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

test("--watch -o json prints a line per change and ends with exit 0 at Succeeded", async () => {
  const base = { message: "", checks: [], failures: 0 };
  await lane("watched", ROLLOUT, { ...base, phase: "Progressing", step: 0, percent: 1 });
  const w = watch("watched", ["-o", "json"]);
  await w.until((o) => lines(o).length === 1);
  assert.equal(JSON.parse(lines(w.stdout)[0]).percent, 1);
  // An unrelated change of the Lane (its other status) prints nothing; the next change of the rollout does.
  await client.patch(
    LANE,
    NS,
    "watched",
    "merge",
    { status: { serviceCount: 3 } },
    { subresource: "status" },
  );
  await setStatus("watched", { ...base, phase: "Paused", pausedBy: "step", step: 1, percent: 10 });
  await w.until((o) => lines(o).length === 2);
  assert.deepEqual(
    lines(w.stdout).map((l) => (JSON.parse(l) as Json).phase),
    ["Progressing", "Paused"],
  );
  await setStatus("watched", { ...base, phase: "Succeeded", step: 3, percent: 100 });
  assert.equal((await w.exit).code, 0, w.stderr);
  assert.deepEqual(
    lines(w.stdout).map((l) => (JSON.parse(l) as Json).phase),
    ["Progressing", "Paused", "Succeeded"],
  );
});

test("--watch (text, into a pipe) prints a block per change and ends with exit 1 at RolledBack", async () => {
  const base = { message: "", checks: [], failures: 0 };
  await lane("doomed", ROLLOUT, { ...base, phase: "Progressing", step: 2, percent: 50 });
  const w = watch("doomed");
  await w.until((o) => /^Phase:\s+Progressing$/m.test(o));
  await setStatus("doomed", {
    ...base,
    phase: "RolledBack",
    step: 2,
    percent: 0,
    failures: 2,
    message: "rolled back at step 3: 2 consecutive failed checks (failureLimit 2); share 0%",
  });
  assert.equal((await w.exit).code, 1);
  const blocks = w.stdout.split(/\n\n(?=Lane:)/);
  assert.equal(blocks.length, 2, w.stdout);
  assert.match(blocks[1], /^Phase:\s+RolledBack$/m);
  assert.match(blocks[1], /^Percent:\s+0% of users/m);
  assert.ok(!w.stdout.includes("\u001b"), "no terminal control codes in a pipe");
});

test("--watch ends at once on a finished rollout, on the Lane's deletion, and with 130 on Ctrl-C", async () => {
  const base = { message: "", checks: [], failures: 0 };
  await lane("finished", ROLLOUT, { ...base, phase: "Aborted", step: 0, percent: 0 });
  const done = watch("finished", ["-o", "json"]);
  assert.equal((await done.exit).code, 1);
  assert.equal(lines(done.stdout).length, 1);

  await lane("deleted", ROLLOUT, { ...base, phase: "Progressing", step: 0, percent: 1 });
  const gone = watch("deleted", ["-o", "json"]);
  await gone.until((o) => lines(o).length === 1);
  await laneApi(server).delete(NS, "deleted");
  assert.equal((await gone.exit).code, 1);
  assert.match(gone.stderr, /Lane shop\/deleted was deleted/);

  await lane("interrupted", ROLLOUT, { ...base, phase: "Progressing", step: 0, percent: 1 });
  const ctrlC = watch("interrupted");
  // The CLI takes Ctrl-C in hand before its first view is out (in the same turn as the write).
  await ctrlC.until((o) => o.includes("Checks:"));
  ctrlC.child.kill("SIGINT");
  assert.equal((await ctrlC.exit).code, 130);
});

test("status output larger than a pipe's buffer arrives whole", async () => {
  const checks = Array.from({ length: 800 }, (_, i) => ({
    metric: "request-success-rate",
    service: `service-${String(i).padStart(4, "0")}`,
    verdict: "none",
    requests: i,
    reason: `no verdict: the metrics source answered nothing for this service (${i})`,
    at: "2026-01-01T00:01:00Z",
  }));
  await lane("big", ROLLOUT, { phase: "Progressing", step: 0, percent: 1, message: "", failures: 0, checks });
  const r = await rollout(["status", "big"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.length > PIPE_BUFFER, `${r.stdout.length} bytes`);
  assert.ok(r.stdout.endsWith("(799)\n"));
  assert.equal(r.stdout.match(/^ {2}request-success-rate\s+service-/gm)?.length, 800);
});

test("docs/rollouts.md: its Lanes pass the CRD schema and the rollout's validation, and status reads them", async () => {
  const doc = readFileSync(fromRoot("docs", "rollouts.md"), "utf8");
  const lanes = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => parseYaml(m[1]) as Json)
    .filter((o) => o?.kind === "Lane");
  assert.equal(lanes.length, 2, "phase one and phase two");
  seedNamespace(server, "docs");
  const [testers, released] = lanes;
  assert.equal(testers.spec.rollout, undefined);
  for (const l of [testers, released]) {
    await laneApi(server).create({
      ...l,
      metadata: { ...l.metadata, namespace: "docs", name: `doc-${lanes.indexOf(l)}` },
    });
  }
  assert.doesNotThrow(() => validateRollout(released.spec.rollout, "spec.rollout"));
  const none = await rollout(["status", "doc-0", "-n", "docs"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /has no spec\.rollout/);
  const r = await rollout(["status", "doc-1", "-n", "docs"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Sticky by:\s+cookie "session"$/m);
  assert.match(r.stdout, /^ {2}\s+3\s+25%\s+until resume/m);
});

test("the API server refusing, failing or gone: a sentence; a conflict is decided again", async () => {
  await lane("faults", ROLLOUT, {
    phase: "Progressing",
    step: 0,
    percent: 1,
    message: "",
    checks: [],
    failures: 0,
  });
  const forbidden = server.injectFailures({
    verb: "get",
    resource: "lanes",
    status: 403,
    message: "no lanes for you",
  });
  const f = await rollout(["status", "faults"]);
  assert.equal(f.code, 1);
  assert.match(
    f.stderr,
    /^meshlane rollout status: the API server at http:\/\/\S+ \(from \S+\) answered 403: no lanes for you\n$/,
  );
  assert.equal(forbidden.remaining, 0);
  server.injectFailures({ verb: "get", resource: "lanes", status: 401 });
  const u = await rollout(["status", "faults"]);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /refused the credentials \(401 Unauthorized\)/);
  // Someone else wrote the Lane between the read and the patch: read again, decide again, write.
  const conflict = server.injectFailures({ verb: "patch", resource: "lanes", status: 409, count: 1 });
  const p = await rollout(["pause", "faults"]);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(conflict.hits, 1);
  assert.equal(annotationOf("faults"), "pause");

  const gone = await FakeApiServer.start();
  const dir = mkdtempSync(path.join(tmpdir(), "meshlane-gone-"));
  const kc = path.join(dir, "kubeconfig");
  writeFileSync(kc, gone.kubeConfig(NS).exportConfig());
  await gone.stop();
  const r = await meshlane(["rollout", "abort", "faults", "--kubeconfig", kc]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /^meshlane rollout abort: cannot reach the API server at http:\/\/127\.0\.0\.1:\d+ \(from .*\): ECONNREFUSED\n$/,
  );
});
