// The README's install path, followed the way a new user would: its commands run in order against a
// model of a cluster and an image store that refuses what kubectl, the API server and the kubelet
// refuse (a namespace labelled before it exists, an object in a namespace nobody created, a Lane before
// its CRD, a Deployment whose image no command built). Also: the Dockerfile builds what the manifests
// run, and the Deployment's arguments are flags the controller accepts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { parse, parseAllDocuments } from "yaml";
import { fromRoot } from "../../controller/src/paths.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;

/** The shell commands of a README section, in order: code blocks, then `kubectl …` spans of the prose. */
export function sectionCommands(readme: string, heading: string): { blocks: string[][]; prose: string[] } {
  const start = readme.indexOf(`## ${heading}`);
  assert.ok(start >= 0, `README has a "${heading}" section`);
  const rest = readme.slice(start + 3);
  const section = rest.slice(0, rest.search(/\n## /) === -1 ? undefined : rest.search(/\n## /));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1].split("\n"));
  const prose = section.replace(/```sh\n[\s\S]*?```/g, "");
  return { blocks, prose: [...prose.matchAll(/`(kubectl [^`]+)`/g)].map((m) => m[1]) };
}

/** A cluster and an image store, as far as the install commands touch them. */
class Cluster {
  namespaces = new Set(["default", "kube-system", "istio-system"]);
  crds = new Set<string>();
  objects = new Map<string, Obj>();
  built = new Set<string>();
  available = new Set<string>(); // loaded into the cluster's nodes or pushed to a registry
  files = new Map<string, string>(); // files the commands wrote (heredocs)
  problems: string[] = [];

  constructor(readonly root: string) {}

  private read(p: string): string {
    return this.files.get(path.normalize(p)) ?? readFileSync(path.join(this.root, p), "utf8");
  }
  private exists(p: string): boolean {
    return this.files.has(path.normalize(p)) || existsSync(path.join(this.root, p));
  }

  /** Objects of a kustomization directory (resources in order, bases recursively, images applied). */
  kustomize(dir: string): Obj[] {
    const k = parse(this.read(path.join(dir, "kustomization.yaml")));
    const out: Obj[] = [];
    for (const r of k.resources ?? []) {
      const p = path.join(dir, r);
      if (this.exists(path.join(p, "kustomization.yaml"))) out.push(...this.kustomize(p));
      else if (this.exists(p)) out.push(...this.docs(p));
      else this.problems.push(`${dir}/kustomization.yaml: resource ${r} does not exist`);
    }
    for (const img of k.images ?? []) {
      for (const o of out) {
        for (const c of o.spec?.template?.spec?.containers ?? []) {
          const [name, tag] = splitImage(c.image);
          if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag ?? "latest"}`;
        }
      }
    }
    return out;
  }

  private docs(file: string): Obj[] {
    return parseAllDocuments(this.read(file))
      .map((d) => d.toJS())
      .filter((o) => o);
  }

  private yamlFiles(p: string): string[] {
    if (!statSync(path.join(this.root, p)).isDirectory()) return [p];
    return readdirSync(path.join(this.root, p))
      .sort()
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => path.join(p, f));
  }

  /** kubectl apply: namespaces and CRDs of the batch first (as kustomize orders them), then the rest in order. */
  apply(objs: Obj[], kustomized: boolean): void {
    const first = (o: Obj) => o.kind === "Namespace" || o.kind === "CustomResourceDefinition";
    const ordered = kustomized ? [...objs.filter(first), ...objs.filter((o) => !first(o))] : objs;
    for (const o of ordered) {
      const what = `${o.kind} ${o.metadata?.namespace ?? ""}/${o.metadata?.name}`;
      if (o.kind === "Namespace") this.namespaces.add(o.metadata.name);
      else if (o.kind === "CustomResourceDefinition") this.crds.add(o.metadata.name);
      const group = String(o.apiVersion).includes("/") ? String(o.apiVersion).split("/")[0] : "";
      if (group === "meshlane.io" && !this.crds.has("lanes.meshlane.io"))
        this.problems.push(`${what}: the Lane CRD is not installed yet`);
      const ns = o.metadata?.namespace;
      if (ns && !this.namespaces.has(ns)) this.problems.push(`${what}: namespace ${ns} does not exist`);
      // meshlane's own images (the example app's come from a public registry).
      const ours = o.metadata?.labels?.["app.kubernetes.io/part-of"] === "meshlane";
      for (const c of ours ? (o.spec?.template?.spec?.containers ?? []) : []) {
        if (!this.available.has(c.image))
          this.problems.push(`${what}: image ${c.image} was not built and made available by any command`);
      }
      this.objects.set(what, o);
    }
  }

  run(line: string): void {
    const words = line.trim().split(/\s+/);
    const arg = (flag: string) => words[words.indexOf(flag) + 1];
    const cmd = words.slice(0, 3).join(" ");
    if (words[0] === "docker" && words[1] === "build") {
      assert.ok(existsSync(path.join(this.root, words.at(-1) ?? "", "Dockerfile")), "a Dockerfile to build");
      this.built.add(arg("-t"));
    } else if (words[0] === "docker" && words[1] === "push") {
      if (!this.built.has(words[2])) this.problems.push(`docker push ${words[2]}: not built`);
      this.available.add(words[2]);
    } else if (cmd === "kind load docker-image" || (words[0] === "minikube" && words[2] === "load")) {
      if (!this.built.has(words.at(-1) ?? "")) this.problems.push(`${line}: image not built`);
      this.available.add(words.at(-1) ?? "");
    } else if (cmd.startsWith("kubectl apply -k")) {
      this.apply(this.kustomize(words[3]), true);
    } else if (cmd.startsWith("kubectl apply -f")) {
      this.apply(
        this.yamlFiles(words[3]).flatMap((f) => this.docs(f)),
        false,
      );
    } else if (cmd === "kubectl create namespace") {
      this.namespaces.add(words[3]);
    } else if (cmd === "kubectl label namespace") {
      if (!this.namespaces.has(words[3])) this.problems.push(`${line}: namespace ${words[3]} does not exist`);
    } else if (words[0] === "kubectl" && words[1] === "wait") {
      const crd = words.find((w) => w.startsWith("crd/"))?.slice(4) ?? "";
      if (!this.crds.has(crd)) this.problems.push(`${line}: no CRD ${crd}`);
    } else if (words[0] === "kubectl" && words.includes("rollout")) {
      const name = words.find((w) => w.startsWith("deploy/"))?.slice(7);
      if (![...this.objects.values()].some((o) => o.kind === "Deployment" && o.metadata.name === name))
        this.problems.push(`${line}: no Deployment ${name}`);
    } else if (words[0] === "kubectl" && words[1] === "get") {
      if (words[2] === "lanes" && !this.crds.has("lanes.meshlane.io"))
        this.problems.push(`${line}: no Lane CRD`);
      const ns = arg("-n");
      if (words.includes("-n") && !this.namespaces.has(ns)) this.problems.push(`${line}: no namespace ${ns}`);
    } else if (words[0] === "mkdir" || words[0] === "npx") {
      // nothing the cluster sees
    } else {
      this.problems.push(`unknown command in the install path: ${line}`);
    }
  }

  /** Runs a block: comments dropped, `a && b` split, `cat > f <<'X' … X` heredocs written to `files`. */
  runBlock(lines: string[]): void {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/\s+#.*$/, "").replace(/^#.*$/, "");
      if (!line.trim()) continue;
      for (const part of line.split("&&").map((p) => p.trim())) {
        const heredoc = part.match(/^cat > (\S+) <<'?(\w+)'?$/);
        if (heredoc) {
          const end = lines.indexOf(heredoc[2], i + 1);
          this.files.set(path.normalize(heredoc[1]), lines.slice(i + 1, end).join("\n") + "\n");
          i = end;
        } else this.run(part);
      }
    }
  }
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(":");
  return at > image.lastIndexOf("/") ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

