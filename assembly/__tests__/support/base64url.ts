// Test helper for the specs: base64url encoding without padding.
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url (no padding) of the UTF-8 bytes of s. */
export function b64url(s: string): string {
  const bytes = Uint8Array.wrap(String.UTF8.encode(s));
  let out = "";
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < bytes.length; i++) {
    acc = ((acc << 8) | bytes[i]) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += B64URL.charAt((acc >> bits) & 63);
    }
  }
  if (bits > 0) out += B64URL.charAt((acc << (6 - bits)) & 63);
  return out;
}
