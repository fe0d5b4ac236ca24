/**
 * Makes a remote command killable on timeout.
 *
 * The SSH "signal" request would be the natural way, but OpenSSH's sshd refuses it for root
 * logins ("session signalling requires privilege separation": sshd drops post-auth privilege
 * separation for root), and root is VPM's default user. Closing the channel does not help
 * either: without a PTY the command is not sent SIGHUP and keeps running as an orphan (a hung
 * `ovs-vsctl` would keep waiting on ovsdb).
 *
 * So every remote command is started through a tiny POSIX sh prologue that reports its
 * process group on stderr and then `exec`s the real argv unchanged (same PID, same argv):
 *
 *     sh -c '<prologue>; exec "$@"' sh <argv...>
 *
 * sshd puts each session in a new session/process group, so on timeout the runner can end
 * the command and every child it started with `kill -KILL -- -<pgid>` on a second channel.
 * The report is one line, `\x1evpm-pgid:<n>\n` (starting with the ASCII record separator so
 * ordinary output cannot be mistaken for it), and is removed from the stderr callers see.
 */

/** Reads the process group from /proc (Linux), falling back to the shell's PID. */
const PROLOGUE =
  `read -r _ _ _ _ g _ 2>/dev/null </proc/$$/stat || g=$$; ` +
  `printf '\\036vpm-pgid:%s\\n' "$g" >&2; exec "$@"`;

const REPORT = /\x1evpm-pgid:(\d+)\n/;

/** The argv that runs `argv` behind the prologue (quote it with quote.ts like any argv). */
export function killableArgv(argv: readonly string[]): string[] {
  return ['sh', '-c', PROLOGUE, 'sh', ...argv];
}

/** Collects a command's stderr, picking out (and dropping) the process group report. */
export class StderrWithPgid {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;
  private pending = '';
  private found?: number;
  private searching = true;

  /** Process group of the remote command, once reported (only ids > 1 are ever given). */
  get pgid(): number | undefined {
    return this.found;
  }

  /** `maxBytes`: stderr kept at most (the rest is counted and dropped). */
  constructor(private readonly maxBytes = Infinity) {}

  push(chunk: Buffer): void {
    const room = this.maxBytes - this.kept;
    if (room > 0) {
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(part);
      this.kept += part.length;
    }
    this.dropped += Math.max(0, chunk.length - Math.max(room, 0));
    if (this.searching && this.pending.length < 4096) {
      // The report is among the first bytes; look only until it is found.
      this.pending += chunk.toString('latin1');
      const m = REPORT.exec(this.pending);
      if (m) {
        const n = Number(m[1]);
        this.found = n > 1 ? n : undefined;
        this.searching = false;
        this.pending = '';
      }
    }
  }

  /** All stderr as UTF-8, without the report line. */
  text(): string {
    const text = Buffer.concat(this.chunks).toString('utf8').replace(REPORT, '');
    return this.dropped > 0 ? `${text}\n[${this.dropped} more bytes of stderr dropped]` : text;
  }
}
