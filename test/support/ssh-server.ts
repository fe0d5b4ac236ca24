/**
 * A small SSH server inside the test process (ssh2's Server), for transport faults that need
 * a peer we control byte by byte: several host keys at once, one accepted client key, a
 * command handler, and a switch that makes the server stop answering while the TCP
 * connection stays open (a half-open connection, as after a NAT or firewall state expired).
 */
import * as net from 'node:net';
import { Server, utils, type Connection, type ServerChannel } from 'ssh2';

export interface KeyPair {
  /** OpenSSH private key text. */
  readonly private: string;
  /** OpenSSH public key line. */
  readonly public: string;
}

export function keyPair(type: 'ed25519' | 'rsa' | 'ecdsa'): KeyPair {
  const k = type === 'rsa' ? utils.generateKeyPairSync('rsa', { bits: 2048 }) : type === 'ecdsa' ? utils.generateKeyPairSync('ecdsa', { bits: 256 }) : utils.generateKeyPairSync('ed25519');
  return { private: k.private, public: k.public };
}

export interface TestServerOptions {
  readonly hostKeys: readonly KeyPair[];
  /** Client public keys (OpenSSH lines) allowed to log in. */
  readonly allowedKeys: readonly string[];
  /** Answers a command; default: exit 0 with no output. */
  readonly onExec?: (command: string, channel: ServerChannel) => void;
}

export interface TestServer {
  readonly port: number;
  /** Successful logins, in order, by the public key line used. */
  readonly logins: string[];
  /** Commands received. */
  readonly commands: string[];
  /** Session channels refused so far (see refuseSessions). */
  readonly refusedSessions: number;
  /**
   * Refuse every session channel from now on (as sshd at its MaxSessions), `afterMs` after it
   * was asked for; or accept them again.
   */
  refuseSessions(refuse: boolean, afterMs?: number): void;
  /** Stop reading every open connection (the peer goes silent; TCP stays up). */
  freeze(): void;
  close(): Promise<void>;
}

const blobOf = (line: string): Buffer => Buffer.from(line.trim().split(/\s+/)[1], 'base64');

export async function startServer(o: TestServerOptions): Promise<TestServer> {
  const logins: string[] = [];
  const commands: string[] = [];
  let refusing = false;
  let refuseAfterMs = 0;
  let refused = 0;
  const sockets = new Set<net.Socket>();
  const clients = new Set<Connection>();
  const server = new Server({ hostKeys: o.hostKeys.map((k) => k.private) }, (client) => {
    clients.add(client);
    client.on('error', () => undefined);
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
      const match = o.allowedKeys.find((line) => blobOf(line).equals(ctx.key.data));
      if (!match) return ctx.reject(['publickey']);
      // ssh2 asks twice: once without a signature (is the key acceptable?), once signed.
      if (ctx.signature) logins.push(match);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (accept, reject) => {
        if (refusing) {
          refused++;
          if (refuseAfterMs > 0) setTimeout(reject, refuseAfterMs);
          else reject();
          return;
        }
        const session = accept();
        session.on('exec', (acceptExec, _reject, info) => {
          const ch = acceptExec();
          commands.push(info.command);
          if (o.onExec) o.onExec(info.command, ch);
          else {
            ch.exit(0);
            ch.end();
          }
        });
      });
    });
  });
  // Keep the raw sockets, to freeze them.
  (server as unknown as { _srv: net.Server })._srv.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    logins,
    commands,
    get refusedSessions() {
      return refused;
    },
    refuseSessions(refuse: boolean, afterMs = 0) {
      refusing = refuse;
      refuseAfterMs = afterMs;
    },
    freeze() {
      for (const s of sockets) s.pause();
    },
    async close() {
      for (const c of clients) c.end();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
