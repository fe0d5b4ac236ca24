/**
 * Undoing a step that failed half way, and saying exactly what could not be undone.
 *
 * Each provider step is several commands; when one fails, the ones before it are undone in
 * reverse order. An undo can fail too (the host went away): then the error names every part
 * left behind and where, so nobody has to guess what is stranded on a host. Earlier code
 * swallowed these failures (`.catch(() => undefined)`).
 */

/** One thing to undo: what it is, on which host, and how. */
export interface Undo {
  readonly what: string;
  readonly where: string;
  readonly run: () => Promise<unknown>;
}

/** Thrown when a step failed; `leftBehind` lists what its rollback could not remove. */
export class RolledBackError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
    readonly undone: readonly string[],
    readonly leftBehind: ReadonlyArray<{ what: string; where: string; error: string }>,
  ) {
    super(message);
    this.name = 'RolledBackError';
  }
}

const text = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 300);

/**
 * Runs `undos` last-first after `cause` and throws a RolledBackError that carries the cause's
 * message, what was undone and what was left (with its host and the undo's error).
 */
export async function rollBack(cause: unknown, step: string, undos: readonly Undo[]): Promise<never> {
  const undone: string[] = [];
  const leftBehind: Array<{ what: string; where: string; error: string }> = [];
  for (const u of [...undos].reverse()) {
    try {
      await u.run();
      undone.push(`${u.what} on ${u.where}`);
    } catch (e) {
      leftBehind.push({ what: u.what, where: u.where, error: text(e) });
    }
  }
  const base = cause instanceof Error ? cause.message : String(cause);
  const lines = [`${step} failed: ${base}`];
  if (undone.length > 0) lines.push(`rolled back: ${undone.join('; ')}`);
  if (leftBehind.length > 0) {
    lines.push(
      `rollback incomplete, LEFT BEHIND: ${leftBehind.map((l) => `${l.what} on ${l.where} (${l.error})`).join('; ')}; ` +
        'run `pulumi up` again once the host answers (the step is idempotent and converges), or remove them by hand',
    );
  }
  throw new RolledBackError(lines.join('\n'), cause, undone, leftBehind);
}
