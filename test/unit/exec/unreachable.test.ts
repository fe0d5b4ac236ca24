/**
 * A hypervisor that does not answer: the SSH runner gives up after the default number of
 * connect attempts (bounded, fast), and the error names the host and every way forward, each
 * of which the README's "When a switch dies" section documents.
 */
import { generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { CONNECTION_DEFAULTS } from '../../../providers/exec/connection';
import { ConnectionError, UNREACHABLE_ADVICE } from '../../../providers/exec/errors';
import { SshRunner } from '../../../providers/exec/ssh';

const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
// A usable client key (ssh2 parses it before connecting); the host never gets to see it.
const KEY = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey;

/** A local TCP port nobody listens on (bound, then closed: connecting is refused at once). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** The ways forward, as commands a user types. */
const WAYS = ['failed: true', 'pulumi up --exclude', 'pulumi state delete'];

describe('an unreachable host', () => {
  it('fails after the default (bounded) number of connect attempts, naming the host and the ways forward', async () => {
    const port = await closedPort();
    const runner = new SshRunner({ host: '127.0.0.1', port, hostKey: HOST_KEY, privateKey: KEY });
    const t0 = Date.now();
    const err = await runner.run(['true']).catch((e: unknown) => e);
    const ms = Date.now() - t0;
    await runner.close();
    expect(err).toBeInstanceOf(ConnectionError);
    expect(CONNECTION_DEFAULTS.connectAttempts).toBe(3);
    expect(runner.connectAttemptsMade).toBe(CONNECTION_DEFAULTS.connectAttempts);
    const message = (err as Error).message;
    expect(message).toContain(`root@127.0.0.1:${port}`);
    for (const way of WAYS) expect(message).toContain(way);
    // Refused connects cost nothing; what remains is the backoff between attempts (0.2 + 0.4 s).
    expect(ms).toBeLessThan(5000);
  });

  it('every way forward the error names is documented in the README under "When a switch dies"', () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    const section = /^## When a switch dies\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
    expect(section).toBeDefined();
    for (const way of WAYS) {
      expect(UNREACHABLE_ADVICE).toContain(way);
      expect(section).toContain(way);
    }
  });
});
