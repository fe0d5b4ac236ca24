/**
 * Validation of a ConnectionSpec (connection.ts) into a ResolvedConnection with every default
 * applied. Pure: it reads no files and opens no sockets, so providers can call it from
 * `check`, which also runs during `pulumi preview`.
 *
 * Errors are one ValidationError listing every problem as `{property, reason}`; reasons show
 * the bad value for ordinary fields but NEVER the private key: not its text, not a prefix, not
 * its length. The resolved private key is wrapped in Redacted so that logging or serialising a
 * ResolvedConnection by mistake cannot print it either.
 *
 * Authentication: exactly one of `privateKey` / `privateKeyPath`, or neither, in which case the
 * SSH agent named by the SSH_AUTH_SOCK environment variable of the Pulumi process is used
 * (checked when connecting, because the environment of preview and update may differ).
 */
import { inspect } from 'node:util';
import { z } from 'zod';
import { CONNECTION_DEFAULTS, type ConnectionSpec } from './connection';
import { ValidationError } from './errors';
import { showValue } from './redact';
import { parsePinnedKey, type PinnedKey } from './hostkey';

/** A secret string that prints as `[redacted]` everywhere (String(), JSON, console.log). */
export class Redacted {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  /** The secret itself; call only where it is handed to the SSH library. */
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

export type AuthMethod =
  | { readonly kind: 'privateKey'; readonly privateKey: Redacted }
  | { readonly kind: 'privateKeyPath'; readonly path: string }
  | { readonly kind: 'agent' };

/** A jump host that passed validation, with defaults filled in. */
export interface ResolvedJump {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly hostKey: string;
  readonly pinnedKey: PinnedKey;
  /** Its own key file, or (absent) the target's credentials. */
  readonly privateKeyPath?: string;
  readonly netns?: string;
}

/** A ConnectionSpec that passed validation, with defaults filled in. */
export interface ResolvedConnection {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** The pin as given (for pool keys and messages) and parsed. */
  readonly hostKey: string;
  readonly pinnedKey: PinnedKey;
  readonly auth: AuthMethod;
  /** The key's passphrase, if it has one. */
  readonly passphrase?: Redacted;
  readonly jump?: ResolvedJump;
  readonly netns?: string;
  readonly connectTimeoutMs: number;
  readonly connectAttempts: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
// RFC 1123 label: letters, digits, inner hyphens, 1..63 characters.
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const USER = /^[a-z_][a-z0-9_-]{0,31}$/;
// A name under /run/netns: no leading '-' (an option to `ip`), so never '.' or '..' either.
const NETNS = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,63}$/;
const MAX_CONNECT_TIMEOUT_MS = 10 * 60 * 1000;
const MAX_CONNECT_ATTEMPTS = 100;

/** True for a dotted-quad IPv4 address or an RFC 1123 host name. */
export function isValidHost(host: string): boolean {
  if (IPV4.test(host)) return true;
  if (host.length > 253) return false;
  const labels = host.split('.');
  if (!labels.every((l) => HOST_LABEL.test(l))) return false;
  // "300.1.1.1" matches the label rule but is a mistyped address, not a name: a top-level
  // label is never all digits (RFC 3696 section 2).
  return !/^\d+$/.test(labels[labels.length - 1]);
}

const show = (v: unknown): string => showValue(v, 80);

const intIn = (min: number, max: number, what: string) =>
  z.unknown().superRefine((v, ctx) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      ctx.addIssue({ code: 'custom', message: `${show(v)} is not ${what}: use an integer from ${min} to ${max}` });
    }
  });

/** A string field checked by `ok`; the reason shows the (non-secret) value and the rule. */
const stringField = (ok: (v: string) => boolean, reason: (shown: string) => string) =>
  z.unknown().superRefine((v, ctx) => {
    if (typeof v !== 'string' || !ok(v)) ctx.addIssue({ code: 'custom', message: reason(show(v)) });
  });

const netnsField = stringField(
  (v) => NETNS.test(v),
  (shown) => `${shown} is not a valid network namespace name: it must match ${NETNS.source}`,
).optional();

const hostField = stringField(
  isValidHost,
  (shown) => `${shown} is not a valid host: use an IPv4 address (10.0.0.1) or an RFC 1123 host name (hv1.lab)`,
);

const userField = stringField(
  (v) => USER.test(v),
  (shown) => `${shown} is not a valid user name: it must match ${USER.source} (lower case, 1-32 characters)`,
).optional();

const hostKeyField = z.unknown().superRefine((v, ctx) => {
  try {
    parsePinnedKey(v as string);
  } catch (e) {
    const reason = e instanceof ValidationError ? e.problems[0].reason : String(e);
    ctx.addIssue({ code: 'custom', message: reason });
  }
});

const keyPathField = z
  .unknown()
  .superRefine((v, ctx) => {
    if (typeof v !== 'string' || v.trim() === '' || v.includes('\0')) {
      ctx.addIssue({ code: 'custom', message: `${show(v)} is not a file path: give the path of a private key file` });
    } else if (privateKeyProblem(v) === undefined || /^\s*(ssh|ecdsa|sk)-[a-z0-9@.-]+\s+AAAA/.test(v)) {
      // Key text pasted where a path belongs: refuse without echoing it (it may be secret).
      ctx.addIssue({ code: 'custom', message: 'holds key text, not a file path: give the key file\'s path, or pass the key as a Pulumi secret (privateKey)' });
    }
  })
  .optional();

const JUMP_SCHEMA = z.strictObject({
  host: hostField,
  port: intIn(1, 65535, 'a TCP port').optional(),
  user: userField,
  hostKey: hostKeyField,
  privateKeyPath: keyPathField,
  netns: netnsField,
});

