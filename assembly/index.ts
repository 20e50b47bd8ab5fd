// The module's exports: our proxy_on_* dispatch and the allocator the host writes into.
export * from "./dispatch";
// Our abort (the debug target's `use: abort=assembly/abort/abortTrap`) must be part of the program.
import "./abort";
