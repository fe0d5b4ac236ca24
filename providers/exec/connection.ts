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

export const CONNECTION_DEFAULTS = {
  port: 22,
  user: 'root',
  connectTimeoutMs: 15000,
  connectAttempts: 3,
} as const;
