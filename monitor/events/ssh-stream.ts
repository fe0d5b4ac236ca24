/**
 * A long-running remote command whose output is read as it comes (`virsh event --loop`,
 * `ovsdb-client monitor`), restarted with backoff until stopped. The transport is the one of
 * providers/exec: CommandRunner.stream over an SshRunner (pinned host key, jump host, the
 * lab's netns proxy, the lifeline that ends the remote command when the reader goes; see
 * providers/exec/ssh.ts and lifeline.ts). This module adds only what a watcher needs on top:
 * restarting, states, and a "quiet" callback that lets a parser complete a multi-line record.
 *
 * Each RemoteStream owns its runner (one SSH connection), kept apart from the providers' pool
 * with a short keepalive, so a dead peer is noticed in ~15 s and a watcher never holds a
 * session slot a provider needs.
 */
import {
  CONNECTION_DEFAULTS,
  HostKeyMismatchError,
  SshRunner,
  validateArgv,
  type CommandRunner,
  type CommandStream,
  type ConnectionSpec,
} from '../../providers/exec';

export { lifelineArgv } from '../../providers/exec';

/** SSH keepalive of a watcher's connection: 3 missed = the stream is down. */
const WATCH_KEEPALIVE_MS = 5000;

export type StreamState = 'connecting' | 'running' | 'down' | 'stopped';

export interface RemoteStreamOptions {
  /** The host; a runner of its own is made for it. */
  readonly connection?: ConnectionSpec;
  /** Or a runner to stream over (tests, or a local command); it is not closed by stop(). */
  readonly runner?: CommandRunner;
  readonly argv: readonly string[];
  /** Output as it arrives (UTF-8 text; the parser splits lines). */
  onData(text: string): void;
  /** Called when the output went quiet for `quietMs` (lets a parser complete a multi-line record). */
  onQuiet?(): void;
  onState?(state: StreamState, detail?: string): void;
  /** Default 150 ms. */
  readonly quietMs?: number;
  /** Backoff between reconnects: from 1 s doubling to this; default 15 s. */
  readonly maxBackoffMs?: number;
  /** Connect timeout; default min(spec, 10 s). */
  readonly connectTimeoutMs?: number;
}

export class RemoteStream {
  private readonly runner: CommandRunner;
  private readonly ownsRunner: boolean;
  private current?: CommandStream;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private stopSignal?: Promise<void>;
  private signalStop?: () => void;
  state: StreamState = 'down';

  constructor(private readonly o: RemoteStreamOptions) {
    validateArgv(o.argv);
    if (o.runner) {
      this.runner = o.runner;
      this.ownsRunner = false;
    } else if (o.connection) {
      // One connect attempt per round: the restart loop below does the retrying, with its own backoff.
      const timeout = o.connectTimeoutMs ?? Math.min(o.connection.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs, 10_000);
      // SshRunner validates the spec (ValidationError on a bad one, before any connect).
      this.runner = new SshRunner({ ...o.connection, connectAttempts: 1, connectTimeoutMs: timeout }, { keepaliveMs: WATCH_KEEPALIVE_MS });
      this.ownsRunner = true;
    } else {
      throw new TypeError('RemoteStream needs a connection or a runner');
    }
    this.stopSignal = new Promise<void>((r) => (this.signalStop = r));
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Ends the remote command (its lifeline sees EOF) and the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop?.();
    this.wake?.();
    await this.current?.stop();
    await this.loop;
    if (this.ownsRunner) void this.runner.close(); // may wait for a connect in progress: not awaited
    this.setState('stopped');
  }

  private setState(s: StreamState, detail?: string): void {
    this.state = s;
    this.o.onState?.(s, detail);
  }

  private async run(): Promise<void> {
    let backoff = 1000;
    const max = this.o.maxBackoffMs ?? 15_000;
    while (!this.stopped) {
      this.setState('connecting');
      let detail = '';
      const started = Date.now();
      let quiet: NodeJS.Timeout | undefined;
      try {
        const starting = this.runner.stream(this.o.argv, {
          onStdout: (text) => {
            this.o.onData(text);
            if (this.o.onQuiet) {
              clearTimeout(quiet);
              quiet = setTimeout(() => this.o.onQuiet?.(), this.o.quietMs ?? 150);
            }
          },
        });
        // stop() must not wait for a connect in progress: a stream that starts after it is ended at once.
        const stream = await Promise.race([starting, this.stopSignal!.then(() => undefined)]);
        if (!stream) {
          void starting.then((s) => s.stop()).catch(() => undefined);
          return;
        }
        this.current = stream;
        if (this.stopped) {
          await stream.stop();
          return;
        }
        this.setState('running');
        const exit = await stream.exited;
        clearTimeout(quiet);
        this.o.onQuiet?.();
        detail = exit.reason ?? 'the remote command ended';
      } catch (e) {
        clearTimeout(quiet);
        // The first line: a ConnectionError goes on with advice meant for `pulumi up`.
        detail = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        if (e instanceof HostKeyMismatchError) {
          this.setState('down', detail);
          return; // never retried: a different key is not a glitch
        }
      } finally {
        this.current = undefined;
      }
      if (this.stopped) return;
      this.setState('down', detail);
      if (Date.now() - started > 30_000) backoff = 1000; // it ran for a while: start over
      await new Promise<void>((r) => {
        const t = setTimeout(r, backoff);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      backoff = Math.min(max, backoff * 2);
    }
  }
}
