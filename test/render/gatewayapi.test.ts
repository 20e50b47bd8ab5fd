// Gateway API routing (--routing gateway-api) beyond the golden cases: the schemas it is checked
// against, the default mode left exactly as it was, switching modes both ways, and the shapes of
// per-lane Services and mesh HTTPRoutes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { render, type KubeObject, type RenderOptions } from "../../controller/src/render/index.js";
import { keyOf } from "../../controller/src/render/objects.js";
import { fromRoot } from "../../controller/src/paths.js";
import { caseInput, caseOptions, carryOut, formatResult, goldenCases, TEST_OPTIONS } from "./golden.js";
import { celRuleKnown, loadYamlFile, objectProblems } from "./schemas.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const GW: RenderOptions = { ...TEST_OPTIONS, routing: "gateway-api" };

function celRules(s: Json, out: Set<string>): Set<string> {
  if (Array.isArray(s)) s.forEach((x) => celRules(x, out));
  else if (s && typeof s === "object") {
    for (const v of s["x-kubernetes-validations"] ?? []) out.add(v.rule);
    for (const [k, v] of Object.entries(s)) if (k !== "x-kubernetes-validations") celRules(v, out);
  }
  return out;
}

test("every CEL rule of the carried HTTPRoute CRD is evaluated by the schema checks", () => {
  const [crd] = loadYamlFile(fromRoot("test", "schemas", "gateway-api-v1.2.1-httproute-crd.yaml"));
  const rules = celRules(crd.spec.versions, new Set());
  assert.ok(rules.size > 30, `only ${rules.size} rules found`);
  for (const r of rules) assert.ok(celRuleKnown(r), `not in the CEL table: ${r}`);
});

test("the schema checks refuse what the HTTPRoute CRD refuses", () => {
  const route = (backend: Json, extra: Json = {}) => ({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: { name: "r", namespace: "n" },
    spec: {
      parentRefs: [{ group: "", kind: "Service", name: "a" }],
      rules: [{ backendRefs: [backend], ...extra }],
    },
  });
  assert.deepEqual(objectProblems(route({ group: "", kind: "Service", name: "a", port: 80 })), []);
  assert.match(objectProblems(route({ group: "", kind: "Service", name: "a" })).join(), /port/i);
  const tooMany = route({ group: "", kind: "Service", name: "a", port: 80 });
  tooMany.spec.rules = Array.from({ length: 17 }, () => tooMany.spec.rules[0]);
  assert.notDeepEqual(objectProblems(tooMany), []);
  const badPath = route(
    { group: "", kind: "Service", name: "a", port: 80 },
    { matches: [{ path: { type: "PathPrefix", value: "no-slash" } }] },
  );
  assert.notDeepEqual(objectProblems(badPath), []);
});

test("routing istio, given or not, renders every golden case the same", () => {
  for (const name of goldenCases()) {
    const input = caseInput(name);
    const options = caseOptions(name);
    assert.equal(
      formatResult(render(input, { ...options, routing: "istio" })),
      formatResult(render(input, options)),
      name,
    );
  }
});

function apply(world: KubeObject[], options: RenderOptions): KubeObject[] {
  return carryOut(world, render(world, options));
}

const byKey = (objs: KubeObject[]) => new Map(objs.map((o) => [keyOf(o), o]));
const isOurs = (o: KubeObject) => o.metadata.labels?.["app.kubernetes.io/managed-by"] === "meshlane";

for (const [from, to] of [
  ["istio", "gateway-api"],
  ["gateway-api", "istio"],
] as const) {
  test(`switching from ${from} to ${to} leaves nothing of ${from} behind`, () => {
    const input = caseInput("seed-003");
    const before = apply(input, { ...TEST_OPTIONS, routing: from });
    const after = apply(before, { ...TEST_OPTIONS, routing: to });
    // The same as rendering the untouched cluster in the new mode directly.
    const direct = apply(input, { ...TEST_OPTIONS, routing: to });
    assert.deepEqual(byKey(after), byKey(direct));
    const oldKinds = from === "istio" ? ["VirtualService", "DestinationRule"] : ["HTTPRoute", "Service"];
    for (const o of after) {
      if (oldKinds.includes(o.kind)) {
        assert.ok(!isOurs(o), `${o.kind} ${o.metadata.name} of meshlane left behind`);
        assert.equal(
          o.metadata.annotations?.["meshlane.io/original-spec"],
          undefined,
          `${o.kind} ${o.metadata.name}`,
        );
      }
    }
    // And back again: the first mode's objects exactly as that mode renders them.
    const back = apply(after, { ...TEST_OPTIONS, routing: from });
    assert.deepEqual(byKey(back), byKey(before));
  });
}

