/**
 * The one retry helper, for opening connections only (commands are never retried: they may
 * have changed the host before failing). It counts attempts, sleeps with capped exponential
 * backoff between them, stops at once on errors that another attempt cannot fix, and wraps
 * the last error in ConnectionError.
 */
import { ConnectionError, UNREACHABLE_ADVICE } from './errors';

export interface BackoffPolicy {
  /** Delay before the second attempt; doubles each time. Default 200 ms. */
  readonly baseMs: number;
  /** Upper bound of one delay. Default 3000 ms. */
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, capMs: 3000 };

/** Delay after failed attempt number `k` (0-based): base * 2^k, capped. */
export function backoffDelay(k: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** k);
}

/**
 * Calls `attempt` up to `attempts` times. An error for which `isFatal` is true is rethrown as
 * is (e.g. a host key mismatch: retrying would only hammer a host we must not trust).
 */
export async function withConnectRetry<T>(
  host: string,
  attempts: number,
  attempt: (n: number) => Promise<T>,
  isFatal: (err: unknown) => boolean,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): Promise<T> {
  let last: unknown;
  for (let n = 0; n < attempts; n++) {
    try {
      return await attempt(n + 1);
    } catch (err) {
      if (isFatal(err)) throw err;
      last = err;
      if (n + 1 < attempts) await new Promise((r) => setTimeout(r, backoffDelay(n, policy)));
    }
  }
  throw new ConnectionError(host, attempts, last, UNREACHABLE_ADVICE);
}
