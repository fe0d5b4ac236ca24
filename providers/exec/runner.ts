/**
 * The one interface through which VPM touches a host. Commands are argv arrays; the
 * implementation (SSH or local) does all quoting in one place (see quote.ts).
 *
 * Two ways to run a command: `run` waits for it to end and returns its output; `stream`
 * hands its output over as it comes (a watcher such as `virsh event --loop`), until the
 * command exits or the caller stops it.
 */

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

export interface RunOptions {
  /** Bytes fed to the command's standard input (e.g. `ovs-ofctl add-flows br1 -`). */
  readonly stdin?: string;
  /** Per-command timeout; the command is killed and a RemoteCommandError thrown. Default 60 s. */
  readonly timeoutMs?: number;
  /** Exit codes that are not errors (default: only 0). */
  readonly okExitCodes?: readonly number[];
  /** What the command trace (trace.ts) records for this command, besides its first words. */
  readonly trace?: TraceNote;
  /**
   * The command changes nothing on the host (a listing, a dump): it leaves the connection's
   * activity alone, so what other reads keep of the host stays good (shared-reads.ts).
   */
  readonly readOnly?: boolean;
}

/**
 * For the optional command trace: `tag` names the kind of resource the command works for
 * (e.g. "bridge", "tunnel", "path", "domain"), so an audit can group commands without guessing
 * from their words; `steps` are the first words of each step of a batch (batch.ts), whose own
 * argv is only `sh -c <script>`.
 */
export interface TraceNote {
  readonly tag?: string;
  readonly steps?: readonly (readonly string[])[];
}

/** Callbacks of a streamed command; each is optional. */
export interface StreamHandlers {
  /** stdout as it arrives, decoded as UTF-8 (chunks split anywhere, but never inside a character). */
  onStdout?(text: string): void;
  /**
   * Each complete stdout line, without its newline. Lines longer than MAX_STREAM_LINE are
   * dropped (lines.ts), so a host cannot grow the reader's buffer; a last line without a
   * newline is delivered when the command ends.
   */
  onLine?(line: string): void;
  /** stderr as it arrives (UTF-8). */
  onStderr?(text: string): void;
}

export interface StreamOptions {
  /**
   * How long starting may take (waiting for a session slot; over SSH the connect is bounded by
   * the connection's own timeout and attempts). Default 60 s. The command itself has no
   * timeout: it runs until it exits or `stop()` is called.
   */
  readonly startTimeoutMs?: number;
}

/** How a streamed command ended. */
export interface StreamExit {
  /** Its exit status, or null when it was ended by a signal or the connection was lost. */
  readonly exitCode: number | null;
  /** The signal that ended it, when known. */
  readonly signal?: string;
  /** True when it ended because `stop()` was called. */
  readonly stopped: boolean;
  /** Why it ended without an exit status (e.g. "the connection was lost"). */
  readonly reason?: string;
}

/** A running streamed command. */
export interface CommandStream {
  /** Resolves (never rejects) once the command has ended and its output was delivered. */
  readonly exited: Promise<StreamExit>;
  /** Ends the command and every process it started; resolves once it has ended. Idempotent. */
  stop(): Promise<StreamExit>;
}

export interface CommandRunner {
  /** A name for messages (host or "local"). */
  readonly host: string;
  /**
   * The same for every handle that logs in to the same host the same way (pooled runners: the
   * pool key, which holds no secret); a read may be shared only among those (shared-reads.ts).
   */
  readonly identity?: string;
  /**
   * A count that moves whenever a command that may change the host (any but RunOptions.readOnly)
   * starts or ends through this connection (any handle with the same identity). What a reader
   * keeps of the host is good only while it stays the same (shared-reads.ts). Runners without
   * it are never read from a kept copy.
   */
  activity?(): number;
  /** Runs argv; throws RemoteCommandError unless the exit code is in okExitCodes. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /**
   * Starts argv and hands its output to `handlers` as it arrives. Resolves once the command
   * runs; rejects when it cannot be started (connection, host key, missing program). The
   * command reads no standard input.
   */
  stream(argv: readonly string[], handlers: StreamHandlers, options?: StreamOptions): Promise<CommandStream>;
  /** Releases the connection (pooled runners may keep it for other users). */
  close(): Promise<void>;
}

/**
 * A key for one way into one host: the runner's identity (pooled handles of the same
 * connection share it), else the runner object itself. What VPM keeps per connection (shared
 * reads, a switch's groups) is kept under it, so it never crosses credentials.
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
