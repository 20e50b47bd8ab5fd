// Plain-load accessors for the request path's inner loops. The release build is tuned for size
// (shrinkLevel 2), so the standard library's String#length, String#charCodeAt and Array's indexed
// read stay function calls there, one per byte compared; these are inlined loads instead. Callers
// must know the index is in range (the checked forms remain the default everywhere else).
// `@inline` on a function is AssemblyScript syntax that Prettier cannot parse: see .prettierignore.

/** s.length */
@inline export function strLen(s: string): i32 {
  // The runtime header's last word is the payload size in bytes (two per UTF-16 unit).
  return <i32>(load<u32>(changetype<usize>(s) - 4) >> 1);
}

/** s.charCodeAt(i), 0 <= i < s.length */
@inline export function unitAt(s: string, i: i32): i32 {
  return <i32>load<u16>(changetype<usize>(s) + ((<usize>i) << 1));
}

/** unchecked(a[i]), 0 <= i < a.length */
@inline export function itemAt<T>(a: Array<T>, i: i32): T {
  return load<T>(a.dataStart + ((<usize>i) << alignof<T>()));
}

/** Whether byte i at ptr is HTTP optional whitespace (space or tab). */
@inline export function owsAt(ptr: usize, i: i32): bool {
  const c = load<u8>(ptr + <usize>i);
  return c == 0x20 || c == 0x09;
}
