/**
 * SshRunner: a CommandRunner over one kept ssh2 connection to one host.
 *
 * - The host key is pinned (hostkey.ts); a mismatch ends the attempt with
 *   HostKeyMismatchError and is never retried.
 * - Connecting retries with capped exponential backoff (retry.ts); running a command never
 *   does, because a command may have changed the host before it failed.
 * - Each command gets its own session channel; ssh2 multiplexes them on the connection. A
 *   semaphore keeps at most 8 open at once, below sshd's MaxSessions default of 10. sshd frees
 *   a closed channel's session a moment after we see it close, so a burst can still be refused:
 *   a refused channel is opened again after a short wait until the command's deadline (the
 *   command never started, so this is not a re-run).
 * - Each command has a timeout: on expiry RemoteCommandError("timed out after X ms") is
 *   thrown, the channel is signalled and closed, and the command's process group is killed
 *   with `kill -KILL` on a second channel (killable.ts explains why both are needed).
 * - The timeout covers the wait for a session slot too: a command queued behind 8 slow ones
 *   fails at its deadline instead of waiting forever and then getting its full time again.
 * - stdout is capped (maxOutputBytes, default 64 MiB: a dump of 100,000 flows is ~20 MB) and
 *   stderr kept to its first 1 MiB: a host that floods a channel ends the command with an
 *   error instead of growing the provider process until it dies.
 * - Keepalive: every keepaliveMs (default 15 s) an idle-safe round trip (a global request
 *   that changes nothing) goes over the connection from an unref'd timer; with no answer for
 *   3 intervals the connection is marked dead and closed, so the next run reconnects instead
 *   of waiting out its timeout on a half-open socket (NAT and firewall state expire).
 * - `stream` runs a long-lived command (a watcher) on its own session channel of the same
 *   connection, behind a lifeline (lifeline.ts): ending the channel's stdin ends the remote
 *   command, and so does the connection dropping. It holds a session slot and keeps the
 *   socket ref'd while it runs; it is never restarted here (the caller decides).
 * - If the connection drops while idle, the next run reconnects (same retry logic). Commands
 *   in flight when it drops fail; none is re-run.
 * - With `jump`, VPM first logs in to the jump host (its own pinned key) and carries the
 *   connection in a forwarded TCP channel from there (OpenSSH's ProxyJump).
 * - With `netns`, the TCP connection is made by `ip netns exec <netns> socat - TCP:host:port`
 *   and ssh2 talks through that process's stdin/stdout, so the machine running Pulumi needs
 *   no address in the hosts' network (the lab's underlay).
 * - The socket (or proxy process) is unref'd while no command is running, so an idle kept
 *   connection never holds a Pulumi provider process open; it is ref'd while work is pending,
 *   so Node cannot exit under a running command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { ConnectionSpec } from './connection';
import { resolveConnection, type ResolvedConnection, type ResolvedJump } from './connection-check';
import { ConnectionError, HostKeyMismatchError, RemoteCommandError, ToolMissingError, ValidationError } from './errors';
import { hostKeyAlgorithms, verifyHostKey, type PinnedKey } from './hostkey';
import { killableArgv, StderrWithPgid } from './killable';
import { lifelineArgv } from './lifeline';
import { commandTimeout, finishCommand, timeoutError } from './outcome';
import { quote, validateArgv } from './quote';
import { DEFAULT_BACKOFF, withConnectRetry, type BackoffPolicy } from './retry';
import type { CommandResult, CommandRunner, CommandStream, RunOptions, StreamExit, StreamHandlers, StreamOptions } from './runner';
import { Semaphore, SlotTimeoutError } from './semaphore';
import { STOP_GRACE_MS, streamOutput, streamStartTimeout } from './stream-output';
import { requireExecutable } from './which';

/** Session channels open at once per connection: sshd's MaxSessions (default 10) minus a margin. */
export const DEFAULT_MAX_SESSIONS = 8;

/** How long a timed-out channel may take to close before its session slot is given back anyway. */
const CHANNEL_CLOSE_GRACE_MS = 2000;
/** Upper bound for the `kill` that ends a timed-out command. */
const KILL_TIMEOUT_MS = 5000;
/** TCP keepalive probe delay: lets the kernel notice a dead peer on an idle kept connection. */
const TCP_KEEPALIVE_MS = 30_000;
/** SSH-level keepalive interval; the connection is dropped after KEEPALIVE_MISSES unanswered. */
export const DEFAULT_KEEPALIVE_MS = 15_000;
const KEEPALIVE_MISSES = 3;
/** Bytes of stdout one command may produce. */
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Bytes of stderr kept (the rest is dropped: stderr only feeds messages). */
export const MAX_STDERR_BYTES = 1024 * 1024;

