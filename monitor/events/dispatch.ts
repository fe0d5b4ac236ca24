/**
 * Delivery of events to callback URLs (the observer pattern of the paper's controller): each
 * callback has its own FIFO queue and its own sender, so a callback that is slow or down
 * delays only itself. Per event: POST application/json, a timeout per attempt, retries with
 * exponential backoff on network errors, 408, 429 and 5xx; other 4xx answers are final (the
 * receiver refused it). The X-VPM-Event-Id header lets a receiver drop duplicates (a retry
 * after a lost answer). A queue holds at most `maxQueue` events; beyond that the oldest are
 * dropped and counted.
 *
 * Hardening (issue 17): redirects are never followed (the body would go where the receiver
 * says, credentials and all): a 3xx is a final failure. With a shared secret each POST carries
 * `X-VPM-Timestamp` and `X-VPM-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." +
 * body)>`, so a receiver can tell VPM's events from anyone's and refuse replays. An answer's
 * body is read to at most 64 KiB, then the connection is dropped. A URL with user:password is
 * refused (it would be logged on every retry); URLs in log lines show origin and path only.
 */
import { createHmac } from 'node:crypto';
import type { VpmEvent } from './types';

/** Bytes of a callback's answer that are read (the rest is dropped with the connection). */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** Header names of the signature (see the module header). */
export const SIGNATURE_HEADER = 'x-vpm-signature';
export const TIMESTAMP_HEADER = 'x-vpm-timestamp';

/** `sha256=<hex>` of `${timestamp}.${body}` under `secret`: what receivers recompute. */
export function signEvent(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** A callback URL for messages: origin and path, no credentials, query or fragment. */
export function shownUrl(u: string): string {
  try {
    const p = new URL(u);
    return `${p.origin}${p.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** Why a callback URL is refused, or undefined. Never echoes credentials. */
export function callbackUrlProblem(u: string): string | undefined {
  let p: URL;
  try {
    p = new URL(u);
  } catch {
    return 'is not a URL';
  }
  if (p.protocol !== 'http:' && p.protocol !== 'https:') return `${shownUrl(u)}: only http:// and https:// are supported`;
  if (p.username || p.password) {
    return `${shownUrl(u)}: carries credentials (user:password@) that would be sent and logged on every retry; remove them and sign events with a shared secret (--callback-secret-file / VPM_CALLBACK_SECRET) instead`;
  }
  return undefined;
}

/** Reads at most `max` bytes of an answer, then cancels it (frees the connection either way). */
async function drainCapped(res: Response, max: number): Promise<void> {
  const reader = res.body?.getReader();
  if (!reader) return;
  let got = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      got += value.byteLength;
      if (got > max) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // the answer broke off: nothing to keep
  }
}

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
  /** Shared secret: each POST is signed (X-VPM-Signature). */
  readonly secret?: string;
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
    private readonly o: Required<Omit<DispatchOptions, 'log' | 'fetch' | 'secret'>> & Pick<DispatchOptions, 'log' | 'secret'> & { fetch: typeof fetch },
  ) {
    this.stats = { url: shownUrl(url), delivered: 0, failed: 0, dropped: 0, queued: 0 };
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
        const timestamp = String(Math.floor(Date.now() / 1000));
        const res = await this.o.fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'vpm-watch/1',
            'x-vpm-event-id': e.id,
            'x-vpm-event-type': e.type,
            ...(this.o.secret ? { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: signEvent(this.o.secret, timestamp, body) } : {}),
          },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.o.timeoutMs),
        });
        await drainCapped(res, MAX_ANSWER_BYTES); // free the connection, read a bounded amount
        if (res.ok) {
          this.stats.delivered++;
          return;
        }
        if (res.status >= 300 && res.status < 400) {
          error = `HTTP ${res.status} redirect refused (events are never re-sent to another URL; register the final URL)`;
          retry = false;
        } else {
          error = `HTTP ${res.status}`;
          retry = res.status === 408 || res.status === 429 || res.status >= 500;
        }
      } catch (err) {
        error = err instanceof Error ? (err.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : (err.cause as Error | undefined)?.message ?? err.message) : String(err);
      }
      this.stats.lastError = error;
      if (!retry || attempt === this.o.attempts || this.closed) {
        this.stats.failed++;
        this.o.log?.(`watch: callback ${shownUrl(this.url)} did not take event ${e.seq} (${e.type}): ${error}${retry ? ` after ${attempt} attempt(s)` : ''}`);
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
      ...(options.secret ? { secret: options.secret } : {}),
    };
    for (const u of urls) {
      const problem = callbackUrlProblem(u);
      if (problem) throw new Error(`callback ${problem}`);
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
