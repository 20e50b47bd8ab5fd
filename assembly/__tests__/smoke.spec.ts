describe("toolchain", () => {
  it("compiles and runs a spec", () => {
    expect<i32>(1 + 1).toBe(2);
  });
});