export interface SshRunnerOptions {
  /** Concurrent commands (session channels) on the connection; default 8. */
  readonly maxSessions?: number;
  /** Backoff between connect attempts; default 200 ms doubling, capped at 3 s. */
  readonly backoff?: BackoffPolicy;
  /** Environment consulted for SSH_AUTH_SOCK (agent auth); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** SSH keepalive interval; default 15 s. */
  readonly keepaliveMs?: number;
  /** stdout bytes per command; default 64 MiB. */
  readonly maxOutputBytes?: number;
}

/** One open SSH connection, plus what is needed to ref/unref and tear it down. */
interface Live {
  readonly client: Client;
  closed: boolean;
  setRef(ref: boolean): void;
  end(): Promise<void>;
}

/** Anything with ref/unref (net.Socket, ChildProcess, child pipes). */
type Refable = { ref(): unknown; unref(): unknown };

/** Marks a failure that happened before the command reached the host, so reconnecting is safe. */
class NotSentError extends Error {}

/**
 * The host refused the session channel on a live connection. OpenSSH does this when its
 * MaxSessions is reached ("open failed", reason 2): a channel that just closed on our side is
 * freed by sshd a moment later, so several commands ending at once can briefly exceed the limit
 * even below it. The command was never started, so opening the channel again shortly after is
 * safe; a host that never opens one fails the command at its deadline.
 */
class SessionRefusedError extends Error {}

/** SSH_OPEN_UNKNOWN_CHANNEL_TYPE (RFC 4254, 5.1): the one refusal that waiting cannot mend. */
const OPEN_UNKNOWN_CHANNEL_TYPE = 3;

/** Wait before opening a refused session channel again: 25 ms, doubling, at most 400 ms. */
const refusedRetryDelay = (attempt: number) => Math.min(25 * 2 ** attempt, 400);

/** The error of a command that never started on the host (so it has no exit code or output). */
function notStarted(host: string, argv: readonly string[], why: string): RemoteCommandError {
  return new RemoteCommandError(host, argv, null, '', '', why);
}

/** The error for a channel the host would not open (`openErr` from ssh2's exec callback). */
function openFailure(host: string, argv: readonly string[], live: Live, openErr: Error & { reason?: unknown }): Error {
  if (live.closed) return notStarted(host, argv, 'the connection was lost before the command started');
  if (openErr.reason === OPEN_UNKNOWN_CHANNEL_TYPE) return notStarted(host, argv, `could not start the command: ${openErr.message}`);
  return new SessionRefusedError(openErr.message);
}

export class SshRunner implements CommandRunner {
  readonly host: string;
  readonly connection: ResolvedConnection;
  /** Connection attempts made over this runner's life (tests and diagnostics). */
  connectAttemptsMade = 0;

  private live?: Live;
  private connecting?: Promise<Live>;
  private readonly sessions: Semaphore;
  private readonly backoff: BackoffPolicy;
  private readonly env: NodeJS.ProcessEnv;
  private readonly keepaliveMs: number;
  private readonly maxOutputBytes: number;
  /** Runs in progress (waiting, connecting or executing): while > 0 the socket is ref'd. */
  private busy = 0;
  private closed = false;

  /** Validates the spec (ValidationError listing every bad property); does not connect yet. */
  constructor(spec: ConnectionSpec, options: SshRunnerOptions = {}) {
    this.connection = resolveConnection(spec);
    const c = this.connection;
    this.host = `${c.user}@${c.host}:${c.port}` + (c.netns ? ` (netns ${c.netns})` : '');
    this.sessions = new Semaphore(options.maxSessions ?? DEFAULT_MAX_SESSIONS);
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.env = options.env ?? process.env;
    this.keepaliveMs = options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    validateArgv(argv);
    const command = quote(killableArgv(argv));
    const timeoutMs = commandTimeout(options);
    if (this.closed) throw new Error(`the SSH runner for ${this.host} is closed; get a new one from the pool`);

    this.hold(+1);
    const deadline = Date.now() + timeoutMs;
    try {
      // From here on `release` must be called exactly once per path: exec takes it over as
      // soon as a channel is being opened (it frees the slot when the channel closes).
      const release = await this.acquireSlot(argv, timeoutMs);
      const left = () => Math.max(1, deadline - Date.now());
      return await this.send(argv, release, deadline, (live) => this.exec(live, argv, command, options, left(), release));
    } finally {
      this.hold(-1);
    }
  }

