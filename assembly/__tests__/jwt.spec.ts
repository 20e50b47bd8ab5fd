import { JKind, JValue, parseJson } from "../lib/json";
import { claimValues, jwtPayload } from "../lib/jwt";
import { b64url } from "./support/base64url";

const HEADER = '{"alg":"RS256","typ":"JWT"}';

function token(payload: string): string {
  return b64url(HEADER) + "." + b64url(payload) + ".c2ln";
}

function obj(text: string): JValue {
  return parseJson(text).value!;
}

describe("jwtPayload", () => {
  it("decodes a bare token", () => {
    const p = jwtPayload(token('{"sub":"u1","groups":["beta"]}'));
    expect(p).not.toBeNull();
    expect(p!.get("sub")!.s).toBe("u1");
  });

  it("accepts the Bearer scheme in any case", () => {
    const t = token('{"sub":"u1"}');
    expect(jwtPayload("Bearer " + t)!.get("sub")!.s).toBe("u1");
    expect(jwtPayload("bearer " + t)).not.toBeNull();
    expect(jwtPayload("BEARER   " + t)).not.toBeNull();
    expect(jwtPayload("  Bearer " + t + "  ")).not.toBeNull();
  });

  it("accepts an empty signature (alg none)", () => {
    const t = b64url('{"alg":"none"}') + "." + b64url('{"sub":"u1"}') + ".";
    expect(jwtPayload(t)).not.toBeNull();
  });

  it("rejects other schemes and malformed tokens", () => {
    const t = token('{"sub":"u1"}');
    expect(jwtPayload("")).toBeNull();
    expect(jwtPayload("Bearer")).toBeNull();
    expect(jwtPayload("Bearer ")).toBeNull();
    expect(jwtPayload("Basic " + t)).toBeNull();
    expect(jwtPayload("Bearer" + t)).toBeNull();
    expect(jwtPayload("a.b")).toBeNull();
    expect(jwtPayload(t + ".x")).toBeNull(); // four segments
    expect(jwtPayload(t + ".x.y")).toBeNull(); // JWE-like five segments
    expect(jwtPayload("..")).toBeNull();
    expect(jwtPayload("." + b64url('{"sub":"u1"}') + ".s")).toBeNull(); // empty header
    expect(jwtPayload(b64url(HEADER) + "..s")).toBeNull(); // empty payload
    expect(jwtPayload(b64url(HEADER) + "." + b64url('{"a":1}') + "=.s")).toBeNull(); // padding
    expect(jwtPayload(b64url(HEADER) + ".e30 .s")).toBeNull();
    expect(jwtPayload("Bearer " + t + " extra")).toBeNull();
  });

  it("rejects payloads that are not JSON objects", () => {
    expect(jwtPayload(token("[1,2]"))).toBeNull();
    expect(jwtPayload(token('"sub"'))).toBeNull();
    expect(jwtPayload(token("42"))).toBeNull();
    expect(jwtPayload(token("{"))).toBeNull();
    expect(jwtPayload(token('{"a":1,}'))).toBeNull();
    expect(jwtPayload(token('{"a":1}x'))).toBeNull();
    expect(jwtPayload(b64url("not json") + "." + b64url('{"a":1}') + ".s")).toBeNull();
    expect(jwtPayload(b64url(HEADER) + "._w.s")).toBeNull(); // not UTF-8
  });

  it("rejects payloads nested too deeply", () => {
    const deep = '{"a":'.repeat(40) + "1" + "}".repeat(40);
    expect(jwtPayload(token(deep))).toBeNull();
  });

  it("caps the token at 16 KiB", () => {
    const fits = token('{"pad":"' + "x".repeat(11000) + '"}');
    expect(fits.length).toBeLessThan(16384);
    expect(jwtPayload(fits)).not.toBeNull();
    const over = token('{"pad":"' + "x".repeat(13000) + '"}');
    expect(over.length).toBeGreaterThan(16384);
    expect(jwtPayload(over)).toBeNull();
    expect(jwtPayload("a.".repeat(40000))).toBeNull();
  });
});