function followReadme(readme: string): Cluster {
  const { blocks, prose } = sectionCommands(readme, "Install into a cluster");
  const cluster = new Cluster(fromRoot());
  for (const b of blocks) cluster.runBlock(b);
  for (const c of prose) cluster.run(c);
  return cluster;
}

test("the README's install commands work in order: image, manifests, example, own namespaces", () => {
  const cluster = followReadme(readFileSync(fromRoot("README.md"), "utf8"));
  assert.deepEqual(cluster.problems, []);
  // It got somewhere: the controller with a built image, the Lane CRD, the example's Lane.
  const deployments = [...cluster.objects.values()].filter(
    (o) => o.kind === "Deployment" && o.metadata.labels?.["app.kubernetes.io/part-of"] === "meshlane",
  );
  assert.ok(deployments.some((d) => d.metadata.name === "meshlane-controller"));
  assert.ok(cluster.crds.has("lanes.meshlane.io"));
  assert.ok(cluster.objects.has("Lane e2e/canary"));
  // Both ways to get the image are there: built locally and loaded, and pushed to a registry.
  assert.ok(deployments.every((d) => cluster.available.has(d.spec.template.spec.containers[0].image)));
  assert.ok(
    deployments.some((d) => d.spec.template.spec.containers[0].image.startsWith("registry.example.com/")),
  );
});

