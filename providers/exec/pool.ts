/**
 * The process-wide connection pool and per-host lock.
 *
 * A Pulumi provider process serves many resources on the same few switches; opening an SSH
 * connection costs ~300 ms and a command on a kept one ~125 ms (LAB-NOTES), so every
 * resource on a host shares one SshRunner. Pool key: `user@host:port|netns|<host key
 * fingerprint>`, so two specs that pin the same key in different notations (key line or
 * fingerprint) share a connection while a different pin never reuses a connection verified
 * against another key. Credentials are not part of the key: the first spec's key (or agent)
 * authenticates the shared connection.
 *
 * Handles returned by getRunner look the shared runner up on every call, so a handle stays
 * usable after closeAll() (it reconnects) and its own close() never cuts the connection from
 * under other users. Idle connections are unref'd (ssh.ts), so they do not keep the process
 * alive; on 'beforeExit' the pool closes them cleanly.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { CONNECTION_DEFAULTS, type ConnectionSpec } from './connection';
import { resolveConnection, type ResolvedConnection } from './connection-check';
import type { CommandResult, CommandRunner, CommandStream, RunOptions, StreamHandlers, StreamOptions } from './runner';
import { traceCommand } from './trace';
import { RemoteCommandError } from './errors';
import { SshRunner, type SshRunnerOptions } from './ssh';

const runners = new Map<string, SshRunner>();
/** Per pool key: commands that may change the host, started plus ended (CommandRunner.activity). */
const activityCounts = new Map<string, number>();
function bump(key: string): void {
  activityCounts.set(key, (activityCounts.get(key) ?? 0) + 1);
}
let exitHookInstalled = false;

/** The pool key of a validated connection (see the module header). */
export function poolKey(c: ResolvedConnection, env: NodeJS.ProcessEnv = process.env): string {
  const jump = c.jump ? `${c.jump.user}@${c.jump.host}:${c.jump.port}|${c.jump.netns ?? ''}|${c.jump.pinnedKey.fingerprint}|${c.jump.privateKeyPath ?? ''}` : '';
  return `${c.user}@${c.host}:${c.port}|${c.netns ?? ''}|${c.pinnedKey.fingerprint}|${jump}|${credentialDigest(c, env)}`;
}

// Per process: the digest must not be a stable fingerprint of a key that outlives the process.
const DIGEST_KEY = randomBytes(32);

/** Who logs in, without keeping the secret itself in a map key. */
function credentialDigest(c: ResolvedConnection, env: NodeJS.ProcessEnv): string {
  const who =
    c.auth.kind === 'privateKey' ? `key:${c.auth.privateKey.reveal()}` : c.auth.kind === 'privateKeyPath' ? `path:${c.auth.path}` : `agent:${env.SSH_AUTH_SOCK ?? ''}`;
  return createHmac('sha256', DIGEST_KEY)
    .update(who)
    .update('\0')
    .update(c.passphrase?.reveal() ?? '')
    .digest('base64url')
    .slice(0, 22);
}

/**
 * A pooled runner for this spec; validates the spec (ValidationError) but does not connect.
 * `options` apply only when this call creates the shared connection.
 */
export function getRunner(spec: ConnectionSpec, options?: SshRunnerOptions): CommandRunner {
  const resolved = resolveConnection(spec);
  const key = poolKey(resolved, options?.env);
  const shared = (): SshRunner => {
    let r = runners.get(key);
    if (!r) {
      r = new SshRunner(spec, options);
      runners.set(key, r);
      installExitHook();
    }
    return r;
  };
  const host = shared().host;
  let handleClosed = false;
  return {
    host,
    identity: key,
    activity: () => activityCounts.get(key) ?? 0,
    run(argv: readonly string[], runOptions?: RunOptions): Promise<CommandResult> {
      if (handleClosed) return Promise.reject(new Error(`this runner handle for ${host} was closed`));
      const startedAt = Date.now();
      const changes = runOptions?.readOnly !== true;
      if (changes) bump(key);
      return shared()
        .run(argv, runOptions)
        .then(
          (r) => (changes && bump(key), traceCommand(host, argv, startedAt, r.exitCode, runOptions?.trace), r),
          (e: unknown) => {
            if (changes) bump(key);
            traceCommand(host, argv, startedAt, e instanceof RemoteCommandError ? e.exitCode : null, runOptions?.trace);
            throw e;
          },
        );
    },
    async stream(argv: readonly string[], handlers: StreamHandlers, streamOptions?: StreamOptions): Promise<CommandStream> {
      if (handleClosed) throw new Error(`this runner handle for ${host} was closed`);
      bump(key);
      try {
        const s = await shared().stream(argv, handlers, streamOptions);
        void s.exited.then(() => bump(key));
        return s;
      } catch (e) {
        bump(key);
        throw e;
      }
    },
    // The connection belongs to the pool: closing a handle only retires the handle.
    close(): Promise<void> {
      handleClosed = true;
      return Promise.resolve();
    },
  };
}

