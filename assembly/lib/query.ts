// Query-string lookup on an HTTP :path.

import { percentDecode, regionEquals } from "./text";

/** True when s[start, end) holds '%' or '+', i.e. decoding could change it. */
function needsDecoding(s: string, start: i32, end: i32): bool {
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x25 || c == 0x2b) return true;
  }
  return false;
}

/** Form-decodes s[start, end) ('+' is a space); on invalid UTF-8 the raw text is kept. */
function decodeRange(s: string, start: i32, end: i32): string {
  const raw = s.substring(start, end);
  const decoded = percentDecode(raw, true);
  return decoded === null ? raw : decoded;
}

/**
 * The value of the first query parameter whose decoded name equals `name`
 * exactly, from a :path such as "/a?x=1&y=two%20words#frag". The query runs
 * from the first '?' to the next '#' (none if '#' comes first); parameters split on '&'.
 * Names and values are percent-decoded with '+' as a space; malformed escapes
 * stay as they are, and text whose escapes are not valid UTF-8 is returned
 * undecoded. A parameter without '=' has the value "". Null when absent or
 * name is empty.
 */
export function getQueryParam(path: string, name: string): string | null {
  if (name.length == 0) return null;
  const q = path.indexOf("?");
  if (q < 0) return null;
  const hash = path.indexOf("#");
  if (hash >= 0 && hash < q) return null; // the '?' is inside the fragment
  let qEnd = path.indexOf("#", q + 1);
  if (qEnd < 0) qEnd = path.length;
  let start = q + 1;
  while (start < qEnd) {
    let end = path.indexOf("&", start);
    if (end < 0 || end > qEnd) end = qEnd;
    if (end > start) {
      let eq = -1;
      for (let k = start; k < end; k++) {
        if (path.charCodeAt(k) == 0x3d) {
          eq = k;
          break;
        }
      }
      const keyEnd = eq < 0 ? end : eq;
      const same = needsDecoding(path, start, keyEnd)
        ? decodeRange(path, start, keyEnd) == name
        : regionEquals(path, start, keyEnd, name);
      if (same) return eq < 0 ? "" : decodeRange(path, eq + 1, end);
    }
    start = end + 1;
  }
  return null;
}

/** The :path without its query and fragment ("/a/b?x=1#f" gives "/a/b"). */
export function pathOnly(path: string): string {
  let end = path.length;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x3f || c == 0x23) {
      end = i;
      break;
    }
  }
  return end == path.length ? path : path.substring(0, end);
}
