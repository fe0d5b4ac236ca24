/**
 * The underlay MACs this provider process has seen, per host and underlay bridge: the MAC a
 * tunnel's far end answers on (`mac_in_use` of its physical bridge, br0).
 *
 * A GreTunnel seeds each end's tunnel neighbour cache with the OTHER end's MAC. Read from the
 * other host, that costs a round trip on each end before the seed can be sent; remembered
 * from a step that already ran on that host in this process (its OvsBridge create, or an
 * earlier tunnel end there), the seed travels in the end's own batch. A host's underlay MAC
 * does not change while a `pulumi up` runs (it is the NIC's bridge); a tunnel that finds no
 * remembered MAC reads it in its batch and seeds in a second round trip.
 */
import { hostLockKey, type ConnectionSpec } from '../exec';
import type { BridgeName, Mac } from './values';

const seen = new Map<string, Mac>();

/** Which host: address, port and namespace, and the jump host it is reached through (the same address behind two jump hosts is two hosts). */
export type UnderlayHost = Pick<ConnectionSpec, 'host' | 'port' | 'netns' | 'jump'>;

const keyOf = (h: UnderlayHost, bridge: BridgeName): string =>
  `${hostLockKey(h)}|${h.jump ? hostLockKey(h.jump) : ''}#${bridge}`;

/** Remembers the MAC `bridge` uses on that host. */
export function rememberUnderlayMac(host: UnderlayHost, bridge: BridgeName, mac: Mac): void {
  seen.set(keyOf(host, bridge), mac);
}

/** The MAC remembered for that host and bridge, if any step in this process read it. */
export function knownUnderlayMac(host: UnderlayHost, bridge: BridgeName): Mac | undefined {
  return seen.get(keyOf(host, bridge));
}

/** Forgets every remembered MAC (tests). */
export function forgetUnderlayMacs(): void {
  seen.clear();
}
