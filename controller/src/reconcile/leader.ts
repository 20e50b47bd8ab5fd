// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection package.
//
// The contract: at most one elector with a given lease name leads at a time, as long as clocks agree to
// within the lease duration. A candidate takes the lease when it is missing, released (no holder), or
// expired (renewTime + leaseDurationSeconds is in the past); every write carries the resourceVersion it
// read, so of two candidates racing for one lease the second gets 409 and stays a candidate. A leader
// renews every retryPeriod and steps down (onStoppedLeading, its signal aborted) when it has not renewed
// for renewDeadline, or at once when it finds another holder. stop() releases a held lease (no holder,
// renewTime in the past) so a standby takes over at its next try instead of after the lease duration.
//
// A lease that cannot be reached the same way try after try (its namespace does not exist, RBAC refuses
// it, no API server) is reported once, as an error that says what to do, then retried quietly with
// backoff; readiness() says why this replica is not ready until a try succeeds again.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from "@kubernetes/client-node";
import { silentLogger, type Logger } from "./log.js";
import { statusBody, statusCode } from "./retry.js";

export interface LeaderElectorOptions {
  kc: KubeConfig;
  namespace: string;
  /** Lease name, shared by all replicas. */
  name: string;
  /** This replica's identity (pod name); must be unique among replicas. */
  identity: string;
  /** How long a lease is valid after its last renewal. Default 15 000 ms (rounded to whole seconds). */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down. Default 10 000 ms. */
  renewDeadlineMs?: number;
  /** Time between tries (acquire or renew). Default 2 000 ms. */
  retryPeriodMs?: number;
  logger?: Logger;
  /** Called on becoming leader; `signal` aborts when leadership ends. May run for as long as it leads. */
  onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void;
  /** Called when the observed holder changes (including to this replica, or to "" on release). */
  onNewLeader?: (identity: string) => void;
}

type Attempt = "acquired" | "held" | "conflict" | "failed";

/** A standby's longest pause between tries while they keep failing: 16 retry periods, at most 30 s. */
const MAX_BACKOFF_PERIODS = 16;
const MAX_BACKOFF_MS = 30_000;

/** What a failed try means for a person: a key (the same failure again is not logged) and words. */
export function leaseTrouble(err: unknown, namespace: string, name: string): { key: string; text: string } {
  const code = statusCode(err);
  const status = statusBody(err);
  const details = status?.details ?? {};
  if (code === 404 && details.kind === "namespaces") {
    return {
      key: "namespace-missing",
      text:
        `the lease namespace "${namespace}" does not exist: create it (kubectl create namespace ` +
        `${namespace}, with manifests/rbac.yaml's Role and RoleBinding for leases there) or pass ` +
        `--lease-namespace <namespace> (default: the pod's own namespace)`,
    };
  }
  if (code === 403) {
    return {
      key: "forbidden",
      text:
        `not allowed to use the Lease ${namespace}/${name} (${status?.message ?? "403 Forbidden"}): ` +
        `bind manifests/rbac.yaml's Role for leases in namespace "${namespace}", or pass --lease-namespace`,
    };
  }
  if (code !== undefined) {
    return {
      key: `http-${code}`,
      text: `the Lease ${namespace}/${name} could not be read or written: HTTP ${code}${status?.message ? `: ${status.message}` : ""}`,
    };
  }
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const what = String(e?.cause?.code ?? e?.code ?? "error");
  const message = String(e?.cause?.message ?? e?.message ?? err);
  return {
    key: `net-${what}`,
    text: `the API server could not be reached for the Lease ${namespace}/${name}: ${message}`,
  };
}

