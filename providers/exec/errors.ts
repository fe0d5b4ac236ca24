/**
 * The small set of error classes every VPM module throws. Each message is meant to be
 * actionable on its own: what failed, on which host, and what to do about it.
 * Secrets (private keys, passphrases) never appear in any of them.
 */

/** A remote (or local) command ran and exited non-zero, or timed out. */
export class RemoteCommandError extends Error {
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout = '',
    detail?: string,
  ) {
    super(
      `command failed on ${host}: ${argv.join(' ')}` +
        (exitCode === null ? ' (no exit code)' : ` (exit ${exitCode})`) +
        (detail ? `: ${detail}` : '') +
        (stderr.trim() ? `\n${stderr.trim().slice(0, 2000)}` : ''),
    );
    this.name = 'RemoteCommandError';
  }
}

/**
 * What to do about a host that does not answer, in the order one would try it; each way is
 * documented in the README's "When a switch dies" section.
 */
export const UNREACHABLE_ADVICE =
  'The host is down or cut off. Ways forward (README, "When a switch dies"): bring it back and run the command again; ' +
  'or mark its node `failed: true` in the topology and run `pulumi up` (the tree is planned around it); ' +
  'or leave its resources out of this run with `pulumi up --exclude <urn>` (or `pulumi destroy --exclude <urn>`); ' +
  'or, if it is gone for good, forget its resources with `pulumi state delete <urn>` (nothing on any host is touched). ' +
  '`pulumi stack --show-urns` lists the URNs.';

/** Could not open (or keep) a connection to a host after the allowed attempts. */
export class ConnectionError extends Error {
  /** `advice`: what to do next, when the caller knows (the retry helper: the host is unreachable). */
  constructor(readonly host: string, readonly attempts: number, override readonly cause?: unknown, advice?: string) {
    super(
      `cannot connect to ${host} after ${attempts} attempt(s)` +
        (cause instanceof Error ? `: ${cause.message}` : cause ? `: ${String(cause)}` : '') +
        (advice ? `\n${advice}` : ''),
    );
    this.name = 'ConnectionError';
  }
}

/** The host presented a key that is not the pinned one: refuse, and say both fingerprints. */
export class HostKeyMismatchError extends Error {
  constructor(readonly host: string, readonly expected: string, readonly actual: string, note?: string) {
    super(
      `host key of ${host} does not match the pinned key: expected ${expected}, got ${actual}. ` +
        (note ??
          'If the host was re-installed, update the pinned key (connection.hostKey) after checking it out of band.'),
    );
    this.name = 'HostKeyMismatchError';
  }
}

/** A program VPM needs is not installed where it must run. */
export class ToolMissingError extends Error {
  constructor(readonly tool: string, readonly where: string, readonly fix: string) {
    super(`'${tool}' is not available on ${where}: ${fix}`);
    this.name = 'ToolMissingError';
  }
}

/** Input that fails validation; `property` is the path of the bad field. */
export class ValidationError extends Error {
  constructor(readonly problems: ReadonlyArray<{ property: string; reason: string }>) {
    super(problems.map((p) => `${p.property}: ${p.reason}`).join('\n'));
    this.name = 'ValidationError';
  }
}
