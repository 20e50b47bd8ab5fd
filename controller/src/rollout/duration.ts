// Durations as the Lane's rollout fields write them: Go-style sums of whole or decimal numbers with a
// unit, e.g. `30s`, `5m`, `1h30m`, `500ms`. Pure; shared by Lane validation and the step engine.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
/** The shape the CRD's `pattern` also enforces. */
export const DURATION_PATTERN = /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/;

/** Milliseconds of a duration such as `5m` or `1h30m`, or undefined when it is not one. */
export function parseDuration(s: string): number | undefined {
  if (!DURATION_PATTERN.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total;
}
