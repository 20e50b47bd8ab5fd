// Pure pieces of the host, without a module: the pairs encoding and header-map edge cases.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  deserializePairs,
  HeaderMap,
  PropertyTree,
  serializePairs,
} from "../../controller/src/host/index.js";

describe("pairs encoding", () => {
  it("round-trips, including UTF-8 and empty values", () => {
    const keys = [":path", "x-ü", "empty"];
    const values = ["/", "größe", ""];
    const bytes = serializePairs(keys, values);
    assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true), 3);
    assert.deepEqual(deserializePairs(bytes), [
      [":path", "/"],
      ["x-ü", "größe"],
      ["empty", ""],
    ]);
  });

  it("a truncated header decodes as no pairs, like cpp-host toPairs", () => {
    assert.deepEqual(deserializePairs(Uint8Array.of(5, 0, 0, 0, 1)), []);
    assert.deepEqual(deserializePairs(new Uint8Array(0)), []);
  });
});

describe("HeaderMap", () => {
  it("an inline header with an empty value takes the appended value without a delimiter", () => {
    const m = HeaderMap.fromCaller([["x-forwarded-for", ""]]);
    m.add("x-forwarded-for", "10.0.0.1");
    m.add("X-Forwarded-For", "10.0.0.2");
    assert.deepEqual(m.pairs(), [["x-forwarded-for", "10.0.0.1,10.0.0.2"]]);
  });

  it("removing pseudo-headers keeps later pseudo-headers in front", () => {
    const m = HeaderMap.fromCaller([
      ["a", "1"],
      [":path", "/"],
      [":method", "GET"],
    ]);
    m.remove(":path");
    m.add(":scheme", "https");
    assert.deepEqual(m.pairs(), [
      [":method", "GET"],
      [":scheme", "https"],
      ["a", "1"],
    ]);
  });
});

describe("PropertyTree", () => {
  it("later inputs merge into maps created by earlier ones", () => {
    const t = new PropertyTree([
      { path: ["metadata", "filter_metadata", "a"], json: { x: "1" } },
      { path: ["metadata", "filter_metadata", "a", "y"], string: "2" },
    ]);
    assert.equal(Buffer.from(t.lookup("metadata\0filter_metadata\0a\0y").value ?? []).toString(), "2");
    assert.equal(Buffer.from(t.lookup("metadata\0filter_metadata\0a\0x").value ?? []).toString(), "1");
  });

  it("an input must carry exactly one value", () => {
    assert.throws(() => new PropertyTree([{ path: ["a"], string: "x", int: 1 }]), /exactly one of/);
  });
});
