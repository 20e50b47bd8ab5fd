// The controller installs the sidecar filter only in the namespaces it manages: one EnvoyFilter in each
// (all its sidecars), none in the root namespace (which would put a Wasm VM into every proxy of the mesh)
// or in namespaces that never opted in; a namespace that leaves the selection loses its filter.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  eventually,
  FakeApiServer,
  laneApi,
  laneApp,
  laneObject,
  seedAll,
  seedNamespace,
  settle,
  startController,
} from "./helpers.js";

const filters = (server: FakeApiServer) =>
  server
    .listObjects("envoyfilters")
    .map((o) => {
      const m = o.metadata as { namespace: string; name: string };
      return `${m.namespace}/${m.name}`;
    })
    .sort();

test("sidecar EnvoyFilters follow the enabled namespaces, never the root namespace", async () => {
  const server = await FakeApiServer.start({ bookmarkIntervalMs: 200 });
  const controller = await startController(server, { resyncMs: 0 });
  try {
    seedNamespace(server, "istio-system", {});
    seedNamespace(server, "shop");
    seedAll(server, laneApp("shop", "web"));
    seedNamespace(server, "front"); // enabled, no lanes: its workloads call shop's
    seedNamespace(server, "plain", {}); // never opted in
    seedAll(server, laneApp("plain", "api", ["base"]));
    await laneApi(server).create(laneObject("shop", "canary"));
    await eventually(
      () => server.getObject("envoyfilters", "shop", "meshlane-sidecar"),
      "the sidecar filter",
    );
    await settle(controller, server);
    assert.deepEqual(filters(server), [
      "front/meshlane-sidecar",
      "istio-system/meshlane-edge",
      "shop/meshlane-sidecar",
    ]);
    const ef = server.getObject("envoyfilters", "shop", "meshlane-sidecar") as {
      spec: { workloadSelector?: unknown };
    };
    assert.equal(ef.spec.workloadSelector, undefined, "all sidecars of the namespace");

    // "front" leaves the selection: its filter goes, the others stay.
    seedNamespace(server, "front", {});
    await eventually(
      () => !server.getObject("envoyfilters", "front", "meshlane-sidecar"),
      "front's filter deleted",
    );
    await settle(controller, server);
    assert.deepEqual(filters(server), ["istio-system/meshlane-edge", "shop/meshlane-sidecar"]);

    // The last Lane goes: so do the filters.
    await laneApi(server).delete("shop", "canary");
    await eventually(() => filters(server).length === 0, "every filter deleted");
  } finally {
    await controller.stop();
    await server.stop();
  }
});
