/**
 * Runs host programs for the lab: argv arrays only (never a shell), a timeout on every
 * command, and errors that carry the command, its exit code and its stderr
 * (RemoteCommandError with host "local" or the namespace the command ran in).
 */
import { execFile, spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { RemoteCommandError } from '../providers/exec/errors';

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
export function sh(argv: readonly string[], options: ShOptions = {}): Promise<ShResult> {
  const [file, ...args] = argv;
  if (!file) throw new Error('sh: empty argv');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const okCodes = options.okCodes ?? [0];
  const where = options.where ?? 'local';
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: options.env ? { ...process.env, ...options.env } : process.env,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr, code: 0 });
        const e = error as NodeJS.ErrnoException & { code?: unknown; killed?: boolean; signal?: string | null };
        if (typeof e.code === 'number' && (okCodes === 'any' || okCodes.includes(e.code))) {
          return resolve({ stdout, stderr, code: e.code });
        }
        let detail: string | undefined;
        if (e.killed || e.signal) detail = `killed by ${e.signal ?? 'signal'} after ${timeoutMs} ms timeout or signal`;
        else if (typeof e.code === 'string') detail = e.code === 'ENOENT' ? `${file} not found` : e.message;
        reject(
          new RemoteCommandError(where, argv, typeof e.code === 'number' ? e.code : null, stderr, stdout, detail),
        );
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Runs argv with the given stdio inherited; resolves with the exit code (128+n for signal n). */
export function shInherit(
  argv: readonly string[],
  options: { env?: Readonly<Record<string, string>> } = {},
): Promise<number> {
  const [file, ...args] = argv;
  if (!file) throw new Error('sh: empty argv');
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
