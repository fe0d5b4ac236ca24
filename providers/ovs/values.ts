/**
 * Domain values of the OVS command layer: every name, address and number that reaches an
 * `ovs-vsctl` / `ovs-ofctl` / `ovs-appctl` argv goes through one of these parse functions first.
 *
 * Values are branded primitives (plain strings and numbers at run time) so that they survive
 * the JSON round trip through Pulumi state unchanged; the brand only says "this was parsed".
 * Every parse function throws a `ValidationError` whose reason names the bad value and what is
 * allowed, under the `property` the caller passes (the input field's path).
 *
 * Naming scheme (`deterministicName`): `<prefix><readable>-<hash6>` where `<readable>` is the
 * parts joined with "-" (characters outside [A-Za-z0-9_.-] dropped) and cut to fit, and
 * `<hash6>` is the first 6 hex digits of sha1(JSON.stringify([prefix, ...parts])). When there is
 * no room for a readable part the name is `<prefix><hash6>` (e.g. `gre-3f9a1c`). The hash is
 * always there, so two different part lists never meet on the same readable text.
 */
import { createHash } from 'crypto';
import { ValidationError } from '../exec';

declare const brand: unique symbol;
/** A primitive that has passed its parse function. */
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type InterfaceName = Brand<string, 'InterfaceName'>;
export type BridgeName = Brand<string, 'BridgeName'>;
/** Lowercase, colon separated: `02:00:00:00:00:0a`. */
export type Mac = Brand<string, 'Mac'>;
/** Strict dotted quad, no leading zeros: `10.0.0.1`. */
export type Ipv4 = Brand<string, 'Ipv4'>;
/** A numbered OpenFlow port, 1..65279 (0xfeff, OFPP_MAX). */
export type OfPortNumber = Brand<number, 'OfPortNumber'>;
/** A numbered port or one of the reserved ports VPM uses. */
export type OfPort = OfPortNumber | 'LOCAL' | 'IN_PORT';
/**
 * A 64-bit OpenFlow cookie as the hex text `ovs-ofctl` prints: "0x" + lowercase hex without
 * leading zeros ("0x0" for zero). A string, not a bigint, because Pulumi state is JSON.
 */
export type Cookie = Brand<string, 'Cookie'>;
/** OpenFlow group id, 1..0xffffff00 (OFPG_MAX). */
export type GroupId = Brand<number, 'GroupId'>;
/** OpenFlow 1.5 bucket id, 0..0xffffff00 (OFPG_BUCKET_MAX). */
export type BucketId = Brand<number, 'BucketId'>;
/** UDP port, 1..65535. */
export type UdpPort = Brand<number, 'UdpPort'>;

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const NAME_MAX = 15;
export const OFP_MAX_PORT = 0xfeff;
export const OFPG_MAX = 0xffffff00;
export const OFPG_BUCKET_MAX = 0xffffff00;
const COOKIE_MAX = (1n << 64n) - 1n;

/** Shows a bad value in a message: JSON text (control characters escaped), at most 80 chars. */
export function show(value: unknown): string {
  let text: string;
  if (typeof value === 'bigint') text = `${value}n`;
  else if (value === undefined) text = 'undefined';
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function fail(property: string, reason: string): never {
  throw new ValidationError([{ property, reason }]);
}

/** Runs a parse and turns its ValidationError into entries of `problems`; returns undefined then. */
export function collect<T>(problems: Array<{ property: string; reason: string }>, parse: () => T): T | undefined {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ValidationError) {
      problems.push(...e.problems);
      return undefined;
    }
    throw e;
  }
}

function parseName(value: unknown, property: string, what: string): string {
  const allowed =
    `use 1-${NAME_MAX} characters from A-Z a-z 0-9 _ . -, starting with a letter or digit ` +
    `(pattern ${NAME_PATTERN.source}), not "." or ".."`;
  if (typeof value !== 'string') fail(property, `${what} must be a string, got ${show(value)}: ${allowed}`);
  if (value.length < 1 || value.length > NAME_MAX || !NAME_PATTERN.test(value) || value === '.' || value === '..') {
    fail(property, `${what} ${show(value)} is invalid: ${allowed}`);
  }
  return value;
}

