// Our own proxy_on_* entry points (the SDK's dispatch keeps one global root context, traps when
// Envoy retires a root after a config update, and builds debug strings over every live context on
// each request; see DESIGN §6). Contexts live in two maps keyed by id: every call is O(1) whatever
// the number of streams in flight, several roots can coexist in one VM, and a callback for an
// unknown id is ignored rather than trapping.
import * as abi from "./abi";
import { Root, Stream } from "./filter";

const roots = new Map<u32, Root>();
const streams = new Map<u32, Stream>();

const CONTINUE: u32 = 0;

// The module uses AssemblyScript's minimal runtime (a non-incremental mark & sweep without write
// barriers: half the code of the incremental one). It never collects by itself, and it only sees
// objects reachable from globals, so we collect at the end of proxy_on_delete, when every live
// object hangs off `roots` or `streams`: every COLLECT_EVERY deletions keeps memory flat.
const COLLECT_EVERY: i32 = 256;
let deletions: i32 = 0;

export function proxy_abi_version_0_2_1(): void {}

/** Memory for the host to write into; freed by the reader (see abi.ts). */
export function malloc(size: usize): usize {
  return abi.hostAlloc(size);
}

export function proxy_on_memory_allocate(size: usize): usize {
  return abi.hostAlloc(size);
}

export function proxy_on_context_create(id: u32, parent: u32): void {
  if (parent == 0) {
    if (!roots.has(id)) roots.set(id, new Root(id));
    return;
  }
  if (!roots.has(parent)) return;
  streams.set(id, new Stream(id, roots.get(parent)));
}

export function proxy_on_vm_start(_root: u32, _size: usize): u32 {
  return 1;
}

export function proxy_validate_configuration(_root: u32, size: usize): u32 {
  const ok = new Root(0).configure(abi.getBufferString(abi.PLUGIN_CONFIGURATION, size));
  __collect();
  return ok ? 1 : 0;
}

export function proxy_on_configure(id: u32, size: usize): u32 {
  if (!roots.has(id)) roots.set(id, new Root(id));
  const ok = roots.get(id).configure(abi.getBufferString(abi.PLUGIN_CONFIGURATION, size));
  __collect(); // parsing leaves garbage; this is a safe point (see above)
  return ok ? 1 : 0;
}

export function proxy_on_request_headers(id: u32, _headers: u32, _eos: u32): u32 {
  if (streams.has(id)) streams.get(id).onRequestHeaders();
  return CONTINUE;
}

export function proxy_on_request_body(_id: u32, _size: u32, _eos: u32): u32 {
  return CONTINUE;
}

export function proxy_on_request_trailers(_id: u32, _n: u32): u32 {
  return CONTINUE;
}

export function proxy_on_response_headers(id: u32, _headers: u32, _eos: u32): u32 {
  if (streams.has(id)) streams.get(id).onResponseHeaders();
  return CONTINUE;
}

export function proxy_on_response_body(_id: u32, _size: u32, _eos: u32): u32 {
  return CONTINUE;
}

export function proxy_on_response_trailers(_id: u32, _n: u32): u32 {
  return CONTINUE;
}

export function proxy_on_log(_id: u32): void {}

/** Done: a stream or a root being retired. Returns 1 (done now; nothing pending). */
export function proxy_on_done(_id: u32): u32 {
  return 1;
}

export function proxy_on_delete(id: u32): void {
  if (streams.has(id)) streams.delete(id);
  else if (roots.has(id)) roots.delete(id);
  if (++deletions >= COLLECT_EVERY) {
    deletions = 0;
    __collect();
  }
}

export function proxy_on_tick(_id: u32): void {}

export function proxy_on_queue_ready(_id: u32, _token: u32): void {}

export function proxy_on_http_call_response(_id: u32, _token: u32, _h: u32, _b: u32, _t: u32): void {}

export function proxy_on_foreign_function(_id: u32, _fn: u32, _size: u32): void {}
