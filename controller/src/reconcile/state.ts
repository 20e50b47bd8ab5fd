// What the controller knows of the cluster: one informer per watched kind, and a small overlay of the
// objects it has just written, so a reconcile that follows its own writes sees them before the watch
// delivers them (no second write of the same change), and the watch's echo of a write is recognised
// and ignored (no reconcile triggered by our own writes).
//
// Scope. Namespaces are selected by a label selector (default `meshlane.io/enabled=true`). Lanes,
// Services, workloads, VirtualServices and DestinationRules are watched cluster-wide (one watch per kind
// rather than one per namespace; RBAC is a ClusterRole for them) and filtered here: render sees those of
// selected namespaces, plus VirtualServices and DestinationRules elsewhere that still carry meshlane's
// marks (a namespace that was deselected gets its user objects restored and meshlane's objects
// deleted). EnvoyFilters and WasmPlugins are watched cluster-wide too: render sees those of the gateway
// and root namespaces, of selected namespaces (where the sidecar filter goes), and meshlane's own
// anywhere (so a deselected namespace's sidecar filter is deleted).
//
// Failures stay where they belong. The controller reconciles once the informers of the kinds render
// needs have listed; EnvoyFilters or WasmPlugins that cannot be listed (a 403) do not hold it back: the
// filter's objects are then written blind (applies, never deletes), and `unreadable()` says what and
// why for the Lanes' status. `health()` lists every informer's state (the `meshlane_watch_up` gauge); `connected` (for
// /readyz) is true while every cluster-wide watch is up. `onHealth` hears any informer go up or down.
//
// `version` counts changes that can change render's output (for a Lane: anything but its status and
// finalizers, save its rollout share `status.rollout.percent`, which the edge config routes); `onChange(namespace)` is called for every
// change that may need a reconcile of that namespace (including a Lane's status edited by someone else,
// which does not bump the version).
import type { KubeConfig } from "@kubernetes/client-node";
import { deepEqual, ORIGINAL_SPEC_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL } from "../render/index.js";
import type { KubeObject } from "../render/index.js";
import { keyOf } from "../render/objects.js";
import { rolloutShare } from "../render/pluginconfig.js";
import { KubeClient, RESOURCES, resourcePath, type Resource } from "./kube.js";
import { silentLogger, type Logger } from "./log.js";
import { Informer, type InformerError, type InformerOptions, type KubeObject as RawObject } from "./watch.js";

export const LANE_FINALIZER = "meshlane.io/finalizer";
export const DEFAULT_NAMESPACE_SELECTOR = "meshlane.io/enabled=true";

type Role = "namespace" | "lane" | "input" | "istio" | "install";

interface Watched {
  name: string;
  kind: string;
  resource: Resource;
  role: Role;
  /** A kind render can do without (StatefulSets, DaemonSets, WasmPlugins). */
  optional: boolean;
  informers: Informer<RawObject>[];
}

/** One informer's state, for metrics and status. */
export interface WatchHealth {
  resource: string;
  /** "" for a cluster-wide informer. */
  namespace: string;
  synced: boolean;
  connected: boolean;
  /** An optional kind the server refuses to list: done without. */
  refused: boolean;
  error?: InformerError;
}

export interface ClusterStateOptions {
  kc: KubeConfig;
  client: KubeClient;
  namespaceSelector?: string;
  /** Namespaces where render writes the edge filter's objects (gateway and root namespaces). */
  installNamespaces: string[];
  /**
   * The routing mode: with `gateway-api` HTTPRoutes are required (render writes them); with `istio`
   * they are watched when served (user HTTPRoutes to restore, meshlane's to delete after a switch).
   */
  routing?: "istio" | "gateway-api";
  logger?: Logger;
  /** Passed to every informer (tests shorten watch timeouts and backoff). */
  informer?: Pick<InformerOptions, "watchTimeoutSeconds" | "backoff" | "idleTimeoutMs" | "pageSize">;
  /** Called with the namespace a change concerns (for namespaces: its own name). */
  onChange: (namespace: string) => void;
  /** Called when any informer's watch goes up or down. */
  onHealth?: () => void;
}

interface Written {
  /** The object as the server returned it after our write, or null after our delete. */
  obj: KubeObject | null;
  at: number;
}

/** How long our own write stands in for the informer's copy at most (the watch normally catches up in ms). */
const OVERLAY_TTL_MS = 60_000;

