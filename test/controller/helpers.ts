// Shared set-up for the controller suites: a fake API server, the seed 003 example loaded into it, and
// a controller started in-process with fast settings (short resync, quick backoff), talking to the
// server over real HTTP.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { defaultWasmPath, fromRoot } from "../../controller/src/paths.js";
import { optionsFromConfig, type KubeObject } from "../../controller/src/render/index.js";
import { LaneController, type LaneControllerOptions } from "../../controller/src/reconcile/controller.js";
import { createLogger, type Logger } from "../../controller/src/reconcile/log.js";
import { loadWasm, type WasmModule } from "../../controller/src/reconcile/wasm.js";
import { FakeApiServer } from "../apiserver/index.js";
import { eventually } from "../apiserver/testutil.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Json = any;

export const ENABLED = { "meshlane.io/enabled": "true" };

let wasmPromise: Promise<WasmModule> | undefined;
export function wasm(): Promise<WasmModule> {
  wasmPromise ??= loadWasm(defaultWasmPath);
  return wasmPromise;
}

export function yamlDocs(file: string): Json[] {
  return parseAllDocuments(readFileSync(file, "utf8"))
    .map((d) => d.toJS())
    .filter((v) => v !== null && v !== undefined);
}

/** The seed 003 example's objects, in file order (app.yaml, istio.yaml, lane.yaml). */
export function seed003(): { app: Json[]; istio: Json[]; lane: Json } {
  const dir = fromRoot("manifests", "examples", "seed-003");
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
  const read = (f: string) => (files.includes(f) ? yamlDocs(path.join(dir, f)) : []);
  return { app: read("app.yaml"), istio: read("istio.yaml"), lane: read("lane.yaml")[0] };
}

/** Seeds a namespace (with the enabled label unless told otherwise). */
export function seedNamespace(server: FakeApiServer, name: string, labels: Record<string, string> = ENABLED) {
  server.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });
}

/** Seeds objects as a user's kubectl would have created them (Namespaces get the enabled label). */
export function seedAll(server: FakeApiServer, objects: Json[]): void {
  for (const o of objects) {
    const copy = JSON.parse(JSON.stringify(o)) as Json;
    if (copy.kind === "Namespace") copy.metadata.labels = { ...copy.metadata.labels, ...ENABLED };
    server.seed(copy);
  }
}

export interface Captured {
  logger: Logger;
  lines: Json[];
}

/** A logger that keeps its records (JSON) for assertions; set MESHLANE_TEST_LOGS=1 to also print them. */
export function captureLogs(level: "debug" | "info" = "info"): Captured {
  const lines: Json[] = [];
  const print = process.env.MESHLANE_TEST_LOGS === "1";
  const logger = createLogger({
    level,
    sink: (line) => {
      lines.push(JSON.parse(line));
      if (print) process.stderr.write(line + "\n");
    },
  });
  return { logger, lines };
}

/**
 * The namespaces a cluster has before meshlane runs: Istio's (istio-system, where the filter's objects
 * go) and meshlane's own (meshlane-system, the Lease's), as `kubectl apply -k manifests/` makes it.
 */
export function seedInstall(server: FakeApiServer): void {
  for (const name of ["istio-system", "meshlane-system"]) {
    if (!server.getObject("namespaces", "", name)) seedNamespace(server, name, {});
  }
}

/** Starts a controller on a cluster with Istio and meshlane installed (seedInstall). */
export async function startController(
  server: FakeApiServer,
  extra: Partial<LaneControllerOptions> = {},
): Promise<LaneController> {
  const c = await newController(server, extra);
  await c.start();
  return c;
}

