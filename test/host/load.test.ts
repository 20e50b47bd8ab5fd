// Envoy's "Imports" and the export half of "Startup" (docs/host.md): the host links a module exactly when Envoy
// would, and refuses it with Envoy's message, naming the import, otherwise.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileFilter, WasmLoadError, WasmVm } from "../../controller/src/host/index.js";
import { after, fixtureBytes, loadFixture } from "./helpers.js";

async function refusal(name: string): Promise<string> {
  try {
    await loadFixture(name);
  } catch (e) {
    assert.ok(e instanceof WasmLoadError, `expected WasmLoadError, got ${String(e)}`);
    return e.message;
  }
  assert.fail(`${name} loaded, but Envoy refuses it`);
}

describe("imports Envoy lacks are refused at load", () => {
  for (const [fixture, qualified] of [
    ["refuse-clear-route-cache", "env.proxy_clear_route_cache"],
    ["refuse-get-configuration", "env.proxy_get_configuration"],
    ["refuse-continue-request", "env.proxy_continue_request"],
    ["refuse-dictionary-get", "env.proxy_dictionary_get"],
    ["refuse-env-abort", "env.abort"],
    ["refuse-sched-yield", "wasi_snapshot_preview1.sched_yield"],
  ] as const) {
    it(`${qualified}`, async () => {
      const msg = await refusal(fixture);
      assert.match(
        msg,
        new RegExp(`^Failed to load Wasm module due to a missing import: ${qualified.replace(".", "\\.")}`),
      );
    });
  }

  it("says why the ABI 0.1.0 calls are missing", async () => {
    assert.match(await refusal("refuse-clear-route-cache"), /exists only for ABI 0\.1\.0/);
    assert.match(await refusal("refuse-env-abort"), /--use abort=/);
  });

  it("a 10-argument proxy_grpc_call is a type mismatch with Envoy's 12-argument one", async () => {
    const msg = await refusal("refuse-grpc-call-10");
    assert.match(msg, /import type mismatch: env\.proxy_grpc_call/);
    assert.match(msg, /want: i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 -> i32/);
    assert.match(msg, /host exports: (i32 ){12}-> i32/);
  });
});

describe("required exports", () => {
  it("no proxy_abi_version_0_2_1 export: refused", async () => {
    assert.match(await refusal("exports-no-abi-version"), /Missing or unknown Proxy-Wasm ABI version/);
  });

  it("an ABI 0.1.0 module: refused (this host is 0.2.1)", async () => {
    assert.match(await refusal("exports-abi-0-1-0"), /proxy_abi_version_0_1_0.*ABI 0\.2\.1 only/);
  });

  it("neither malloc nor proxy_on_memory_allocate: refused", async () => {
    assert.equal(await refusal("exports-no-malloc"), "Wasm module is missing malloc function.");
  });

  it("a callback with a 0.1.0 signature: refused with Envoy's 'Bad function signature'", async () => {
    assert.equal(
      await refusal("exports-bad-signature"),
      "Bad function signature for: proxy_on_request_headers, want: i32 i32 i32 -> i32, but the module exports: i32 i32 -> i32",
    );
  });

  it("proxy_on_memory_allocate works as the allocator when malloc is absent", async () => {
    const vm = await loadFixture("exports-memory-allocate");
    const s = vm.createRoot().newStream();
    s.requestHeaders([[":path", "/via-allocate"]]);
    // The host had to allocate the returned value in guest memory to answer the get.
    assert.equal(after(s.logs, "path "), "0 /via-allocate");
  });
});

describe("compiled modules", () => {
  it("compileFilter checks once; many VMs instantiate from it, each with its own memory", async () => {
    const compiled = await compileFilter(fixtureBytes("lifecycle"));
    const a = WasmVm.instantiate(compiled);
    const b = WasmVm.instantiate(compiled);
    a.createRoot("a");
    assert.equal(after(a.logs, "configure 1 "), "size=1 config=0 a");
    assert.equal(b.logs.length, 0);
  });

  it("compileFilter refuses a bad module before compiling it", async () => {
    await assert.rejects(compileFilter(fixtureBytes("refuse-clear-route-cache")), WasmLoadError);
  });

  it("a bare WebAssembly.Module is still checked by import name", async () => {
    const WA = (globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<object> } })
      .WebAssembly;
    const bad = await WA.compile(fixtureBytes("refuse-dictionary-get"));
    await assert.rejects(
      WasmVm.load(bad as Parameters<typeof WasmVm.load>[0]),
      /missing import: env\.proxy_dictionary_get/,
    );
    const good = await WA.compile(fixtureBytes("lifecycle"));
    const vm = await WasmVm.load(good as Parameters<typeof WasmVm.load>[0]);
    assert.equal(vm.createRoot("x").ok, true);
  });

  it("bytes that are not wasm are refused as corrupted", async () => {
    await assert.rejects(
      WasmVm.load(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])),
      /Failed to parse corrupted Wasm module/,
    );
  });
});
