/**
 * Runs host programs for the lab: a thin wrapper over the product's LocalRunner
 * (providers/exec/local.ts: argv only, never a shell, a timeout on every command that kills
 * the command's whole process group, errors that carry the command, its exit code and its
 * stderr as RemoteCommandError with host "local" or where the command ran). This module adds
 * only the lab's conventions: a 15 s default timeout, extra environment merged over the
 * process's, `okCodes: 'any'`, and a missing program reported as a RemoteCommandError.
 */
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { LocalRunner, RemoteCommandError, ToolMissingError } from '../providers/exec';

export interface ShOptions {
  /** Kill the command after this long; default 15 s. */
  readonly timeoutMs?: number;
  /** Text written to the command's standard input. */
  readonly input?: string;
  /** Extra environment variables (merged over process.env). */
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are not errors; default [0]; 'any' never throws for an exit code. */
  readonly okCodes?: readonly number[] | 'any';
  /** Where the command runs, for messages (default "local"). */
  readonly where?: string;
}

export interface ShResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** Runs argv[0] with argv[1..]; resolves when it exits with an ok code, else throws. */
export async function sh(argv: readonly string[], options: ShOptions = {}): Promise<ShResult> {
  if (!argv[0]) throw new Error('sh: empty argv');
  const where = options.where ?? 'local';
  const runner = new LocalRunner({ host: where, env: options.env ? { ...process.env, ...options.env } : process.env });
  const okCodes = options.okCodes ?? [0];
  try {
    const r = await runner.run(argv, {
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.input !== undefined ? { stdin: options.input } : {}),
      ...(okCodes !== 'any' ? { okExitCodes: okCodes } : {}),
    });
    return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode };
  } catch (e) {
    // 'any': every exit status is a result; only a timeout or a signal (no exit code) throws.
    if (okCodes === 'any' && e instanceof RemoteCommandError && e.exitCode !== null) {
      return { stdout: e.stdout, stderr: e.stderr, code: e.exitCode };
    }
    // The lab's callers handle one error class for a command that could not run.
    if (e instanceof ToolMissingError) throw new RemoteCommandError(where, argv, null, '', '', `${argv[0]} not found`);
    throw e;
  }
}

/** Runs argv with the given stdio inherited; resolves with the exit code (128+n for signal n). */
export function shInherit(
  argv: readonly string[],
  options: { env?: Readonly<Record<string, string>> } = {},
): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error('sh: empty argv');
  // Not a CommandRunner job: the user's terminal is handed to the command (`vpm lab exec`).
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: 'inherit',
      env: options.env ? { ...process.env, ...options.env } : process.env,
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== null) return resolve(code);
      const signo = signal ? (osConstants.signals as Record<string, number>)[signal] ?? 0 : 0;
      resolve(128 + signo);
    });
  });
}