function isMarked(o: RawObject): boolean {
  const m = o.metadata as KubeObject["metadata"] | undefined;
  return (
    m?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY || m?.annotations?.[ORIGINAL_SPEC_ANNOTATION] !== undefined
  );
}

/** Numeric resourceVersions (as etcd's are) compared; undefined when either is not a number. */
function rvCompare(a: string | undefined, b: string | undefined): number | undefined {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const DATAPLANE_MODE = "istio.io/dataplane-mode";

function withoutVolatile(o: RawObject | undefined, role: Role): unknown {
  if (!o) return undefined;
  const meta = { ...o.metadata, resourceVersion: undefined, managedFields: undefined };
  // A Lane's status and finalizers are ours and do not feed render, except its rollout share
  // (`status.rollout.percent`), which the edge config routes.
  return role === "lane"
    ? { ...o, metadata: { ...meta, finalizers: undefined }, status: rolloutShare(o as KubeObject) }
    : { ...o, metadata: meta };
}

/** Keeps what render reads of a workload: labels, owners, the pod template's labels, ready counts. */
function slimWorkload(o: RawObject): RawObject {
  const spec = (o.spec ?? {}) as { selector?: unknown; template?: { metadata?: { labels?: unknown } } };
  const status = (o.status ?? undefined) as { readyReplicas?: unknown; numberReady?: unknown } | undefined;
  const m = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      generation: m.generation,
      labels: m.labels,
      ownerReferences: m.ownerReferences,
      deletionTimestamp: m.deletionTimestamp,
    },
    spec: { selector: spec.selector, template: { metadata: { labels: spec.template?.metadata?.labels } } },
    ...(status ? { status: { readyReplicas: status.readyReplicas, numberReady: status.numberReady } } : {}),
  };
}

/** The server refuses it (RBAC, a resource not there): not something that passes by itself. */
function refused(i: Informer<RawObject>): boolean {
  const code = i.lastError?.code;
  return code === 401 || code === 403 || code === 404;
}

function describeRead(h: WatchHealth): string {
  const where = h.namespace ? `in namespace ${h.namespace}` : "cluster-wide";
  const why = h.error
    ? `: ${h.error.code ? `HTTP ${h.error.code}: ` : ""}${h.error.message}`
    : ": not listed yet";
  return `cannot list ${h.resource} ${where}${why}`;
}

function dropManagedFields(o: RawObject): RawObject {
  if (!o.metadata || !("managedFields" in o.metadata)) return o;
  const { managedFields: _mf, ...metadata } = o.metadata;
  return { ...o, metadata };
}

export class ClusterState {
  private readonly watched: Watched[] = [];
  private readonly overlay = new Map<string, Written>();
  private readonly log: Logger;
  private readonly selector: string;
  private changes = 0;
  private started = false;
  private healthWaiters: (() => void)[] = [];

  constructor(private readonly opts: ClusterStateOptions) {
    this.log = (opts.logger ?? silentLogger).child({ component: "state" });
    this.selector = opts.namespaceSelector ?? DEFAULT_NAMESPACE_SELECTOR;
  }

  /** Bumped by every change that can change render's output. */
  get version(): number {
    return this.changes;
  }

  get informers(): Informer<RawObject>[] {
    return this.watched.flatMap((w) => w.informers);
  }

  /**
   * The informers waited for; an optional kind's, and the filter's own kinds (EnvoyFilters,
   * WasmPlugins), only while the server does not refuse them.
   */
  private clusterWide(): Informer<RawObject>[] {
    return this.watched.flatMap((w) =>
      w.optional || w.role === "install" ? w.informers.filter((i) => !refused(i)) : w.informers,
    );
  }

  /**
   * Every informer has listed. An optional kind the server refuses (401, 403, 404) is done without, as
   * if not served: only its consumers lose out, and the Lanes say so (`unreadable`). So are the filter's
   * own kinds when refused: the filter's objects are then applied blind (never deleted).
   */
  get synced(): boolean {
    return this.started && this.clusterWide().every((i) => i.synced);
  }

  /** Every cluster-wide watch is up (readiness); an optional kind the server refuses aside. */
  get connected(): boolean {
    return this.started && this.clusterWide().every((i) => i.connected);
  }

  /** Every informer's state. */
  health(): WatchHealth[] {
    return this.watched.flatMap((w) =>
      w.informers.map((i) => ({
        resource: w.name,
        namespace: "",
        synced: i.synced,
        connected: i.connected,
        refused: (w.optional || w.role === "install") && !i.synced && refused(i),
        ...(i.lastError ? { error: i.lastError } : {}),
      })),
    );
  }

