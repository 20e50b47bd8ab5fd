// How a failure inside the module surfaces: a WasmTrap from the call that ran into it. The VM is then
// failed for good (see vm.ts); streams apply the failure policy instead of entering it again.

import type { ContextVm } from "./context.js";

/** The module trapped (or hit a restricted host call). The VM is now failed. */
export class WasmTrap extends Error {
  override readonly name = "WasmTrap";
  constructor(
    message: string,
    /** Export that was running, e.g. "proxy_on_request_headers". */
    readonly functionName: string,
    /** Context it ran for (0 = VM start). */
    readonly contextId: number,
    /** The VM, to inspect logs after a failed load. */
    readonly vm: ContextVm,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A host call Envoy refuses while the VM starts; it traps the call that made it. */
export class RestrictedCallback extends Error {
  constructor(readonly qualifiedName: string) {
    super(`restricted_callback: ${qualifiedName} is not allowed while the VM starts (_initialize/_start)`);
  }
}
