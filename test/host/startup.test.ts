// Envoy's "Startup" (docs/host.md): _initialize runs once per VM with only logging, args, env, clock and random
// allowed; then, per plugin configuration, context create → vm_start → configure, with the VM and
// plugin configuration readable as buffers 6 and 7; configure returning false rejects the config.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ALLOWED_DURING_START, ENV_IMPORTS } from "../../controller/src/host/abi.js";
import { envImports } from "../../controller/src/host/imports.js";
import { WasmTrap, type HostCalls } from "../../controller/src/host/index.js";
import { after, loadFixture, messages } from "./helpers.js";

describe("VM start (_initialize)", () => {
  it("allows proxy_log, WASI fd_write, clock, random, args and environ; the module loads", async () => {
    const vm = await loadFixture("init-allowed", { env: { LANE: "canary" } });
    assert.deepEqual(
      vm.logs.map((r) => [r.source, r.msg]),
      [
        ["proxy_log", "init: proxy_log ok"],
        ["stdout", "init: stdout ok"],
        ["proxy_log", "init: clock 0"],
        ["proxy_log", "init: random 0"],
        ["proxy_log", "init: args 0 env 0 count=1"],
        ["proxy_log", "init: done"],
      ],
    );
    assert.equal(vm.failed, false);
    assert.ok(vm.logs.every((r) => r.contextId === 0));
  });

  for (const [variant, call] of [
    ["property", "env.proxy_get_property"],
    ["metric", "env.proxy_define_metric"],
    ["shared", "env.proxy_set_shared_data"],
  ] as const) {
    it(`traps with restricted_callback on ${call}`, async () => {
      let trap: WasmTrap | undefined;
      try {
        await loadFixture(`init-restricted-${variant}`);
      } catch (e) {
        assert.ok(e instanceof WasmTrap);
        trap = e;
      }
      assert.ok(trap, "the VM started although a restricted call was made");
      assert.equal(trap.functionName, "_initialize");
      assert.match(trap.message, new RegExp(`^Function: _initialize failed: restricted_callback: ${call}`));
      // The allowed calls before it went through and were logged; nothing after it ran.
      const msgs = messages(trap.vm.logs);
      assert.ok(msgs.includes("init: proxy_log ok"));
      assert.ok(!msgs.includes("init: done"));
      assert.equal(trap.vm.failed, true);
      assert.equal(trap.vm.trap, trap.message);
    });
  }
});

describe("start-up restriction of every env import", () => {
  // The env functions check the restriction themselves (no wrapper): each one Envoy refuses during
  // start must trap with its own name, and the allowed ones must not.
  it("traps exactly the env imports ALLOWED_DURING_START does not list", async () => {
    const vm = await loadFixture("lifecycle");
    // The imports see the VM only through HostCalls: here, the loaded VM as it looks while starting.
    const whileStarting: HostCalls = new Proxy(vm, {
      get: (target, key) => (key === "starting" ? true : Reflect.get(target, key)),
    });
    const fns = envImports(whileStarting) as Record<string, () => unknown>;
    for (const name of Object.keys(ENV_IMPORTS)) {
      const q = `env.${name}`;
      if (ALLOWED_DURING_START.has(q)) {
        assert.doesNotThrow(() => fns[name](), q);
      } else {
        assert.throws(() => fns[name](), new RegExp(`^Error: restricted_callback: ${q} `), q);
      }
    }
    assert.equal(vm.starting, false);
  });
});

describe("root contexts", () => {
  it("context create, vm_start (buffer 6), configure (buffer 7) in order", async () => {
    const vm = await loadFixture("lifecycle", { vmConfig: "vm-wide" });
    const root = vm.createRoot('{"role":"edge"}');
    assert.equal(root.ok, true);
    assert.deepEqual(messages(vm.logs), [
      `create ${root.id} 0`,
      // vm_start sees the VM configuration; the plugin configuration is not readable then (NotFound).
      `vm_start ${root.id} size=7 vm=0 vm-wide plugin=1 `,
      `configure ${root.id} size=15 config=0 {"role":"edge"}`,
    ]);
  });

  it("configure returning false rejects the configuration", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot("reject");
    assert.equal(root.configureOk, false);
    assert.equal(root.ok, false);
    assert.throws(() => root.newStream(), /rejected its configuration/);
  });

  it("a config update: second root in the same VM, vm_start again (as cpp-host does per root), unique ids", async () => {
    const vm = await loadFixture("lifecycle");
    const first = vm.createRoot("v1");
    const s = first.newStream();
    const second = vm.createRoot("v2");
    assert.notEqual(first.id, second.id);
    assert.ok(second.id > s.id, "context ids are never reused");
    assert.equal(after(vm.logs, `configure ${second.id} `), "size=2 config=0 v2");
    assert.equal(messages(vm.logs).filter((m) => m.startsWith("vm_start")).length, 2);
    assert.deepEqual(
      vm.roots.map((r) => r.configurationText),
      ["v1", "v2"],
    );
  });

  it("an empty configuration is size 0 and reads as nothing", async () => {
    const vm = await loadFixture("lifecycle");
    const root = vm.createRoot();
    assert.equal(after(vm.logs, `configure ${root.id} `), "size=0 config=0 ");
  });
});
