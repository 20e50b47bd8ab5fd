// Failures a test injects: matching requests are answered with an error, a reset connection, or
// late. The newest matching rule wins; each fails `count` requests.
import { type RequestRecord, type Verb } from "./records.js";
import { groupResource } from "./resources.js";

export interface FailureSpec {
  verb?: Verb | Verb[];
  /** Plural name ("leases") or plural.group ("leases.coordination.k8s.io"). */
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status to answer with, or "reset" to destroy the connection without a response. */
  status?: number | "reset";
  /** How many matching requests fail; default 1. Use Infinity for "until cancelled". */
  count?: number;
  retryAfterSeconds?: number;
  reason?: string;
  message?: string;
  /** Delay before answering (or before normal handling when status is unset). */
  delayMs?: number;
}

export interface FailureHandle {
  readonly hits: number;
  readonly remaining: number;
  cancel(): void;
}

type Rule = FailureSpec & { hits: number; remaining: number };

export class FailureRules {
  private rules: Rule[] = [];

  /** Adds a rule in front of the others. */
  inject(spec: FailureSpec): FailureHandle {
    const rule: Rule = { ...spec, hits: 0, remaining: spec.count ?? 1 };
    this.rules.unshift(rule);
    return {
      get hits() {
        return rule.hits;
      },
      get remaining() {
        return rule.remaining;
      },
      cancel: () => {
        rule.remaining = 0;
      },
    };
  }

  clear(): void {
    this.rules = [];
  }

  /** The rule a request falls under, counted as hit; undefined when none is left for it. */
  match(r: RequestRecord): FailureSpec | undefined {
    for (const f of this.rules) {
      if (f.remaining <= 0) continue;
      const verbs = f.verb === undefined ? undefined : Array.isArray(f.verb) ? f.verb : [f.verb];
      if (verbs && !verbs.includes(r.verb as Verb)) continue;
      if (
        f.resource !== undefined &&
        f.resource !== r.resource &&
        f.resource !== groupResource({ group: r.group, plural: r.resource })
      )
        continue;
      if (f.subresource !== undefined && f.subresource !== r.subresource) continue;
      if (f.namespace !== undefined && f.namespace !== r.namespace) continue;
      if (f.name !== undefined && f.name !== r.name) continue;
      f.remaining--;
      f.hits++;
      return f;
    }
    return undefined;
  }
}