export function parseInterfaceName(value: unknown, property = 'interfaceName'): InterfaceName {
  return parseName(value, property, 'interface name') as InterfaceName;
}

export function parseBridgeName(value: unknown, property = 'bridgeName'): BridgeName {
  return parseName(value, property, 'bridge name') as BridgeName;
}

const MAC_PATTERN = /^[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}$/;

/** Accepts `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff` in any case; returns lowercase with colons. */
export function parseMac(value: unknown, property = 'mac'): Mac {
  if (typeof value !== 'string' || !MAC_PATTERN.test(value)) {
    fail(property, `MAC address ${show(value)} is invalid: use six hex pairs separated by ":" (e.g. 02:00:00:00:00:01)`);
  }
  return value.toLowerCase().replace(/-/g, ':') as Mac;
}

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_PATTERN = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export function parseIpv4(value: unknown, property = 'ip'): Ipv4 {
  if (typeof value !== 'string' || !IPV4_PATTERN.test(value)) {
    fail(
      property,
      `IPv4 address ${show(value)} is invalid: use a dotted quad of four decimal numbers 0-255 ` +
        'without leading zeros (e.g. 10.0.0.1)',
    );
  }
  return value as Ipv4;
}

export function ipv4ToInt(ip: Ipv4): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** 224.0.0.0/4. */
export function isMulticast(ip: Ipv4): boolean {
  const first = Number(ip.split('.')[0]);
  return first >= 224 && first <= 239;
}

/**
 * "Broadcast-ish": the limited broadcast 255.255.255.255, or a directed broadcast. With
 * `prefixLen` (0..30) a directed broadcast is an address whose host bits are all ones; without
 * it, an address ending in .255 counts (the /24 case of the lab's receiver networks).
 */
export function isBroadcastish(ip: Ipv4, prefixLen?: number): boolean {
  const n = ipv4ToInt(ip);
  if (n === 0xffffffff) return true;
  if (prefixLen === undefined) return (n & 0xff) === 0xff;
  if (!Number.isInteger(prefixLen) || prefixLen < 0 || prefixLen > 30) {
    fail('prefixLen', `prefix length ${show(prefixLen)} is invalid: use an integer 0..30`);
  }
  const hostMask = 2 ** (32 - prefixLen) - 1;
  return n % (hostMask + 1) === hostMask;
}

/**
 * A unicast host address: not 0.0.0.0/8, not multicast (224/4), not reserved/broadcast (240/4),
 * and, when `prefixLen` is given, not the directed broadcast of that prefix.
 */
export function isUnicast(ip: Ipv4, prefixLen?: number): boolean {
  const first = Number(ip.split('.')[0]);
  if (first === 0 || first >= 224) return false;
  return prefixLen === undefined ? true : !isBroadcastish(ip, prefixLen);
}

function parseIntegerIn(value: unknown, min: number, max: number): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^(0|[1-9][0-9]*)$/.test(value)) n = Number(value);
  else return undefined;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

export function parseOfPortNumber(value: unknown, property = 'ofport'): OfPortNumber {
  const n = parseIntegerIn(value, 1, OFP_MAX_PORT);
  if (n === undefined) {
    fail(property, `OpenFlow port ${show(value)} is invalid: use an integer 1..${OFP_MAX_PORT}`);
  }
  return n as OfPortNumber;
}

/** A port number 1..65279, or "LOCAL" / "IN_PORT" (any case). */
export function parseOfPort(value: unknown, property = 'port'): OfPort {
  if (typeof value === 'string') {
    const upper = value.toUpperCase();
    if (upper === 'LOCAL' || upper === 'IN_PORT') return upper;
  }
  const n = parseIntegerIn(value, 1, OFP_MAX_PORT);
  if (n === undefined) {
    fail(
      property,
      `OpenFlow port ${show(value)} is invalid: use an integer 1..${OFP_MAX_PORT} or the reserved name LOCAL or IN_PORT`,
    );
  }
  return n as OfPortNumber;
}

