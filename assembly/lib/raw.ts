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

/** a == b for strings, without a call when they are the same object (the usual case on the request
 * path: a rule's lane, the default lane). */
@inline export function sameString(a: string, b: string): bool {
  return changetype<usize>(a) == changetype<usize>(b) || a == b;
}

/** Whether byte i at ptr is HTTP optional whitespace (space or tab). */
@inline export function owsAt(ptr: usize, i: i32): bool {
  const c = load<u8>(ptr + <usize>i);
  return c == 0x20 || c == 0x09;
}

/** Whether bytes [ptr, ptr + len) are all ASCII: eight at a time, the last eight (or the last four
 * of a short run) read once more rather than byte by byte. */
export function isAsciiBytes(ptr: usize, len: i32): bool {
  if (len >= 8) {
    for (let i = 0; i + 8 <= len; i += 8) if ((load<u64>(ptr + <usize>i) & 0x8080808080808080) != 0) return false;
    return (load<u64>(ptr + <usize>(len - 8)) & 0x8080808080808080) == 0;
  }
  if (len >= 4) return ((load<u32>(ptr) | load<u32>(ptr + <usize>(len - 4))) & 0x80808080) == 0;
  for (let i = 0; i < len; i++) if (load<u8>(ptr + <usize>i) >= 0x80) return false;
  return true;
}
