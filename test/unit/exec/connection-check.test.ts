/**
 * ConnectionSpec validation: each problem names its property, every problem is reported at
 * once, defaults are applied, and the private key never shows up in any message.
 */
import { inspect } from 'node:util';
import { CONNECTION_DEFAULTS } from '../../../providers/exec/connection';
import { connectionProblems, isValidHost, resolveConnection } from '../../../providers/exec/connection-check';
import { ValidationError } from '../../../providers/exec/errors';

// A syntactically valid ed25519 public key (key material: 32 zero bytes is fine for parsing).
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([
    Buffer.from([0, 0, 0, 11]),
    Buffer.from('ssh-ed25519'),
    Buffer.from([0, 0, 0, 32]),
    Buffer.alloc(32, 7),
  ]).toString('base64');
// Looks like a private key to the validator; the marker lets us search messages for leaks.
const SECRET_MARKER = 'TOPSECRETKEYMATERIAL';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`;

const valid = { host: '10.0.0.1', hostKey: HOST_KEY, privateKey: PRIVATE_KEY };

function problemsOf(input: unknown) {
  try {
    resolveConnection(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    const err = e as ValidationError;
    expect(err.message).not.toContain(SECRET_MARKER);
    expect(err.message).not.toContain('BEGIN OPENSSH');
    expect(JSON.stringify(err.problems)).not.toContain(SECRET_MARKER);
    return err.problems;
  }
  throw new Error('expected a ValidationError');
}

describe('resolveConnection', () => {
  it('applies the documented defaults', () => {
    const c = resolveConnection(valid);
    expect(c).toMatchObject({
      host: '10.0.0.1',
      port: CONNECTION_DEFAULTS.port,
      user: CONNECTION_DEFAULTS.user,
      connectTimeoutMs: CONNECTION_DEFAULTS.connectTimeoutMs,
      connectAttempts: CONNECTION_DEFAULTS.connectAttempts,
    });
    expect(c.auth.kind).toBe('privateKey');
    expect(c.netns).toBeUndefined();
  });

  it('keeps the private key out of logs and JSON', () => {
    const c = resolveConnection(valid);
    expect(JSON.stringify(c)).not.toContain(SECRET_MARKER);
    expect(inspect(c, { depth: 10 })).not.toContain(SECRET_MARKER);
    expect(String(c.auth.kind === 'privateKey' && c.auth.privateKey)).toBe('[redacted]');
    if (c.auth.kind === 'privateKey') expect(c.auth.privateKey.reveal()).toBe(PRIVATE_KEY);
  });

  it('uses a key file or, with neither, the agent', () => {
    expect(resolveConnection({ host: 'hv1', hostKey: HOST_KEY, privateKeyPath: '/k' }).auth).toEqual({
      kind: 'privateKeyPath',
      path: '/k',
    });
    expect(resolveConnection({ host: 'hv1.lab', hostKey: HOST_KEY }).auth).toEqual({ kind: 'agent' });
  });

  it('accepts every field at its limits', () => {
    const c = resolveConnection({
      ...valid,
      host: 'a-1.b-2.example',
      port: 65535,
      user: '_' + 'a'.repeat(31),
      netns: 'x'.repeat(64),
      connectTimeoutMs: 1,
      connectAttempts: 100,
    });
    expect(c.port).toBe(65535);
  });

  it.each([
    ['host', { host: '10.0.0.256' }, /"10.0.0.256" is not a valid host/],
    ['host', { host: '300.1.1.1' }, /not a valid host/],
    ['host', { host: 'bad_name' }, /RFC 1123/],
    ['host', { host: '-lead.example' }, /not a valid host/],
    ['host', { host: 'a'.repeat(64) }, /not a valid host/],
    ['host', { host: '10.0.0.1;reboot' }, /not a valid host/],
    ['host', { host: 42 }, /42 is not a valid host/],
    ['port', { port: 0 }, /0 is not a TCP port: use an integer from 1 to 65535/],
    ['port', { port: 65536 }, /from 1 to 65535/],
    ['port', { port: 22.5 }, /22.5 is not a TCP port/],
    ['port', { port: '22' }, /"22" is not a TCP port/],
    ['user', { user: 'Root' }, /"Root" is not a valid user name/],
    ['user', { user: '1abc' }, /not a valid user name/],
    ['user', { user: 'a'.repeat(33) }, /not a valid user name/],
    ['user', { user: 'root;id' }, /not a valid user name/],
    ['hostKey', { hostKey: 'nonsense' }, /neither an OpenSSH public key/],
    ['hostKey', { hostKey: undefined }, /a pinned host key is required/],
    ['netns', { netns: 'has space' }, /"has space" is not a valid network namespace name/],
    ['netns', { netns: '' }, /not a valid network namespace name/],
    ['netns', { netns: 'n'.repeat(65) }, /not a valid network namespace name/],
    ['connectTimeoutMs', { connectTimeoutMs: 0 }, /not a timeout in milliseconds/],
    ['connectAttempts', { connectAttempts: 0 }, /not a number of attempts: use an integer from 1 to 100/],
    ['privateKeyPath', { privateKey: undefined, privateKeyPath: '' }, /not a file path/],
  ])('rejects a bad %s, naming it', (property, override, reason) => {
    const problems = problemsOf({ ...valid, ...override });
    expect(problems).toHaveLength(1);
    expect(problems[0].property).toBe(property);
    expect(problems[0].reason).toMatch(reason);
  });

  it('rejects both privateKey and privateKeyPath, naming the conflict', () => {
    const problems = problemsOf({ ...valid, privateKeyPath: '/root/.ssh/id_ed25519' });
    expect(problems).toEqual([
      { property: 'privateKey', reason: expect.stringMatching(/conflicts with privateKeyPath: give exactly one/) },
    ]);
  });

  it.each([
    ['not a key at all', `hello ${SECRET_MARKER}`, /not a private key in OpenSSH, PEM or PuTTY format/],
    ['a public key', `ssh-ed25519 AAAA${SECRET_MARKER}`, /holds a public key/],
    ['empty', '   ', /is empty/],
  ])('rejects a private key that is %s without showing it', (_what, privateKey, reason) => {
    const problems = problemsOf({ ...valid, privateKey });
    expect(problems).toEqual([{ property: 'privateKey', reason: expect.stringMatching(reason) }]);
  });

  it('rejects unknown properties by name', () => {
    const problems = problemsOf({ ...valid, passwd: 'x', hots: 'y' });
    expect(problems.map((p) => p.property).sort()).toEqual(['hots', 'passwd']);
    expect(problems[0].reason).toMatch(/unknown property; the allowed ones are host, port, user/);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ host: 'bad host', port: -1, user: 'X', hostKey: 'x', privateKey: 'leak ' + SECRET_MARKER });
    expect(problems.map((p) => p.property).sort()).toEqual(['host', 'hostKey', 'port', 'privateKey', 'user']);
  });

  it('rejects a non-object', () => {
    expect(problemsOf(null)).toEqual([{ property: 'connection', reason: expect.stringMatching(/must be an object/) }]);
    expect(connectionProblems('10.0.0.1')).toHaveLength(1);
  });
});

describe('isValidHost', () => {
  it.each(['127.0.0.1', '0.0.0.0', '255.255.255.255', 'localhost', 'hv1', 'h-1.lab.example', 'x1.y2'])('accepts %s', (h) =>
    expect(isValidHost(h)).toBe(true),
  );
  it.each(['', '1.2.3', '01.2.3.4', '1.2.3.4.5', 'a..b', 'a.', '-a', 'a-', 'a_b', '::1', 'a b', `${'a'.repeat(60)}.`.repeat(5)])(
    'rejects %j',
    (h) => expect(isValidHost(h)).toBe(false),
  );
});

describe('a private key pasted into the wrong field', () => {
  const { connectionProblems } = require('../../../providers/exec/connection-check');
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';
  for (const field of ['host', 'user', 'hostKey']) {
    test(`in ${field} is rejected without echoing it`, () => {
      const spec: Record<string, unknown> = { host: '10.0.0.1', hostKey: 'SHA256:' + 'A'.repeat(43), privateKeyPath: '/k' };
      spec[field] = key;
      const text = JSON.stringify(connectionProblems(spec));
      expect(text).toMatch(new RegExp(field));
      expect(text).not.toMatch(/b3BlbnNzaC1rZXktdjEAAAAABG5v|BEGIN OPENSSH/);
    });
  }
});
