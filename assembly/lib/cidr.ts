// IP addresses and CIDR ranges: parsing and containment. Pure, never traps.

import { intText, uintText } from "./text";

/** An IP address. IPv4 sits in the low 32 bits of lo (hi 0, v6 false); IPv6 is hi:lo, big-endian halves. */
export class IpAddr {
  v6: bool = false;
  hi: u64 = 0;
  lo: u64 = 0;

  /** Dotted quad for IPv4; RFC 5952 form (lower-case, longest zero run as "::") for IPv6. */
  toString(): string {
    if (!this.v6) return formatV4(<u32>this.lo);
    return formatV6(this.hi, this.lo);
  }
}

function formatV4(v: u32): string {
  return (
    intText(v >>> 24) +
    "." +
    intText((v >>> 16) & 0xff) +
    "." +
    intText((v >>> 8) & 0xff) +
    "." +
    intText(v & 0xff)
  );
}

function group(hi: u64, lo: u64, i: i32): u32 {
  const word = i < 4 ? hi : lo;
  const shift = <u64>((3 - (i & 3)) * 16);
  return <u32>((word >> shift) & 0xffff);
}

function formatV6(hi: u64, lo: u64): string {
  // Longest run of at least two zero groups (the first on a tie) becomes "::".
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && group(hi, lo, i) == 0;
    if (zero) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen && len >= 2) {
        bestStart = runStart;
        bestLen = len;
      }
      runStart = -1;
    }
  }
  let out = "";
  let i = 0;
  while (i < 8) {
    if (i == bestStart) {
      out += "::";
      i += bestLen;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += uintText(group(hi, lo, i), 16);
    i++;
  }
  return out;
}

/** Parses a dotted-quad IPv4 in s[start, end): four decimal parts 0-255, no leading zeros. -1 if invalid. */
function parseV4(s: string, start: i32, end: i32): i64 {
  let value: i64 = 0;
  let parts = 0;
  let i = start;
  while (parts < 4) {
    let part = 0;
    let digits = 0;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      if (digits > 0 && part == 0) return -1; // leading zero
      part = part * 10 + (c - 0x30);
      digits++;
      if (digits > 3 || part > 255) return -1;
      i++;
    }
    if (digits == 0) return -1;
    value = (value << 8) | part;
    parts++;
    if (parts < 4) {
      if (i >= end || s.charCodeAt(i) != 0x2e) return -1;
      i++;
    }
  }
  return i == end ? value : -1;
}

function hexVal(c: i32): i32 {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Parses an IPv6 address in s[start, end) into out (v6 set); false if invalid. */
function parseV6(s: string, start: i32, end: i32, out: IpAddr): bool {
  const groups = new StaticArray<u32>(8);
  let count = 0;
  let gap = -1; // index in groups where "::" sits
  let i = start;
  if (end - start < 2) return false;
  if (s.charCodeAt(i) == 0x3a) {
    if (s.charCodeAt(i + 1) != 0x3a) return false;
    gap = 0;
    i += 2;
    if (i == end) {
      out.v6 = true;
      out.hi = 0;
      out.lo = 0;
      return true;
    }
  }
  while (i < end) {
    if (count >= 8) return false;
    // An embedded IPv4 tail takes the last two groups.
    let dot = false;
    for (let k = i; k < end; k++) {
      const c = s.charCodeAt(k);
      if (c == 0x2e) {
        dot = true;
        break;
      }
      if (c == 0x3a) break;
    }
    if (dot) {
      if (count > 6) return false;
      const v4 = parseV4(s, i, end);
      if (v4 < 0) return false;
      groups[count++] = <u32>(v4 >> 16);
      groups[count++] = <u32>(v4 & 0xffff);
      i = end;
      break;
    }
    let v = 0;
    let digits = 0;
    while (i < end) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      digits++;
      if (digits > 4) return false;
      i++;
    }
    if (digits == 0) return false;
    groups[count++] = <u32>v;
    if (i == end) break;
    if (s.charCodeAt(i) != 0x3a) return false;
    i++;
    if (i < end && s.charCodeAt(i) == 0x3a) {
      if (gap >= 0) return false; // a second "::"
      gap = count;
      i++;
      if (i == end) break;
    } else if (i == end) {
      return false; // a trailing single ':'
    }
  }
  if (gap < 0 && count != 8) return false;
  if (gap >= 0 && count > 7) return false;
  const full = new StaticArray<u32>(8);
  if (gap < 0) {
    for (let k = 0; k < 8; k++) full[k] = groups[k];
  } else {
    for (let k = 0; k < gap; k++) full[k] = groups[k];
    const tail = count - gap;
    for (let k = 0; k < tail; k++) full[8 - tail + k] = groups[gap + k];
  }
  let hi: u64 = 0;
  let lo: u64 = 0;
  for (let k = 0; k < 4; k++) hi = (hi << 16) | (<u64>full[k]);
  for (let k = 4; k < 8; k++) lo = (lo << 16) | (<u64>full[k]);
  out.v6 = true;
  out.hi = hi;
  out.lo = lo;
  return true;
}