/** A controller with the tests' settings on a cluster with Istio and meshlane installed, not started. */
export async function newController(
  server: FakeApiServer,
  extra: Partial<LaneControllerOptions> = {},
): Promise<LaneController> {
  seedInstall(server);
  const module = await wasm();
  return new LaneController({
    kc: server.kubeConfig(),
    render: optionsFromConfig({}, module.sha256),
    wasm: module,
    identity: "test",
    leaderElection: false,
    resyncMs: 0,
    ops: false,
    informer: { backoff: { base: 50, max: 1000 }, watchTimeoutSeconds: 60 },
    retry: { retries: 6, base: 20, max: 500 },
    queue: { baseDelayMs: 50, maxDelayMs: 2000 },
    logger: process.env.MESHLANE_TEST_LOGS === "1" ? createLogger({ level: "debug" }) : undefined,
    ...extra,
  });
}

/**
 * Waits until the controller has seen everything the server holds now (each informer at or past the
 * server's current resourceVersion; bookmarks move idle ones along) and has nothing left to do.
 * Generous timeout: test machines are loaded.
 */
export async function settle(
  c: LaneController,
  server: FakeApiServer,
  what = "the controller to converge",
  timeoutMs = 60_000,
) {
  const target = BigInt(server.resourceVersion);
  await eventually(
    () =>
      c.state.informers.every((i) => i.resourceVersion !== "" && BigInt(i.resourceVersion) >= target) &&
      c.settled(),
    what,
    timeoutMs,
    25,
  );
}

/** Objects of a resource in a namespace, by name. */
export function byName(server: FakeApiServer, resource: string, namespace: string): Map<string, Json> {
  return new Map(server.listObjects(resource, namespace).map((o) => [String((o as Json).metadata.name), o]));
}

export function lane(server: FakeApiServer, namespace: string, name: string): Json {
  return server.getObject("lanes", namespace, name) as Json;
}

export function condition(l: Json, type: string): Json {
  return (l?.status?.conditions ?? []).find((c: Json) => c.type === type);
}

export function eventsFor(server: FakeApiServer, namespace: string, name: string): Json[] {
  return server
    .listObjects("events", namespace)
    .filter((e) => (e as Json).involvedObject?.name === name) as Json[];
}

/** Writes other than Events (the controller's object, finalizer and status writes). */
export function objectWrites(server: FakeApiServer): number {
  return server.writes((r) => r.resource !== "events");
}

export type { KubeObject };
export { eventually, FakeApiServer, LaneController };

/** A Service `name` in `namespace` with one Deployment per lane (`base` first), pods labelled by lane. */
export function laneApp(namespace: string, name: string, lanes: string[] = ["base", "canary"]): Json[] {
  const out: Json[] = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 8000 }] },
    },
  ];
  for (const l of lanes) {
    out.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: `${name}-${l}`, namespace, labels: { app: name } },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name, version: l } },
        template: {
          metadata: { labels: { app: name, version: l, "meshlane.io/lane": l } },
          spec: { containers: [{ name: "app", image: "example/app:1" }] },
        },
      },
    });
  }
  return out;
}

/** A Lane object (as `kubectl apply` would send it). */
export function laneObject(namespace: string, name: string, spec: Json = {}): Json {
  return {
    apiVersion: "meshlane.io/v1alpha1",
    kind: "Lane",
    metadata: { name, namespace },
    spec: { fallback: "base", dye: [{ when: { headers: { "x-user": { exact: name } } } }], ...spec },
  };
}

const LANE_API = { group: "meshlane.io", version: "v1alpha1", plural: "lanes" };

/** Lanes through the API (CRD defaulting and schema apply), as kubectl would. */
export function laneApi(server: FakeApiServer) {
  const api = server.kubeConfig().makeApiClient(CustomObjectsApi);
  return {
    create: (obj: Json) =>
      api.createNamespacedCustomObject({ ...LANE_API, namespace: obj.metadata.namespace, body: obj }),
    /** Replaces the spec (PUT of the current object with a new spec). */
    setSpec: async (namespace: string, name: string, spec: Json) => {
      const current = (await api.getNamespacedCustomObject({ ...LANE_API, namespace, name })) as Json;
      return api.replaceNamespacedCustomObject({ ...LANE_API, namespace, name, body: { ...current, spec } });
    },
    delete: (namespace: string, name: string) =>
      api.deleteNamespacedCustomObject({ ...LANE_API, namespace, name }),
  };
}
