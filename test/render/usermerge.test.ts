// The contract for the user's objects meshlane merges into (the GitOps-safe merge): meshlane owns only
// its lane routes and lane subsets; any other change to a merged VirtualService or DestinationRule is
// the user's, is kept, and becomes the new original; `meshlane.io/ignore: "true"` leaves an object
// alone. Pure render, over the merge-user-vs-dr golden case (routes with and without subsets, pins,
// TCP, the user's subsets and trafficPolicy).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  APPLIED_HASH_ANNOTATION,
  IGNORE_ANNOTATION,
  ORIGINAL_SPEC_ANNOTATION,
  render,
  type KubeObject,
} from "../../controller/src/render/index.js";
import { caseInput, carryOut, TEST_OPTIONS } from "./golden.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

const input = () => caseInput("merge-user-vs-dr");
const find = (objs: KubeObject[], kind: string, name = "reviews"): Json =>
  objs.find((o) => o.kind === kind && o.metadata.name === name);
const replace = (world: KubeObject[], obj: KubeObject) =>
  world.map((o) => (o.kind === obj.kind && o.metadata.name === obj.metadata.name ? obj : o));
const saved = (o: Json) => JSON.parse(o.metadata.annotations[ORIGINAL_SPEC_ANNOTATION]);
const clone = <T>(v: T): T => structuredClone(v);

/** The cluster after meshlane's first render was carried out. */
function merged(): KubeObject[] {
  const world = input();
  return carryOut(world, render(world, TEST_OPTIONS));
}

/** What render makes of the user's objects when their spec is `spec` and nothing was merged yet. */
function mergedFrom(kind: string, spec: Json): Json {
  const world = input().map((o) => (o.kind === kind && o.metadata.name === "reviews" ? { ...o, spec } : o));
  return find(render(world, TEST_OPTIONS).apply, kind);
}

test("a user's edit of a merged VirtualService is kept, becomes the original; lane routes stay in front of each route", () => {
  const world = merged();
  const vs = clone(find(world, "VirtualService"));
  const http: Json[] = vs.spec.http;
  const v2api = http.find((r) => r.name === "v2-api");
  v2api.timeout = "5s"; // a user route's timeout
  const jason = http.find((r) => r.name === undefined && r.retries);
  jason.retries.attempts = 5; // a route meshlane pinned to subset base
  // New routes in front of meshlane's: one to a Service without lanes, one to the lane-enabled one.
  http.unshift(
    {
      name: "health",
      match: [{ uri: { exact: "/healthz" } }],
      route: [{ destination: { host: "ratings" } }],
    },
    { name: "admin", match: [{ uri: { prefix: "/admin" } }], route: [{ destination: { host: "reviews" } }] },
  );
  const r = render(replace(world, vs), TEST_OPTIONS);

  const expectedOriginal = clone(find(input(), "VirtualService").spec);
  expectedOriginal.http[0].timeout = "5s";
  expectedOriginal.http[1].retries.attempts = 5;
  expectedOriginal.http.unshift(clone(http[0]), clone(http[1]));
  const out = find(r.apply, "VirtualService");
  assert.deepEqual(saved(out), expectedOriginal, "the new original: the edits, no lane routes, no pins");
  assert.deepEqual(out.spec, mergedFrom("VirtualService", expectedOriginal).spec);
  assert.deepEqual(
    out.spec.http.map((h: Json) => h.name ?? "-"),
    [
      "health",
      "admin-meshlane-canary",
      "admin",
      "v2-api-meshlane-canary",
      "v2-api",
      "meshlane-canary",
      "-",
      "meshlane-canary",
      "-",
    ],
    "each lane route just before the user route it copies",
  );
  assert.equal(out.spec.http[3].timeout, "5s", "the lane copy takes the user's new timeout");
  assert.deepEqual(r.errors, []);

  // Carried out, the next render writes nothing; with the lane gone (Lane and workload), the latest
  // user spec comes back.
  const after = carryOut(replace(world, vs), r);
  assert.equal(find(render(after, TEST_OPTIONS).apply, "VirtualService"), find(after, "VirtualService"));
  const noLane = after.filter((o) => o.kind !== "Lane" && o.metadata.name !== "reviews-v2");
  const restored = find(render(noLane, TEST_OPTIONS).restore, "VirtualService");
  assert.deepEqual(restored.spec, expectedOriginal);
  assert.equal(restored.metadata.annotations, undefined);
});

test("meshlane's own pieces are its own: a deleted or edited lane route comes back, the original stays", () => {
  const world = merged();
  const before = find(world, "VirtualService");
  const vs = clone(before);
  vs.spec.http = vs.spec.http.filter((h: Json) => h.name !== "meshlane-canary");
  vs.spec.http[0].timeout = "9s"; // v2-api-meshlane-canary
  const out = find(render(replace(world, vs), TEST_OPTIONS).apply, "VirtualService");
  assert.deepEqual(out.spec, before.spec);
  assert.equal(
    out.metadata.annotations[ORIGINAL_SPEC_ANNOTATION],
    before.metadata.annotations[ORIGINAL_SPEC_ANNOTATION],
  );
  assert.equal(
    out.metadata.annotations[APPLIED_HASH_ANNOTATION],
    before.metadata.annotations[APPLIED_HASH_ANNOTATION],
  );
});

