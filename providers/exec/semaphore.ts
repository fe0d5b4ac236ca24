/**
 * A counting semaphore with a FIFO queue. The SSH runner uses one per connection: sshd refuses
 * session channels beyond MaxSessions (default 10) with an unhelpful "open failed", so we keep
 * a margin below it and queue the rest instead of failing.
 */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
  }

  /**
   * Resolves once a slot is free; returns the function that frees it (idempotent). With
   * `timeoutMs`, gives up after that long with SlotTimeoutError (and leaves the queue), so a
   * caller's deadline covers the wait too.
   */
  async acquire(timeoutMs?: number): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      // The releasing side hands its slot directly to us, so `active` stays counted.
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer =
          timeoutMs === undefined
            ? undefined
            : setTimeout(() => {
                const at = this.waiting.indexOf(wake);
                if (at >= 0) this.waiting.splice(at, 1);
                reject(new SlotTimeoutError(timeoutMs));
              }, Math.max(0, timeoutMs));
        this.waiting.push(wake);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    };
  }

  /** Slots in use (for tests and diagnostics). */
  get inUse(): number {
    return this.active;
  }
}

/** No slot became free within the caller's time. */
export class SlotTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no free session slot within ${waitedMs} ms`);
    this.name = 'SlotTimeoutError';
  }
}
