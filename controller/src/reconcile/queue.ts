// A keyed work queue in the manner of client-go's workqueue: a key waits at most once, is never handled
// by two workers at once, is handled once more if it was added while being handled, and on failure comes
// back after a per-key exponential backoff that resets on success.

/** What a handler may ask for: run this key again after `requeueAfter` ms (a periodic check). */
export interface HandlerResult {
  requeueAfter?: number;
}

export type QueueHandler = (key: string) => Promise<HandlerResult | void> | HandlerResult | void;

export interface WorkQueueOptions {
  /** Keys handled at the same time (each key still one at a time). Default 1. */
  concurrency?: number;
  /** First retry delay after a failure, ms. Default 100. */
  baseDelayMs?: number;
  /** Largest retry delay, ms. Default 30 000. */
  maxDelayMs?: number;
  /** After each handling, with its outcome (for logs and metrics). */
  onDone?: (
    key: string,
    outcome: { ok: boolean; durationMs: number; error?: unknown; retryInMs?: number },
  ) => void;
}

export interface QueueStats {
  /** Keys ready and waiting for a worker. */
  depth: number;
  /** Keys waiting for a timer (backoff or requeueAfter). */
  delayed: number;
  /** Keys being handled now. */
  inFlight: number;
  processed: number;
  failed: number;
}

export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly concurrency: number;
  private readonly base: number;
  private readonly max: number;
  private stopping = false;
  private dropPending = false;
  private processed = 0;
  private failed = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly handler: QueueHandler,
    private readonly opts: WorkQueueOptions = {},
  ) {
    this.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.base = opts.baseDelayMs ?? 100;
    this.max = opts.maxDelayMs ?? 30_000;
  }

  /** Queues `key` unless it is already waiting; a key being handled is handled again afterwards. */
  add(key: string): void {
    if (this.stopping || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (!this.processing.has(key)) {
      this.ready.push(key);
      this.pump();
    }
  }

  /** Queues `key` after `ms`; an earlier pending timer for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopping) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    this.timers.set(key, { at, timer });
  }

  /** Queues `key` after its next backoff delay (base · 2^(failures−1), capped) and counts a failure. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = this.delayFor(n);
    this.addAfter(key, delay);
    return delay;
  }

  /** Clears `key`'s failure count, so its next backoff starts from the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Consecutive failures of `key`. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  delayFor(failures: number): number {
    return Math.min(this.max, this.base * 2 ** Math.min(failures - 1, 30));
  }

  get depth(): number {
    return this.ready.length;
  }

  stats(): QueueStats {
    return {
      depth: this.ready.length,
      delayed: this.timers.size,
      inFlight: this.processing.size,
      processed: this.processed,
      failed: this.failed,
    };
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /** Resolves when nothing is ready or being handled (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.ready.length === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Stops taking keys, drops timers and, unless `drain`, the waiting keys; resolves once the keys being
   * handled are done (with `drain`, once every waiting key is done too).
   */
  async shutdown(opts: { drain?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.dropPending = !opts.drain;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (!opts.drain) {
      for (const k of this.ready) this.dirty.delete(k);
      this.ready.length = 0;
    }
    await this.idle();
  }

  private pump(): void {
    while (this.processing.size < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      this.dirty.delete(key);
      this.processing.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    const started = performance.now();
    let outcome: { ok: boolean; durationMs: number; error?: unknown; retryInMs?: number };
    try {
      const result = await this.handler(key);
      this.forget(key);
      outcome = { ok: true, durationMs: performance.now() - started };
      if (result && typeof result.requeueAfter === "number") this.addAfter(key, result.requeueAfter);
    } catch (error) {
      this.failed++;
      const retryInMs = this.stopping ? undefined : this.addRateLimited(key);
      outcome = { ok: false, durationMs: performance.now() - started, error, retryInMs };
    }
    this.processed++;
    try {
      this.opts.onDone?.(key, outcome);
    } catch {
      // A failing observer must not wedge the queue.
    }
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      if (this.dropPending) this.dirty.delete(key);
      else this.ready.push(key);
    }
    this.pump();
    if (this.ready.length === 0 && this.processing.size === 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const resolve of w) resolve();
    }
  }
}
