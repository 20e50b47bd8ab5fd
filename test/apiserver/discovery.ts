// What the fake server says about itself: its version, health, and the API groups, versions and
// resources it serves, in the shapes client-node's discovery reads.
import { type Json, type JsonObject } from "./json.js";
import { type ResourceType } from "./resources.js";
import { pathNotFound } from "./status.js";

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** Each named API group and its versions, in the order the resources list them. */
function groups(resources: ResourceType[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rt of resources) {
    if (rt.group === "") continue;
    const vs = out.get(rt.group) ?? [];
    for (const v of rt.versions) if (!vs.includes(v)) vs.push(v);
    out.set(rt.group, vs);
  }
  return out;
}

function resourceList(resources: ResourceType[], group: string, version: string): JsonObject {
  const list: Json[] = [];
  for (const rt of resources) {
    if (rt.group !== group || !rt.versions.includes(version)) continue;
    const r: JsonObject = {
      name: rt.plural,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: VERBS,
    };
    if (rt.shortNames) r.shortNames = rt.shortNames;
    list.push(r);
    if (rt.status) {
      list.push({
        name: `${rt.plural}/status`,
        singularName: "",
        namespaced: rt.namespaced,
        kind: rt.kind,
        verbs: ["get", "patch", "update"],
      });
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: list,
  };
}

function groupEntry(name: string, versions: string[]): JsonObject {
  return {
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

/** The answer to a discovery path (its segments), or undefined when the path is not one. Throws 404
 * for a group or version the server does not serve. */
export function discovery(resources: ResourceType[], segs: string[]): Json | undefined {
  const p = segs.join("/");
  if (p === "version") {
    return { major: "1", minor: "33", gitVersion: "v1.33.0-fake", platform: "linux/amd64" };
  }
  if (p === "healthz" || p === "readyz" || p === "livez") return "ok";
  if (p === "api") {
    return {
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: "127.0.0.1" }],
    };
  }
  if (p === "api/v1") return resourceList(resources, "", "v1");
  if (p === "apis") {
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: [...groups(resources)].map(([g, vs]) => groupEntry(g, vs)),
    };
  }
  if (segs[0] === "apis" && segs.length === 2) {
    const vs = groups(resources).get(segs[1]);
    if (!vs) throw pathNotFound();
    return { kind: "APIGroup", apiVersion: "v1", ...groupEntry(segs[1], vs) };
  }
  if (segs[0] === "apis" && segs.length === 3) {
    const vs = groups(resources).get(segs[1]);
    if (!vs?.includes(segs[2])) throw pathNotFound();
    return resourceList(resources, segs[1], segs[2]);
  }
  return undefined;
}