/** Accepts a bigint, a safe non-negative integer, "0x" hex (1-16 digits) or decimal text. */
export function parseCookie(value: unknown, property = 'cookie'): Cookie {
  let n: bigint | undefined;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isSafeInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^0[xX][0-9A-Fa-f]{1,16}$/.test(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) n = BigInt(value);
  if (n === undefined || n < 0n || n > COOKIE_MAX) {
    fail(
      property,
      `cookie ${show(value)} is invalid: use a 64-bit unsigned value as "0x" + 1-16 hex digits, ` +
        'decimal text, a bigint or a safe integer',
    );
  }
  return `0x${n.toString(16)}` as Cookie;
}

export function cookieToBigInt(cookie: Cookie): bigint {
  return BigInt(cookie);
}

/** The text `ovs-ofctl` uses (and prints) for a cookie: "0x" + lowercase hex. */
export function formatCookie(cookie: Cookie): string {
  return `0x${cookieToBigInt(cookie).toString(16)}`;
}

/** True for the cookies a VPM flow may not carry: 0 (unowned) and all-ones (reserved by OpenFlow). */
export function isReservedCookie(cookie: Cookie): boolean {
  const n = cookieToBigInt(cookie);
  return n === 0n || n === COOKIE_MAX;
}

export function parseGroupId(value: unknown, property = 'groupId'): GroupId {
  const n = parseIntegerIn(value, 1, OFPG_MAX);
  if (n === undefined) fail(property, `group id ${show(value)} is invalid: use an integer 1..${OFPG_MAX} (0xffffff00)`);
  return n as GroupId;
}

export function parseBucketId(value: unknown, property = 'bucketId'): BucketId {
  const n = parseIntegerIn(value, 0, OFPG_BUCKET_MAX);
  if (n === undefined) {
    fail(property, `bucket id ${show(value)} is invalid: use an integer 0..${OFPG_BUCKET_MAX} (0xffffff00)`);
  }
  return n as BucketId;
}

export function parseUdpPort(value: unknown, property = 'udpPort'): UdpPort {
  const n = parseIntegerIn(value, 1, 65535);
  if (n === undefined) fail(property, `UDP port ${show(value)} is invalid: use an integer 1..65535`);
  return n as UdpPort;
}

/**
 * A stable, length-capped interface/bridge name: see the naming scheme in the module header.
 * `prefix` must itself start a valid name and leave room for the 6-digit hash.
 */
export function deterministicName(prefix: string, parts: readonly string[], maxLen = NAME_MAX): InterfaceName {
  if (!Number.isInteger(maxLen) || maxLen < 7 || maxLen > NAME_MAX) {
    fail('maxLen', `maxLen ${show(maxLen)} is invalid: use an integer 7..${NAME_MAX}`);
  }
  if (!/^([A-Za-z0-9][A-Za-z0-9_.-]*)?$/.test(prefix) || prefix.length + 6 > maxLen) {
    fail(
      'prefix',
      `name prefix ${show(prefix)} is invalid: use characters from A-Z a-z 0-9 _ . -, starting with a letter ` +
        `or digit, at most ${maxLen - 6} characters (6 are kept for the hash)`,
    );
  }
  const hash = createHash('sha1').update(JSON.stringify([prefix, ...parts])).digest('hex').slice(0, 6);
  const room = maxLen - prefix.length - 7; // 7 = "-" + 6 hex
  let readable = parts
    .map((p) => p.replace(/[^A-Za-z0-9_.-]/g, ''))
    .filter((p) => p.length > 0)
    .join('-')
    .slice(0, Math.max(room, 0))
    .replace(/-+$/, '');
  if (prefix === '') readable = readable.replace(/^[_.-]+/, '');
  const name = readable ? `${prefix}${readable}-${hash}` : `${prefix}${hash}`;
  return parseInterfaceName(name, 'deterministicName');
}
