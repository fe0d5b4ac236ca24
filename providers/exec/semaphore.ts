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

  /** Resolves once a slot is free; returns the function that frees it (idempotent). */
  async acquire(): Promise<() => void> {
    if (this.active < this.limit) {
      this.active++;
    } else {
      // The releasing side hands its slot directly to us, so `active` stays counted.
      await new Promise<void>((resolve) => this.waiting.push(resolve));
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
