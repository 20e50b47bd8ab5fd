// eslint-disable-next-line @typescript-eslint/ban-ts-comment -- AssemblyScript, type-checked by asc
// @ts-nocheck
// The floor of the ABI crossing: a filter with no SDK and no imports at all. Every callback returns
// Continue (or true) at once; malloc is a bump allocation from the stub runtime. Built by
// scripts/build-fixtures.mjs into build/fixtures/noop.wasm.

export function malloc(size: usize): usize {
  return heap.alloc(size);
}
export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(_id: u32, _root: u32): void {}
export function proxy_on_vm_start(_id: u32, _size: u32): u32 {
  return 1;
}
export function proxy_on_configure(_id: u32, _size: u32): u32 {
  return 1;
}
export function proxy_on_request_headers(_id: u32, _n: u32, _eos: u32): u32 {
  return 0;
}
export function proxy_on_response_headers(_id: u32, _n: u32, _eos: u32): u32 {
  return 0;
}
export function proxy_on_log(_id: u32): void {}
export function proxy_on_done(_id: u32): u32 {
  return 1;
}
export function proxy_on_delete(_id: u32): void {}

/** `--use abort=bench/wasm/noop/_abort`: trap without importing env.abort. */
function _abort(_message: string | null, _file: string | null, _line: u32, _column: u32): void {
  unreachable();
}