  /**
   * Starts one command holding the session slot `release` (`start` opens its channel; from then
   * on the slot is start's to free, except on the two failures below, which leave it here).
   * The connection turned out dead before the command was sent: reconnect once (with the usual
   * connect retries) and send it. sshd refused the channel for its session limit: open it again
   * after a short wait, until `deadline`. Nothing ran on the host in either case.
   */
  private async send<T>(argv: readonly string[], release: () => void, deadline: number, start: (live: Live) => Promise<T>): Promise<T> {
    let live = await this.connectOrRelease(release);
    let reconnected = false;
    for (let refused = 0; ; ) {
      try {
        return await start(live);
      } catch (err) {
        if (err instanceof NotSentError) {
          if (reconnected) {
            release();
            throw notStarted(this.host, argv, `not sent: the connection dropped again (${err.message})`);
          }
          reconnected = true;
          live.closed = true;
          live = await this.connectOrRelease(release);
          continue;
        }
        if (!(err instanceof SessionRefusedError)) throw err;
        const wait = refusedRetryDelay(refused++);
        if (Date.now() + wait >= deadline) {
          release();
          throw notStarted(
            this.host,
            argv,
            `could not start the command: the host refused a session channel ${refused} time(s) until the deadline ` +
              `(${err.message}; VPM opens up to ${this.sessions.limit} at once: check MaxSessions in the host's sshd_config)`,
          );
        }
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** The live connection; when there is none to be had, the session slot goes back first. */
  private async connectOrRelease(release: () => void): Promise<Live> {
    try {
      return await this.connect();
    } catch (e) {
      release();
      throw e;
    }
  }

  /** One of the connection's session slots, or a RemoteCommandError saying the command never started. */
  private async acquireSlot(argv: readonly string[], waitMs: number): Promise<() => void> {
    try {
      return await this.sessions.acquire(waitMs);
    } catch (e) {
      if (!(e instanceof SlotTimeoutError)) throw e;
      throw notStarted(this.host, argv, `timed out after ${waitMs} ms waiting for one of the ${this.sessions.limit} session slots (the command never started)`);
    }
  }

  async stream(argv: readonly string[], handlers: StreamHandlers, options?: StreamOptions): Promise<CommandStream> {
    validateArgv(argv);
    const command = quote(lifelineArgv(argv));
    const startMs = streamStartTimeout(options);
    if (this.closed) throw new Error(`the SSH runner for ${this.host} is closed; get a new one from the pool`);

    this.hold(+1); // held until the stream has ended, so Node cannot exit under it
    let running = false;
    try {
      const deadline = Date.now() + startMs;
      const release = await this.acquireSlot(argv, startMs);
      // As in run(): `release` passes to openStream once a channel is being opened.
      const stream = await this.send(argv, release, deadline, (live) => this.openStream(live, argv, command, handlers, release));
      running = true;
      void stream.exited.then(() => this.hold(-1));
      return stream;
    } finally {
      if (!running) this.hold(-1);
    }
  }

  /** Ends the connection; further runs on this runner fail. */
  async close(): Promise<void> {
    this.closed = true;
    const live = this.live ?? (await this.connecting?.catch(() => undefined));
    this.live = undefined;
    if (live && !live.closed) await live.end();
  }

  /** True while a connection is open (tests and diagnostics). */
  get connected(): boolean {
    return !!this.live && !this.live.closed;
  }

  private hold(delta: number): void {
    const before = this.busy;
    this.busy += delta;
    if (before === 0 && this.busy > 0) this.live?.setRef(true);
    if (before > 0 && this.busy === 0) this.live?.setRef(false);
  }

  /** The open connection, or a new one (shared by concurrent callers) made with retries. */
  private connect(): Promise<Live> {
    if (this.closed) return Promise.reject(new Error(`the SSH runner for ${this.host} is closed`));
    if (this.live && !this.live.closed) return Promise.resolve(this.live);
    if (!this.connecting) {
      this.connecting = withConnectRetry(
        this.host,
        this.connection.connectAttempts,
        (attempt) => {
          this.connectAttemptsMade++;
          return this.connectOnce(attempt);
        },
        isFatalConnectError,
        this.backoff,
      )
        .then((live) => {
          if (this.closed) {
            void live.end();
            throw new Error(`the SSH runner for ${this.host} was closed while connecting`);
          }
          this.live = live;
          live.setRef(this.busy > 0);
          return live;
        })
        .finally(() => {
          this.connecting = undefined;
        });
    }
    return this.connecting;
  }

  /** One connection attempt: open the transport, check the host key, authenticate. */
  private async connectOnce(attempt: number): Promise<Live> {
    const c = this.connection;
    const auth = this.authConfig();
    const transport = c.jump ? await this.jumpTransport(c.jump, auth) : c.netns ? this.proxyTransport(c) : this.tcpTransport(c);
    return this.handshake(attempt, transport, auth);
  }

  /** SSH over an open transport: host key check, authentication. */
  private handshake(attempt: number, transport: Transport, auth: AuthConfig): Promise<Live> {
    const c = this.connection;
    return new Promise<Live>((resolve, reject) => {
      const client = new Client();
      let mismatch: HostKeyMismatchError | undefined;
      let ready = false;
      let failed = false;

      const live: Live = {
        client,
        closed: false,
        setRef: transport.setRef,
        end: () =>
          new Promise<void>((done) => {
            if (live.closed) return done();
            // Ref while saying goodbye so the disconnect is flushed even at process exit.
            transport.setRef(true);
            const fallback = setTimeout(() => {
              client.destroy();
              transport.kill();
              done();
            }, 1000);
            client.once('close', () => {
              clearTimeout(fallback);
              done();
            });
            client.end();
          }),
      };

      const fail = (err: unknown) => {
        if (ready || failed) return;
        failed = true;
        client.destroy();
        // Let a proxy finish writing why it failed (socat's "Connection refused") first.
        void transport.finished().then(() => {
          transport.kill();
          // The verifier stored the mismatch: surface it, not ssh2's generic "Host denied".
          reject(mismatch ?? this.describeConnectError(err, attempt, transport.diagnostics()));
        });
      };

      client.on('ready', () => {
        ready = true;
        const stop = startKeepalive(client, this.keepaliveMs, () => {
          // Half-open: mark it dead so the next run reconnects; in-flight commands fail on 'close'.
          live.closed = true;
          client.destroy();
          transport.kill();
        });
        client.once('close', stop);
        resolve(live);
      });
      client.on('error', (err: Error & { level?: string }) => {
        // Before ready: this attempt failed. After ready: the connection is going down; the
        // 'close' that follows marks it closed and in-flight commands fail on their own.
        if (!ready) fail(err);
      });
      client.on('close', () => {
        live.closed = true;
        transport.kill();
        if (!ready) fail(new Error('the connection closed before SSH was ready'));
      });

      const config: ConnectConfig = {
        host: c.host,
        port: c.port,
        username: c.user,
        sock: transport.stream,
        readyTimeout: c.connectTimeoutMs,
        // ssh2's keepalive is a timer that would keep the process alive; the kernel's TCP
        // keepalive (set on the socket / by socat) detects dead peers instead.
        keepaliveInterval: 0,
        ...pinnedAlgorithms(c.pinnedKey),
        hostVerifier: pinVerifier(this.host, c.pinnedKey, (e) => (mismatch = e)),
        ...auth,
      };
      try {
        client.connect(config);
      } catch (e) {
        // ssh2 throws synchronously only for unusable configuration, i.e. a key it cannot parse.
        failed = true;
        transport.kill();
        reject(this.keyParseError(e));
      }
    });
  }

  /**
   * Through the jump host: log in there (its own pinned host key; its own key file or this
   * connection's credentials), then open a forwarded TCP channel to host:port. The channel is
   * the transport; closing the target connection ends the jump connection too.
   */
  private jumpTransport(j: ResolvedJump, targetAuth: AuthConfig): Promise<Transport> {
    const c = this.connection;
    const name = `${j.user}@${j.host}:${j.port} (jump host for ${c.host})`;
    const under = j.netns ? this.proxyTransport(j) : this.tcpTransport(j);
    const auth: AuthConfig = j.privateKeyPath ? this.keyFileAuth(j.privateKeyPath, 'jump.privateKeyPath') : targetAuth;
    return new Promise<Transport>((resolve, reject) => {
      const client = new Client();
      let mismatch: HostKeyMismatchError | undefined;
      let ready = false;
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        client.destroy();
        under.kill();
        reject(mismatch ?? new Error(`${name}: ${err.message}${under.diagnostics() ? ` (${under.diagnostics()})` : ''}`));
      };
      client.on('ready', () => {
        ready = true;
        client.forwardOut('127.0.0.1', 0, c.host, c.port, (err, channel) => {
          if (err) return fail(new Error(`could not open a channel to ${c.host}:${c.port} (is AllowTcpForwarding on?): ${err.message}`));
          settled = true;
          const stream = channel as unknown as Duplex;
          resolve({
            stream,
            setRef: under.setRef,
            kill: () => {
              client.end();
              under.kill();
            },
            finished: () => under.finished(),
            diagnostics: () => under.diagnostics(),
          });
        });
      });
      client.on('error', (e: Error) => {
        if (!ready) fail(e);
      });
      client.on('close', () => {
        under.kill();
        if (!ready) fail(new Error('the connection closed before SSH was ready'));
      });
      try {
        client.connect({
          host: j.host,
          port: j.port,
          username: j.user,
          sock: under.stream,
          readyTimeout: c.connectTimeoutMs,
          keepaliveInterval: 0,
          ...pinnedAlgorithms(j.pinnedKey),
          hostVerifier: pinVerifier(name, j.pinnedKey, (e) => (mismatch = e)),
          ...auth,
        });
      } catch (e) {
        fail(this.keyParseError(e));
      }
    });
  }

  /** Authentication options for ssh2: inline key, key file, or the agent; with the passphrase. */
  private authConfig(): AuthConfig {
    const auth = this.connection.auth;
    const passphrase = this.connection.passphrase ? { passphrase: this.connection.passphrase.reveal() } : {};
    switch (auth.kind) {
      case 'privateKey':
        return { privateKey: auth.privateKey.reveal(), ...passphrase };
      case 'privateKeyPath':
        return { ...this.keyFileAuth(auth.path, 'privateKeyPath'), ...passphrase };
      case 'agent': {
        const sock = this.env.SSH_AUTH_SOCK;
        if (!sock) {
          throw new ValidationError([
            {
              property: 'privateKey',
              reason:
                'no privateKey or privateKeyPath given and SSH_AUTH_SOCK is not set, so there is no SSH agent ' +
                'to authenticate with: pass the key as a Pulumi secret (privateKey) or start ssh-agent',
            },
          ]);
        }
        return { agent: sock };
      }
    }
  }

  /** Reads a key file (ValidationError naming the property when it cannot be read). */
  private keyFileAuth(path: string, property: string): AuthConfig {
    try {
      return { privateKey: readFileSync(path) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new ValidationError([{ property, reason: `cannot read ${JSON.stringify(path)} (${code}) on the machine running Pulumi` }]);
    }
  }

  private keyParseError(e: unknown): ValidationError {
    const property = this.connection.auth.kind === 'privateKeyPath' ? 'privateKeyPath' : 'privateKey';
    // ssh2's parse messages ("Unsupported key format", "Encrypted private OpenSSH key detected,
    // but no passphrase given") carry no key material; cut to one short line regardless.
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);
    return new ValidationError([{ property, reason: `the private key cannot be used: ${msg}` }]);
  }

  private describeConnectError(err: unknown, attempt: number, diagnostics: string): Error {
    const e = err as Error & { level?: string };
    if (e?.level === 'client-authentication') {
      const how =
        this.connection.auth.kind === 'agent'
          ? 'the keys in the SSH agent'
          : this.connection.auth.kind === 'privateKeyPath'
            ? `the key in ${this.connection.auth.path}`
            : 'the given private key';
      // Wrapped already as ConnectionError so the retry helper stops: a refused key stays refused.
      return new ConnectionError(
        this.host,
        attempt,
        new Error(
          `authentication as ${this.connection.user} with ${how} was refused; add its public key to ` +
            `~${this.connection.user}/.ssh/authorized_keys on the host`,
        ),
      );
    }
    const msg = e instanceof Error ? e.message : String(err);
    return new Error(diagnostics ? `${msg} (${diagnostics})` : msg);
  }

  /** A plain TCP connection, made here rather than by ssh2 so we can ref/unref it. */
  private tcpTransport(c: Endpoint): Transport {
    const sock: Socket = tcpConnect({ host: c.host, port: c.port });
    sock.setNoDelay(true);
    sock.setKeepAlive(true, TCP_KEEPALIVE_MS);
    // ssh2 adds its own listener once connect() runs; this one covers the gap if it never does.
    sock.on('error', () => undefined);
    return {
      stream: sock,
      setRef: (ref) => void (ref ? sock.ref() : sock.unref()),
      kill: () => void sock.destroy(),
      finished: () => Promise.resolve(),
      diagnostics: () => '',
    };
  }

  /** `ip netns exec <netns> socat - TCP:<host>:<port>` as a duplex stream. */
  private proxyTransport(c: Endpoint): Transport {
    const ip = requireExecutable('ip', 'iproute2', `reaching ${c.host} through network namespace ${c.netns} needs ip`);
    const socat = requireExecutable('socat', 'socat', `reaching ${c.host} through network namespace ${c.netns} needs socat`);
    // host and port were validated (IPv4 / RFC 1123 name, integer): nothing in them can be
    // read as a socat address separator (':' or ',').
    const child: ChildProcess = spawn(
      ip,
      ['netns', 'exec', c.netns!, socat, '-', `TCP:${c.host}:${c.port},keepalive,nodelay`],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
    // Spawn failures and EPIPE after the proxy died surface as stream errors; ssh2 reports
    // the connection loss itself, so these need only be kept from crashing the process.
    child.on('error', (e) => stream.destroy(e));
    child.stdin!.on('error', () => undefined);
    // The proxy is the connection: when its output ends (it exited or the peer closed), destroy
    // the duplex so ssh2 sees 'close'. 'end' comes only after ssh2 has read every byte.
    stream.on('end', () => stream.destroy());
    const refables: Refable[] = [child, child.stdin as unknown as Refable, child.stdout as unknown as Refable, child.stderr as unknown as Refable];
    return {
      stream,
      setRef: (ref) => {
        for (const r of refables) {
          if (typeof r?.ref === 'function') (ref ? r.ref() : r.unref());
        }
      },
      kill: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
      finished: () => Promise.race([exited, new Promise<void>((r) => setTimeout(r, 250).unref())]),
      diagnostics: () => {
        const text = stderr.trim().split('\n').slice(-3).join('; ');
        return text ? `proxy in netns ${c.netns}: ${text}` : '';
      },
    };
  }

  /**
   * Ends a timed-out command and all its children: `kill -KILL -- -<pgid>` on its own channel.
   * Best effort (the command may have ended meanwhile); never throws.
   */
  private killRemoteGroup(live: Live, pgid: number): Promise<void> {
    this.hold(+1); // keep the process alive until the kill is out
    const attempt = () =>
      new Promise<boolean>((resolve) => {
        const guard = setTimeout(() => resolve(true), KILL_TIMEOUT_MS);
        const done = (sent: boolean) => {
          clearTimeout(guard);
          resolve(sent);
        };
        try {
          live.client.exec(quote(['kill', '-KILL', '--', `-${pgid}`]), (openErr, ch) => {
            // An open can fail when sshd's MaxSessions is reached by many timeouts at once.
            if (openErr) return done(false);
            ch.on('data', () => undefined);
            ch.stderr.on('data', () => undefined);
            ch.on('error', () => undefined);
            ch.on('close', () => done(true));
            ch.end();
          });
        } catch {
          done(true); // not connected any more: nothing we can do
        }
      });
    return (async () => {
      for (let i = 0; i < 3; i++) {
        if (await attempt()) return;
        await new Promise((r) => setTimeout(r, 200 * (i + 1)));
      }
    })().finally(() => this.hold(-1));
  }

  /** Starts one streamed command on a fresh session channel. `release` frees the session slot. */
  private openStream(
    live: Live,
    argv: readonly string[],
    command: string,
    handlers: StreamHandlers,
    release: () => void,
  ): Promise<CommandStream> {
    return new Promise<CommandStream>((resolve, reject) => {
      try {
        live.client.exec(command, (openErr, ch) => {
          if (openErr) {
            const failure = openFailure(this.host, argv, live, openErr);
            if (!(failure instanceof SessionRefusedError)) release(); // a refused channel is opened again on this slot
            reject(failure);
            return;
          }
          const output = streamOutput(handlers);
          let stopping = false;
          let closeTimer: NodeJS.Timeout | undefined;
          const exited = new Promise<StreamExit>((done) => {
            // ssh2 closes every channel when the connection goes, so this always comes.
            ch.on('close', (code: number | null | undefined, signal?: string) => {
              clearTimeout(closeTimer);
              release();
              output.end();
              const exitCode = typeof code === 'number' ? code : null;
              const reason =
                exitCode !== null || signal ? undefined : live.closed ? 'the connection was lost' : 'the channel closed without an exit status';
              done({ exitCode, ...(signal ? { signal } : {}), stopped: stopping, ...(reason ? { reason } : {}) });
            });
          });
          ch.on('data', (d: Buffer) => output.stdout(d));
          ch.stderr.on('data', (d: Buffer) => output.stderr(d));
          ch.on('error', () => undefined); // surfaced through 'close'
          const stop = (): Promise<StreamExit> => {
            if (!stopping) {
              stopping = true;
              try {
                ch.end(); // EOF on the remote stdin: the lifeline ends the command
              } catch {
                // the channel is closing already
              }
              // sshd closes the channel once the command has gone; if it does not, close it.
              closeTimer = setTimeout(() => ch.close(), STOP_GRACE_MS);
            }
            return exited;
          };
          resolve({ exited, stop });
        });
      } catch (e) {
        // "Not connected", thrown synchronously: the command was never sent (see exec()).
        reject(new NotSentError(e instanceof Error ? e.message : String(e)));
      }
    });
  }

  /**
   * Runs one command on a fresh session channel. `release` frees the session slot. `timeoutMs`
   * is what is left of the command's timeout (waiting for a slot or a connection used the
   * rest); a timeout error names the command's whole timeout, the one its caller set.
   */
  private exec(
    live: Live,
    argv: readonly string[],
    command: string,
    options: RunOptions | undefined,
    timeoutMs: number,
    release: () => void,
  ): Promise<CommandResult> {
    return new Promise<CommandResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err = new StderrWithPgid(MAX_STDERR_BYTES);
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
      let settled = false;
      let channel: ClientChannel | undefined;
      let timedOut = false;

      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        f();
      };

      // After a timeout: kill the command's process group at once, on a second channel (sshd
      // keeps the session channel open for as long as the command runs, so waiting for it to
      // close would wait for the command). The slot is given back when the command's channel
      // has closed, or after a grace period.
      const stopChannel = (ch: ClientChannel) => {
        try {
          // Works where sshd allows it (non-root users); harmless where it does not.
          ch.signal('KILL');
        } catch {
          // the channel may already be closing
        }
        const pgid = err.pgid;
        if (pgid !== undefined && !live.closed) void this.killRemoteGroup(live, pgid);
        ch.close();
        setTimeout(release, CHANNEL_CLOSE_GRACE_MS).unref();
      };

      const timer = setTimeout(() => {
        timedOut = true;
        settle(() => reject(timeoutError(this.host, argv, commandTimeout(options), text(out), err.text())));
        if (channel) stopChannel(channel);
      }, timeoutMs);

      const lost = () =>
        new RemoteCommandError(
          this.host,
          argv,
          null,
          err.text(),
          text(out),
          'the connection was lost while the command was running; it was not re-run, so its effect on the host is unknown',
        );

      try {
        live.client.exec(command, (openErr, stream) => {
          if (openErr) {
            const failure = openFailure(this.host, argv, live, openErr);
            // A refused channel is opened again on this slot, unless the command has timed out
            // meanwhile (then nobody will: the slot goes back here).
            if (!(failure instanceof SessionRefusedError) || settled) release();
            settle(() => reject(failure));
            return;
          }
          channel = stream;
          let outBytes = 0;
          stream.on('data', (d: Buffer) => {
            if (settled) return;
            outBytes += d.length;
            if (outBytes > this.maxOutputBytes) {
              // Stop reading and end the command: its output is more than any VPM command makes.
              timedOut = true; // from here on the channel is being stopped, as after a timeout
              settle(() =>
                reject(
                  new RemoteCommandError(this.host, argv, null, err.text(), '', `wrote more than ${this.maxOutputBytes} bytes to stdout; the command was stopped`),
                ),
              );
              stopChannel(stream);
              return;
            }
            out.push(d);
          });
          stream.stderr.on('data', (d: Buffer) => {
            const known = err.pgid !== undefined;
            err.push(d);
            // Timed out before the command reported its process group: kill it now.
            if (timedOut && !known && err.pgid !== undefined && !live.closed) void this.killRemoteGroup(live, err.pgid);
          });
          stream.on('error', () => undefined); // surfaced through 'close' below
          stream.on('close', (code: number | null | undefined, signal?: string) => {
            release();
            if (timedOut) return;
            if (typeof code === 'number') {
              const result: CommandResult = { stdout: text(out), stderr: err.text(), exitCode: code };
              settle(() => {
                try {
                  resolve(finishCommand(this.host, argv, result, options));
                } catch (e) {
                  reject(e);
                }
              });
            } else if (signal) {
              settle(() =>
                reject(new RemoteCommandError(this.host, argv, null, err.text(), text(out), `killed by signal ${signal}`)),
              );
            } else {
              settle(() =>
                reject(
                  live.closed
                    ? lost()
                    : new RemoteCommandError(this.host, argv, null, err.text(), text(out), 'the channel closed without an exit status'),
                ),
              );
            }
          });
          if (timedOut) return stopChannel(stream);
          // Always end stdin, so commands that read it (cat, add-flows -) see EOF.
          if (options?.stdin !== undefined) stream.end(options.stdin, 'utf8');
          else stream.end();
        });
      } catch (e) {
        clearTimeout(timer);
        // ssh2 throws "Not connected" synchronously when the socket is already gone: the
        // command was never sent, so the caller may reconnect and send it.
        // The slot stays with the caller, which retries or releases it.
        settle(() => reject(new NotSentError(e instanceof Error ? e.message : String(e))));
      }
    });
  }
}