const claims = obj(
  '{"sub":"u1","age":42,"ratio":1.5,"big":1e20,"neg":-3,"admin":true,"off":false,"none":null,' +
    '"groups":["beta","dev",7,true,null,["x"],{"y":1}],"empty":[],"obj":{"k":"v"},' +
    '"realm_access":{"roles":["canary-tester"],"level":{"tier":"gold"}},"a.b":"flat"}',
);

describe("claimValues", () => {
  it("turns scalars into strings", () => {
    expect(claimValues(claims, "sub")).toStrictEqual(["u1"]);
    expect(claimValues(claims, "age")).toStrictEqual(["42"]);
    expect(claimValues(claims, "neg")).toStrictEqual(["-3"]);
    expect(claimValues(claims, "ratio")).toStrictEqual(["1.5"]);
    expect(claimValues(claims, "big")).toStrictEqual(["100000000000000000000"]);
    expect(claimValues(claims, "admin")).toStrictEqual(["true"]);
    expect(claimValues(claims, "off")).toStrictEqual(["false"]);
  });

  it("prints non-integral numbers with up to 15 significant digits, as JavaScript lays them out", () => {
    const n = obj(
      '{"a":0.25,"b":-0.5,"c":2.5e-5,"d":1e-7,"e":1.5e21,"f":0.30000000000000004,"g":123.456,' +
        '"h":9.3e18,"i":3.14159265358979,"j":1e300,"k":-1.25e-300}',
    );
    expect(claimValues(n, "a")).toStrictEqual(["0.25"]);
    expect(claimValues(n, "b")).toStrictEqual(["-0.5"]);
    expect(claimValues(n, "c")).toStrictEqual(["0.000025"]);
    expect(claimValues(n, "d")).toStrictEqual(["1e-7"]);
    expect(claimValues(n, "e")).toStrictEqual(["1.5e+21"]);
    expect(claimValues(n, "f")).toStrictEqual(["0.3"]); // JavaScript: "0.30000000000000004"
    expect(claimValues(n, "g")).toStrictEqual(["123.456"]);
    expect(claimValues(n, "h")).toStrictEqual(["9300000000000000000"]);
    expect(claimValues(n, "i")).toStrictEqual(["3.14159265358979"]);
    expect(claimValues(n, "j")).toStrictEqual(["1e+300"]);
    expect(claimValues(n, "k")).toStrictEqual(["-1.25e-300"]);
  });

  it("lists array elements, skipping nested arrays, objects and nulls", () => {
    expect(claimValues(claims, "groups")).toStrictEqual(["beta", "dev", "7", "true"]);
    expect(claimValues(claims, "empty").length).toBe(0);
  });

  it("gives nothing for objects, null and absent claims", () => {
    expect(claimValues(claims, "obj").length).toBe(0);
    expect(claimValues(claims, "none").length).toBe(0);
    expect(claimValues(claims, "missing").length).toBe(0);
    expect(claimValues(claims, "").length).toBe(0);
  });

  it("walks dotted paths through nested objects", () => {
    expect(claimValues(claims, "realm_access.roles")).toStrictEqual(["canary-tester"]);
    expect(claimValues(claims, "realm_access.level.tier")).toStrictEqual(["gold"]);
    expect(claimValues(claims, "realm_access.missing").length).toBe(0);
    expect(claimValues(claims, "sub.x").length).toBe(0);
    expect(claimValues(claims, "realm_access..roles").length).toBe(0);
    expect(claimValues(claims, "realm_access.").length).toBe(0);
    expect(claimValues(claims, ".sub").length).toBe(0);
  });

  it("prefers a direct member whose name contains a dot", () => {
    expect(claimValues(claims, "a.b")).toStrictEqual(["flat"]);
  });

  it("reads claims of a decoded token end to end", () => {
    const payload = jwtPayload("Bearer " + token('{"groups":["beta"],"tier":1}'))!;
    expect(payload.kind).toBe(JKind.Object);
    expect(claimValues(payload, "groups")).toStrictEqual(["beta"]);
    expect(claimValues(payload, "tier")).toStrictEqual(["1"]);
  });
});
