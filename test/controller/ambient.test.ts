// The controller in Istio ambient mode (setting `ambient: true`): a WasmPlugin meshlane-waypoint on
// each managed namespace's waypoint, and Lanes in a namespace labelled istio.io/dataplane-mode: ambient
// say in their Ready condition what holds there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { optionsFromConfig } from "../../controller/src/render/options.js";
import { AMBIENT_NOTE, AMBIENT_OFF_NOTE } from "../../controller/src/reconcile/lanestatus.js";
import {
  condition,
  ENABLED,
  eventually,
  FakeApiServer,
  lane,
  laneApi,
  laneApp,
  laneObject,
  seedAll,
  seedNamespace,
  settle,
  startController,
  wasm,
} from "./helpers.js";

test("ambient: waypoint WasmPlugins in the managed namespaces; an ambient namespace's Lane says what holds", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const module = await wasm();
  const controller = await startController(server, {
    render: optionsFromConfig({ ambient: true }, module.sha256),
  });
  try {
    seedNamespace(server, "istio-system", {});
    seedNamespace(server, "shop", { ...ENABLED, "istio.io/dataplane-mode": "ambient" });
    seedNamespace(server, "legacy"); // sidecars
    seedAll(server, laneApp("shop", "web"));
    seedAll(server, laneApp("legacy", "api"));
    await laneApi(server).create(laneObject("shop", "canary"));
    await laneApi(server).create(laneObject("legacy", "canary"));
    await eventually(
      () => server.getObject("wasmplugins", "shop", "meshlane-waypoint"),
      "the waypoint WasmPlugin",
    );
    await eventually(
      () => condition(lane(server, "shop", "canary"), "Ready")?.status === "True",
      "shop Ready",
    );
    await eventually(
      () => condition(lane(server, "legacy", "canary"), "Ready")?.status === "True",
      "legacy Ready",
    );
    await settle(controller, server);
    const wp = server.getObject("wasmplugins", "shop", "meshlane-waypoint") as {
      spec: { targetRefs: unknown; pluginConfig: { role: string } };
    };
    assert.deepEqual(wp.spec.targetRefs, [
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" },
    ]);
    assert.equal(wp.spec.pluginConfig.role, "waypoint");
    const shop = condition(lane(server, "shop", "canary"), "Ready");
    assert.ok(String(shop.message).endsWith(AMBIENT_NOTE), shop.message);
    assert.match(shop.message, /same waypoint instance \(one namespace waypoint, one replica/);
    const legacy = condition(lane(server, "legacy", "canary"), "Ready");
    assert.ok(!String(legacy.message).includes("ambient"), legacy.message);

    // The namespace leaves ambient mode: the note goes.
    seedNamespace(server, "shop", ENABLED);
    await eventually(
      () => !String(condition(lane(server, "shop", "canary"), "Ready")?.message).includes("ambient"),
      "the note removed",
    );
  } finally {
    await controller.stop();
    await server.stop();
  }
});

test("ambient setting off: an ambient namespace's Lane says no waypoint runs the filter", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const controller = await startController(server);
  try {
    seedNamespace(server, "istio-system", {});
    seedNamespace(server, "shop", { ...ENABLED, "istio.io/dataplane-mode": "ambient" });
    seedAll(server, laneApp("shop", "web"));
    await laneApi(server).create(laneObject("shop", "canary"));
    await eventually(() => condition(lane(server, "shop", "canary"), "Ready")?.status === "True", "Ready");
    await settle(controller, server);
    const ready = condition(lane(server, "shop", "canary"), "Ready");
    assert.ok(String(ready.message).endsWith(AMBIENT_OFF_NOTE), ready.message);
    assert.equal(server.getObject("wasmplugins", "shop", "meshlane-waypoint"), undefined);
  } finally {
    await controller.stop();
    await server.stop();
  }
});