  /**
   * Why a namespace cannot be reconciled now (its objects of some kind cannot be listed, an optional
   * kind the server refuses aside), or "".
   */
  blocked(namespace: string): string {
    const h = this.health().filter((x) => x.namespace === namespace && !x.synced && !x.refused);
    return h.map((x) => describeRead(x)).join("; ");
  }

  /**
   * Informers the server refuses (an HTTP error other than 5xx and 429: RBAC, a missing resource), as
   * messages: what cannot be read, where, and the error.
   */
  unreadable(): { namespace: string; message: string }[] {
    return this.health()
      .filter(
        (x) => !x.connected && x.error?.code !== undefined && x.error.code < 500 && x.error.code !== 429,
      )
      .map((x) => ({ namespace: x.namespace, message: describeRead(x) }));
  }

  /** The kinds being watched, by resource name (for logs and tests). */
  get watching(): string[] {
    return this.watched.map((w) => w.name);
  }

  /**
   * Creates and starts the informers. Optional kinds (DaemonSets, StatefulSets, WasmPlugins) are watched
   * only when the API server serves them; VirtualServices and DestinationRules at networking.istio.io/v1,
   * or v1beta1 on an older Istio.
   */
  async start(signal?: AbortSignal): Promise<void> {
    const client = this.opts.client;
    const serves = async (r: Resource) => {
      try {
        return await client.serves(r.group, r.version, r.plural, signal);
      } catch (err) {
        // Discovery failing is not a reason to give up: assume served; the informer retries its list.
        this.log.warn("discovery failed; assuming the resource is served", { resource: r.plural, err });
        return true;
      }
    };
    const plan: { name: string; key: string; role: Role; optional?: boolean; fallback?: string }[] = [
      { name: "namespaces", key: "|Namespace", role: "namespace" },
      { name: "lanes", key: "meshlane.io|Lane", role: "lane" },
      { name: "services", key: "|Service", role: "input" },
      { name: "deployments", key: "apps|Deployment", role: "input" },
      { name: "statefulsets", key: "apps|StatefulSet", role: "input", optional: true },
      { name: "daemonsets", key: "apps|DaemonSet", role: "input", optional: true },
      {
        name: "virtualservices",
        key: "networking.istio.io|VirtualService",
        role: "istio",
        fallback: "v1beta1",
      },
      {
        name: "destinationrules",
        key: "networking.istio.io|DestinationRule",
        role: "istio",
        fallback: "v1beta1",
      },
      {
        name: "httproutes",
        key: "gateway.networking.k8s.io|HTTPRoute",
        role: "istio",
        optional: this.opts.routing !== "gateway-api",
      },
      { name: "envoyfilters", key: "networking.istio.io|EnvoyFilter", role: "install" },
      { name: "wasmplugins", key: "extensions.istio.io|WasmPlugin", role: "install", optional: true },
    ];
    for (const p of plan) {
      let resource = RESOURCES[p.key];
      if (p.fallback && !(await serves(resource))) {
        const older = { ...resource, version: p.fallback };
        if (await serves(older)) resource = older;
      }
      if (p.optional && !(await serves(resource))) {
        this.log.info("not served by the API server; not watched", { resource: resource.plural });
        continue;
      }
      const kind = p.key.split("|")[1];
      const w: Watched = {
        name: p.name,
        kind,
        resource,
        role: p.role,
        optional: !!p.optional,
        informers: [],
      };
      for (const ns of [""]) {
        const inf = new Informer<RawObject>({
          ...this.opts.informer,
          kc: this.opts.kc,
          path: resourcePath(resource, ns),
          labelSelector: p.role === "namespace" ? this.selector : undefined,
          logger: this.opts.logger,
          transform: p.role === "input" && kind !== "Service" ? slimWorkload : dropManagedFields,
          onHealth: (up, afterFailure) => {
            const where = { resource: p.name, namespace: ns || "*" };
            if (!up) this.log.warn("cannot read; retrying", { ...where, err: inf.lastError });
            else if (afterFailure) this.log.info("reading again", where);
            for (const wake of this.healthWaiters.splice(0)) wake();
            this.opts.onHealth?.();
          },
        });
        inf.on({
          add: (o) => this.onEvent(w, o, undefined),
          update: (o, old) => this.onEvent(w, o, old),
          delete: (o) => this.onEvent(w, undefined, o),
        });
        w.informers.push(inf);
      }
      this.watched.push(w);
    }
    this.started = true;
    for (const inf of this.informers) inf.start();
  }