/** Rewrites an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4. */
function unmap(ip: IpAddr): IpAddr {
  if (ip.v6 && ip.hi == 0 && ip.lo >> 32 == 0xffff) {
    ip.v6 = false;
    ip.lo = ip.lo & 0xffffffff;
  }
  return ip;
}

function parseRange(s: string, start: i32, end: i32): IpAddr | null {
  if (start < 0 || end > s.length || start >= end) return null;
  const ip = new IpAddr();
  let colon = false;
  for (let k = start; k < end; k++) {
    if (s.charCodeAt(k) == 0x3a) {
      colon = true;
      break;
    }
  }
  if (!colon) {
    const v4 = parseV4(s, start, end);
    if (v4 < 0) return null;
    ip.lo = <u64>v4;
    return ip;
  }
  if (!parseV6(s, start, end, ip)) return null;
  return unmap(ip);
}

/**
 * Parses an IP address: "10.1.2.3" (no leading zeros), "2001:db8::1",
 * "::ffff:10.1.2.3". IPv4-mapped IPv6 addresses come back as IPv4. Zone ids
 * ("%eth0"), brackets, ports and whitespace give null.
 */
export function parseIp(s: string): IpAddr | null {
  if (s.length > 64) return null;
  return parseRange(s, 0, s.length);
}

function isPort(s: string, start: i32, end: i32): bool {
  if (end - start < 1 || end - start > 5) return false;
  let v = 0;
  for (let k = start; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
    v = v * 10 + (c - 0x30);
  }
  return v <= 65535;
}

/**
 * Parses Envoy's `source.address`: "10.1.2.3:51000", "[2001:db8::1]:443", or
 * a bare address as parseIp takes it. The port must be 0-65535 and is dropped.
 * Anything else (a pipe path, a bad port) gives null.
 */
export function parseSocketAddress(s: string): IpAddr | null {
  const n = s.length;
  if (n == 0 || n > 80) return null;
  if (s.charCodeAt(0) == 0x5b) {
    const close = s.indexOf("]");
    if (close < 0) return null;
    if (close + 1 < n) {
      if (s.charCodeAt(close + 1) != 0x3a || !isPort(s, close + 2, n)) return null;
    }
    const ip = parseRange(s, 1, close);
    return ip;
  }
  const first = s.indexOf(":");
  if (first < 0) return parseRange(s, 0, n);
  const last = s.lastIndexOf(":");
  if (first == last) {
    // IPv4 with a port.
    if (!isPort(s, last + 1, n)) return null;
    const v4 = parseV4(s, 0, last);
    if (v4 < 0) return null;
    const ip = new IpAddr();
    ip.lo = <u64>v4;
    return ip;
  }
  return parseRange(s, 0, n); // bare IPv6
}

/** A CIDR range; the address has its host bits cleared. */
export class Cidr {
  v6: bool = false;
  hi: u64 = 0;
  lo: u64 = 0;
  prefix: i32 = 0;

