/**
 * The one interface through which VPM touches a host. Commands are argv arrays; the
 * implementation (SSH or local) does all quoting in one place (see quote.ts).
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
}

export interface CommandRunner {
  /** A name for messages (host or "local"). */
  readonly host: string;
  /** Runs argv; throws RemoteCommandError unless the exit code is in okExitCodes. */
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
  /** Releases the connection (pooled runners may keep it for other users). */
  close(): Promise<void>;
}
