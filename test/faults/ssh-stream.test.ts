/**
 * CommandRunner.stream over SSH against the SSH server inside the test process
 * (test/support/ssh-server.ts; no lab, no root): output arrives while the command runs, the command is
 * sent behind the lifeline, stop() is an EOF on the channel (what makes the lifeline end the
 * remote command), a dropped connection ends the stream with its reason, and `vpm watch`'s
 * RemoteStream runs over it. The real sshd and lifeline are proven on the lab by `vpm watch`
 * (test/integration/monitor.test.ts).
 */
import { HostKeyMismatchError, SshRunner, lifelineArgv, quote } from '../../providers/exec';
import { RemoteStream, type StreamState } from '../../monitor/events/ssh-stream';
import { keyPair, startServer, type TestServer } from '../support/ssh-server';

const HOST = keyPair('ed25519');
const OTHER = keyPair('ed25519');
const CLIENT = keyPair('ed25519');
const spec = (port: number, hostKey = HOST.public) => ({ host: '127.0.0.1', port, hostKey, privateKey: CLIENT.private, connectAttempts: 1 });

let servers: TestServer[] = [];
let runners: SshRunner[] = [];
afterEach(async () => {
  await Promise.all(runners.map((r) => r.close()));
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  runners = [];
});

/** A server whose commands print "tick N" every 20 ms until their stdin ends (then exit by TERM, as the lifeline does). */
async function tickingServer(): Promise<TestServer & { readonly eofs: number }> {
  let eofs = 0;
  const s = await startServer({
    hostKeys: [HOST],
    allowedKeys: [CLIENT.public],
    onExec: (_cmd, ch) => {
      let n = 0;
      const timer = setInterval(() => ch.write(`tick ${++n}\n`), 20);
      ch.resume(); // read the (empty) stdin, so its end is seen
      ch.on('end', () => {
        eofs++;
        clearInterval(timer);
        ch.exit('TERM', false, '');
        ch.end();
      });
      ch.on('close', () => clearInterval(timer));
    },
  });
  servers.push(s);
  return Object.defineProperty(s, 'eofs', { get: () => eofs }) as TestServer & { readonly eofs: number };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('SshRunner.stream', () => {
  test('lines arrive while the command runs; it is sent behind the lifeline; stop() is an EOF', async () => {
    const s = await tickingServer();
    const runner = new SshRunner(spec(s.port));
    runners.push(runner);
    const lines: string[] = [];
    const stream = await runner.stream(['virsh', 'event', '--loop'], { onLine: (l) => void lines.push(l) });
    await until(() => lines.length >= 3);
    expect(lines.slice(0, 3)).toEqual(['tick 1', 'tick 2', 'tick 3']);
    expect(s.commands).toEqual([quote(lifelineArgv(['virsh', 'event', '--loop']))]);
    const exit = await stream.stop();
    expect(s.eofs).toBe(1);
    expect(exit).toEqual({ exitCode: null, signal: 'SIGTERM', stopped: true });
    // The connection stays for further commands.
    expect(runner.connected).toBe(true);
  });

  test('a command that ends by itself reports its exit code; run() still works beside streams', async () => {
    const s = await startServer({
      hostKeys: [HOST],
      allowedKeys: [CLIENT.public],
      onExec: (_cmd, ch) => {
        ch.write('one\ntwo');
        ch.exit(4);
        ch.end();
      },
    });
    servers.push(s);
    const runner = new SshRunner(spec(s.port));
    runners.push(runner);
    const lines: string[] = [];
    const stream = await runner.stream(['x'], { onLine: (l) => void lines.push(l) });
    expect(await stream.exited).toEqual({ exitCode: 4, stopped: false });
    expect(lines).toEqual(['one', 'two']);
    await expect(runner.run(['y'], { okExitCodes: [4] })).resolves.toMatchObject({ exitCode: 4 });
  });

  test('a dropped connection ends the stream with the reason', async () => {
    const s = await tickingServer();
    const runner = new SshRunner(spec(s.port));
    runners.push(runner);
    const lines: string[] = [];
    const stream = await runner.stream(['watch'], { onLine: (l) => void lines.push(l) });
    await until(() => lines.length >= 1);
    await s.close();
    const exit = await stream.exited;
    expect(exit.stopped).toBe(false);
    expect(exit.exitCode).toBeNull();
    expect(exit.reason).toBe('the connection was lost');
  });

  test('a refused session channel is opened again: the stream starts once the host has room', async () => {
    const s = await tickingServer();
    const runner = new SshRunner(spec(s.port));
    runners.push(runner);
    s.refuseSessions(true); // the login succeeds; only the session channel is refused
    const lines: string[] = [];
    const starting = runner.stream(['watch'], { onLine: (l) => void lines.push(l) });
    await until(() => s.refusedSessions >= 2);
    s.refuseSessions(false);
    const stream = await starting;
    await until(() => lines.length >= 1);
    expect(s.commands.filter((c) => c.includes('watch'))).toHaveLength(1);
    expect(runner.connectAttemptsMade).toBe(1);
    await stream.stop();
  });

  test('a host key mismatch fails the start and is not retried', async () => {
    const s = await tickingServer();
    const runner = new SshRunner(spec(s.port, OTHER.public));
    runners.push(runner);
    await expect(runner.stream(['x'], {})).rejects.toBeInstanceOf(HostKeyMismatchError);
    expect(s.commands).toEqual([]);
  });
});

describe("vpm watch's RemoteStream over SSH", () => {
  test('running with data, then stopped: the remote command sees EOF', async () => {
    const s = await tickingServer();
    const states: StreamState[] = [];
    let text = '';
    const rs = new RemoteStream({ connection: spec(s.port), argv: ['ovsdb-client', 'monitor'], onData: (t) => void (text += t), onState: (st) => void states.push(st) });
    rs.start();
    await until(() => text.includes('tick 2'));
    expect(states).toEqual(['connecting', 'running']);
    await rs.stop();
    expect(s.eofs).toBe(1);
    expect(states[states.length - 1]).toBe('stopped');
  });

  test('a pinned key that does not match: down once, never retried', async () => {
    const s = await tickingServer();
    const details: Array<string | undefined> = [];
    const rs = new RemoteStream({ connection: spec(s.port, OTHER.public), argv: ['x'], onData: () => undefined, onState: (st, d) => void (st === 'down' && details.push(d)) });
    rs.start();
    await until(() => details.length === 1);
    await new Promise((r) => setTimeout(r, 1200)); // past the first backoff: no second attempt
    expect(details).toHaveLength(1);
    expect(details[0]).toMatch(/does not match the pinned key/);
    await rs.stop();
  });

  test('an unreachable host: down with the first line of the error, retried with backoff', async () => {
    const s = await tickingServer();
    const port = s.port;
    await s.close();
    servers = [];
    const details: Array<string | undefined> = [];
    const rs = new RemoteStream({ connection: spec(port), argv: ['x'], onData: () => undefined, onState: (st, d) => void (st === 'down' && details.push(d)), maxBackoffMs: 1000 });
    rs.start();
    await until(() => details.length >= 2, 8000);
    expect(details[0]).toMatch(/^cannot connect to root@127\.0\.0\.1:\d+ after 1 attempt\(s\): .*ECONNREFUSED/);
    expect(details[0]).not.toMatch(/\n/);
    await rs.stop();
  });
});
