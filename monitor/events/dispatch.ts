/**
 * Delivery of events to callback URLs (the observer pattern of the paper's controller): each
 * callback has its own FIFO queue and its own sender, so a callback that is slow or down
 * delays only itself. Per event: POST application/json, a timeout per attempt, retries with
 * exponential backoff on network errors, 408, 429 and 5xx; other 4xx answers are final (the
 * receiver refused it). The X-VPM-Event-Id header lets a receiver drop duplicates (a retry
 * after a lost answer). A queue holds at most `maxQueue` events; beyond that the oldest are
 * dropped and counted.
 */
import type { VpmEvent } from './types';

export interface DispatchOptions {
  /** Per attempt; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Attempts per event (first included); default 5. */
  readonly attempts?: number;
  /** First backoff; doubles per attempt; default 500 ms. */
  readonly backoffMs?: number;
  readonly maxQueue?: number;
  readonly log?: (line: string) => void;
  /** The HTTP client (tests); default the global fetch. */
  readonly fetch?: typeof fetch;
}

export interface CallbackStats {
  readonly url: string;
  delivered: number;
  failed: number;
  dropped: number;
  queued: number;
  lastError?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class CallbackQueue {
  readonly stats: CallbackStats;
  private readonly queue: VpmEvent[] = [];
  private running = false;
  private idle: Array<() => void> = [];
  private closed = false;

  constructor(
    readonly url: string,
    private readonly o: Required<Omit<DispatchOptions, 'log' | 'fetch'>> & Pick<DispatchOptions, 'log'> & { fetch: typeof fetch },
  ) {
    this.stats = { url, delivered: 0, failed: 0, dropped: 0, queued: 0 };
  }

  push(e: VpmEvent): void {
    if (this.closed) return;
    this.queue.push(e);
    while (this.queue.length > this.o.maxQueue) {
      this.queue.shift();
      this.stats.dropped++;
    }
    this.stats.queued = this.queue.length;
    if (!this.running) void this.drain();
  }

  /** Resolves when the queue is empty (or at once). */
  drained(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  close(): void {
    this.closed = true;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length && !this.closed) {
      const e = this.queue.shift()!;
      this.stats.queued = this.queue.length;
      await this.deliver(e);
    }
    this.running = false;
    for (const r of this.idle.splice(0)) r();
  }

  private async deliver(e: VpmEvent): Promise<void> {
    const body = JSON.stringify(e);
    let delay = this.o.backoffMs;
    for (let attempt = 1; attempt <= this.o.attempts; attempt++) {
      let retry = true;
      let error = '';
      try {
        const res = await this.o.fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'vpm-watch/1', 'x-vpm-event-id': e.id, 'x-vpm-event-type': e.type },
          body,
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        await res.arrayBuffer().catch(() => undefined); // free the connection
        if (res.ok) {
          this.stats.delivered++;
          return;
        }
        error = `HTTP ${res.status}`;
        retry = res.status === 408 || res.status === 429 || res.status >= 500;
      } catch (err) {
        error = err instanceof Error ? (err.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : (err.cause as Error | undefined)?.message ?? err.message) : String(err);
      }
      this.stats.lastError = error;
      if (!retry || attempt === this.o.attempts || this.closed) {
        this.stats.failed++;
        this.o.log?.(`watch: callback ${this.url} did not take event ${e.seq} (${e.type}): ${error}${retry ? ` after ${attempt} attempt(s)` : ''}`);
        return;
      }
      await sleep(delay);
      delay *= 2;
    }
  }
}

export class Dispatcher {
  private readonly queues: CallbackQueue[];

  constructor(urls: readonly string[], options: DispatchOptions = {}) {
    const o = {
      timeoutMs: options.timeoutMs ?? 5000,
      attempts: options.attempts ?? 5,
      backoffMs: options.backoffMs ?? 500,
      maxQueue: options.maxQueue ?? 1000,
      log: options.log,
      fetch: options.fetch ?? fetch,
    };
    for (const u of urls) {
      const p = new URL(u);
      if (p.protocol !== 'http:' && p.protocol !== 'https:') throw new Error(`callback ${u}: only http:// and https:// are supported`);
    }
    this.queues = [...new Set(urls)].map((u) => new CallbackQueue(u, o));
  }

  /** Queues the event for every callback; never waits for delivery. */
  post(e: VpmEvent): void {
    for (const q of this.queues) q.push(e);
  }

  stats(): CallbackStats[] {
    return this.queues.map((q) => ({ ...q.stats }));
  }

  /** Waits (at most graceMs) for queued events to go out, then stops. */
  async close(graceMs = 2000): Promise<void> {
    await Promise.race([Promise.all(this.queues.map((q) => q.drained())), new Promise<void>((r) => setTimeout(r, graceMs).unref())]);
    for (const q of this.queues) q.close();
  }
}
