// Base64 decoding to text, as JWT segments need it.

import { StrBuf, Utf8Decoder } from "./text";

/** The 6-bit value of a base64 character (url-safe or standard alphabet), or -1. */
function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c == 0x2d || c == 0x2b) return 62; // '-' or '+'
  if (c == 0x5f || c == 0x2f) return 63; // '_' or '/'
  return -1;
}

/**
 * Decodes base64url (RFC 4648 §5) or standard base64, alphabets may mix.
 * Padding is optional, but if present it must make the length a multiple of
 * 4 (at most two '='). Whitespace and any other character are rejected, as is
 * a length that leaves a lone trailing character. Leftover bits in the last
 * character are ignored. The decoded bytes must be valid UTF-8 and are
 * returned as a string; null on any failure. "" decodes to "".
 */
export function base64UrlDecode(s: string): string | null {
  let n = s.length;
  let pad = 0;
  while (pad < 2 && n > 0 && s.charCodeAt(n - 1) == 0x3d) {
    n--;
    pad++;
  }
  if (pad > 0 && (n + pad) % 4 != 0) return null;
  if (n % 4 == 1) return null;
  const out = new StrBuf((n * 3) / 4 + 1);
  const dec = new Utf8Decoder(out);
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const v = sextet(s.charCodeAt(i));
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (!dec.feed((acc >> bits) & 0xff)) return null;
    }
  }
  if (!dec.finish()) return null;
  return out.toString();
}
