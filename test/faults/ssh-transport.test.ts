/**
 * Transport faults against an SSH server inside the test process (test/support/ssh-server.ts), issue 17
 * items 1, 5 and 8:
 *  - host-key algorithms follow the pin: an RSA or ECDSA pin matches a host that also has an
 *    ed25519 key; a type mismatch says so instead of inviting a re-pin;
 *  - the pool is keyed by credentials: a resource with a revoked key does not ride the
 *    session another resource's key opened;
 *  - a flooding command is stopped at the output cap, stderr is kept bounded;
 *  - the wait for a session slot counts against the command's timeout;
 *  - a refused session channel is opened again until the deadline, and its slot then goes back;
 *  - a connection that goes silent is noticed by the keepalive and the next command
 *    reconnects instead of waiting out its timeout;
 *  - key text in a path field never reaches a message.
 */
import { HostKeyMismatchError, RemoteCommandError, ValidationError } from '../../providers/exec/errors';
import { closeAll, getRunner, poolSize } from '../../providers/exec/pool';
import { SshRunner } from '../../providers/exec/ssh';
import { keyPair, startServer, type TestServer } from '../support/ssh-server';

const HOST_ED = keyPair('ed25519');
const HOST_RSA = keyPair('rsa');
const HOST_ECDSA = keyPair('ecdsa');
const CLIENT_A = keyPair('ed25519');
const CLIENT_B = keyPair('ed25519');

let servers: TestServer[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function server(o: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const s = await startServer(o);
  servers.push(s);
  return s;
}

const spec = (port: number, hostKey: string, privateKey: string) => ({ host: '127.0.0.1', port, hostKey, privateKey, connectAttempts: 1 });

describe('host-key algorithms follow the pin', () => {
  it.each([
    ['RSA', HOST_RSA],
    ['ECDSA', HOST_ECDSA],
    ['ed25519', HOST_ED],
  ])('a %s pin connects to a host that has ed25519, ECDSA and RSA keys', async (_name, pinned) => {
    const s = await server({ hostKeys: [HOST_ED, HOST_ECDSA, HOST_RSA], allowedKeys: [CLIENT_A.public] });
    const runner = new SshRunner(spec(s.port, pinned.public, CLIENT_A.private));
    await expect(runner.run(['true'])).resolves.toMatchObject({ exitCode: 0 });
    await runner.close();
  });

  it('a host without the pinned type: the error names both types and does not invite a re-pin', async () => {
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    // The pin asks for RSA only; a host with ed25519 only cannot agree on an algorithm, or
    // (if it could) presents another type: either way the connection is refused.
    const runner = new SshRunner(spec(s.port, HOST_RSA.public, CLIENT_A.private));
    const err = await runner.run(['true']).catch((e: unknown) => e);
    await runner.close();
    expect(err).toBeInstanceOf(Error);
    expect(String(err)).not.toMatch(/update the pinned key/);
  });

  it('a bare fingerprint pin still compares what the host presents', async () => {
    const { fingerprintOf } = await import('../../providers/exec/hostkey');
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    const fp = fingerprintOf(Buffer.from(HOST_RSA.public.split(' ')[1], 'base64'));
    const runner = new SshRunner(spec(s.port, fp, CLIENT_A.private));
    const err = await runner.run(['true']).catch((e: unknown) => e);
    await runner.close();
    expect(err).toBeInstanceOf(HostKeyMismatchError);
  });
});

describe('the pool is keyed by credentials', () => {
  it('a second resource with a revoked key fails to log in instead of riding the first one\'s session', async () => {
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    const good = getRunner(spec(s.port, HOST_ED.public, CLIENT_A.private));
    const revoked = getRunner(spec(s.port, HOST_ED.public, CLIENT_B.private));
    await expect(good.run(['true'])).resolves.toMatchObject({ exitCode: 0 });
    const err = await revoked.run(['true']).catch((e: unknown) => e);
    expect(String(err)).toMatch(/authentication as root with the given private key was refused/);
    expect(s.logins).toEqual([CLIENT_A.public]);
    expect(poolSize()).toBe(2);
    // The same credentials share one connection.
    const again = getRunner(spec(s.port, HOST_ED.public, CLIENT_A.private));
    await again.run(['true']);
    expect(s.logins).toHaveLength(1);
  });
});

describe('bounded buffers', () => {
  it('a command flooding stdout is stopped at the cap with an error, not buffered whole', async () => {
    const s = await server({
      hostKeys: [HOST_ED],
      allowedKeys: [CLIENT_A.public],
      onExec: (_cmd, ch) => {
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        let sent = 0;
        const pump = () => {
          // 8 MiB in all, far beyond the 1 MiB cap this runner is given.
          while (sent < 128) {
            sent++;
            if (!ch.write(chunk)) return void ch.once('drain', pump);
          }
          ch.exit(0);
          ch.end();
        };
        pump();
      },
    });
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private), { maxOutputBytes: 1024 * 1024 });
    const err = await runner.run(['cat', '/dev/zero']).catch((e: unknown) => e);
    await runner.close();
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(String(err)).toMatch(/wrote more than 1048576 bytes to stdout; the command was stopped/);
    expect((err as RemoteCommandError).stdout).toBe('');
  });

  it('stderr is kept to its first MiB, the rest counted', async () => {
    const s = await server({
      hostKeys: [HOST_ED],
      allowedKeys: [CLIENT_A.public],
      onExec: (_cmd, ch) => {
        ch.stderr.write(Buffer.alloc(3 * 1024 * 1024, 0x62));
        ch.exit(1);
        ch.end();
      },
    });
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private));
    const err = (await runner.run(['false']).catch((e: unknown) => e)) as RemoteCommandError;
    await runner.close();
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.stderr.length).toBeLessThan(1024 * 1024 + 100);
    const dropped = /\[(\d+) more bytes of stderr dropped\]$/.exec(err.stderr.slice(-100));
    expect(dropped).not.toBeNull();
    expect(Number(dropped![1])).toBeGreaterThan(0);
  });
});

