// The few Kubernetes API calls the controller writes with, over plain HTTP(S) with the KubeConfig's
// TLS settings and credentials: get, server-side apply, JSON and merge patches, create, delete. One
// keep-alive agent for every call, exactly one request per call (no discovery round trips), and errors
// shaped like client-node's (`statusCode`, `body`, `headers`) so retry.ts classifies them.
import http from "node:http";
import https from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

/** The field manager of every write (server-side apply and the managedFields of other writes). */
export const FIELD_MANAGER = "meshlane";

export interface Resource {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

/** The kinds the controller reads or writes, by `group|Kind`, at the versions it uses by default. */
export const RESOURCES: Record<string, Resource> = {
  "|Namespace": { group: "", version: "v1", plural: "namespaces", namespaced: false },
  "|Service": { group: "", version: "v1", plural: "services", namespaced: true },
  "|Event": { group: "", version: "v1", plural: "events", namespaced: true },
  "|Pod": { group: "", version: "v1", plural: "pods", namespaced: true },
  "apps|Deployment": { group: "apps", version: "v1", plural: "deployments", namespaced: true },
  "apps|StatefulSet": { group: "apps", version: "v1", plural: "statefulsets", namespaced: true },
  "apps|DaemonSet": { group: "apps", version: "v1", plural: "daemonsets", namespaced: true },
  "meshlane.io|Lane": { group: "meshlane.io", version: "v1alpha1", plural: "lanes", namespaced: true },
  "networking.istio.io|VirtualService": {
    group: "networking.istio.io",
    version: "v1",
    plural: "virtualservices",
    namespaced: true,
  },
  "networking.istio.io|DestinationRule": {
    group: "networking.istio.io",
    version: "v1",
    plural: "destinationrules",
    namespaced: true,
  },
  "networking.istio.io|EnvoyFilter": {
    group: "networking.istio.io",
    version: "v1alpha3",
    plural: "envoyfilters",
    namespaced: true,
  },
  "gateway.networking.k8s.io|HTTPRoute": {
    group: "gateway.networking.k8s.io",
    version: "v1",
    plural: "httproutes",
    namespaced: true,
  },
  "extensions.istio.io|WasmPlugin": {
    group: "extensions.istio.io",
    version: "v1alpha1",
    plural: "wasmplugins",
    namespaced: true,
  },
};

export function groupOfApiVersion(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** The resource of an object's kind; its own apiVersion's version is kept. */
export function resourceOf(apiVersion: string, kind: string): Resource {
  const group = groupOfApiVersion(apiVersion);
  const r = RESOURCES[`${group}|${kind}`];
  if (!r) throw new Error(`no resource known for ${apiVersion} ${kind}`);
  const version = apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
  return { ...r, version };
}

/** The API path of a collection (namespace "" = all namespaces) or, with `name`, of one object. */
export function resourcePath(r: Resource, namespace: string, name?: string, subresource?: string): string {
  const root = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const obj = name === undefined ? "" : `/${encodeURIComponent(name)}`;
  const sub = subresource ? `/${subresource}` : "";
  return `${root}${ns}/${r.plural}${obj}${sub}`;
}

export interface JsonObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** An API error: `statusCode` (undefined below HTTP), the raw Status `body` and the response headers. */
export class KubeError extends Error {
  constructor(
    message: string,
    readonly statusCode: number | undefined,
    readonly body: string,
    readonly headers: http.IncomingHttpHeaders,
  ) {
    super(message);
    this.name = "KubeError";
  }
}

export interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeClient {
  private agent?: http.Agent;
  private readonly server: string;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: { timeoutMs?: number; maxSockets?: number } = {},
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("the KubeConfig has no current cluster");
    this.server = cluster.server.replace(/\/$/, "");
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** One request; resolves with the parsed JSON body of a 2xx answer, rejects with KubeError otherwise. */
  async request(method: string, path: string, o: RequestOptions = {}): Promise<JsonObject> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const tls: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(tls);
    const secure = url.protocol === "https:";
    // applyToHTTPSOptions builds a fresh, non-keep-alive agent each call; keep one of our own with the
    // same TLS material, unless the KubeConfig names a proxy (then its agent is the one that knows how).
    const cluster = this.kc.getCurrentCluster();
    let agent: http.Agent | undefined = tls.agent as http.Agent | undefined;
    if (!cluster?.proxyUrl) {
      this.agent ??= secure
        ? new https.Agent({
            keepAlive: true,
            maxSockets: this.opts.maxSockets ?? 32,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            pfx: tls.pfx,
            passphrase: tls.passphrase,
            servername: tls.servername,
            rejectUnauthorized: tls.rejectUnauthorized,
          })
        : new http.Agent({ keepAlive: true, maxSockets: this.opts.maxSockets ?? 32 });
      agent = this.agent;
    }
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    const headers: http.OutgoingHttpHeaders = {
      ...(tls.headers as http.OutgoingHttpHeaders | undefined),
      accept: "application/json",
    };
    if (payload !== undefined) {
      headers["content-type"] = o.contentType ?? "application/json";
      headers["content-length"] = Buffer.byteLength(payload);
    }
    const mod = secure ? https : http;
    return new Promise<JsonObject>((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent, auth: tls.auth, signal: o.signal }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 300) {
            try {
              resolve((text ? JSON.parse(text) : {}) as JsonObject);
            } catch (e) {
              reject(e);
            }
            return;
          }
          let message = `${method} ${path}: HTTP ${code}`;
          try {
            const status = JSON.parse(text) as { message?: string };
            if (status.message) message += `: ${status.message}`;
          } catch {
            // Not a Status: keep the bare message.
          }
          reject(new KubeError(message, code, text, res.headers));
        });
      });
      req.setTimeout(this.opts.timeoutMs ?? 30_000, () =>
        req.destroy(Object.assign(new Error(`${method} ${path}: timed out`), { code: "ETIMEDOUT" })),
      );
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get(r: Resource, namespace: string, name: string, signal?: AbortSignal): Promise<JsonObject> {
    return this.request("GET", resourcePath(r, namespace, name), { signal });
  }

  /** Server-side apply as `meshlane`; `force` takes over fields another manager holds. */
  apply(obj: JsonObject, force: boolean, signal?: AbortSignal): Promise<JsonObject> {
    const r = resourceOf(String(obj.apiVersion), String(obj.kind));
    return this.request("PATCH", resourcePath(r, obj.metadata?.namespace ?? "", obj.metadata?.name), {
      query: { fieldManager: FIELD_MANAGER, force: force ? "true" : undefined },
      body: obj,
      contentType: "application/apply-patch+yaml",
      signal,
    });
  }

  /** A JSON patch (RFC 6902) or merge patch (RFC 7386) of an object or its status. */
  patch(
    r: Resource,
    namespace: string,
    name: string,
    type: "json" | "merge",
    body: unknown,
    o: { subresource?: string; signal?: AbortSignal } = {},
  ): Promise<JsonObject> {
    return this.request("PATCH", resourcePath(r, namespace, name, o.subresource), {
      query: { fieldManager: FIELD_MANAGER },
      body,
      contentType: type === "json" ? "application/json-patch+json" : "application/merge-patch+json",
      signal: o.signal,
    });
  }

  create(r: Resource, namespace: string, obj: JsonObject, signal?: AbortSignal): Promise<JsonObject> {
    return this.request("POST", resourcePath(r, namespace), {
      query: { fieldManager: FIELD_MANAGER },
      body: obj,
      signal,
    });
  }

  delete(r: Resource, namespace: string, name: string, signal?: AbortSignal): Promise<JsonObject> {
    return this.request("DELETE", resourcePath(r, namespace, name), {
      body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Background" },
      signal,
    });
  }

  /** Whether the API server serves `plural` in group/version (discovery); false on 404. */
  async serves(group: string, version: string, plural: string, signal?: AbortSignal): Promise<boolean> {
    const path = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
    try {
      const list = (await this.request("GET", path, { signal })) as { resources?: { name?: string }[] };
      return (list.resources ?? []).some((x) => x.name === plural);
    } catch (err) {
      if (err instanceof KubeError && err.statusCode === 404) return false;
      throw err;
    }
  }
}