function jumpProblems(v: unknown): Array<{ path: PropertyKey[]; reason: string }> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return [{ path: [], reason: 'must be an object with host and hostKey (the jump host)' }];
  const r = JUMP_SCHEMA.safeParse(v);
  if (r.success) return [];
  return r.error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: [k], reason: `unknown property; the allowed ones are ${Object.keys(JUMP_SCHEMA.shape).join(', ')}` }))
      : [{ path: i.path, reason: i.message }],
  );
}

const SCHEMA = z
  .strictObject({
    host: hostField,
    port: intIn(1, 65535, 'a TCP port').optional(),
    user: userField,
    hostKey: hostKeyField,
    // Secret: reasons below never include the value or anything derived from it.
    privateKey: z
      .unknown()
      .superRefine((v, ctx) => {
        const reason = privateKeyProblem(v);
        if (reason) ctx.addIssue({ code: 'custom', message: reason });
      })
      .optional(),
    privateKeyPath: keyPathField,
    passphrase: z
      .unknown()
      .superRefine((v, ctx) => {
        // Secret: the reason never shows the value.
        if (typeof v !== 'string' || v === '') ctx.addIssue({ code: 'custom', message: 'must be a non-empty string (the key\'s passphrase), given as a Pulumi secret' });
      })
      .optional(),
    jump: z
      .unknown()
      .superRefine((v, ctx) => {
        for (const p of jumpProblems(v)) ctx.addIssue({ code: 'custom', path: p.path, message: p.reason });
      })
      .optional(),
    netns: netnsField,
    connectTimeoutMs: intIn(1, MAX_CONNECT_TIMEOUT_MS, 'a timeout in milliseconds').optional(),
    connectAttempts: intIn(1, MAX_CONNECT_ATTEMPTS, 'a number of attempts').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.privateKey !== undefined && v.privateKeyPath !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['privateKey'],
        message:
          'conflicts with privateKeyPath: give exactly one of privateKey and privateKeyPath ' +
          '(or neither, to use the SSH agent at SSH_AUTH_SOCK)',
      });
    }
  });

const ALLOWED = Object.keys(SCHEMA.shape);

/** Why `v` is not usable private key text, or undefined; never shows the value (it is secret). */
export function privateKeyProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return `must be a string (the private key text), got ${v === null ? 'null' : typeof v}`;
  if (v.trim() === '') return 'is empty: give the private key text, or leave privateKey out';
  if (/^\s*(ssh|ecdsa|sk)-[a-z0-9@.-]+\s+AAAA/.test(v)) {
    return 'holds a public key; give the private key (the file without .pub)';
  }
  if (!/PRIVATE KEY-----/.test(v) && !/^PuTTY-User-Key-File-/.test(v.trim())) {
    return 'is not a private key in OpenSSH, PEM or PuTTY format (the text is not shown because it is secret)';
  }
  return undefined;
}

/** All problems of a spec, as `{property, reason}`; empty when it is valid. */
export function connectionProblems(input: unknown): Array<{ property: string; reason: string }> {
  const r = SCHEMA.safeParse(input);
  if (r.success) return [];
  const problems: Array<{ property: string; reason: string }> = [];
  for (const issue of r.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ property: key, reason: `unknown property; the allowed ones are ${ALLOWED.join(', ')}` });
      }
    } else if (issue.path.length === 0) {
      problems.push({ property: 'connection', reason: 'must be an object with at least host and hostKey' });
    } else {
      problems.push({ property: issue.path.join('.'), reason: issue.message });
    }
  }
  return problems;
}

/** Validates and fills in defaults; throws one ValidationError listing every problem. */
export function resolveConnection(input: ConnectionSpec | unknown): ResolvedConnection {
  const problems = connectionProblems(input);
  if (problems.length > 0) throw new ValidationError(problems);
  const spec = input as ConnectionSpec;
  const auth: AuthMethod =
    spec.privateKey !== undefined
      ? { kind: 'privateKey', privateKey: new Redacted(spec.privateKey) }
      : spec.privateKeyPath !== undefined
        ? { kind: 'privateKeyPath', path: spec.privateKeyPath }
        : { kind: 'agent' };
  return {
    host: spec.host,
    port: spec.port ?? CONNECTION_DEFAULTS.port,
    user: spec.user ?? CONNECTION_DEFAULTS.user,
    hostKey: spec.hostKey.trim(),
    pinnedKey: parsePinnedKey(spec.hostKey),
    auth,
    ...(spec.passphrase !== undefined ? { passphrase: new Redacted(spec.passphrase) } : {}),
    ...(spec.jump !== undefined
      ? {
          jump: {
            host: spec.jump.host,
            port: spec.jump.port ?? CONNECTION_DEFAULTS.port,
            user: spec.jump.user ?? CONNECTION_DEFAULTS.user,
            hostKey: spec.jump.hostKey.trim(),
            pinnedKey: parsePinnedKey(spec.jump.hostKey),
            ...(spec.jump.privateKeyPath !== undefined ? { privateKeyPath: spec.jump.privateKeyPath } : {}),
            ...(spec.jump.netns !== undefined ? { netns: spec.jump.netns } : {}),
          },
        }
      : {}),
    ...(spec.netns !== undefined ? { netns: spec.netns } : {}),
    connectTimeoutMs: spec.connectTimeoutMs ?? CONNECTION_DEFAULTS.connectTimeoutMs,
    connectAttempts: spec.connectAttempts ?? CONNECTION_DEFAULTS.connectAttempts,
  };
}