  /** Resolves once every cluster-wide informer has listed. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    while (!this.synced) {
      // Wake on the first informer to list, or on any watch going up or down (a refusal).
      const waits = this.clusterWide()
        .filter((i) => !i.synced)
        .map((i) => i.waitForSync(signal));
      const health = new Promise<void>((resolve) => this.healthWaiters.push(resolve));
      await Promise.race([...waits, health]);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** Whether a namespace is selected (carries the enabled label). */
  enabled(namespace: string): boolean {
    return this.namespaceInformer?.get(namespace) !== undefined;
  }

  /** A selected namespace's labels (undefined when it is not selected). */
  namespaceLabels(namespace: string): Record<string, string> | undefined {
    return this.namespaceInformer?.get(namespace)?.metadata?.labels as Record<string, string> | undefined;
  }

  private get namespaceInformer(): Informer<RawObject> | undefined {
    return this.watched[0]?.role === "namespace" ? this.watched[0].informers[0] : undefined;
  }

  /** The selected namespaces. */
  enabledNamespaces(): string[] {
    return (this.namespaceInformer?.list() ?? []).map((o) => o.metadata?.name ?? "").filter((n) => n !== "");
  }

  /** Selected namespaces, install namespaces, namespaces holding Lanes or objects meshlane marked. */
  namespaces(): string[] {
    const out = new Set<string>(this.opts.installNamespaces);
    for (const w of this.watched) {
      if (w.role === "input" && w.kind !== "Service") continue;
      for (const inf of w.informers) {
        for (const o of inf.list()) {
          if (w.role === "input") {
            if (isMarked(o)) out.add(o.metadata?.namespace ?? "");
          } else if (w.role === "namespace") out.add(o.metadata?.name ?? "");
          else if ((w.role === "istio" || w.role === "install") && isMarked(o))
            out.add(o.metadata?.namespace ?? "");
          else if (w.role === "lane") out.add(o.metadata?.namespace ?? ""); // its status is ours everywhere
        }
      }
    }
    out.delete("");
    return [...out].sort();
  }

  private hasFinalizer(o: RawObject): boolean {
    const f = (o.metadata as { finalizers?: unknown } | undefined)?.finalizers;
    return Array.isArray(f) && f.includes(LANE_FINALIZER);
  }

  /** Whether render reads this object (see the module comment). */
  private inRender(w: Watched, o: RawObject): boolean {
    const ns = o.metadata?.namespace ?? "";
    switch (w.role) {
      case "install":
        return this.opts.installNamespaces.includes(ns) || this.enabled(ns) || isMarked(o);
      case "istio":
        return this.enabled(ns) || isMarked(o);
      case "input":
        // meshlane's per-lane Services are deleted from a deselected namespace too.
        return this.enabled(ns) || (w.kind === "Service" && isMarked(o));
      case "lane":
        return this.enabled(ns);
      default:
        return false;
    }
  }

  private onEvent(w: Watched, now: RawObject | undefined, before: RawObject | undefined): void {
    const obj = (now ?? before) as RawObject;
    if (w.role === "namespace") {
      // Only entering or leaving the selection matters (the informer's label selector turns both into
      // add and delete); other edits of a selected namespace change nothing render reads. Its ambient
      // label changes what its Lanes' status says (lanestatus.ts): that reconciles it, render unchanged.
      if (now && before) {
        const mode = (o: RawObject) =>
          (o.metadata?.labels as Record<string, string> | undefined)?.[DATAPLANE_MODE];
        if (mode(now) !== mode(before)) this.opts.onChange(obj.metadata?.name ?? "");
        return;
      }
      this.changes++;
      this.opts.onChange(obj.metadata?.name ?? "");
      return;
    }
    const ns = obj.metadata?.namespace ?? "";
    const key = keyOf(obj as KubeObject);
    const mine = this.overlay.get(key);
    if (mine) {
      const rv = now?.metadata?.resourceVersion;
      if (now && mine.obj && rv === mine.obj.metadata.resourceVersion) {
        this.overlay.delete(key); // the echo of our own write: nothing new
        return;
      }
      if (!now && mine.obj === null) {
        this.overlay.delete(key); // the echo of our own delete
        return;
      }
      const order = now && mine.obj ? rvCompare(rv, mine.obj.metadata.resourceVersion as string) : undefined;
      if (order !== undefined && order < 0) return; // older than what we wrote: the watch is catching up
      this.overlay.delete(key);
    }
    const relevant = (now && this.inRender(w, now)) || (before && this.inRender(w, before));
    const finalizing =
      w.role === "lane" && ((now && this.hasFinalizer(now)) || (before && this.hasFinalizer(before)));
    // A Lane anywhere gets a status (one in a namespace that is not enabled says so).
    if (!relevant && !finalizing && w.role !== "lane") return;
    if ((relevant || finalizing) && !deepEqual(withoutVolatile(now, w.role), withoutVolatile(before, w.role)))
      this.changes++;
    this.opts.onChange(ns);
  }

