// Shares of several Lanes rolling out at once, so that they add up and no user is claimed twice
// (docs/contracts.md, "Lane rollouts"). Pure.
//
// The filter's sticky `percent` rule hashes the sticky key salted with the rule's lane (assembly/dye.ts),
// and the gateway evaluates rules in order, first match wins. Two facts follow:
// - disjointness is given by the order: a user admitted by an earlier rule never reaches a later one;
// - a later rule only sees the users the earlier ones left, and its own draw is independent of theirs
//   (different salt), so to give lane k a share p_k of *all* users its rule must admit
//   p_k / (100 − p_1 − … − p_{k−1}) of the rest. The filter has no shared-salt or lower-bound form, so
//   cumulative bounds ([10, 30) for the second lane) cannot be written in today's config.

export interface LaneShare {
  lane: string;
  /** The share of all users the lane should get, 0–100. */
  percent: number;
}

export interface ShareRule extends LaneShare {
  /** Cumulative range of all users this lane stands for: [from, to) percent. */
  from: number;
  to: number;
  /** The `percent` to put in the lane's sticky rule, in the given order, rounded to two decimals. */
  rulePercent: number;
}

/**
 * Sticky rule percents for lanes listed in the gateway's rule order. Shares beyond 100 % in total are
 * cut: the later lanes get what is left (possibly 0).
 */
export function stickyShares(lanes: LaneShare[]): ShareRule[] {
  let taken = 0;
  return lanes.map(({ lane, percent }) => {
    const share = Math.max(0, Math.min(percent, 100 - taken));
    const rest = 100 - taken;
    const rulePercent = rest <= 0 ? 0 : Math.min(100, Math.round((share / rest) * 100 * 100) / 100);
    const out = { lane, percent: share, from: taken, to: taken + share, rulePercent };
    taken += share;
    return out;
  });
}
