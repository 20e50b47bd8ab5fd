// Reading one cookie from an RFC 6265 `cookie` request header.

import { regionEquals, skipOws, trimOwsEnd } from "./text";

/**
 * The value of the first cookie named exactly `name` (case-sensitive) in a
 * `cookie` header ("a=1; b=2"; Envoy joins repeated headers with "; ").
 * Pairs are split on ';'; spaces/tabs around names and values are ignored;
 * empty segments and segments without '=' are skipped. One pair of
 * surrounding double quotes is stripped from the value. The value is
 * returned as is (no percent-decoding). Null when absent or name is empty.
 * One pass over the header; allocates only the returned value.
 */
export function getCookie(header: string, name: string): string | null {
  if (name.length == 0) return null;
  const n = header.length;
  let start = 0;
  while (start < n) {
    let end = header.indexOf(";", start);
    if (end < 0) end = n;
    const a = skipOws(header, start, end);
    let eq = -1;
    for (let k = a; k < end; k++) {
      if (header.charCodeAt(k) == 0x3d) {
        eq = k;
        break;
      }
    }
    if (eq > a && regionEquals(header, a, trimOwsEnd(header, a, eq), name)) {
      let vs = skipOws(header, eq + 1, end);
      let ve = trimOwsEnd(header, vs, end);
      if (ve - vs >= 2 && header.charCodeAt(vs) == 0x22 && header.charCodeAt(ve - 1) == 0x22) {
        vs++;
        ve--;
      }
      return header.substring(vs, ve);
    }
    start = end + 1;
  }
  return null;
}