test("a GitOps re-apply of the user's manifest: same manifest → lanes back, original kept; changed manifest → new original", () => {
  const world = merged();
  const before = find(world, "VirtualService");
  const manifest = find(input(), "VirtualService").spec;
  // Server-side or client-side apply replaces the (atomic) route lists and keeps our annotations.
  const same = find(
    render(replace(world, { ...before, spec: clone(manifest) }), TEST_OPTIONS).apply,
    "VirtualService",
  );
  assert.deepEqual(same.spec, before.spec);
  assert.equal(
    same.metadata.annotations[ORIGINAL_SPEC_ANNOTATION],
    before.metadata.annotations[ORIGINAL_SPEC_ANNOTATION],
  );

  const changed = clone(manifest);
  changed.http[2].timeout = "3s";
  const out = find(
    render(replace(world, { ...before, spec: changed }), TEST_OPTIONS).apply,
    "VirtualService",
  );
  assert.deepEqual(saved(out), changed);
  assert.deepEqual(out.spec, mergedFrom("VirtualService", changed).spec);

  // A replace that drops our annotations as well (kubectl replace, Argo CD's Replace=true): same outcome.
  const bare = { ...before, metadata: { name: "reviews", namespace: "shop" }, spec: changed };
  const out2 = find(render(replace(world, bare), TEST_OPTIONS).apply, "VirtualService");
  assert.deepEqual(saved(out2), changed);
  assert.deepEqual(out2.spec, out.spec);
});

test("annotations lost but lane routes still in the spec: the lane routes are taken out, not refused", () => {
  const world = merged();
  const vs = clone(find(world, "VirtualService"));
  vs.metadata.annotations = {};
  const r = render(replace(world, vs), TEST_OPTIONS);
  assert.deepEqual(r.errors, []);
  const out = find(r.apply, "VirtualService");
  assert.deepEqual(out.spec, find(world, "VirtualService").spec, "lane routes not doubled");
  assert.ok(!saved(out).http.some((h: Json) => String(h.name ?? "").includes("meshlane-")));
});

test("objects written before applied-hash existed are read as before, and get no write of their own", () => {
  const world = merged().map((o: Json) => {
    if (!o.metadata.annotations?.[APPLIED_HASH_ANNOTATION]) return o;
    const { [APPLIED_HASH_ANNOTATION]: _h, ...rest } = o.metadata.annotations;
    return { ...o, metadata: { ...o.metadata, annotations: rest } };
  });
  const r = render(world, TEST_OPTIONS);
  for (const kind of ["VirtualService", "DestinationRule"])
    assert.equal(find(r.apply, kind), find(world, kind));
});

test("DestinationRule: the user's subset and policy edits are kept; lane subsets are meshlane's", () => {
  const world = merged();
  const dr = clone(find(world, "DestinationRule"));
  dr.spec.trafficPolicy.connectionPool.http.http1MaxPendingRequests = 50;
  dr.spec.subsets = dr.spec.subsets.filter((s: Json) => s.name !== "canary"); // meshlane's: comes back
  dr.spec.subsets.splice(2, 0, { name: "v3", labels: { version: "v3" } });
  const out = find(render(replace(world, dr), TEST_OPTIONS).apply, "DestinationRule");
  const expected = clone(find(input(), "DestinationRule").spec);
  expected.trafficPolicy.connectionPool.http.http1MaxPendingRequests = 50;
  expected.subsets.push({ name: "v3", labels: { version: "v3" } });
  assert.deepEqual(saved(out), expected);
  assert.deepEqual(
    out.spec.subsets.map((s: Json) => s.name),
    ["v1", "v2", "v3", "base", "canary"],
  );
});

test("a lane subset is meshlane's: a policy the user adds to it is undone, the original unchanged", () => {
  const world = merged();
  const before = find(world, "DestinationRule");
  const dr = clone(before);
  dr.spec.subsets = dr.spec.subsets.map((s: Json) =>
    s.name === "canary" ? { ...s, trafficPolicy: { tls: { mode: "DISABLE" } } } : s,
  );
  const out = find(render(replace(world, dr), TEST_OPTIONS).apply, "DestinationRule");
  assert.deepEqual(out.spec, before.spec);
  assert.equal(
    out.metadata.annotations[ORIGINAL_SPEC_ANNOTATION],
    before.metadata.annotations[ORIGINAL_SPEC_ANNOTATION],
  );
});

test("a user's subset named after a lane, with other labels, is an error: the object is left alone", () => {
  const world = merged();
  const dr = clone(find(world, "DestinationRule"));
  dr.spec.subsets = dr.spec.subsets.map((s: Json) =>
    s.name === "canary" ? { name: "canary", labels: { version: "v2" } } : s,
  );
  const r = render(replace(world, dr), TEST_OPTIONS);
  assert.deepEqual(
    r.errors.map((e) => [e.object, /subset "canary" is already defined/.test(e.message)]),
    [["DestinationRule shop/reviews", true]],
  );
  assert.equal(find(r.apply, "DestinationRule"), undefined);
  assert.equal(find(r.restore, "DestinationRule"), undefined);
});

