// The gateway rules that route rolling-out Lanes' shares (docs/contracts.md, "Lane rollouts"). Pure.
//
// They go after every Lane's own `dye` rules, so testers named by `dye` keep their lane whatever the
// share, and the shares are taken from everyone else. Lanes are listed in the gateway's rule order
// (render's priority order); `stickyShares` turns each Lane's share of all users into the percent its
// rule admits of the users earlier rules left, so several Lanes' shares add up and never overlap.
import { stickyShares } from "./shares.js";

export interface LaneRollout {
  lane: string;
  /** `status.rollout.percent`: the share of all (non-tester) users routed to the lane now. */
  percent: number;
  /** `spec.rollout.stickyBy`; absent: each request draws anew. */
  stickyBy?: Record<string, unknown>;
}

/** One sticky `percent` rule per Lane with a share above 0, in the given order. */
export function rolloutRules(lanes: LaneRollout[]): Record<string, unknown>[] {
  const live = lanes.filter((l) => l.percent > 0);
  const shares = stickyShares(live.map(({ lane, percent }) => ({ lane, percent })));
  const rules: Record<string, unknown>[] = [];
  shares.forEach((s, i) => {
    if (s.rulePercent <= 0) return;
    const rule: Record<string, unknown> = { lane: s.lane, percent: s.rulePercent };
    const stickyBy = live[i].stickyBy;
    if (stickyBy !== undefined) rule.stickyBy = stickyBy;
    rules.push(rule);
  });
  return rules;
}
