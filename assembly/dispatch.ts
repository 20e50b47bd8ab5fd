// Our own proxy_on_* entry points (the SDK's dispatch keeps one global root context, traps when
// Envoy retires a root after a config update, and builds debug strings over every live context on
// each request; see README.md, "Why the filter owns its dispatch"). Streams live in a table keyed by id and roots in a short list: every
// call is O(1) whatever the number of streams in flight, several roots can coexist in one VM, and a
// callback for an unknown id is ignored rather than trapping.
//
// Callbacks the filter has no use for (on_log, on_done, bodies, trailers, timers, queues, http and
// foreign calls) are not exported at all: Envoy skips a callback the module does not export (on_done
// then counts as done), which saves a call into the VM per request for each.
import * as abi from "./abi";
import { Root, Stream } from "./filter";
import { IdMap } from "./lib/idmap";
import { itemAt } from "./lib/raw";

// A VM holds one plugin configuration, two during an update: a list beats a hash map here.
const roots = new Array<Root>();

function findRoot(id: u32): i32 {
  for (let i = 0; i < roots.length; i++) if (itemAt(roots, i).id == id) return i;
  return -1;
}

function rootFor(id: u32): Root {
  const i = findRoot(id);
  if (i >= 0) return itemAt(roots, i);
  const r = new Root(id);
  roots.push(r);
  return r;
}
const streams = new IdMap<Stream>();
// Finished streams' objects, reused by the next requests (a list linked through Stream.spare): a
// request then allocates nothing here. The list is never longer than the most streams ever in
// flight at once.
let spare: Stream | null = null;

const CONTINUE: u32 = 0;

// The module uses AssemblyScript's minimal runtime (a non-incremental mark & sweep without write
// barriers: half the code of the incremental one). It never collects by itself, and it only sees
// objects reachable from globals, so we collect at the end of proxy_on_delete, when every live
// object hangs off `roots` or `streams`. A collection visits every object the config holds, and the
// usual request allocates nothing, so it runs every COLLECT_EVERY deletions (or twice the streams
// in flight, whichever is more: the marking cost per request stays constant however many requests
// are in flight), and at once when the linear memory has grown since the last one. Requests that do
// leave garbage (non-ASCII values decoded, baggage merged) then keep memory flat at a few MiB.
const COLLECT_EVERY: i32 = 1024;
let deletions: i32 = 0;
let pagesAtCollect: i32 = 0;

export function proxy_abi_version_0_2_1(): void {}

/** Memory for the host to write into; freed by the reader (see abi.ts). Envoy asks for `malloc`
 * first and falls back to this name; one export is enough. */
export function proxy_on_memory_allocate(size: usize): usize {
  return abi.hostAlloc(size);
}

export function proxy_on_context_create(id: u32, parent: u32): void {
  if (parent == 0) {
    rootFor(id);
    return;
  }
  const at = findRoot(parent);
  if (at < 0) return;
  const root = itemAt(roots, at);
  let s = spare;
  if (s !== null) {
    spare = s.spare;
    s.reuse(id, root);
  } else {
    s = new Stream(id, root);
  }
  streams.set(s);
}

export function proxy_on_vm_start(_root: u32, _size: usize): u32 {
  return 1;
}

export function proxy_on_configure(id: u32, size: usize): u32 {
  const ok = rootFor(id).configure(abi.getBufferString(abi.PLUGIN_CONFIGURATION, size));
  __collect(); // parsing leaves garbage; this is a safe point (see above)
  return ok ? 1 : 0;
}

export function proxy_on_request_headers(id: u32, _headers: u32, _eos: u32): u32 {
  const s = streams.get(id);
  if (s !== null) s.onRequestHeaders();
  return CONTINUE;
}

export function proxy_on_response_headers(id: u32, _headers: u32, _eos: u32): u32 {
  const s = streams.get(id);
  if (s !== null) s.onResponseHeaders();
  return CONTINUE;
}

export function proxy_on_delete(id: u32): void {
  const s = streams.get(id);
  if (s !== null) {
    streams.delete(id);
    s.spare = spare;
    spare = s;
  } else {
    const at = findRoot(id);
    if (at >= 0) {
      const last = roots.pop();
      if (at < roots.length) unchecked((roots[at] = last));
    }
  }
  if ((++deletions >= COLLECT_EVERY && deletions >= streams.size * 2) || memory.size() != pagesAtCollect) {
    deletions = 0;
    __collect();
    pagesAtCollect = memory.size();
  }
}