test("the model refuses what the old README did: a label before the namespace, an image nobody builds", () => {
  const old = [
    "## Install into a cluster",
    "",
    "```sh",
    "kubectl apply -k manifests/",
    "kubectl label namespace e2e meshlane.io/enabled=true",
    "kubectl apply -f manifests/examples/seed-003/",
    "```",
    "",
  ].join("\n");
  const problems = followReadme(old).problems.join("\n");
  assert.match(problems, /kubectl label namespace e2e .*: namespace e2e does not exist/);
  assert.match(problems, /image meshlane:dev was not built/);
});

test("kubectl apply -k manifests/ alone: every object's namespace is created by it (or is Istio's)", () => {
  const cluster = new Cluster(fromRoot());
  cluster.available.add("meshlane:dev");
  cluster.runBlock(["kubectl apply -k manifests/"]);
  assert.deepEqual(cluster.problems, []);
  const images = [...cluster.objects.values()]
    .filter((o) => o.kind === "Deployment")
    .map((o) => o.spec.template.spec.containers[0].image);
  assert.deepEqual(images, ["meshlane:dev"]);
});

test("the Dockerfile builds what the image needs, from files the build produces", () => {
  const df = readFileSync(fromRoot("Dockerfile"), "utf8");
  const scripts = JSON.parse(readFileSync(fromRoot("package.json"), "utf8")).scripts as Record<
    string,
    string
  >;
  for (const m of df.matchAll(/npm run ([\w:]+)/g)) assert.ok(scripts[m[1]], `npm script ${m[1]} exists`);
  assert.match(df, /^FROM node:(\d+)/m);
  assert.ok(Number(df.match(/^FROM node:(\d+)/m)?.[1]) >= 20, "node >= 20, as package.json's engines");
  // Everything the runtime stage copies exists after `npm run build` (which the test run did).
  for (const m of df.matchAll(/^COPY --from=build \/src\/(\S+)/gm)) {
    assert.ok(existsSync(fromRoot(m[1])), `${m[1]} exists after a build`);
  }
  assert.match(df, /COPY --from=build \/src\/build\/meshlane\.wasm/);
  assert.match(df, /ENTRYPOINT \["node", "\/app\/bin\/meshlane\.js"\]/);
  const ignore = readFileSync(fromRoot(".dockerignore"), "utf8").split("\n");
  for (const p of ["node_modules", "dist", "build"]) assert.ok(ignore.includes(p), `.dockerignore has ${p}`);
});

test("the Deployment runs `meshlane controller` with flags the controller accepts", () => {
  const dep = parseAllDocuments(readFileSync(fromRoot("manifests", "deployment.yaml"), "utf8"))
    .map((d) => d.toJS())
    .find((o) => o?.kind === "Deployment");
  const args: string[] = dep.spec.template.spec.containers[0].args;
  assert.equal(args[0], "controller");
  const help = spawnSync(process.execPath, [fromRoot("bin", "meshlane.js"), "controller", "--help"], {
    encoding: "utf8",
  });
  assert.equal(help.status, 0, help.stderr);
  for (const a of args.slice(1)) {
    const flag = a.split("=")[0];
    assert.ok(help.stdout.includes(flag), `controller --help knows ${flag}`);
  }
});
