// The one WASI call the filter makes: randomness to seed its per-request draws. Envoy provides WASI
// under wasi_snapshot_preview1. (Listed in .prettierignore: prettier cannot parse the decorator.)

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function random_get(buf: usize, len: usize): u16;
