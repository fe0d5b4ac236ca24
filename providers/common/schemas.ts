/**
 * zod building blocks shared by the providers' `check`. Messages say what is allowed, so a
 * CheckFailure reads as "<property>: <message>" and tells the user the fix.
 */
import { z } from 'zod';
import { connectionProblems, privateKeyProblem } from '../exec';
import { NAME_PATTERN } from '../ovs';

export const ifaceName = (what: string) =>
  z
    .string({ message: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(15, `${what} is longer than 15 characters (the Linux interface name limit)`)
    .regex(NAME_PATTERN, `${what} may use only letters, digits, '_', '.', '-' and must start with a letter or digit`);

export const ofport = (what: string) =>
  z
    .number({ message: `${what} must be a number` })
    .int(`${what} must be a whole number`)
    .min(1, `${what} must be 1..65279`)
    .max(65279, `${what} must be 1..65279`);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
export const ipv4 = (what: string) => z.string({ message: `${what} must be a string` }).regex(IPV4, `${what} must be a dotted-quad IPv4 address such as 10.0.0.1`);

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
export const mac = (what: string) =>
  z
    .string({ message: `${what} must be a string` })
    .regex(MAC, `${what} must be a MAC address such as 02:00:00:00:00:01`)
    .transform((m) => m.toLowerCase());

/** A connection object, validated by the transport's own rules (one place for them). */
export const connection = z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null, {
  message: 'connection must be an object with host, hostKey and a key path or agent',
}).superRefine((value, ctx) => {
  for (const p of connectionProblems(value)) {
    ctx.addIssue({ code: 'custom', path: p.property.split('.'), message: p.reason });
  }
});

/**
 * The secret private key property (split out of connection; see connection-input.ts): checked
 * like connection.privateKey (key text, not a path or a public key), the reason never shows it.
 */
export const privateKey = z
  .string({ message: 'privateKey must be a string (the private key text)' })
  .superRefine((v, ctx) => {
    const reason = privateKeyProblem(v);
    if (reason) ctx.addIssue({ code: 'custom', message: `privateKey ${reason}` });
  })
  .optional();

/** The secret passphrase property (split out of connection); the reason never shows it. */
export const passphrase = z.string({ message: 'passphrase must be a string (the private key\'s passphrase)' }).min(1, 'passphrase must not be empty').optional();

/**
 * The resource's owner mark, `<project>/<stack>/<resource name>` (common/owner.ts): stored in
 * OVSDB external_ids and a domain's title, so one line of plain characters: no quotes, spaces,
 * shell or control characters, no "..", at most 255 of them.
 */
export const OWNER_PATTERN = /^(?!.*\.\.)[A-Za-z0-9_][A-Za-z0-9_.:@\/+=,-]{0,254}$/;
export const owner = z
  .string({ message: 'owner must be a string' })
  .regex(OWNER_PATTERN, 'owner must be project/stack/resource name made of letters, digits and _ . : @ / + = , - (at most 255): rename the resource');

/** A node or host label as given in the topology (messages and outputs only). */
export const label = (what: string) =>
  z.string({ message: `${what} must be a string` }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, `${what} must be 1..63 letters, digits, _ . - starting with a letter or digit, e.g. h3`);
