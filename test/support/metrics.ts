// A MetricsProvider for tests: a real implementation of the interface (rollout/provider.ts) whose
// answers are scripted. Each `observe` call takes the next scripted answer (else the standing one) and
// turns it into one Observation per metric and Service of the target, plus one per metric for the lane
// as a whole, as a real provider does. Every call's target is kept for assertions.
import type { Observation } from "../../controller/src/rollout/engine.js";
import type { AnalysisTarget, MetricsProvider } from "../../controller/src/rollout/provider.js";

/** What one round answers: a verdict with a value for every check, or no verdict with a reason. */
export type Answer =
  { verdict: "pass" | "fail"; value: number; requests?: number } | { verdict: "none"; reason: string };

export const PASS: Answer = { verdict: "pass", value: 100, requests: 120 };
export const FAIL: Answer = { verdict: "fail", value: 62.5, requests: 120 };
export const DOWN: Answer = { verdict: "none", reason: "Prometheus unreachable: connection refused" };

export class ScriptedProvider implements MetricsProvider {
  readonly calls: AnalysisTarget[] = [];
  private readonly script: Answer[] = [];

  constructor(private standing: Answer = PASS) {}

  /** Answers of the next rounds, in order. */
  then(...answers: Answer[]): this {
    this.script.push(...answers);
    return this;
  }

  /** The answer once the script is used up. */
  always(answer: Answer): this {
    this.standing = answer;
    return this;
  }

  observe(target: AnalysisTarget): Promise<Observation[]> {
    this.calls.push(structuredClone(target));
    const a = this.script.shift() ?? this.standing;
    const out: Observation[] = [];
    for (const m of target.metrics) {
      for (const service of [...target.services, undefined]) {
        const o: Observation =
          a.verdict === "none"
            ? { metric: m.name, verdict: "none", reason: a.reason }
            : { metric: m.name, verdict: a.verdict, value: a.value, requests: a.requests };
        if (service !== undefined) o.service = service;
        out.push(o);
      }
    }
    return Promise.resolve(out);
  }
}

/** A clock the test moves by hand (the controller's `now` option). */
export class ManualClock {
  constructor(private t = Date.parse("2026-01-01T00:00:00Z")) {}

  readonly now = (): number => this.t;

  advance(ms: number): void {
    this.t += ms;
  }
}
