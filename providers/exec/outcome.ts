/**
 * What every runner does once a command has finished: decide from the exit code and the
 * caller's okExitCodes whether it is a result or a RemoteCommandError. Shared so that the SSH,
 * local and recording runners cannot drift apart in their error semantics.
 */
import { RemoteCommandError } from './errors';
import type { CommandResult, RunOptions } from './runner';

/** Per-command timeout when the caller gives none (RunOptions.timeoutMs). */
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/** The timeout to use, after checking it is a positive number (a 0 or NaN would never fire). */
export function commandTimeout(options: RunOptions | undefined): number {
  const t = options?.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${String(t)}`);
  }
  return t;
}

/** Returns the result, or throws RemoteCommandError when the exit code is not an accepted one. */
export function finishCommand(
  host: string,
  argv: readonly string[],
  result: CommandResult,
  options: RunOptions | undefined,
): CommandResult {
  const ok = options?.okExitCodes ?? [0];
  if (!ok.includes(result.exitCode)) {
    throw new RemoteCommandError(host, argv, result.exitCode, result.stderr, result.stdout);
  }
  return result;
}

/** The error for a command that ran out of time; partial output is kept for diagnosis. */
export function timeoutError(
  host: string,
  argv: readonly string[],
  timeoutMs: number,
  stdout: string,
  stderr: string,
): RemoteCommandError {
  return new RemoteCommandError(host, argv, null, stderr, stdout, `timed out after ${timeoutMs} ms (the command was killed)`);
}
