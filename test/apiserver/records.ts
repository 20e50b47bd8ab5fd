// What the fake server records of each request it serves, and how tests pick records out.
import { type Grant } from "./rbac.js";

export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";
export const WRITE_VERBS: readonly Verb[] = ["create", "update", "patch", "delete", "deletecollection"];

export interface RequestRecord {
  method: string;
  path: string;
  verb: Verb | "discovery";
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  code: number;
  fieldManager?: string;
  contentType?: string;
  injected: boolean;
  /** With RBAC: the user of an RBAC-checked request and the grants that allowed it (empty: 403). */
  user?: string;
  grants?: Grant[];
}

export type RequestFilter =
  | Partial<
      Pick<RequestRecord, "verb" | "group" | "resource" | "subresource" | "namespace" | "name" | "code">
    >
  | ((r: RequestRecord) => boolean);

export function recordMatches(r: RequestRecord, filter: RequestFilter): boolean {
  if (typeof filter === "function") return filter(r);
  return Object.entries(filter).every(([k, v]) => v === undefined || r[k as keyof RequestRecord] === v);
}
