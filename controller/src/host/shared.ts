// Shared data and shared queues (proxy-wasm-cpp-host src/shared_data.cc, src/shared_queue.cc).
// Envoy keeps one process-wide store keyed by vm_id: every VM with the same vm_id sees the same keys
// (all workers, and the inbound and outbound listeners of a sidecar). Create one SharedData and pass
// it to every WasmVm that should share it; VMs with another vm_id stay isolated inside it.

import { WasmResult } from "./abi.js";

interface Entry {
  value: Uint8Array;
  cas: number;
}

/** Who gets proxy_on_queue_ready for a queue: a root context of some VM. */
export interface QueueOwner {
  notify(rootContextId: number, token: number): void;
}

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  owner: QueueOwner;
  rootContextId: number;
}

export class SharedData {
  private readonly data = new Map<string, Map<string, Entry>>();
  private nextCas = 1;
  private readonly queues = new Map<number, Queue>();
  private readonly queueTokens = new Map<string, number>();
  private nextToken = 1;

  private casValue(): number {
    const c = this.nextCas;
    this.nextCas = (this.nextCas + 1) >>> 0;
    if (this.nextCas === 0) this.nextCas = 1;
    return c;
  }

  /** proxy_get_shared_data: the value and its cas, or NotFound. */
  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    return this.data.get(vmId)?.get(key);
  }

  /**
   * proxy_set_shared_data: cas 0 writes unconditionally; a non-zero cas on an existing key must
   * equal its current cas (else CasMismatch); a missing key is created whatever the cas. Every
   * write gets a new cas from one counter. There is no delete.
   */
  set(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    let map = this.data.get(vmId);
    if (map === undefined) {
      map = new Map();
      this.data.set(vmId, map);
    }
    const cur = map.get(key);
    if (cur !== undefined) {
      if (cas !== 0 && cas !== cur.cas) return WasmResult.CasMismatch;
      cur.value = value;
      cur.cas = this.casValue();
    } else {
      map.set(key, { value, cas: this.casValue() });
    }
    return WasmResult.Ok;
  }

  /** All keys of one vm_id (for tests and the CLI). */
  keys(vmId: string): string[] {
    return [...(this.data.get(vmId)?.keys() ?? [])];
  }

  /**
   * proxy_register_shared_queue: registering (vm_id, name) again keeps the token and the pending
   * items and moves the notifications to the new root context.
   */
  registerQueue(vmId: string, name: string, owner: QueueOwner, rootContextId: number): number {
    const k = `${vmId}\0${name}`;
    const existing = this.queueTokens.get(k);
    if (existing !== undefined) {
      const q = this.queues.get(existing) as Queue;
      q.owner = owner;
      q.rootContextId = rootContextId;
      return existing;
    }
    const token = this.nextToken++;
    this.queueTokens.set(k, token);
    this.queues.set(token, { vmId, name, items: [], owner, rootContextId });
    return token;
  }

  /** proxy_resolve_shared_queue: the token of (vm_id, name), or undefined. */
  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueTokens.get(`${vmId}\0${name}`);
  }

  /** proxy_dequeue_shared_queue: NotFound for an unknown token, Empty when nothing is queued. */
  dequeue(token: number): { code: WasmResult; value?: Uint8Array } {
    const q = this.queues.get(token);
    if (q === undefined) return { code: WasmResult.NotFound };
    const value = q.items.shift();
    return value === undefined ? { code: WasmResult.Empty } : { code: WasmResult.Ok, value };
  }

  /**
   * proxy_enqueue_shared_queue: NotFound for an unknown token. Returns the owner to notify; the
   * caller delivers proxy_on_queue_ready after its current VM call, as Envoy posts it.
   */
  enqueue(
    token: number,
    value: Uint8Array,
  ): { code: WasmResult; owner?: QueueOwner; rootContextId?: number } {
    const q = this.queues.get(token);
    if (q === undefined) return { code: WasmResult.NotFound };
    q.items.push(value);
    return { code: WasmResult.Ok, owner: q.owner, rootContextId: q.rootContextId };
  }
}
