/**
 * Ends a streamed remote command when its reader goes away.
 *
 * Without a PTY, closing an SSH channel does not end the remote command (killable.ts
 * explains). So a streamed command (CommandRunner.stream over SSH) runs behind a lifeline: a
 * background `cat` holds the channel's standard input, and when it reads EOF (the reader
 * stops, or the connection dies and sshd closes the session) it kills the session's process
 * group, the command included. The command itself reads /dev/null:
 *
 *   sh -c 'exec 3<&0; (cat <&3 >/dev/null; kill -TERM 0) >/dev/null 2>&1 & exec 3<&-; exec "$@" </dev/null' sh <argv...>
 */
const LIFELINE = 'exec 3<&0; (cat <&3 >/dev/null; kill -TERM 0) >/dev/null 2>&1 & exec 3<&-; exec "$@" </dev/null';

/** The argv that runs `argv` until the channel's standard input closes (quote it like any argv). */
export function lifelineArgv(argv: readonly string[]): string[] {
  return ['sh', '-c', LIFELINE, 'sh', ...argv];
}
