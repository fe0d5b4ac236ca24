/**
 * A long-running remote command whose output is read as it comes (`virsh event --loop`,
 * `ovsdb-client monitor`), over its own SSH connection, reconnecting with backoff until
 * stopped. The pooled CommandRunner of providers/exec returns output only when a command
 * ends, so this is a separate, small ssh2 client with the same rules: the spec is validated
 * by resolveConnection, the host key is pinned (verifyHostKey; a mismatch is never retried),
 * the key comes from the spec or the agent, the lab's namespace is reached through
 * `ip netns exec <netns> socat`, argv is quoted by quote.ts.
 *
 * Remote clean-up: without a PTY, closing an SSH channel does not end the remote command
 * (killable.ts explains). So the command runs behind a lifeline: a background `cat` holds the
 * channel's standard input, and when it reads EOF (we stop, or the connection dies and sshd
 * closes the session) it kills the session's process group, the watcher included:
 *
 *   sh -c 'exec 3<&0; (cat <&3 >/dev/null; kill -TERM 0) >/dev/null 2>&1 & exec 3<&-; exec "$@" </dev/null' sh <argv...>
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { ConnectionSpec } from '../../providers/exec/connection';
import { resolveConnection, type ResolvedConnection } from '../../providers/exec/connection-check';
import { HostKeyMismatchError } from '../../providers/exec/errors';
import { verifyHostKey } from '../../providers/exec/hostkey';
import { quote, validateArgv } from '../../providers/exec/quote';
import { requireExecutable } from '../../providers/exec/which';

const LIFELINE = 'exec 3<&0; (cat <&3 >/dev/null; kill -TERM 0) >/dev/null 2>&1 & exec 3<&-; exec "$@" </dev/null';

/** The argv that runs `argv` until the channel's standard input closes. */
export function lifelineArgv(argv: readonly string[]): string[] {
  return ['sh', '-c', LIFELINE, 'sh', ...argv];
}

export type StreamState = 'connecting' | 'running' | 'down' | 'stopped';

export interface RemoteStreamOptions {
  readonly connection: ConnectionSpec;
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
  private readonly c: ResolvedConnection;
  private client?: Client;
  private channel?: ClientChannel;
  private proxy?: ChildProcess;
  private stopped = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  state: StreamState = 'down';

  constructor(private readonly o: RemoteStreamOptions) {
    validateArgv(o.argv);
    this.c = resolveConnection(o.connection); // ValidationError on a bad spec, before any connect
  }

  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  /** Ends the remote command (its lifeline sees EOF) and the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.teardown();
    await this.loop;
    this.setState('stopped');
  }

  private setState(s: StreamState, detail?: string): void {
    this.state = s;
    this.o.onState?.(s, detail);
  }

  private teardown(): void {
    try {
      this.channel?.end(); // EOF on the remote stdin: the lifeline kills the command
    } catch {
      /* closing anyway */
    }
    const client = this.client;
    const proxy = this.proxy;
    this.channel = undefined;
    this.client = undefined;
    this.proxy = undefined;
    // Give the EOF a moment to leave before the connection goes.
    setTimeout(() => {
      client?.end();
      if (proxy && proxy.exitCode === null && proxy.signalCode === null) proxy.kill('SIGTERM');
    }, 200).unref();
  }

  private async run(): Promise<void> {
    let backoff = 1000;
    const max = this.o.maxBackoffMs ?? 15_000;
    while (!this.stopped) {
      this.setState('connecting');
      let detail = '';
      const started = Date.now();
      try {
        await this.once();
        detail = 'the remote command ended';
      } catch (e) {
        detail = e instanceof Error ? e.message : String(e);
        if (e instanceof HostKeyMismatchError) {
          this.setState('down', detail);
          return; // never retried: a different key is not a glitch
        }
      }
      this.teardown();
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

  /** One connection: connect, run the command, resolve when it ends or the connection drops. */
  private once(): Promise<void> {
    const c = this.c;
    return new Promise<void>((resolve, reject) => {
      const client = new Client();
      this.client = client;
      let mismatch: HostKeyMismatchError | undefined;
      let ready = false;
      let settled = false;
      const done = (err?: unknown) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
      let sock: Duplex;
      if (c.netns) {
        const ip = requireExecutable('ip', 'iproute2', `reaching ${c.host} through network namespace ${c.netns} needs ip`);
        const socat = requireExecutable('socat', 'socat', `reaching ${c.host} through network namespace ${c.netns} needs socat`);
        const child = spawn(ip, ['netns', 'exec', c.netns, socat, '-', `TCP:${c.host}:${c.port},keepalive,nodelay`], { stdio: ['pipe', 'pipe', 'ignore'] });
        this.proxy = child;
        sock = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
        child.on('error', (e) => sock.destroy(e));
        child.stdin!.on('error', () => undefined);
        sock.on('end', () => sock.destroy());
      } else {
        const s = tcpConnect({ host: c.host, port: c.port });
        s.setKeepAlive(true, 10_000);
        s.on('error', () => undefined);
        sock = s;
      }
      sock.on('error', () => undefined);
      client.on('ready', () => {
        ready = true;
        client.exec(quote(lifelineArgv(this.o.argv)), (err, ch) => {
          if (err) return done(err);
          this.channel = ch;
          this.setState('running');
          let quiet: NodeJS.Timeout | undefined;
          ch.setEncoding('utf8');
          ch.on('data', (d: string) => {
            this.o.onData(d);
            if (this.o.onQuiet) {
              clearTimeout(quiet);
              quiet = setTimeout(() => this.o.onQuiet?.(), this.o.quietMs ?? 150);
            }
          });
          ch.stderr.on('data', () => undefined);
          ch.on('error', () => undefined);
          ch.on('close', () => {
            clearTimeout(quiet);
            this.o.onQuiet?.();
            done();
          });
        });
      });
      client.on('error', (e) => done(mismatch ?? e));
      client.on('close', () => done(ready ? undefined : (mismatch ?? new Error('the connection closed before SSH was ready'))));
      const config: ConnectConfig = {
        host: c.host,
        port: c.port,
        username: c.user,
        sock,
        readyTimeout: this.o.connectTimeoutMs ?? Math.min(c.connectTimeoutMs, 10_000),
        // A kept event connection must notice a dead peer: SSH keepalives every 5 s, 3 missed = down.
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer): boolean => {
          try {
            return verifyHostKey(`${c.user}@${c.host}:${c.port}`, c.pinnedKey, key);
          } catch (e) {
            if (e instanceof HostKeyMismatchError) mismatch = e;
            return false;
          }
        },
        ...this.auth(),
      };
      try {
        client.connect(config);
      } catch (e) {
        done(e);
      }
    });
  }

  private auth(): Pick<ConnectConfig, 'privateKey' | 'agent'> {
    const a = this.c.auth;
    if (a.kind === 'privateKey') return { privateKey: a.privateKey.reveal() };
    if (a.kind === 'privateKeyPath') return { privateKey: readFileSync(a.path) };
    const sock = process.env.SSH_AUTH_SOCK;
    if (!sock) throw new Error('no private key in the connection and SSH_AUTH_SOCK is not set: no way to authenticate');
    return { agent: sock };
  }
}