function toMillis(t: unknown): number | undefined {
  if (t === undefined || t === null || t === "") return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t));
  return Number.isNaN(ms) ? undefined : ms;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private stopped = true;
  private leading = false;
  private leaderAbort?: AbortController;
  private observed = "";
  private lastRenew = 0;
  private lastContact = 0;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** The failure of the last tries, while they keep failing (reported once). */
  private trouble?: { key: string; text: string };
  private failedTries = 0;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.api = opts.kc.makeApiClient(CoordinationV1Api);
    this.log = (opts.logger ?? silentLogger).child({
      component: "leader",
      lease: `${opts.namespace}/${opts.name}`,
      identity: opts.identity,
    });
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseMs)
      throw new Error("renewDeadline must be shorter than the lease duration");
    if (this.retryMs >= this.renewDeadlineMs)
      throw new Error("retryPeriod must be shorter than renewDeadline");
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder this elector last saw on the lease ("" when none). */
  get leader(): string {
    return this.observed;
  }

  /**
   * For readiness: leading and renewed within renewDeadline, or standing by and in touch with the API
   * server within a lease duration.
   */
  healthy(): boolean {
    return this.readiness().ok;
  }

  /** healthy(), with the reason when not: the lasting failure of the tries, in words for a person. */
  readiness(): { ok: boolean; reason?: string } {
    const ok = this.fresh();
    if (ok) return { ok };
    if (this.stopped) return { ok, reason: "leader election is stopped" };
    if (this.trouble) return { ok, reason: this.trouble.text };
    return {
      ok,
      reason: this.leading
        ? "the lease was not renewed within renewDeadline"
        : "no answer about the lease from the API server yet",
    };
  }

  private fresh(): boolean {
    if (this.stopped) return false;
    const now = Date.now();
    if (this.leading) return now - this.lastRenew <= this.renewDeadlineMs;
    return now - this.lastContact <= this.leaseMs + this.retryMs;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /**
   * Stops trying; a leader steps down and, unless `release` is false, releases the lease
   * (`release: false` behaves like a crash: the lease stays until it expires).
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      // Step down first (the work under onStartedLeading sees its signal abort), then let go of the
      // lease. A controller drains its own work queue before calling stop().
      this.stepDown("stopped");
      if (opts.release !== false) await this.release();
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** While a standby's tries keep failing: retryPeriod doubling per failure, capped, jittered. */
  private backoff(): number {
    const exp = Math.max(Math.min(this.failedTries - 1, 10), 0);
    const cap = Math.min(this.retryMs * MAX_BACKOFF_PERIODS, MAX_BACKOFF_MS);
    return Math.min(this.retryMs * 2 ** exp, cap) * (1 + Math.random() * 0.2);
  }

  /** retryPeriod with up to 20 % jitter, so candidates do not try in lockstep. */
  private jittered(): number {
    return this.retryMs * (1 + Math.random() * 0.2);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.leading) {
        const got = await this.attempt();
        if (this.stopped) break;
        if (got === "acquired") this.becomeLeader();
        else await this.pause(got === "failed" ? this.backoff() : this.jittered());
        continue;
      }
      await this.pause(this.retryMs);
      if (this.stopped) break;
      const got = await this.attempt();
      if (this.stopped) break;
      if (got === "acquired") continue;
      if (got === "held") this.stepDown("another holder has the lease");
      else if (Date.now() - this.lastRenew >= this.renewDeadlineMs)
        this.stepDown("could not renew within renewDeadline");
    }
  }

  private becomeLeader(): void {
    this.leading = true;
    this.lastRenew = Date.now();
    this.leaderAbort = new AbortController();
    this.log.info("became leader");
    const signal = this.leaderAbort.signal;
    Promise.resolve()
      .then(() => this.opts.onStartedLeading?.(signal))
      .catch((err: unknown) => this.log.error("onStartedLeading failed", { err }));
  }

  private stepDown(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.leaderAbort?.abort();
    this.leaderAbort = undefined;
    this.log.warn("stopped leading", { reason: why });
    try {
      this.opts.onStoppedLeading?.();
    } catch (err) {
      this.log.error("onStoppedLeading failed", { err });
    }
  }

  private observe(holder: string): void {
    if (holder === this.observed) return;
    this.observed = holder;
    this.log.info("new leader observed", { holder });
    try {
      this.opts.onNewLeader?.(holder);
    } catch (err) {
      this.log.error("onNewLeader failed", { err });
    }
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.round(this.leaseMs / 1000));
  }

  /**
   * One try to acquire or renew; an API error is a failed try, logged when it differs from the last
   * one's (so a lasting failure is reported once, with what to do), at debug level otherwise.
   */
  private async attempt(): Promise<Attempt> {
    try {
      const got = await this.tryAcquireOrRenew();
      if (this.trouble) this.log.info("the lease is reachable again", { after: this.trouble.text });
      this.trouble = undefined;
      this.failedTries = 0;
      return got;
    } catch (err) {
      const { namespace, name } = this.opts;
      const trouble = leaseTrouble(err, namespace, name);
      // A leader retries every retryPeriod to renew in time; only a standby's failures back off.
      if (!this.leading) this.failedTries++;
      if (trouble.key !== this.trouble?.key) this.log.error(trouble.text, { err });
      else this.log.debug("lease attempt failed again", { tries: this.failedTries, err });
      this.trouble = trouble;
      return "failed";
    }
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    const { namespace, name, identity } = this.opts;
    const now = new Date();
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: this.leaseSeconds(),
              acquireTime: new V1MicroTime(now.getTime()),
              renewTime: new V1MicroTime(now.getTime()),
              leaseTransitions: 0,
            },
          },
        });
      } catch (e) {
        if (statusCode(e) === 409) return "conflict";
        throw e;
      }
      this.lastContact = Date.now();
      this.lastRenew = Date.now();
      this.observe(identity);
      return "acquired";
    }
    this.lastContact = Date.now();
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    this.observe(holder);
    const renewed = toMillis(spec.renewTime) ?? 0;
    const duration = (spec.leaseDurationSeconds ?? this.leaseSeconds()) * 1000;
    if (holder !== "" && holder !== identity && renewed + duration > now.getTime()) return "held";
    const next: V1Lease = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseSeconds(),
        renewTime: new V1MicroTime(now.getTime()),
      },
    };
    if (holder !== identity) {
      next.spec!.acquireTime = new V1MicroTime(now.getTime());
      next.spec!.leaseTransitions = (spec.leaseTransitions ?? 0) + 1;
    } else if (spec.acquireTime !== undefined) {
      next.spec!.acquireTime = new V1MicroTime(toMillis(spec.acquireTime) ?? now.getTime());
    }
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: next });
    } catch (err) {
      if (statusCode(err) === 409) return "conflict";
      throw err;
    }
    this.lastContact = Date.now();
    this.lastRenew = Date.now();
    this.observe(identity);
    return "acquired";
  }

  /** Gives the lease up: no holder, renewTime a lease duration in the past. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if ((lease.spec?.holderIdentity ?? "") !== identity) return;
      const past = Date.now() - this.leaseSeconds() * 1000;
      const acquired = toMillis(lease.spec?.acquireTime);
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(past),
            acquireTime: acquired === undefined ? undefined : new V1MicroTime(acquired),
          },
        },
      });
      this.observe("");
      this.log.info("released the lease");
    } catch (err) {
      this.log.warn("could not release the lease; a standby takes over when it expires", { err });
    }
  }
}
