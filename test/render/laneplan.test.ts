// The lane plan on its own (laneplan.ts): cluster objects in, per Service the lane that serves each
// Lane after its fallback chain. No routing API takes part, so these tests read no VirtualService or
// DestinationRule; the last one checks that render reports exactly the plan's targets.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, type KubeObject } from "../../controller/src/render/index.js";
import { takeInventory } from "../../controller/src/render/inventory.js";
import { planLanes, targetAt, type LanePlan } from "../../controller/src/render/laneplan.js";
import { resolveOptions } from "../../controller/src/render/options.js";
import { TEST_OPTIONS, caseInput } from "./golden.js";

function lane(
  namespace: string,
  name: string,
  fallback: string,
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "meshlane.io/v1alpha1",
    kind: "Lane",
    metadata: { name, namespace },
    spec: { fallback, dye: [{ when: { headers: { [`x-${name}`]: { present: true } } } }], ...extra },
  };
}

function service(namespace: string, app: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: app, namespace },
    spec: { selector: { app }, ports: [{ name: "http", port: 80 }] },
  };
}

/** A ready Pod of `app`, labelled with `lane` unless it is undefined. */
function pod(namespace: string, app: string, lane: string | undefined, n = 1): KubeObject {
  const labels: Record<string, string> = { app };
  if (lane !== undefined) labels["meshlane.io/lane"] = lane;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${app}-${lane ?? "plain"}-${n}`, namespace, labels },
    spec: { containers: [{ name: app, image: `example/${app}` }] },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

function plan(objects: KubeObject[], verdicts?: Record<string, string>): LanePlan {
  const o = resolveOptions({ ...TEST_OPTIONS, laneVerdicts: verdicts });
  return planLanes(takeInventory(objects, o.defaultNamespace), o);
}

/** Per Service (`namespace/name`), its targets as `lane→target` pairs in the plan's order. */
function targets(p: LanePlan): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of p.services.values()) {
    out[`${s.namespace}/${s.name}`] = [...s.targets].map(([l, t]) => `${l}→${t}`);
  }
  return out;
}

// shop: gamma → beta → alpha → base. cart has alpha and gamma; pay has beta only.
const chainWorld = (): KubeObject[] => [
  lane("shop", "alpha", "base"),
  lane("shop", "beta", "alpha"),
  lane("shop", "gamma", "beta"),
  service("shop", "cart"),
  pod("shop", "cart", "base"),
  pod("shop", "cart", "alpha"),
  pod("shop", "cart", "gamma"),
  pod("shop", "cart", "gamma", 2),
  service("shop", "pay"),
  pod("shop", "pay", "base"),
  pod("shop", "pay", "beta"),
];

test("plan: each Lane goes to the first lane of its chain the Service has, else base", () => {
  const p = plan(chainWorld());
  assert.deepEqual(targets(p), {
    // beta passes through alpha's workloads at cart (cart has no beta); gamma has its own.
    "shop/cart": ["alpha→alpha", "beta→alpha", "gamma→gamma"],
    // gamma falls back through beta, which pay has; alpha is not at pay, so it goes to base.
    "shop/pay": ["alpha→base", "beta→beta", "gamma→beta"],
  });
  assert.deepEqual(
    p.lanes.map((l) => [l.name, l.chain.join(" → ")]),
    [
      ["alpha", "alpha → base"],
      ["beta", "beta → alpha → base"],
      ["gamma", "gamma → beta → alpha → base"],
    ],
  );
  assert.deepEqual(p.lanesIn("shop"), ["alpha", "beta", "gamma"]);
  assert.deepEqual(p.lanesIn("elsewhere"), []);
  const cart = p.services.get("cart.shop.svc.cluster.local")!;
  assert.deepEqual([...cart.lanes].sort(), ["alpha", "base", "gamma"]);
  assert.equal(cart.ready.get("gamma"), 2);
  assert.equal(targetAt(cart, "beta"), "alpha");
  assert.equal(targetAt(cart, "not-a-lane"), "base", "a name that is no valid Lane here goes to base");
  assert.deepEqual(p.errors, []);
  assert.deepEqual(p.warnings, []);
});

test("plan: a Service without lane workloads, or without a base one, is not in the plan", () => {
  const p = plan([
    ...chainWorld(),
    service("shop", "plain"),
    pod("shop", "plain", undefined),
    service("shop", "lonely"),
    pod("shop", "lonely", "alpha"),
    service("shop", "base-only"),
    pod("shop", "base-only", "base"),
  ]);
  assert.deepEqual(Object.keys(targets(p)), ["shop/cart", "shop/pay"]);
  assert.deepEqual(
    p.warnings.map((w) => `${w.object}: ${w.message}`),
    [
      "Service shop/lonely: its workloads carry meshlane.io/lane but none has meshlane.io/lane=base; " +
        "not lane-routed (label the stable workload meshlane.io/lane: base)",
    ],
  );
});

test("plan: a Lane with no workloads anywhere still has targets (its fallbacks), with a warning", () => {
  const p = plan([...chainWorld(), lane("shop", "delta", "gamma")]);
  assert.deepEqual(targets(p)["shop/cart"], ["alpha→alpha", "beta→alpha", "delta→gamma", "gamma→gamma"]);
  assert.deepEqual(targets(p)["shop/pay"], ["alpha→base", "beta→beta", "delta→beta", "gamma→beta"]);
  assert.deepEqual(
    p.warnings.map((w) => `${w.object}: ${w.message}`),
    [
      "Lane shop/delta: no workload in namespace shop carries meshlane.io/lane=delta: its traffic goes to the fallbacks",
    ],
  );
});

test("plan: invalid Lanes, and Lanes whose chain runs through one, take no part", () => {
  const p = plan(
    [
      ...chainWorld(),
      lane("shop", "broken", "base", { colour: "red" }),
      lane("shop", "rider", "broken"),
      lane("shop", "orphan", "missing"),
      lane("shop", "loop-a", "loop-b"),
      lane("shop", "loop-b", "loop-a"),
      lane("shop", "vetoed", "base"),
      pod("shop", "cart", "broken"),
    ],
    { "shop/vetoed": "regex too large" },
  );
  assert.deepEqual(p.lanesIn("shop"), ["alpha", "beta", "gamma"]);
  assert.deepEqual(targets(p)["shop/cart"], ["alpha→alpha", "beta→alpha", "gamma→gamma"]);
  const errors = p.errors.map((e) => `${e.object}: ${e.message}`);
  assert.equal(errors.length, 6, errors.join("\n"));
  assert.match(
    errors.find((e) => e.startsWith("Lane shop/broken:"))!,
    /spec\.colour: unknown field/,
  );
  assert.ok(errors.includes("Lane shop/rider: fallback chain rider → broken: Lane shop/broken is invalid"));
  assert.ok(errors.includes("Lane shop/orphan: fallback chain orphan → missing: no Lane shop/missing"));
  assert.ok(errors.includes("Lane shop/loop-a: fallback cycle loop-a → loop-b → loop-a"));
  assert.ok(errors.includes("Lane shop/vetoed: dye rules rejected by the filter: regex too large"));
  // cart's pods of the invalid lane get nothing, and the plan says so.
  assert.ok(
    p.warnings.some(
      (w) =>
        w.object === "Service shop/cart" &&
        w.message ===
          "workloads labelled meshlane.io/lane=broken get no traffic: there is no valid Lane shop/broken",
    ),
  );
});

test("plan: Lanes act only in their own namespace", () => {
  const p = plan([
    ...chainWorld(),
    service("other", "cart"),
    pod("other", "cart", "base"),
    pod("other", "cart", "alpha"),
  ]);
  assert.deepEqual(targets(p)["other/cart"], [], "no Lane in namespace other: nothing is routed there");
  assert.deepEqual(targets(p)["shop/cart"], ["alpha→alpha", "beta→alpha", "gamma→gamma"]);
  assert.ok(
    p.warnings.some((w) => w.object === "Service other/cart" && /no valid Lane other\/alpha/.test(w.message)),
  );
});

test("plan: routing objects in the input change nothing in the plan", () => {
  const routing: KubeObject[] = [
    {
      apiVersion: "networking.istio.io/v1",
      kind: "VirtualService",
      metadata: { name: "cart", namespace: "shop" },
      spec: { hosts: ["cart"], http: [{ route: [{ destination: { host: "cart", subset: "v1" } }] }] },
    },
    {
      apiVersion: "networking.istio.io/v1",
      kind: "DestinationRule",
      metadata: { name: "cart", namespace: "shop", annotations: { "meshlane.io/ignore": "true" } },
      spec: { host: "cart", subsets: [{ name: "v1", labels: { app: "cart" } }] },
    },
  ];
  assert.deepEqual(targets(plan([...chainWorld(), ...routing])), targets(plan(chainWorld())));
});

test("plan: render's lane status reports the plan's targets for every routed Service", () => {
  const input = caseInput("fallback-chain");
  const p = plan(input);
  const status = render(input, TEST_OPTIONS).lanes;
  assert.ok(status.length > 0);
  for (const l of status) {
    assert.ok(l.services.length > 0, `${l.namespace}/${l.name} reaches no Service`);
    for (const s of l.services) {
      const planned = p.services.get(`${s.service}.${l.namespace}.svc.cluster.local`)!;
      assert.equal(s.target, planned.targets.get(l.name), `${l.name} at ${s.service}`);
    }
  }
});
