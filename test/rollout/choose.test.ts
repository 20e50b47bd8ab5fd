// The controller's choice of metrics provider from its flags (rollout/choose.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { chooseProvider } from "../../controller/src/rollout/choose.js";
import { ScriptedProvider } from "../support/metrics.js";

test("--prometheus-url chooses the Prometheus provider with its timeout; none without it", () => {
  const made: { url: string; timeoutMs?: number }[] = [];
  const factory = (o: { url: string; timeoutMs?: number }) => {
    made.push(o);
    return new ScriptedProvider();
  };
  assert.equal(chooseProvider({}, factory), undefined);
  assert.equal(made.length, 0);
  const p = chooseProvider({ prometheusUrl: "http://prometheus:9090", prometheusTimeoutMs: 5000 }, factory);
  assert.ok(p instanceof ScriptedProvider);
  assert.deepEqual(made, [{ url: "http://prometheus:9090", timeoutMs: 5000 }]);
});

test("bad provider settings are refused with the flag's name", () => {
  const factory = () => new ScriptedProvider();
  assert.throws(
    () => chooseProvider({ prometheusUrl: "prometheus:9090" }, factory),
    /--prometheus-url: expected an http/,
  );
  assert.throws(() => chooseProvider({ prometheusUrl: "not a url" }, factory), /--prometheus-url: not a URL/);
  assert.throws(
    () => chooseProvider({ prometheusUrl: "https://p", prometheusTimeoutMs: 0 }, factory),
    /--prometheus-timeout: must be longer than 0/,
  );
});
