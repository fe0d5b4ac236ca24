/**
 * Host key pins, checked against real keys made by ssh-keygen: our fingerprints must be
 * exactly the ones `ssh-keygen -lf` prints, since that is what an operator compares them to.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostKeyMismatchError, ValidationError } from '../../../providers/exec/errors';
import { fingerprintOf, parsePinnedKey, verifyHostKey } from '../../../providers/exec/hostkey';

let dir: string;
const keys: Record<string, { pub: string; fingerprint: string; blob: Buffer }> = {};

function sshKeygen(args: string[]): string {
  try {
    return execFileSync('ssh-keygen', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('ssh-keygen is missing: install the Debian package openssh-client');
    }
    throw e;
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vpm-hostkey-'));
  for (const [name, args] of Object.entries({
    ed25519: ['-t', 'ed25519'],
    ed25519b: ['-t', 'ed25519'],
    rsa: ['-t', 'rsa', '-b', '2048'],
    ecdsa: ['-t', 'ecdsa', '-b', '256'],
    ecdsa521: ['-t', 'ecdsa', '-b', '521'],
  })) {
    const file = join(dir, name);
    sshKeygen([...args, '-N', '', '-C', `${name}@test`, '-f', file, '-q']);
    const pub = readFileSync(`${file}.pub`, 'utf8').trim();
    // "256 SHA256:xxxx comment (ED25519)"
    const fingerprint = sshKeygen(['-lf', `${file}.pub`]).split(/\s+/)[1];
    keys[name] = { pub, fingerprint, blob: Buffer.from(pub.split(/\s+/)[1], 'base64') };
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fingerprintOf / parsePinnedKey', () => {
  it.each(['ed25519', 'rsa', 'ecdsa', 'ecdsa521'])('matches ssh-keygen -lf for a %s key', (name) => {
    const k = keys[name];
    expect(k.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(fingerprintOf(k.blob)).toBe(k.fingerprint);
    const pin = parsePinnedKey(k.pub);
    expect(pin.fingerprint).toBe(k.fingerprint);
    expect(pin.keyType).toBe(k.pub.split(' ')[0]);
    expect(pin.blob?.equals(k.blob)).toBe(true);
  });

  it('accepts a known_hosts line (host patterns first) and ignores the comment', () => {
    const pin = parsePinnedKey(`hv1,10.0.0.1 ${keys.ed25519.pub}`);
    expect(pin.fingerprint).toBe(keys.ed25519.fingerprint);
  });

  it('accepts a hashed known_hosts line as written by ssh-keygen -H', () => {
    const kh = join(dir, 'known_hosts');
    writeFileSync(kh, `10.0.0.1 ${keys.ed25519.pub}\n`);
    sshKeygen(['-H', '-f', kh]);
    const line = readFileSync(kh, 'utf8').trim();
    expect(line).toMatch(/^\|1\|/);
    expect(parsePinnedKey(line).fingerprint).toBe(keys.ed25519.fingerprint);
  });

  it('accepts a bare fingerprint, with or without padding, and surrounding space', () => {
    const fp = keys.rsa.fingerprint;
    expect(parsePinnedKey(fp)).toEqual({ fingerprint: fp });
    expect(parsePinnedKey(`  ${fp}=\n`)).toEqual({ fingerprint: fp });
  });

  it.each([
    ['', /a pinned host key is required/],
    ['hello', /neither an OpenSSH public key/],
    ['SHA256:tooShort', /not a SHA256 fingerprint/],
    ['MD5:12:34:56:78:90:ab:cd:ef:12:34:56:78:90:ab:cd:ef', /MD5 fingerprint/],
    ['ssh-ed25519', /no valid base64 key data/],
    ['ssh-ed25519 !!!notbase64', /no valid base64 key data/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5', /truncated or corrupt/],
  ])('rejects %j with a ValidationError on hostKey', (text, reason) => {
    try {
      parsePinnedKey(text);
      throw new Error('expected a ValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const problems = (e as ValidationError).problems;
      expect(problems[0].property).toBe('hostKey');
      expect(problems[0].reason).toMatch(reason);
    }
  });

  it('rejects a key line whose data is another algorithm, naming both', () => {
    const b64 = keys.ed25519.pub.split(' ')[1];
    expect(() => parsePinnedKey(`ssh-rsa ${b64}`)).toThrow(/does not belong to a ssh-rsa key \(it is a ssh-ed25519 key\)/);
  });

  it('rejects known_hosts markers', () => {
    expect(() => parsePinnedKey(`@cert-authority *.lab ${keys.ed25519.pub}`)).toThrow(/@cert-authority/);
    expect(() => parsePinnedKey(`@revoked * ${keys.ed25519.pub}`)).toThrow(/@revoked/);
  });
});

describe('verifyHostKey', () => {
  it('accepts the pinned key, pinned as key line or fingerprint', () => {
    expect(verifyHostKey('hv1', keys.ed25519.pub, keys.ed25519.blob)).toBe(true);
    expect(verifyHostKey('hv1', keys.ed25519.fingerprint, keys.ed25519.blob)).toBe(true);
    expect(verifyHostKey('hv1', parsePinnedKey(keys.rsa.pub), keys.rsa.blob)).toBe(true);
  });

  it.each([
    ['key line', () => keys.ed25519.pub],
    ['fingerprint', () => keys.ed25519.fingerprint],
  ])('refuses another key (pinned as %s), naming the host and both fingerprints', (_kind, pinned) => {
    try {
      verifyHostKey('10.0.0.7', pinned(), keys.ed25519b.blob);
      throw new Error('expected HostKeyMismatchError');
    } catch (e) {
      expect(e).toBeInstanceOf(HostKeyMismatchError);
      const err = e as HostKeyMismatchError;
      expect(err.host).toBe('10.0.0.7');
      expect(err.expected).toBe(keys.ed25519.fingerprint);
      expect(err.actual).toBe(keys.ed25519b.fingerprint);
      expect(err.message).toContain('10.0.0.7');
      expect(err.message).toContain(keys.ed25519.fingerprint);
      expect(err.message).toContain(keys.ed25519b.fingerprint);
    }
  });

  it('refuses a key of another algorithm', () => {
    expect(() => verifyHostKey('hv1', keys.ed25519.pub, keys.ecdsa.blob)).toThrow(HostKeyMismatchError);
  });
});