/** Closes every pooled connection; later runs on existing handles reconnect. */
export async function closeAll(): Promise<void> {
  const all = [...runners.values()];
  runners.clear();
  await Promise.all(all.map((r) => r.close()));
}

/** Number of pooled connections (tests and diagnostics). */
export function poolSize(): number {
  return runners.size;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'beforeExit' fires when nothing but our unref'd sockets is left: end them politely. The
  // hook is installed again by the next getRunner, should work resume after it.
  process.once('beforeExit', () => {
    exitHookInstalled = false;
    void closeAll();
  });
}

interface HostLock {
  /** Holders in shared mode now. */
  shared: number;
  /** True while an exclusive holder runs. */
  exclusive: boolean;
  /** Waiters, in call order. */
  readonly queue: Array<{ readonly shared: boolean; readonly grant: () => void }>;
}
const locks = new Map<string, HostLock>();

/** Lets in whoever may run now, in call order; forgets an idle lock. */
function admit(key: string, lock: HostLock): void {
  while (lock.queue.length > 0 && !lock.exclusive) {
    const next = lock.queue[0];
    if (!next.shared && lock.shared > 0) break;
    lock.queue.shift();
    if (next.shared) lock.shared++;
    else lock.exclusive = true;
    next.grant();
  }
  if (!lock.exclusive && lock.shared === 0 && lock.queue.length === 0 && locks.get(key) === lock) locks.delete(key);
}

/**
 * The lock key for a host: one switch is one host:port in one namespace, whoever logs in.
 * Deliberately no validation here (locking must not fail on a spec the runner will reject
 * with a proper ValidationError anyway).
 */
export function hostLockKey(spec: Pick<ConnectionSpec, 'host' | 'port' | 'netns'>): string {
  return `${spec.host}:${spec.port ?? CONNECTION_DEFAULTS.port}|${spec.netns ?? ''}`;
}

/**
 * Runs `fn` while holding the lock of `host` (a string, or a spec via hostLockKey). By
 * default the lock is exclusive: callers on the same host run one after another in call order
 * (FIFO). With `{ shared: true }`, callers run together with other shared holders and only
 * exclude exclusive ones (a shared caller behind a waiting exclusive one waits too, so the
 * order stays FIFO). Use it for work that commutes with other shared work but not with an
 * exclusive read-modify-write of the same host object (GreTunnel: seeding the tunnel
 * neighbour cache is shared, releasing entries — read the cache, then flush it — exclusive).
 * Not reentrant: calling it again for the same host from inside `fn` may wait forever.
 */
export async function withHostLock<T>(
  host: string | Pick<ConnectionSpec, 'host' | 'port' | 'netns'>,
  fn: () => Promise<T> | T,
  options: { shared?: boolean } = {},
): Promise<T> {
  const key = typeof host === 'string' ? host : hostLockKey(host);
  const shared = options.shared === true;
  let lock = locks.get(key);
  if (!lock) {
    lock = { shared: 0, exclusive: false, queue: [] };
    locks.set(key, lock);
  }
  const held = lock;
  await new Promise<void>((grant) => {
    held.queue.push({ shared, grant });
    admit(key, held);
  });
  try {
    return await fn();
  } finally {
    if (shared) held.shared--;
    else held.exclusive = false;
    admit(key, held);
  }
}
