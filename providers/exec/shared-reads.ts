/**
 * Reads that overlap share one command. A refresh reads every resource at once (the engine
 * runs up to --parallel of them together), and many resources read the same thing: every path
 * through the relay dumps the relay's whole flow table. Here a read asked for while the same
 * read is already running waits for that one to end, then ONE new run serves every read that
 * waited meanwhile. So a host sees at most two such commands at a time, however many
 * resources ask, and on a userspace datapath (where a dump holds up forwarding) far fewer.
 *
 * Never stale: a read is served by a run that started after it was asked for, so it sees the
 * host as it was at that moment or later, exactly as if it had run alone. A failed run fails
 * the reads it serves, not later ones. Reads are shared only under the same key, which the
 * caller makes from the runner itself (same host AND same credentials) and what is read.
 */
export class SharedReads<T> {
  private readonly slots = new Map<string, { current: Promise<T>; next?: Promise<T> }>();

  /** The result of `run` for `key`, from a run that started no earlier than this call. */
  read(key: string, run: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(key);
    if (!slot) return this.start(key, run);
    // A run is going on: it may have read the host before this call. Wait for it, then share
    // the next one with whoever else comes in the meantime.
    slot.next ??= slot.current.then(
      () => this.start(key, run),
      () => this.start(key, run),
    );
    return slot.next;
  }

  private start(key: string, run: () => Promise<T>): Promise<T> {
    const current = run();
    this.slots.set(key, { current });
    const release = () => {
      const s = this.slots.get(key);
      if (s?.current === current && !s.next) this.slots.delete(key);
    };
    current.then(release, release);
    return current;
  }
}

/**
 * A key for one way into one host: the runner's identity (pooled handles of the same
 * connection share it), else the runner object itself. Shared reads never cross credentials.
 */
const objectIds = new WeakMap<object, string>();
let nextObjectId = 1;
export function runnerKey(runner: { readonly identity?: string }): string {
  if (runner.identity !== undefined) return `c:${runner.identity}`;
  let id = objectIds.get(runner);
  if (id === undefined) {
    id = `o:${nextObjectId++}`;
    objectIds.set(runner, id);
  }
  return id;
}