describe('session slots and keepalive', () => {
  it('the wait for a session slot counts against the timeout', async () => {
    const s = await server({
      hostKeys: [HOST_ED],
      allowedKeys: [CLIENT_A.public],
      onExec: (cmd, ch) => {
        // `sleep` commands never answer (until the connection closes).
        if (cmd.includes('sleep')) return;
        ch.exit(0);
        ch.end();
      },
    });
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private), { maxSessions: 1 });
    const blocker = runner.run(['sleep', '60'], { timeoutMs: 3000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    const err = await runner.run(['true'], { timeoutMs: 500 }).catch((e: unknown) => e);
    const waited = Date.now() - t0;
    expect(String(err)).toMatch(/timed out after 500 ms waiting for one of the 1 session slots/);
    expect(waited).toBeLessThan(1500);
    await blocker;
    await runner.close();
  });

  it('a refused session channel is opened again; the command is sent once, on the same connection', async () => {
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private));
    await runner.run(['true']);
    s.refuseSessions(true);
    const running = runner.run(['echo', 'after-refusals'], { timeoutMs: 5000 });
    while (s.refusedSessions < 3) await new Promise((r) => setTimeout(r, 5));
    s.refuseSessions(false);
    await expect(running).resolves.toMatchObject({ exitCode: 0 });
    expect(s.commands.filter((c) => c.includes('after-refusals'))).toHaveLength(1);
    expect(runner.connectAttemptsMade).toBe(1);
    await runner.close();
  });

  it('refused until the deadline: the error says so and names MaxSessions; the slot goes back', async () => {
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    // One slot: a slot kept by the refused command would make the next one wait for it.
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private), { maxSessions: 1 });
    await runner.run(['true']);
    s.refuseSessions(true);
    const t0 = Date.now();
    const err = await runner.run(['true'], { timeoutMs: 400 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect((err as RemoteCommandError).exitCode).toBeNull();
    expect((err as Error).message).toMatch(/refused a session channel [2-9] time\(s\) until the deadline .*check MaxSessions/);
    s.refuseSessions(false);
    await expect(runner.run(['true'], { timeoutMs: 1000 })).resolves.toMatchObject({ exitCode: 0 });
    await runner.close();
  });

  it('a refusal that arrives after the command timed out gives its slot back', async () => {
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private), { maxSessions: 1 });
    await runner.run(['true']);
    s.refuseSessions(true, 300); // the refusal comes after the 100 ms timeout below
    const err = await runner.run(['true'], { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/timed out after 100 ms/);
    await new Promise((r) => setTimeout(r, 400)); // the late refusal has arrived
    s.refuseSessions(false);
    await expect(runner.run(['true'], { timeoutMs: 1000 })).resolves.toMatchObject({ exitCode: 0 });
    await runner.close();
  });

  it('a connection that goes silent is dropped by the keepalive; the next command reconnects', async () => {
    const s = await server({ hostKeys: [HOST_ED], allowedKeys: [CLIENT_A.public] });
    const runner = new SshRunner(spec(s.port, HOST_ED.public, CLIENT_A.private), { keepaliveMs: 100 });
    await runner.run(['true']);
    expect(runner.connectAttemptsMade).toBe(1);
    s.freeze(); // the peer stops reading: TCP stays up, nothing answers
    await new Promise((r) => setTimeout(r, 600));
    expect(runner.connected).toBe(false);
    const t0 = Date.now();
    await expect(runner.run(['true'], { timeoutMs: 5000 })).resolves.toMatchObject({ exitCode: 0 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(runner.connectAttemptsMade).toBe(2);
    await runner.close();
  });
});

describe('key text in a path field never reaches a message', () => {
  it('privateKeyPath and jump.privateKeyPath holding a key: refused without showing it', () => {
    const body = CLIENT_A.private.split('\n')[1];
    for (const bad of [
      { host: '127.0.0.1', hostKey: HOST_ED.public, privateKeyPath: CLIENT_A.private },
      { host: '127.0.0.1', hostKey: HOST_ED.public, jump: { host: '127.0.0.2', hostKey: HOST_ED.public, privateKeyPath: CLIENT_A.private } },
    ]) {
      let err: unknown;
      try {
        new SshRunner(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      const text = `${String(err)} ${JSON.stringify(err)}`;
      expect(text).toMatch(/holds key text, not a file path/);
      expect(text).not.toContain(body);
      expect(text).not.toContain('BEGIN OPENSSH');
    }
  });
});
