/**
 * What the reads of one refresh keep of a host, so that each host is read about once.
 *
 * A refresh reads every resource, and the resources of one host read the same things: every
 * path through the relay dumps the relay's flow table, the relay's bridge and its tunnel ends
 * list the same ovsdb rows. The engine reads them in dependency order (bridges, then tunnels,
 * then paths), so they rarely overlap in time; here a read is served by an earlier read of
 * the same host that asked for at least the same parts, as long as
 *   - it went through the same connection (same host AND credentials: runnerKey),
 *   - no command that may change the host has started or ended on that connection since that
 *     read started (CommandRunner.activity; VPM's own writes go through it, so a change made
 *     by this process is never hidden by a copy taken before it; reads say they only read), and
 *   - it started less than REUSE_WINDOW_MS ago (a provider process lives for one engine
 *     operation; the window bounds what a change made by someone else meanwhile can miss).
 * A read still running is joined on the same terms. A failed read is never reused. A runner
 * that cannot tell its activity is always read afresh. What is kept lives as long as the
 * provider process (one engine operation: process-memory.ts).
 *
 * So a refresh sees each host as it was at some moment during that refresh, as an operator
 * reading it once by hand would; a change made by hand after the refresh started may be seen
 * by the next refresh only.
 */

import { registerProcessMemory } from './process-memory';
import { runnerKey } from './runner';

/** How long a read may serve later reads of the same host (see above). */
export const REUSE_WINDOW_MS = 30_000;

export interface ReadRunner {
  readonly identity?: string;
  activity?(): number;
}

interface Kept<T> {
  readonly parts: ReadonlySet<string>;
  readonly value: Promise<T>;
  readonly startedAt: number;
  /** The connection's activity when it started: it stands while that has not moved. */
  readonly activity: number;
  failed: boolean;
}

export class SharedReads<T> {
  private readonly kept = new Map<string, Kept<T>[]>();
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(options: { windowMs?: number; now?: () => number } = {}) {
    this.windowMs = options.windowMs ?? REUSE_WINDOW_MS;
    this.now = options.now ?? (() => Date.now());
    registerProcessMemory(() => this.kept.clear());
  }

  /**
   * The result of `run(parts)` for this runner's host, or of an earlier run that read at least
   * `parts` there and may still stand for the host (see the module header). `run` must only
   * read, and say so to the runner (RunOptions.readOnly): a command that may change the host
   * ends every reuse.
   */
  read(runner: ReadRunner, parts: readonly string[], run: (parts: readonly string[]) => Promise<T>): Promise<T> {
    if (typeof runner.activity !== 'function') return run(parts);
    const key = runnerKey(runner);
    const now = this.now();
    const activity = runner.activity();
    const standing = (this.kept.get(key) ?? []).filter((k) => !k.failed && now - k.startedAt <= this.windowMs && k.activity === activity);
    this.kept.set(key, standing);
    const hit = standing.find((k) => parts.every((p) => k.parts.has(p)));
    if (hit) return hit.value;
    const entry: Kept<T> = {
      parts: new Set(parts),
      startedAt: now,
      activity,
      failed: false,
      value: run(parts).catch((e: unknown) => {
        entry.failed = true;
        throw e;
      }),
    };
    standing.push(entry);
    return entry.value;
  }
}