/**
 * ssh2's hostVerifier for a pinned key: true only for the pinned key; a mismatch is handed to
 * `onMismatch` (ssh2 itself reports only a generic "Host denied").
 */
function pinVerifier(host: string, pin: ResolvedConnection['pinnedKey'], onMismatch: (e: HostKeyMismatchError) => void): (key: Buffer) => boolean {
  return (key) => {
    try {
      return verifyHostKey(host, pin, key);
    } catch (e) {
      if (e instanceof HostKeyMismatchError) onMismatch(e);
      return false;
    }
  };
}

/** Where a transport connects to. */
type Endpoint = Pick<ResolvedConnection, 'host' | 'port' | 'netns'>;

/** What ssh2 authenticates with. */
type AuthConfig = Pick<ConnectConfig, 'privateKey' | 'agent' | 'passphrase'>;

/** One way of carrying the SSH byte stream to the host. */
interface Transport {
  readonly stream: Duplex;
  setRef(ref: boolean): void;
  kill(): void;
  /** Resolves once the transport has nothing more to say (the proxy exited, or shortly). */
  finished(): Promise<void>;
  /** Extra words for a connect error (the proxy's stderr). */
  diagnostics(): string;
}

/**
 * Keepalive: a `cancel-tcpip-forward` global request for a forward that does not exist. It
 * wants a reply (a failure), changes nothing on the host and needs no session slot; ssh2's own
 * keepalive would run on a ref'd timer and keep an idle Pulumi provider process alive. Any
 * reply proves the peer alive; none for KEEPALIVE_MISSES intervals calls `dead`.
 */
function startKeepalive(client: Client, intervalMs: number, dead: () => void): () => void {
  let sentAt: number | undefined;
  const timer = setInterval(() => {
    if (sentAt !== undefined) {
      if (Date.now() - sentAt >= intervalMs * KEEPALIVE_MISSES) {
        clearInterval(timer);
        dead();
      }
      return;
    }
    sentAt = Date.now();
    try {
      client.unforwardIn('127.0.0.1', 0, () => {
        sentAt = undefined;
      });
    } catch {
      clearInterval(timer); // not connected any more: 'close' handles the rest
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Ask the server for the pinned key's type only (hostkey.ts hostKeyAlgorithms says why). */
function pinnedAlgorithms(pin: PinnedKey): Pick<ConnectConfig, 'algorithms'> {
  const serverHostKey = hostKeyAlgorithms(pin);
  return serverHostKey ? { algorithms: { serverHostKey } } : {};
}

/** Errors that another connect attempt cannot fix. */
function isFatalConnectError(err: unknown): boolean {
  return (
    err instanceof HostKeyMismatchError ||
    err instanceof ValidationError ||
    err instanceof ToolMissingError ||
    err instanceof ConnectionError
  );
}