test("gateway-api: a multi-port Service gets a mesh HTTPRoute per HTTP port, its TCP port none", () => {
  const input = loadYamlFile(fromRoot("manifests", "examples", "seed-003", "app.yaml"));
  const svc = input.find((o: Json) => o.kind === "Service" && o.metadata.name === "mocka");
  svc.spec.ports = [
    { name: "http", port: 8000 },
    { name: "http-admin", port: 9000, targetPort: 9001 },
    { name: "tcp-db", port: 5432 },
  ];
  const lane = loadYamlFile(fromRoot("manifests", "examples", "seed-003", "lane.yaml"));
  const r = render([...input, ...lane], GW);
  const routes = r.apply.filter(
    (o) => o.kind === "HTTPRoute" && o.metadata.name.startsWith("meshlane-mocka"),
  );
  assert.deepEqual(
    routes.map((o) => [o.metadata.name, o.spec.parentRefs[0].port, o.spec.rules.at(-1).backendRefs[0]]),
    [
      [
        "meshlane-mocka-8000",
        8000,
        { group: "", kind: "Service", name: "mocka-base", port: 8000, weight: 1 },
      ],
      [
        "meshlane-mocka-9000",
        9000,
        { group: "", kind: "Service", name: "mocka-base", port: 9000, weight: 1 },
      ],
    ],
  );
  const canary = r.apply.find((o) => o.kind === "Service" && o.metadata.name === "mocka-canary")!;
  assert.deepEqual(canary.spec.ports, [
    { name: "http", protocol: "TCP", port: 8000, targetPort: 8000 },
    { name: "http-admin", protocol: "TCP", port: 9000, targetPort: 9001 },
    { name: "tcp-db", protocol: "TCP", port: 5432, targetPort: 5432 },
  ]);
  assert.deepEqual(canary.spec.selector, { app: "mocka", "meshlane.io/lane": "canary" });
  assert.ok(r.warnings.some((w) => w.object === "Service e2e/mocka" && /TCP ports/.test(w.message)));
  for (const o of r.apply) assert.deepEqual(objectProblems(o), [], `${o.kind} ${o.metadata.name}`);
});

test("gateway-api: a per-lane Service keeps what the API server assigned; a name too long is refused", () => {
  const input = caseInput("seed-003");
  const first = render(input, GW);
  const svc = first.apply.find((o) => o.metadata.name === "mocka-canary")!;
  const live = {
    ...svc,
    metadata: { ...svc.metadata, uid: "u1", resourceVersion: "7" },
    spec: {
      ...svc.spec,
      clusterIP: "10.96.3.4",
      clusterIPs: ["10.96.3.4"],
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
  };
  const again = render([...input.filter((o) => keyOf(o) !== keyOf(live)), live], GW);
  assert.ok(again.apply.find((o) => keyOf(o) === keyOf(live)) === live, "the live Service is unchanged");

  const long = caseInput("seed-003").map((o) =>
    o.kind === "Lane" ? { ...o, metadata: { ...o.metadata, name: "c".repeat(58) } } : o,
  );
  const relabel = (o: KubeObject): KubeObject => {
    const tpl = o.spec?.template?.metadata?.labels;
    if (tpl?.["meshlane.io/lane"] !== "canary") return o;
    const labels = { ...tpl, "meshlane.io/lane": "c".repeat(58) };
    return { ...o, spec: { ...o.spec, template: { ...o.spec.template, metadata: { labels } } } };
  };
  const r = render(long.map(relabel), GW);
  assert.ok(
    r.warnings.some((w) => /longer than 63 characters/.test(w.message)),
    JSON.stringify(r.warnings),
  );
  assert.ok(!r.apply.some((o) => o.kind === "Service" && o.metadata.name.length > 63));
});

test("gateway-api: a per-lane Service name is never taken from a Service meshlane did not make for it", () => {
  const input = caseInput("seed-003");
  // Labelled managed-by meshlane, but not a per-lane Service of mocka (no meshlane.io/service: mocka).
  const impostor: KubeObject = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: "mocka-canary",
      namespace: "e2e",
      labels: { "app.kubernetes.io/managed-by": "meshlane" },
    },
    spec: { selector: { app: "other" }, ports: [{ name: "http", port: 80 }] },
  };
  const r = render([...input, impostor], GW);
  assert.ok(
    r.errors.some(
      (e) => e.object === "Service e2e/mocka-canary" && /not managed by meshlane/.test(e.message),
    ),
  );
  assert.ok(!r.apply.some((o) => o.kind === "Service" && o.metadata.name === "mocka-canary"));
  assert.ok(!r.delete.some((d) => d.kind === "Service" && d.name === "mocka-canary"), "nor deleted");
  assert.ok(r.warnings.some((w) => w.object === "Service e2e/mocka" && /not lane-routed/.test(w.message)));

  // Service a with lane b-c and Service a-b with lane c both want a-b-c: the second is not routed.
  const app = (name: string, lanes: string[]): KubeObject[] => [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace: "x" },
      spec: { selector: { app: name }, ports: [{ name: "http", port: 80 }] },
    },
    ...lanes.map((lane, i) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${name}-pod-${i}`,
        namespace: "x",
        labels: { app: name, "meshlane.io/lane": lane },
      },
    })),
  ];
  const laneObj = (name: string): KubeObject => ({
    apiVersion: "meshlane.io/v1alpha1",
    kind: "Lane",
    metadata: { name, namespace: "x" },
    spec: { dye: [{ when: { headers: { x: { exact: name } } } }] },
  });
  const c = render(
    [...app("a", ["base", "b-c"]), ...app("a-b", ["base", "c"]), laneObj("b-c"), laneObj("c")],
    GW,
  );
  const names = c.apply.filter((o) => o.kind === "Service").map((o) => o.metadata.name);
  assert.equal(names.filter((n) => n === "a-b-c").length, 1);
  assert.ok(
    c.warnings.some((w) => w.object === "Service x/a-b" && /a-b-c/.test(w.message)),
    JSON.stringify(c.warnings),
  );
});