test(`${IGNORE_ANNOTATION}: "true": no merge, no restore, and lane traffic it leaves unmanaged is an error`, () => {
  const ignore = (o: Json) => ({
    ...o,
    metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [IGNORE_ANNOTATION]: "true" } },
  });
  // A pristine VirtualService: not merged into, and no meshlane VirtualService for its host either.
  const vs = ignore(find(input(), "VirtualService"));
  const r = render(replace(input(), vs), TEST_OPTIONS);
  assert.equal(find(r.apply, "VirtualService"), undefined);
  assert.equal(find(r.apply, "VirtualService", "meshlane-reviews"), undefined);
  assert.ok(
    r.errors.some((e) => e.object === "VirtualService shop/reviews" && e.message.includes(IGNORE_ANNOTATION)),
  );
  assert.ok(find(r.apply, "DestinationRule"), "the DestinationRule is still merged");

  // A merged VirtualService marked later stays as it is: no error while it has the lane routes, and
  // no restore when the Lane goes.
  const world = merged();
  const frozen = ignore(find(world, "VirtualService"));
  const r2 = render(replace(world, frozen), TEST_OPTIONS);
  assert.deepEqual(r2.errors, []);
  assert.equal(find(r2.apply, "VirtualService"), undefined);
  const r3 = render(
    replace(world, frozen).filter((o) => o.kind !== "Lane" && o.metadata.name !== "reviews-v2"),
    TEST_OPTIONS,
  );
  assert.equal(find(r3.restore, "VirtualService"), undefined);

  // A DestinationRule without the lane subsets: the Service cannot be lane-routed.
  const dr = ignore(find(input(), "DestinationRule"));
  const r4 = render(replace(input(), dr), TEST_OPTIONS);
  assert.equal(find(r4.apply, "DestinationRule"), undefined);
  assert.ok(
    r4.errors.some(
      (e) => e.object === "DestinationRule shop/reviews" && e.message.includes(IGNORE_ANNOTATION),
    ),
  );
  assert.deepEqual(r4.lanes[0].services, [], "reviews is not lane-routed");
  assert.equal(find(r4.apply, "VirtualService"), undefined, "so its VirtualService gets no lane routes");
});

test("an explicit subset base of the user's, and their own lane-shaped subset, survive an edit elsewhere", () => {
  const world0 = input().map((o: Json) => {
    if (o.kind === "VirtualService") {
      const c = clone(o);
      c.spec.http[2].route[0].destination.subset = "base"; // the user's own choice
      return c;
    }
    if (o.kind === "DestinationRule") {
      const c = clone(o);
      c.spec.subsets.push({ name: "base", labels: { "meshlane.io/lane": "base" } }); // theirs, as ours
      return c;
    }
    return o;
  });
  const userVs = clone(find(world0, "VirtualService").spec);
  const userDr = clone(find(world0, "DestinationRule").spec);
  const world = carryOut(world0, render(world0, TEST_OPTIONS));
  const vs = clone(find(world, "VirtualService"));
  vs.spec.http.find((h: Json) => h.name === "v2-api").timeout = "7s";
  const dr = clone(find(world, "DestinationRule"));
  dr.spec.trafficPolicy.tls.mode = "DISABLE";
  const r = render(replace(replace(world, vs), dr), TEST_OPTIONS);
  userVs.http[0].timeout = "7s";
  userDr.trafficPolicy.tls.mode = "DISABLE";
  assert.deepEqual(saved(find(r.apply, "VirtualService")), userVs);
  assert.deepEqual(saved(find(r.apply, "DestinationRule")), userDr);
});

test("a manifest exported from the cluster (lane routes and our annotations in Git), then edited: the edit is kept", () => {
  const world = merged();
  const exported = clone(find(world, "VirtualService"));
  // Edited in Git: the user route's timeout (its lane copy in the export still has the old one).
  exported.spec.http.find((h: Json) => h.name === "v2-api").timeout = "8s";
  const out = find(render(replace(world, exported), TEST_OPTIONS).apply, "VirtualService");
  const expected = clone(find(input(), "VirtualService").spec);
  expected.http[0].timeout = "8s";
  assert.deepEqual(saved(out), expected);
  assert.equal(out.spec.http.find((h: Json) => h.name === "v2-api-meshlane-canary").timeout, "8s");

  // The old way round, editing only the saved spec in the annotation, still works too.
  const viaAnnotation = clone(find(world, "VirtualService"));
  const edited = saved(viaAnnotation);
  edited.http[0].timeout = "9s";
  viaAnnotation.metadata.annotations[ORIGINAL_SPEC_ANNOTATION] = JSON.stringify(edited);
  const out2 = find(render(replace(world, viaAnnotation), TEST_OPTIONS).apply, "VirtualService");
  assert.deepEqual(saved(out2), edited);
  assert.deepEqual(out2.spec, mergedFrom("VirtualService", edited).spec);
});
