/**
 * LocalRunner: a CommandRunner that runs argv on this machine with child_process.spawn and
 * no shell, with the same timeout, stdin and error semantics as SshRunner. The lab uses it
 * to drive its namespaces (optionally through a prefix such as `ip netns exec hv1`), and
 * tests use it where a real process is wanted without sshd.
 *
 * Each command runs in its own process group, so a timeout kills the whole group: killing
 * only the direct child would leave e.g. the `sleep` of `sh -c 'sleep 30'` holding our pipes
 * open (and the command "running") until it finished by itself. A streamed command is
 * stopped the same way: SIGTERM to its group, SIGKILL after STOP_GRACE_MS.
 */
import { spawn } from 'node:child_process';
import { RemoteCommandError, ToolMissingError } from './errors';
import { commandTimeout, finishCommand, timeoutError } from './outcome';
import { quote, validateArgv } from './quote';
import type { CommandResult, CommandRunner, CommandStream, RunOptions, StreamExit, StreamHandlers, StreamOptions } from './runner';
import { STOP_GRACE_MS, streamOutput, streamStartTimeout } from './stream-output';

export interface LocalRunnerOptions {
  /** Name used in messages; default "local". */
  readonly host?: string;
  /** argv prepended to every command, e.g. ['ip', 'netns', 'exec', 'hv1']. */
  readonly prefix?: readonly string[];
  /** Environment of the commands; default the current process environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** Working directory; default the current one. */
  readonly cwd?: string;
}

export class LocalRunner implements CommandRunner {
  readonly host: string;
  private readonly prefix: readonly string[];

  constructor(private readonly options: LocalRunnerOptions = {}) {
    this.prefix = options.prefix ?? [];
    if (this.prefix.length > 0) validateArgv(this.prefix);
    this.host = options.host ?? (this.prefix.length > 0 ? `local (${this.prefix.join(' ')})` : 'local');
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    validateArgv(argv);
    // Not used to build the command (there is no shell here): it applies the same argument
    // rules as SshRunner (no NUL bytes), so code tested locally behaves the same over SSH.
    quote(argv);
    const timeoutMs = commandTimeout(options);
    const full = [...this.prefix, ...argv];

    return new Promise<CommandResult>((resolve, reject) => {
      const child = spawn(full[0], full.slice(1), {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: this.options.env ?? process.env,
        cwd: this.options.cwd,
        detached: true, // own process group, see the module header
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
      let settled = false;
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        f();
      };

      const timer = setTimeout(() => {
        settle(() => reject(timeoutError(this.host, argv, timeoutMs, text(out), text(err))));
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL'); // the group may be gone already
        }
        // Do not wait for our pipes to close: a process that left the group could hold them.
        child.stdout.destroy();
        child.stderr.destroy();
      }, timeoutMs);

      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e: NodeJS.ErrnoException) => {
        settle(() =>
          reject(
            e.code === 'ENOENT'
              ? new ToolMissingError(full[0], this.host, `'${full[0]}' was not found on PATH; install it or fix PATH`)
              : e,
          ),
        );
      });
      child.on('close', (code, signal) => {
        if (code === null) {
          settle(() =>
            reject(new RemoteCommandError(this.host, argv, null, text(err), text(out), `killed by signal ${signal ?? 'unknown'}`)),
          );
          return;
        }
        const result: CommandResult = { stdout: text(out), stderr: text(err), exitCode: code };
        settle(() => {
          try {
            resolve(finishCommand(this.host, argv, result, options));
          } catch (e) {
            reject(e);
          }
        });
      });
      // A command that exits without reading its stdin makes our write fail with EPIPE; its
      // exit status is what matters, so the write error is ignored.
      child.stdin.on('error', () => undefined);
      if (options?.stdin !== undefined) child.stdin.end(options.stdin, 'utf8');
      else child.stdin.end();
    });
  }

  async stream(argv: readonly string[], handlers: StreamHandlers, options?: StreamOptions): Promise<CommandStream> {
    validateArgv(argv);
    quote(argv); // same argument rules as SshRunner, see run()
    streamStartTimeout(options); // starting is immediate here; the value is only checked
    const full = [...this.prefix, ...argv];

    return new Promise<CommandStream>((resolve, reject) => {
      const child = spawn(full[0], full.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'], // like the SSH stream: the command reads no input
        env: this.options.env ?? process.env,
        cwd: this.options.cwd,
        detached: true, // own process group, see the module header
      });
      const output = streamOutput(handlers);
      let stopping = false;
      let killTimer: NodeJS.Timeout | undefined;
      const exited = new Promise<StreamExit>((done) => {
        child.on('close', (code, signal) => {
          clearTimeout(killTimer);
          output.end();
          done({ exitCode: code, ...(signal ? { signal } : {}), stopped: stopping });
        });
      });
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          child.kill(signal); // the group may be gone already
        }
      };
      const stop = (): Promise<StreamExit> => {
        if (!stopping) {
          stopping = true;
          signalGroup('SIGTERM');
          killTimer = setTimeout(() => {
            signalGroup('SIGKILL');
            // A process that left the group could hold our pipes: do not wait for them.
            child.stdout.destroy();
            child.stderr.destroy();
          }, STOP_GRACE_MS);
        }
        return exited;
      };
      child.stdout.on('data', (d: Buffer) => output.stdout(d));
      child.stderr.on('data', (d: Buffer) => output.stderr(d));
      child.once('spawn', () => resolve({ exited, stop }));
      child.on('error', (e: NodeJS.ErrnoException) => {
        // Before 'spawn' this rejects; afterwards (a failed kill) the promise is settled already.
        reject(
          e.code === 'ENOENT'
            ? new ToolMissingError(full[0], this.host, `'${full[0]}' was not found on PATH; install it or fix PATH`)
            : e,
        );
      });
    });
  }

  /** Nothing is kept open between commands. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
