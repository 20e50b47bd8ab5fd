// Buckets for percentage rules: 10000 buckets, so a percentage with two
// decimals (12.34 % = 1234 buckets) is exact.

import { strLen, unitAt } from "./raw";

/** Number of buckets; bucket values lie in [0, BUCKETS). */
export const BUCKETS: i32 = 10000;

const FNV_OFFSET: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

function fnvByte(h: u64, b: u32): u64 {
  return (h ^ (<u64>b)) * FNV_PRIME;
}

/** Feeds the UTF-8 bytes of s into an FNV-1a state (a lone surrogate as its 3-byte form). */
function fnvString(h: u64, s: string): u64 {
  const n = strLen(s);
  let i = 0;
  while (i < n) {
    let c = <u32>unitAt(s, i);
    i++;
    if (c >= 0xd800 && c <= 0xdbff && i < n) {
      const d = <u32>unitAt(s, i);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) {
      h = (h ^ (<u64>c)) * FNV_PRIME; // fnvByte written out: trace keys and sticky keys are ASCII
    } else if (c < 0x800) {
      h = fnvByte(h, 0xc0 | (c >> 6));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      h = fnvByte(h, 0xe0 | (c >> 12));
      h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    } else {
      h = fnvByte(h, 0xf0 | (c >> 18));
      h = fnvByte(h, 0x80 | ((c >> 12) & 0x3f));
      h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    }
  }
  return h;
}

/** splitmix64's finalizer: spreads every input bit over the whole word. */
function mix64(z: u64): u64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/**
 * A stable bucket in [0, 10000) for key under salt: FNV-1a 64 over the UTF-8
 * bytes of salt, a NUL byte and key, then splitmix64's finalizer, modulo
 * 10000. The same (key, salt) always gives the same bucket, across VMs and
 * versions; different salts (e.g. the lane name) give independent buckets.
 */
export function stickyBucket(key: string, salt: string): i32 {
  return saltedBucket(saltState(salt), key);
}

/** The hash state after the salt and its NUL: a rule computes it once, not per request. */
export function saltState(salt: string): u64 {
  return fnvByte(fnvString(FNV_OFFSET, salt), 0);
}

/** stickyBucket(key, salt) given saltState(salt). */
export function saltedBucket(state: u64, key: string): i32 {
  return <i32>(mix64(fnvString(state, key)) % <u64>BUCKETS);
}

/** saltedBucket for a key given as ASCII bytes in place (each byte is then its own UTF-8 encoding,
 * so the hash is the same). */
export function stickyBucketAscii(ptr: usize, len: i32, state: u64): i32 {
  let h = state;
  // fnvByte written out: this loop runs once per byte of the sticky cookie or header.
  for (let i = 0; i < len; i++) h = (h ^ (<u64>load<u8>(ptr + <usize>i))) * FNV_PRIME;
  return <i32>(mix64(h) % <u64>BUCKETS);
}

/**
 * Maps a uniformly random u64 to a bucket in [0, 10000) using its high 32
 * bits (multiply-shift; bias below 3e-6).
 */
export function drawBucket(random: u64): i32 {
  return <i32>(((random >> 32) * <u64>BUCKETS) >> 32);
}
