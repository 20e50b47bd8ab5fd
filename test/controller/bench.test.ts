// The controller bench's own scenario, small: it must converge against the test API server as it stands
// (a bench that cannot run is found here, not at the next `npm run bench`), writing exactly what has to
// change and nothing on a no-op resync.
import { test } from "node:test";
import assert from "node:assert/strict";
import { benchController } from "../../bench/controller.js";

test("the controller bench's scenario converges: first-pass writes = objects to change, 0 on a resync, one write per gateway at a step change", async () => {
  const r = await benchController({ services: 20, lanes: 2, timeoutMs: 60_000 });
  assert.equal(r.firstPassWrites, r.objectsToChange);
  assert.equal(r.noopWrites, 0);
  assert.deepEqual(r.stepWritesPerGateway, { "envoyfilters/meshlane-edge": 1 });
});

test("the same in gateway-api routing: per-lane Services and HTTPRoutes, nothing written twice", async () => {
  const r = await benchController({ services: 20, lanes: 2, timeoutMs: 60_000, routing: "gateway-api" });
  assert.equal(r.firstPassWrites, r.objectsToChange);
  assert.equal(r.noopWrites, 0);
});
