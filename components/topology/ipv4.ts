/**
 * IPv4 address checks for paths: the receiver address (the paper allows "any kind of IP, be
 * it unicast, multicast or broadcast") and the optional stream source address. Strict
 * dotted-quad only: no leading zeros (which some parsers read as octal), no shorthand like
 * "10.1", so what the user wrote is exactly what ends up in the flow rule.
 *
 * Each check returns undefined when the address is fine, otherwise a message in the
 * project's "<what is wrong>; <how to fix>" form.
 */

import { shown } from './model';

const DOTTED_QUAD = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;

export type Ipv4Kind = 'this-network' | 'loopback' | 'multicast' | 'reserved' | 'broadcast' | 'unicast';

/** The four octets of a strict dotted quad, or undefined when malformed. */
export function parseIpv4(text: string): [number, number, number, number] | undefined {
  const m = DOTTED_QUAD.exec(text);
  if (!m) return undefined;
  const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number];
  return octets.every((o) => o <= 255) ? octets : undefined;
}

/**
 * The address class by its first octet. A directed broadcast (e.g. 10.0.0.255) needs the
 * netmask to be told apart from unicast, so it classifies as unicast; both are accepted.
 */
export function ipv4Kind(octets: readonly number[]): Ipv4Kind {
  const [first] = octets;
  if (octets.every((o) => o === 255)) return 'broadcast';
  if (first === 0) return 'this-network';
  if (first === 127) return 'loopback';
  if (first >= 224 && first <= 239) return 'multicast';
  if (first >= 240) return 'reserved';
  return 'unicast';
}

const MALFORMED = 'write four decimal numbers 0-255 separated by dots, without leading zeros, e.g. 10.0.0.255';

/** A receiver may be unicast, multicast or broadcast; anything else cannot be delivered to. */
export function receiverIpProblem(text: string): string | undefined {
  const octets = parseIpv4(text);
  if (!octets) return `${shown(text)} is not an IPv4 address; ${MALFORMED}`;
  switch (ipv4Kind(octets)) {
    case 'this-network':
      return `${shown(text)} is in 0.0.0.0/8 ("this network"), which is not a destination; use the receiver's address on the leaf's network`;
    case 'loopback':
      return `${shown(text)} is a loopback address and never leaves the leaf host; use the receiver's address on the leaf's network`;
    case 'reserved':
      return `${shown(text)} is in the reserved range 240.0.0.0/4; use a unicast, multicast (224.0.0.0/4) or broadcast address`;
    default:
      return undefined;
  }
}

/** The stream's source address (what the root VM sends from) must be a unicast host address. */
export function sourceIpProblem(text: string): string | undefined {
  const octets = parseIpv4(text);
  if (!octets) return `${shown(text)} is not an IPv4 address; ${MALFORMED}`;
  const kind = ipv4Kind(octets);
  if (kind === 'unicast') return undefined;
  return `${shown(text)} is a ${kind} address, which cannot be a packet's source; use the sending VM's unicast address or leave srcIp out`;
}