  /** Drops overlay entries the watch never confirmed (a missed echo must not pin stale data). */
  sweep(now = Date.now()): void {
    for (const [key, e] of this.overlay) {
      if (now - e.at > OVERLAY_TTL_MS) {
        this.overlay.delete(key);
        this.changes++;
      }
    }
  }

  /** Records the server's answer to one of our writes. */
  observe(obj: KubeObject): void {
    const key = keyOf(obj);
    const w = this.watchedFor(obj);
    const cached = w?.informers
      .map((i) => i.get(`${obj.metadata.namespace ?? ""}/${obj.metadata.name}`))
      .find(Boolean);
    const current = this.overlay.get(key)?.obj ?? cached;
    if (current && current.metadata?.resourceVersion === obj.metadata.resourceVersion) return; // a no-op write
    // As the informer keeps it (a Service whole, meshlane writes its per-lane Services; workloads slim).
    const slim = (
      w?.role === "input" && w.kind !== "Service" ? slimWorkload(obj) : dropManagedFields(obj)
    ) as KubeObject;
    this.overlay.set(key, { obj: slim, at: Date.now() });
    if (
      !w ||
      !deepEqual(withoutVolatile(current as RawObject | undefined, w.role), withoutVolatile(slim, w.role))
    )
      this.changes++;
  }

  /** Records that we deleted an object (or found it gone). */
  observeGone(ref: { apiVersion: string; kind: string; namespace: string; name: string }): void {
    const key = keyOf({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
    });
    if (this.get(ref.apiVersion, ref.kind, ref.namespace, ref.name) === undefined) return;
    this.overlay.set(key, { obj: null, at: Date.now() });
    this.changes++;
  }

  private watchedFor(o: { apiVersion: string; kind: string }): Watched | undefined {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    return this.watched.find((w) => w.kind === o.kind && w.resource.group === group);
  }

  /** The version a kind is watched at (so served at), if it is watched. */
  servedVersion(group: string, kind: string): string | undefined {
    return this.watched.find((w) => w.kind === kind && w.resource.group === group)?.resource.version;
  }

  /** The freshest copy of one object: our last write, else the informer's. */
  get(apiVersion: string, kind: string, namespace: string, name: string): KubeObject | undefined {
    const key = keyOf({ apiVersion, kind, metadata: { name, namespace } });
    const mine = this.overlay.get(key);
    if (mine) return mine.obj ?? undefined;
    const w = this.watchedFor({ apiVersion, kind });
    for (const inf of w?.informers ?? []) {
      const o = inf.get(`${namespace}/${name}`);
      if (o) return o as KubeObject;
    }
    return undefined;
  }

  /** Every Lane, freshest copies. */
  lanes(): KubeObject[] {
    const w = this.watched.find((x) => x.role === "lane");
    return this.merged(w ? [w] : [], () => true);
  }

  /** Render's input: the objects render reads (see the module comment), freshest copies. */
  snapshot(): KubeObject[] {
    return this.merged(
      this.watched.filter((w) => w.role !== "namespace"),
      (w, o) => this.inRender(w, o),
    );
  }

  private merged(kinds: Watched[], keep: (w: Watched, o: RawObject) => boolean): KubeObject[] {
    const out = new Map<string, KubeObject>();
    const roleOf = new Map<string, Watched>();
    for (const w of kinds) {
      for (const inf of w.informers) {
        for (const o of inf.list()) {
          if (!keep(w, o)) continue;
          const key = keyOf(o as KubeObject);
          out.set(key, o as KubeObject);
          roleOf.set(key, w);
        }
      }
    }
    for (const [key, e] of this.overlay) {
      const w = e.obj ? this.watchedFor(e.obj) : undefined;
      if (e.obj === null) out.delete(key);
      else if (w && kinds.includes(w) && keep(w, e.obj as RawObject)) out.set(key, e.obj);
      else if (roleOf.has(key)) out.delete(key);
    }
    return [...out.values()];
  }
}
