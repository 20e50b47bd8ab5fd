// A root (plugin) context: one plugin configuration on a VM, from proxy_on_context_create to
// proxy_on_delete. Streams are opened on a root (stream.ts).

import { WasmResult } from "./abi.js";
import { ContextBase, type ContextVm, type Plugin } from "./context.js";
import { utf8 } from "./memory.js";
import type { PropertyInput } from "./properties.js";
import { HttpStream } from "./stream.js";

export type RootState = "active" | "done-pending" | "deleting" | "deleted";

/** A root (plugin) context: one plugin configuration on the VM. */
export class RootContext extends ContextBase implements Plugin {
  /** proxy_on_vm_start's answer. */
  startOk = false;
  /** proxy_on_configure's answer (false when not reached). */
  configureOk = false;
  /** Lifecycle: active → (retire) → deleted, or done-pending until the module calls proxy_done. */
  state: RootState = "active";
  /** Last period set with proxy_set_tick_period_milliseconds (0 = no tick). */
  tickPeriodMs = 0;
  /** Buffer type 7 readable (during context creation and configure). */
  private configVisible = false;

  /**
   * Starts a plugin on `vm`, as Envoy does for each plugin configuration (WasmBase::start +
   * configure): proxy_on_context_create(root, 0), proxy_on_vm_start(root, vm_config_size) and, if
   * that returned true, proxy_on_configure(root, plugin_config_size). The plugin configuration is
   * readable as buffer type 7 during context creation and configure only. Throws WasmTrap on a trap.
   */
  static start(vm: ContextVm, configuration: Uint8Array, rootId: string, name: string): RootContext {
    const root = new RootContext(vm, vm.nextContextId(), configuration, rootId, name);
    vm.addRoot(root);
    const f = vm.callbacks;
    root.configVisible = true;
    try {
      if (f.onContextCreate) vm.call("proxy_on_context_create", f.onContextCreate, root, root.id, 0);
      root.configVisible = false;
      root.startOk = f.onVmStart
        ? vm.call("proxy_on_vm_start", f.onVmStart, root, root.id, vm.vmConfig.length) !== 0
        : true;
      if (root.startOk) {
        root.configVisible = true;
        root.configureOk = f.onConfigure
          ? vm.call("proxy_on_configure", f.onConfigure, root, root.id, root.configuration.length) !== 0
          : true;
      }
    } finally {
      root.configVisible = false;
    }
    return root;
  }

  private constructor(
    vm: ContextVm,
    id: number,
    /** The plugin configuration bytes (buffer type 7). */ readonly configuration: Uint8Array,
    /** Envoy plugin root_id (property plugin_root_id). */ readonly rootId: string,
    /** Envoy plugin name (property plugin_name). */ readonly name: string,
  ) {
    super(vm, id);
  }

  /** True when Envoy would accept this configuration: vm_start and configure both returned true. */
  get ok(): boolean {
    return this.startOk && this.configureOk;
  }

  /** The plugin configuration as UTF-8 text. */
  get configurationText(): string {
    return utf8(this.configuration);
  }

  override rootContext(): RootContext {
    return this;
  }

  protected override pluginConfiguration(): Uint8Array | null {
    return this.configVisible ? this.configuration : null;
  }

  /**
   * Opens an HTTP stream on this plugin: allocates a context id (unique in the VM) and calls
   * proxy_on_context_create(stream, root). `properties` are the stream's attributes (source.address,
   * xds.listener_direction, metadata, ...), looked up before the VM-wide defaults. On a failed VM no
   * callback runs and the stream applies the failure policy. Throws WasmTrap if creation traps.
   */
  newStream(options: { properties?: readonly PropertyInput[] } = {}): HttpStream {
    if (this.state !== "active") throw new Error(`root context ${this.id} is ${this.state}`);
    if (!this.ok) throw new Error(`root context ${this.id} rejected its configuration`);
    return HttpStream.open(this.vm, this, options.properties);
  }

  /**
   * Retires this plugin, as Envoy does when its configuration is replaced or removed
   * (WasmBase::startShutdown): proxy_on_done(root); if it returned true, proxy_on_delete(root) at
   * once ("deleted"); otherwise the root waits ("done-pending") until the module calls proxy_done,
   * after which on_delete runs. Returns the resulting state. Throws WasmTrap on a trap.
   */
  retire(): RootState {
    if (this.state !== "active") throw new Error(`root context ${this.id} is already ${this.state}`);
    const vm = this.vm;
    if (vm.failed) {
      this.state = "deleted";
      vm.removeContext(this.id);
      return this.state;
    }
    const f = vm.callbacks.onDone;
    const done = f ? vm.call("proxy_on_done", f, this, this.id) !== 0 : true;
    if (done) this.deleteNow();
    else this.state = "done-pending";
    return this.state;
  }

  /** proxy_done: a root waiting after on_done returned false is deleted once the call returns. */
  override done(): WasmResult {
    if (this.state !== "done-pending") return WasmResult.NotFound;
    this.state = "deleting";
    this.vm.afterCall(() => this.deleteNow());
    return WasmResult.Ok;
  }

  /** Fires the timer once: proxy_on_tick(root) (Envoy calls it every tickPeriodMs). */
  tick(): void {
    const vm = this.vm;
    const f = vm.callbacks.onTick;
    if (!vm.failed && f && this.state !== "deleted") vm.call("proxy_on_tick", f, this, this.id);
  }

  /** proxy_on_delete, then forget the context. */
  private deleteNow(): void {
    const vm = this.vm;
    this.state = "deleted";
    const f = vm.callbacks.onDelete;
    try {
      if (f && !vm.failed) vm.call("proxy_on_delete", f, this, this.id);
    } finally {
      vm.removeContext(this.id);
    }
  }
}
