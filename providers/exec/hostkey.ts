/**
 * Pinned SSH host keys: parse what the user pins, fingerprint what the host presents, and
 * compare the two. VPM never trusts on first use: a connection proceeds only if the host's
 * key is the pinned one.
 *
 * A pin is either
 *  - an OpenSSH public key line, `ssh-ed25519 AAAA... [comment]`, optionally prefixed by the
 *    host patterns of a known_hosts line (`10.0.0.1,hv1 ssh-ed25519 AAAA...`), or
 *  - a fingerprint as `ssh-keygen -lf` prints it: `SHA256:` + base64 of the SHA-256 of the
 *    key blob, without `=` padding.
 * Fingerprints are always shown in that same form so they can be compared by eye with
 * `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the host.
 */
import { showValue } from './redact';
import { createHash } from 'node:crypto';
import type { ServerHostKeyAlgorithm } from 'ssh2';
import { HostKeyMismatchError, ValidationError } from './errors';

/** A parsed pin. `blob` is present when a full key was pinned (then it is compared exactly). */
export interface PinnedKey {
  /** `SHA256:...` without padding. */
  readonly fingerprint: string;
  /** Key algorithm from the key line (e.g. `ssh-ed25519`); absent for a bare fingerprint. */
  readonly keyType?: string;
  /** The raw public key blob (SSH wire format); absent for a bare fingerprint. */
  readonly blob?: Buffer;
}

// Key algorithms OpenSSH writes in .pub and known_hosts files (plain, security-key, certs).
const KEY_TYPE = /^(ssh-(ed25519|rsa|dss|ed448)|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com)(-cert-v01@openssh\.com)?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// 32 bytes of SHA-256 in unpadded base64 are exactly 43 characters.
const SHA256_FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;

/** `SHA256:<base64 without padding>` of a raw key blob, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Parses a pin (key line, known_hosts line or fingerprint); throws ValidationError on `hostKey`. */
export function parsePinnedKey(text: string, property = 'hostKey'): PinnedKey {
  const fail = (reason: string): never => {
    throw new ValidationError([{ property, reason }]);
  };
  if (typeof text !== 'string' || text.trim() === '') {
    return fail(
      'a pinned host key is required: an OpenSSH public key line ("ssh-ed25519 AAAA...") or a ' +
        'fingerprint ("SHA256:..."); get it on the host with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`',
    );
  }
  const trimmed = text.trim();
  const shown = showValue(trimmed, 100);
  // One pin is one line: a second pasted line (another key) would otherwise be silently ignored.
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) {
    return fail(`${shown} holds a line break or another control character: pin exactly one key, on one line`);
  }

  if (/^SHA256:/i.test(trimmed)) {
    const m = SHA256_FINGERPRINT.exec(trimmed);
    if (!m) {
      return fail(`${shown} is not a SHA256 fingerprint: expected "SHA256:" followed by 43 base64 characters`);
    }
    return { fingerprint: `SHA256:${m[1]}` };
  }
  if (/^MD5:/i.test(trimmed) || /^([0-9a-f]{2}:){15}[0-9a-f]{2}$/i.test(trimmed)) {
    return fail(`${shown} is an MD5 fingerprint, which is too weak to pin; use the SHA256 one (\`ssh-keygen -lf\`)`);
  }

  const tokens = trimmed.split(/\s+/);
  if (tokens[0].startsWith('@')) {
    return fail(`${shown} carries the known_hosts marker ${tokens[0]}; pin a plain host key instead`);
  }
  // A key line starts with the algorithm; a known_hosts line has one field of host patterns first.
  const at = KEY_TYPE.test(tokens[0]) ? 0 : KEY_TYPE.test(tokens[1] ?? '') ? 1 : -1;
  if (at === -1) {
    return fail(
      `${shown} is neither an OpenSSH public key ("ssh-ed25519 AAAA..."), a known_hosts line ` +
        'nor a "SHA256:..." fingerprint',
    );
  }
  const keyType = tokens[at];
  const b64 = tokens[at + 1];
  if (b64 === undefined || !BASE64.test(b64)) {
    return fail(`${shown}: the ${keyType} key has no valid base64 key data after the algorithm name`);
  }
  const blob = Buffer.from(b64, 'base64');
  // The blob is a sequence of SSH strings (uint32 length + bytes), the first being the
  // algorithm again; anything else means a truncated or pasted-together line.
  const fields = splitSshStrings(blob);
  const innerType = fields?.[0]?.toString('latin1');
  if (!fields || fields.length < 2 || innerType !== keyType || (keyType === 'ssh-ed25519' && fields[1].length !== 32)) {
    return fail(
      `${shown}: the key data does not belong to a ${keyType} key` +
        (fields && fields.length >= 2 && innerType && innerType !== keyType
          ? ` (it is a ${innerType} key)`
          : ' (it is truncated or corrupt)'),
    );
  }
  return { fingerprint: fingerprintOf(blob), keyType, blob };
}

/**
 * The host-key algorithms to offer the server, from the pin's key type; undefined for a bare
 * fingerprint (its type is unknown: every algorithm is offered) and for types ssh2 cannot
 * verify. Why: a server with several host keys signs with the first algorithm both sides
 * know, usually ed25519, so an RSA or ECDSA pin never matched such a host unless the client
 * asked for that type only (OpenSSH does the same from known_hosts).
 */
export function hostKeyAlgorithms(pin: PinnedKey): ServerHostKeyAlgorithm[] | undefined {
  switch (pin.keyType) {
    case 'ssh-ed25519':
      return ['ssh-ed25519'];
    case 'ssh-rsa':
      return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
    case 'ssh-dss':
      return [pin.keyType as ServerHostKeyAlgorithm];
    default:
      return undefined;
  }
}

/** The algorithm named inside a presented key blob (its first SSH string), or undefined. */
export function keyTypeOf(blob: Buffer): string | undefined {
  return splitSshStrings(blob)?.[0]?.toString('latin1');
}

/**
 * Checks the key a host presented against the pin. Returns true, or throws
 * HostKeyMismatchError naming the host and both fingerprints (never a "maybe").
 */
export function verifyHostKey(host: string, pinned: string | PinnedKey, presented: Buffer): true {
  const pin = typeof pinned === 'string' ? parsePinnedKey(pinned) : pinned;
  const actual = fingerprintOf(presented);
  const ok = pin.blob ? pin.blob.equals(presented) : pin.fingerprint === actual;
  if (!ok) {
    const presentedType = keyTypeOf(presented);
    // A different key TYPE is not a changed host: say so, instead of inviting a re-pin.
    const note =
      pin.keyType && presentedType && presentedType !== pin.keyType
        ? `the host presented its ${presentedType} key, not the pinned ${pin.keyType} one; the host key did not necessarily change: ` +
          `check that the host still has a ${pin.keyType} key (HostKey in sshd_config) before changing any pin`
        : undefined;
    throw new HostKeyMismatchError(host, pin.fingerprint, actual, note);
  }
  return true;
}

/** The SSH strings a key blob is made of, or undefined if the lengths do not add up exactly. */
function splitSshStrings(buf: Buffer): Buffer[] | undefined {
  const fields: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 4) return undefined;
    const len = buf.readUInt32BE(at);
    if (len > buf.length - at - 4) return undefined;
    fields.push(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return fields.length > 0 ? fields : undefined;
}
