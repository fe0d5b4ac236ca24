/**
 * Lab-specific errors. Host-command failures use RemoteCommandError and missing programs
 * ToolMissingError (providers/exec/errors); LabError covers the lab's own state and says
 * which step failed and what to do.
 */
export class LabError extends Error {
  /** The step that failed (e.g. "h2: start sshd"), when one did. */
  readonly step?: string;
  override readonly cause?: unknown;

  constructor(message: string, options: { step?: string; cause?: unknown } = {}) {
    super(`lab: ${message}`);
    this.name = 'LabError';
    this.step = options.step;
    this.cause = options.cause;
  }
}

/** A message for any thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
