// Time and randomness a VM reads (proxy_get_current_time_nanoseconds, WASI clock_time_get and
// random_get). Both come in as options, so tests can hold time still and draw known bytes.

import { randomFillSync } from "node:crypto";

/** Nanoseconds since the Unix epoch. */
export type Clock = () => bigint;
/** Fills the array with random bytes (WASI random_get). */
export type RandomSource = (target: Uint8Array) => void;

const epochBase = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
/** Real time with nanosecond resolution (the default clock). */
export const realClock: Clock = () => epochBase + process.hrtime.bigint();
/** crypto-quality random bytes (the default random source). */
export const cryptoRandom: RandomSource = (target) => {
  randomFillSync(target);
};

/** A clock tests move by hand: `new ManualClock(start)`, pass `clock: c.now`, then `c.advanceMs(…)`. */
export class ManualClock {
  private ns: bigint;
  constructor(startNs: bigint = 1_700_000_000_000_000_000n) {
    this.ns = startNs;
  }
  /** The current time; a bound function, so it can be passed as `clock`. */
  readonly now: Clock = () => this.ns;
  /** Moves time forward by `ms` milliseconds. */
  advanceMs(ms: number): void {
    this.ns += BigInt(Math.round(ms * 1e6));
  }
  /** Sets the absolute time. */
  set(ns: bigint): void {
    this.ns = ns;
  }
}
