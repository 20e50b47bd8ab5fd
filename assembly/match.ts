// StringMatch and the request matchers of a rule's `when`: pure functions over strings, no host calls.
import { Regex } from "./lib/regex";
import { Cidr, IpAddr } from "./lib/cidr";
import { toLowerAscii } from "./lib/text";

export const MATCH_EXACT: i32 = 0;
export const MATCH_PREFIX: i32 = 1;
export const MATCH_SUFFIX: i32 = 2;
export const MATCH_CONTAINS: i32 = 3;
export const MATCH_REGEX: i32 = 4;
export const MATCH_PRESENT: i32 = 5;
export const MATCH_ONE_OF: i32 = 6;

/** One StringMatch of DESIGN §4.1. `value` and `values` are stored lower-cased when ignoreCase is set.
 * An absent value (null) matches only `present: false`; `invert` negates the whole result, so an
 * inverted value match also holds for an absent value (as Envoy's invert_match does). */
export class StringMatch {
  kind: i32 = MATCH_EXACT;
  value: string = "";
  values: Array<string> = [];
  regex: Regex | null = null;
  present: bool = true;
  ignoreCase: bool = false;
  invert: bool = false;

  matches(input: string | null): bool {
    return this.base(input) != this.invert;
  }

  private base(input: string | null): bool {
    if (this.kind == MATCH_PRESENT) return (input !== null) == this.present;
    if (input === null) return false;
    let v: string = input;
    if (this.ignoreCase) v = toLowerAscii(v);
    switch (this.kind) {
      case MATCH_EXACT:
        return v == this.value;
      case MATCH_PREFIX:
        return v.startsWith(this.value);
      case MATCH_SUFFIX:
        return v.endsWith(this.value);
      case MATCH_CONTAINS:
        return v.includes(this.value);
      case MATCH_REGEX: {
        const re = this.regex;
        return re !== null && re.fullMatch(v);
      }
      case MATCH_ONE_OF: {
        for (let i = 0; i < this.values.length; i++) if (unchecked(this.values[i]) == v) return true;
        return false;
      }
    }
    return false;
  }
}

/** A map entry of `when.headers`, `cookies`, `query`, `jwtClaims` or `baggage`. */
export class NamedMatch {
  constructor(
    public name: string,
    public match: StringMatch,
  ) {}
}

/** What a rule can ask of a request. The filter glue answers from the proxy (lazily, once per
 * request); tests answer from plain values. Absent is null. */
export abstract class RequestView {
  abstract header(name: string): string | null;
  abstract cookie(name: string): string | null;
  abstract query(name: string): string | null;
  abstract path(): string | null;
  abstract method(): string | null;
  abstract authority(): string | null;
  abstract sourceIp(): IpAddr | null;
  abstract baggage(key: string): string | null;
  /** Every value of a claim (a list claim gives each element); empty when absent. */
  abstract claims(name: string): Array<string>;
}

/** A rule's `when`: every present entry must hold. */
export class Match {
  headers: Array<NamedMatch> = [];
  cookies: Array<NamedMatch> = [];
  query: Array<NamedMatch> = [];
  jwtClaims: Array<NamedMatch> = [];
  baggage: Array<NamedMatch> = [];
  path: StringMatch | null = null;
  method: StringMatch | null = null;
  authority: StringMatch | null = null;
  sourceIp: Array<Cidr> | null = null;

  matches(req: RequestView): bool {
    for (let i = 0; i < this.headers.length; i++) {
      const m = unchecked(this.headers[i]);
      if (!m.match.matches(req.header(m.name))) return false;
    }
    const path = this.path;
    if (path !== null && !path.matches(req.path())) return false;
    const method = this.method;
    if (method !== null && !method.matches(req.method())) return false;
    const authority = this.authority;
    if (authority !== null && !authority.matches(req.authority())) return false;
    for (let i = 0; i < this.query.length; i++) {
      const m = unchecked(this.query[i]);
      if (!m.match.matches(req.query(m.name))) return false;
    }
    for (let i = 0; i < this.cookies.length; i++) {
      const m = unchecked(this.cookies[i]);
      if (!m.match.matches(req.cookie(m.name))) return false;
    }
    const cidrs = this.sourceIp;
    if (cidrs !== null && !inAny(cidrs, req.sourceIp())) return false;
    for (let i = 0; i < this.baggage.length; i++) {
      const m = unchecked(this.baggage[i]);
      if (!m.match.matches(req.baggage(m.name))) return false;
    }
    for (let i = 0; i < this.jwtClaims.length; i++) {
      const m = unchecked(this.jwtClaims[i]);
      if (!claimMatches(m.match, req.claims(m.name))) return false;
    }
    return true;
  }
}

/** Whether an address lies in any of the ranges; an unknown address lies in none. */
export function inAny(cidrs: Array<Cidr>, ip: IpAddr | null): bool {
  if (ip === null) return false;
  for (let i = 0; i < cidrs.length; i++) if (unchecked(cidrs[i]).contains(ip)) return true;
  return false;
}

/** A list-valued claim matches when any element does; an absent claim is matched as null. With
 * `invert`, the claim matches when no element matches the underlying condition. */
export function claimMatches(m: StringMatch, values: Array<string>): bool {
  if (values.length == 0) return m.matches(null);
  if (m.invert) {
    for (let i = 0; i < values.length; i++) if (!m.matches(unchecked(values[i]))) return false;
    return true;
  }
  for (let i = 0; i < values.length; i++) if (m.matches(unchecked(values[i]))) return true;
  return false;
}
