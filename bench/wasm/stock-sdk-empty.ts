// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- AssemblyScript, type-checked by asc
// @ts-nocheck
// An empty filter on the stock @gcoredev/proxy-wasm-sdk-as, built as the SDK documents it (wasi-shim
// options, --use abort=abort_proc_exit): its exports are the SDK's own proxy_on_* dispatch. The
// benchmark compares our filter against it. Built into build/fixtures/stock-sdk-empty.wasm.

export * from "@gcoredev/proxy-wasm-sdk-as/assembly/proxy";
import { Context, registerRootContext, RootContext } from "@gcoredev/proxy-wasm-sdk-as/assembly";

class EmptyRoot extends RootContext {
  createContext(contextId: u32): Context {
    return new Context(contextId, this);
  }
}

registerRootContext((contextId: u32) => new EmptyRoot(contextId), "stock-sdk-empty");