  /**
   * True when ip lies in the range. IPv4 addresses are also compared as their
   * IPv4-mapped form (::ffff:a.b.c.d) against IPv6 ranges, so ::/0 holds them.
   */
  contains(ip: IpAddr): bool {
    if (!this.v6) {
      if (ip.v6) return false;
      const mask: u64 = this.prefix == 0 ? 0 : (0xffffffff << u64(32 - this.prefix)) & 0xffffffff;
      return (ip.lo & mask) == this.lo;
    }
    let hi = ip.hi;
    let lo = ip.lo;
    if (!ip.v6) {
      hi = 0;
      lo = 0xffff00000000 | (ip.lo & 0xffffffff);
    }
    return (hi & maskHi(this.prefix)) == this.hi && (lo & maskLo(this.prefix)) == this.lo;
  }

  /** Canonical form, e.g. "10.0.0.0/8", "2001:db8::/32". */
  toString(): string {
    return (this.v6 ? formatV6(this.hi, this.lo) : formatV4(<u32>this.lo)) + "/" + intText(this.prefix);
  }
}

function maskHi(prefix: i32): u64 {
  if (prefix <= 0) return 0;
  if (prefix >= 64) return 0xffffffffffffffff;
  return 0xffffffffffffffff << u64(64 - prefix);
}

function maskLo(prefix: i32): u64 {
  if (prefix <= 64) return 0;
  if (prefix >= 128) return 0xffffffffffffffff;
  return 0xffffffffffffffff << u64(128 - prefix);
}

/**
 * Parses "10.0.0.0/8" or "2001:db8::/32"; a bare address is a /32 or /128.
 * The prefix is decimal without leading zeros, 0-32 for IPv4, 0-128 for IPv6.
 * Host bits may be set and are cleared. An IPv4-mapped range with prefix >= 96
 * (::ffff:10.0.0.0/104) becomes the IPv4 range (10.0.0.0/8). Null if invalid.
 */
export function parseCidr(s: string): Cidr | null {
  const n = s.length;
  if (n == 0 || n > 64) return null;
  const slash = s.indexOf("/");
  const addrEnd = slash < 0 ? n : slash;
  if (addrEnd == 0) return null;
  let v6 = false;
  for (let k = 0; k < addrEnd; k++) {
    if (s.charCodeAt(k) == 0x3a) {
      v6 = true;
      break;
    }
  }
  const ip = new IpAddr();
  if (v6) {
    if (!parseV6(s, 0, addrEnd, ip)) return null;
  } else {
    const v4 = parseV4(s, 0, addrEnd);
    if (v4 < 0) return null;
    ip.lo = <u64>v4;
  }
  let prefix = v6 ? 128 : 32;
  if (slash >= 0) {
    const len = n - slash - 1;
    if (len < 1 || len > 3) return null;
    if (len > 1 && s.charCodeAt(slash + 1) == 0x30) return null;
    prefix = 0;
    for (let k = slash + 1; k < n; k++) {
      const c = s.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return null;
      prefix = prefix * 10 + (c - 0x30);
    }
    if (prefix > (v6 ? 128 : 32)) return null;
  }
  const cidr = new Cidr();
  if (v6 && ip.hi == 0 && ip.lo >> 32 == 0xffff && prefix >= 96) {
    cidr.v6 = false;
    cidr.prefix = prefix - 96;
    ip.lo = ip.lo & 0xffffffff;
    v6 = false;
  } else {
    cidr.v6 = v6;
    cidr.prefix = prefix;
  }
  if (cidr.v6) {
    cidr.hi = ip.hi & maskHi(cidr.prefix);
    cidr.lo = ip.lo & maskLo(cidr.prefix);
  } else {
    const p = cidr.prefix;
    const mask: u64 = p == 0 ? 0 : (0xffffffff << u64(32 - p)) & 0xffffffff;
    cidr.lo = ip.lo & mask;
  }
  return cidr;
}
