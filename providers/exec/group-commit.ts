/**
 * Group commit, per key: the first request for an idle key runs at once, alone (no added
 * latency when nothing else is going on); requests for the same key that arrive while a run
 * for it is in flight wait, and then ALL of them go together in the next run. A busy key thus
 * sees about one run per burst instead of one per request, while a quiet key sees no change.
 *
 * Why: the engine runs up to --parallel resource steps at once, and on a relay many of them
 * change the same host; when each change costs the host a reconfiguration (an ovs-vsctl
 * transaction makes ovs-vswitchd rework the whole bridge), one change of many items beats many
 * changes of one. The caller's `runGroup` decides how a group runs and gives each request its
 * own outcome, so one member's failure need not be the others'.
 */

/** Runs a group (in arrival order) and settles each member; a rejection fails them all. */
export type GroupRunner<T, R> = (items: readonly T[]) => Promise<ReadonlyArray<PromiseSettledResult<R>>>;

interface Waiter<T, R> {
  readonly item: T;
  readonly resolve: (value: R) => void;
  readonly reject: (reason: unknown) => void;
}

export class GroupCommit<T, R> {
  /** Per key with a run in flight: the requests that came since (the next group). */
  private readonly pending = new Map<string, Array<Waiter<T, R>>>();

  /**
   * @param runGroup runs one group; never called with an empty one.
   * @param maxGroup the most requests in one run (the rest wait for the next), so one
   *   command line stays small whatever the engine's parallelism.
   */
  constructor(
    private readonly runGroup: GroupRunner<T, R>,
    private readonly maxGroup = 32,
  ) {
    if (!Number.isInteger(maxGroup) || maxGroup < 1) throw new RangeError(`maxGroup must be a positive integer, got ${maxGroup}`);
  }

  /** Resolves (or rejects) with this item's own outcome from the run that carried it. */
  submit(key: string, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const waiting = this.pending.get(key);
      if (waiting) {
        waiting.push({ item, resolve, reject });
        return;
      }
      const queue: Array<Waiter<T, R>> = [{ item, resolve, reject }];
      this.pending.set(key, queue);
      void this.drain(key, queue);
    });
  }

  /** Runs groups for `key` until nobody waits; then the key is idle again. */
  private async drain(key: string, queue: Array<Waiter<T, R>>): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, this.maxGroup);
      let outcomes: ReadonlyArray<PromiseSettledResult<R>>;
      try {
        outcomes = await this.runGroup(group.map((w) => w.item));
        if (outcomes.length !== group.length) throw new Error(`group commit: ${outcomes.length} outcomes for ${group.length} requests`);
      } catch (err) {
        outcomes = group.map(() => ({ status: 'rejected', reason: err }));
      }
      group.forEach((w, i) => {
        const o = outcomes[i];
        if (o.status === 'fulfilled') w.resolve(o.value);
        else w.reject(o.reason);
      });
    }
    this.pending.delete(key);
  }
}
