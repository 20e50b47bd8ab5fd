// The contracts live in the repository's own docs (docs/contracts.md), and help points there. Users do
// not have the design notes the project was started from, so nothing may cite them; every section help
// names must exist, and every metric, label and annotation the controller uses must be documented.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fromRoot } from "../../controller/src/paths.js";
import { meshlane } from "./run.js";

/** The design notes' name, spelled so that this file does not cite them itself. */
const NOTES = new RegExp(["DES", "IGN"].join(""));
const contracts = readFileSync(fromRoot("docs", "contracts.md"), "utf8");
const headings = new Set(
  contracts
    .split("\n")
    .filter((l) => l.startsWith("#"))
    .map((l) => l.replace(/^#+\s*/, "")),
);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return ["node_modules", "dist", "build", ".git"].includes(e.name) ? [] : walk(p);
    return /\.(ts|js|mjs|json|md|yaml|yml)$/.test(e.name) || e.name === "Dockerfile" ? [p] : [];
  });
}

test("no help text, doc, manifest or source file cites the design notes", async () => {
  const helps = [await meshlane(["--help"])];
  for (const verb of ["explain", "validate", "render", "demo", "controller", "rollout"]) {
    helps.push(await meshlane([verb, "--help"]));
  }
  for (const h of helps) {
    assert.equal(h.code, 0, h.stderr);
    assert.doesNotMatch(h.stdout, NOTES);
  }
  const files = [
    ...["assembly", "bench", "bin", "controller", "docs", "examples", "manifests", "scripts", "test"].flatMap(
      (d) => walk(fromRoot(d)),
    ),
    ...["README.md", "package.json", "Dockerfile"].map((f) => fromRoot(f)),
  ];
  const citing = files.filter((f) => NOTES.test(readFileSync(f, "utf8")));
  assert.deepEqual(citing, [], "cite docs/contracts.md or docs/host.md instead");
});

test("help points to docs/contracts.md, at sections that exist", async () => {
  const top = await meshlane(["--help"]);
  assert.match(top.stdout, /docs\/contracts\.md/);
  for (const verb of ["explain", "validate", "render", "demo", "rollout"]) {
    const help = (await meshlane([verb, "--help"])).stdout;
    const refs = [...help.matchAll(/docs\/contracts\.md, "([^"]+)"/g)].map((m) => m[1]);
    assert.ok(refs.length > 0, `${verb} --help points to the contracts`);
    for (const section of refs) assert.ok(headings.has(section), `${verb}: section "${section}"`);
  }
});

test("the docs' links lead to files that exist", () => {
  for (const doc of readdirSync(fromRoot("docs")).filter((f) => f.endsWith(".md"))) {
    const raw = readFileSync(fromRoot("docs", doc), "utf8");
    // Links outside code: fenced blocks and inline code hold examples, not links.
    const text = raw.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)#]+)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      assert.ok(existsSync(path.resolve(fromRoot("docs"), target)), `${doc}: ${target}`);
    }
    for (const [, anchor] of text.matchAll(/\]\(#([^)]+)\)/g)) {
      const slugs = [...raw.matchAll(/^#+\s*(.+)$/gm)].map((m) =>
        m[1]
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, "")
          .replace(/ /g, "-"),
      );
      assert.ok(slugs.includes(anchor), `${doc}: #${anchor}`);
    }
  }
  assert.ok(existsSync(fromRoot("docs", "host.md")));
});

test("every metric, label, annotation and finalizer name the controller uses is documented", () => {
  const sources = walk(fromRoot("controller", "src")).filter((f) => f.endsWith(".ts"));
  const names = new Set<string>();
  for (const f of sources) {
    const text = readFileSync(f, "utf8");
    for (const [, m] of text.matchAll(/"(meshlane_[a-z_]+)"/g)) names.add(m);
    for (const [, m] of text.matchAll(/"(meshlane\.io\/[a-z-]+)"/g)) names.add(m);
  }
  names.add("meshlane_requests_total");
  names.add("app.kubernetes.io/managed-by");
  assert.ok(names.size > 10, [...names].join(", "));
  const missing = [...names].filter((n) => !contracts.includes(`\`${n}`));
  assert.deepEqual(missing, [], "documented in docs/contracts.md");
});
