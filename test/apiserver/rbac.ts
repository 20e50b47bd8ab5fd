// RBAC for the fake API server, as the real authorizer decides it: a request is allowed when a rule of a
// Role (bound in the request's namespace) or ClusterRole (bound in the namespace or cluster-wide) names
// its API group, resource (with "/subresource") and verb, or "*"; resourceNames, when a rule has them,
// must name the object. Everything else is 403 Forbidden, worded as the real server words it.
// Discovery (non-resource URLs) is open to every authenticated user, as system:discovery makes it.
import { isObject, type JsonObject } from "./json.js";

export interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

export interface Attributes {
  verb: string;
  group: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** One verb on one resource granted by one rule: what a test can check was needed. */
export interface Grant {
  /** "ClusterRole/name" or "Role/namespace/name". */
  role: string;
  rule: number;
  verb: string;
  group: string;
  resource: string;
}

export interface User {
  name: string;
  groups: string[];
}

/** The user a ServiceAccount authenticates as. */
export function serviceAccountUser(namespace: string, name: string): User {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
  };
}

interface Binding {
  namespace?: string;
  roleKey: string;
  subjects: { kind: string; name: string; namespace?: string }[];
}

const str = (v: unknown): string => (typeof v === "string" ? v : "");

export class Authorizer {
  private readonly roles = new Map<string, Rule[]>();
  private readonly bindings: Binding[] = [];

  /** From the objects of an RBAC manifest (Role, ClusterRole, RoleBinding, ClusterRoleBinding). */
  constructor(objects: JsonObject[]) {
    for (const o of objects) {
      const m = isObject(o.metadata) ? o.metadata : {};
      const rules = (Array.isArray(o.rules) ? o.rules : []).filter(isObject) as Rule[];
      if (o.kind === "ClusterRole") this.roles.set(`ClusterRole/${str(m.name)}`, rules);
      if (o.kind === "Role") this.roles.set(`Role/${str(m.namespace)}/${str(m.name)}`, rules);
      if (o.kind === "RoleBinding" || o.kind === "ClusterRoleBinding") {
        const ref = isObject(o.roleRef) ? o.roleRef : {};
        const namespace = o.kind === "RoleBinding" ? str(m.namespace) : undefined;
        const roleKey =
          ref.kind === "ClusterRole"
            ? `ClusterRole/${str(ref.name)}`
            : `Role/${str(namespace)}/${str(ref.name)}`;
        const subjects = (Array.isArray(o.subjects) ? o.subjects : []).filter(isObject).map((s) => ({
          kind: str(s.kind),
          name: str(s.name),
          namespace: typeof s.namespace === "string" ? s.namespace : undefined,
        }));
        this.bindings.push({ namespace, roleKey, subjects });
      }
    }
  }

  /** Every grant (rule × verb × resource) the roles hold, for tests that check each one is needed. */
  grants(): Grant[] {
    const out: Grant[] = [];
    for (const [role, rules] of this.roles) {
      rules.forEach((r, i) => {
        for (const verb of r.verbs ?? [])
          for (const group of r.apiGroups ?? [])
            for (const resource of r.resources ?? []) out.push({ role, rule: i, verb, group, resource });
      });
    }
    return out;
  }

  /** The grants that allow `a` for `user` (none: forbidden). */
  matching(user: User, a: Attributes): Grant[] {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const out: Grant[] = [];
    for (const b of this.bindings) {
      if (b.namespace !== undefined && b.namespace !== a.namespace) continue;
      if (!b.subjects.some((s) => subjectMatches(s, user))) continue;
      const rules = this.roles.get(b.roleKey) ?? [];
      rules.forEach((r, i) => {
        const verbs = r.verbs ?? [];
        const groups = r.apiGroups ?? [];
        const resources = r.resources ?? [];
        if (!verbs.includes(a.verb) && !verbs.includes("*")) return;
        if (!groups.includes(a.group) && !groups.includes("*")) return;
        const named =
          resources.includes(resource) ||
          resources.includes("*") ||
          (a.subresource !== "" && resources.includes(`*/${a.subresource}`));
        if (!named) return;
        if (r.resourceNames && r.resourceNames.length > 0 && !r.resourceNames.includes(a.name)) return;
        out.push({
          role: b.roleKey,
          rule: i,
          verb: verbs.includes(a.verb) ? a.verb : "*",
          group: groups.includes(a.group) ? a.group : "*",
          resource: resources.includes(resource) ? resource : "*",
        });
      });
    }
    return out;
  }
}

function subjectMatches(s: { kind: string; name: string; namespace?: string }, user: User): boolean {
  if (s.kind === "ServiceAccount")
    return user.name === `system:serviceaccount:${s.namespace ?? ""}:${s.name}`;
  if (s.kind === "User") return user.name === s.name;
  if (s.kind === "Group") return user.groups.includes(s.name);
  return false;
}

/**
 * The real server's 403 message: `lanes.meshlane.io "canary" is forbidden: User "…" cannot patch
 * resource "lanes/status" in API group "meshlane.io" in the namespace "shop"` (or "at the cluster
 * scope"). `why` empty gives the bare form the server uses when server-side apply would create an object
 * the user may patch but not create (`… "x" is forbidden: `).
 */
export function forbiddenMessage(user: User, a: Attributes, why = true): string {
  const gr = a.group === "" ? a.resource : `${a.resource}.${a.group}`;
  const subject = a.name ? `${gr} "${a.name}"` : gr;
  if (!why) return `${subject} is forbidden: `;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${where}`;
}
