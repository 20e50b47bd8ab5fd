// The properties a stream answers beyond the VM-wide ones: the caller's attributes for the stream,
// and what Envoy derives from the request and response headers.

import { WasmResult } from "./abi.js";
import type { HeaderMap } from "./headers.js";
import {
  encodeInt64,
  PropertyTree,
  stringValue,
  type PropertyInput,
  type PropertyResult,
} from "./properties.js";

// A stream's properties are a tree built from the caller's inputs when the stream opens. A deeply
// frozen input list can never change, so its tree is built once and shared by every stream given
// that same list (lookups only fill caches, which do not change answers), and it remembers its
// answers by path. Benchmarks and load generators that open many streams with the same attributes
// pass a frozen list; anything else gets its own tree, exactly as before.
const frozenTrees = new WeakMap<readonly PropertyInput[], PropertyTree>();

/** The property tree for a stream's attributes (shared when the list is deeply frozen). */
export function streamProperties(inputs: readonly PropertyInput[]): PropertyTree {
  const shared = frozenTrees.get(inputs);
  if (shared !== undefined) return shared;
  const tree = new PropertyTree(inputs);
  if (deepFrozen(inputs, 0)) frozenTrees.set(inputs, tree.rememberAnswers());
  return tree;
}

/** True when v and everything reachable from it is frozen (bounded depth; typed arrays, which
 * cannot be frozen, make it false). */
function deepFrozen(v: unknown, depth: number): boolean {
  if (v === null || typeof v !== "object") return true;
  if (depth > 32 || !Object.isFrozen(v) || ArrayBuffer.isView(v)) return false;
  for (const k of Object.keys(v)) if (!deepFrozen((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

/** request.<attribute> → the request header Envoy's CEL activation reads it from. */
const REQUEST_ATTRIBUTES: Readonly<Record<string, string>> = {
  path: ":path",
  host: ":authority",
  scheme: ":scheme",
  method: ":method",
  useragent: "user-agent",
  referer: "referer",
};

/**
 * request.* from the request headers while Envoy's CEL activation can see them (`headersVisible`:
 * until on_request_headers returned Continue, and during on_log); request.id (x-request-id) always;
 * response.code once response headers exist. Undefined when the stream has no such value.
 */
export function headerProperty(
  path: string,
  req: HeaderMap | null,
  headersVisible: boolean,
  resp: HeaderMap | null,
): PropertyResult | undefined {
  if (path.startsWith("request\0") && req !== null) {
    const field = path.slice(8);
    if (field === "id") return found(req.get("x-request-id"));
    if (!headersVisible) return undefined;
    if (field === "url_path") {
      const p = req.get(":path");
      return p === undefined ? undefined : found(p.split("?")[0]);
    }
    const name = Object.hasOwn(REQUEST_ATTRIBUTES, field) ? REQUEST_ATTRIBUTES[field] : undefined;
    return name === undefined ? undefined : found(req.get(name));
  }
  if (path === "response\0code" && resp !== null) {
    const s = resp.get(":status");
    return s === undefined ? undefined : { code: WasmResult.Ok, value: encodeInt64(Number(s)) };
  }
  return undefined;
}

function found(v: string | undefined): PropertyResult | undefined {
  return v === undefined ? undefined : { code: WasmResult.Ok, value: stringValue(v) };
}
