/**
 * How to reach one host. This is a plain, serialisable value: it is a resource input.
 * The private key is a Pulumi secret when given inline; it never appears in outputs,
 * logs or error messages.
 */
export interface ConnectionSpec {
  /** IPv4 address or DNS name of the host's SSH endpoint. */
  readonly host: string;
  /** SSH port; default 22. */
  readonly port?: number;
  /** Login user; default "root". */
  readonly user?: string;
  /**
   * The pinned host key: either an OpenSSH public key ("ssh-ed25519 AAAA...", a known_hosts
   * line's key part) or its fingerprint ("SHA256:base64"). Any other key is refused.
   */
  readonly hostKey: string;
  /** Private key text (OpenSSH/PEM); pass as a Pulumi secret. */
  readonly privateKey?: string;
  /** Path to a private key file on the machine that runs Pulumi. */
  readonly privateKeyPath?: string;
  /** The private key's passphrase (inline key or key file); pass as a Pulumi secret. */
  readonly passphrase?: string;
  /**
   * Reach the host through this SSH jump host (like OpenSSH's ProxyJump): VPM logs in to the
   * jump host and opens a forwarded TCP channel to host:port from there. Its own host key is
   * pinned too; without its own privateKeyPath it uses this connection's key (or agent).
   */
  readonly jump?: JumpHostSpec;
  /**
   * Lab only: reach the host from inside this network namespace (the lab's underlay) through
   * `ip netns exec <netns> socat - TCP:<host>:<port>`, so the root namespace needs no address.
   */
  readonly netns?: string;
  /** Connect timeout per attempt; default 15000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * Connect attempts (backoff between them); default 3: a dead host fails the step in about
   * 3 x the time one attempt takes to fail (on a LAN, ARP gives up after ~3 s), not a minute.
   * Commands themselves are never retried.
   */
  readonly connectAttempts?: number;
}

/** An SSH jump host (ConnectionSpec.jump). */
export interface JumpHostSpec {
  readonly host: string;
  /** Default 22. */
  readonly port?: number;
  /** Default "root". */
  readonly user?: string;
  /** The jump host's pinned host key (key line or SHA256 fingerprint). */
  readonly hostKey: string;
  /** Its own key file; default: the target's credentials. */
  readonly privateKeyPath?: string;
  /** Lab only: reach the jump host from inside this network namespace. */
  readonly netns?: string;
}

export const CONNECTION_DEFAULTS = {
  port: 22,
  user: 'root',
  connectTimeoutMs: 15000,
  connectAttempts: 3,
} as const;
