/**
 * FlowPath's ids and hashes: how a path names what it installs on a switch, shared with the
 * monitor (which reads the marker table) and the port scheme (fnv1a32). Pure; see plan.ts for
 * the whole scheme:
 *   group id  G = 1 + fnv1a32(in_port | match) mod 0xfffffe00     (per switch)
 *   bucket id B = fnv1a32(actions) mod 0xffffff00
 *   shared flow cookie 0x57000000_<G>; marker flow in MARKER_TABLE, cookie = the path's,
 *     match metadata=G<<32|B, reg0/reg1 = the halves of the path's cookie
 *   fast-failover group F = 1 + fnv1a32("ff|G|X|B|tag") mod 0xfffffe00
 *   backup tag = 02:56:46 + 3 bytes of fnv1a32("tag|<switch>|X")
 */
import type { Flow } from '../ovs/flow';
import { parseCookie, parseMac, type Cookie, type Mac } from '../ovs/values';
import type { ConnectionWithoutKey } from '../common/connection-input';

import { fnv1a32 } from '../common/hash';
import { MARKER_TABLE, PATH_PRIORITY, sharedCookieText } from './marker-table';

// The hash and the marker table's layout live apart (other modules read them); re-exported here.
export { fnv1a32 } from '../common/hash';
export { BACKUP_PRIORITY, MARKER_TABLE, PATH_PRIORITY, parseMarkers, type MarkerKey } from './marker-table';
/** Bucket ids inside a fast-failover group F. */
export const FF_PRIMARY_BUCKET = 0;
export const FF_BACKUP_BUCKET = 1;
export const FF_FALLBACK_BUCKET = 2;

/** The group of a segment match on a switch: `matchText` is the match as ovs-ofctl prints it. */
export function groupIdFor(inPort: number, matchText: string): number {
  return 1 + (fnv1a32(`${inPort}|${matchText}`) % 0xfffffe00);
}

/** The bucket of an action list (same actions = same bucket): `actionsText` as ovs-ofctl prints it. */
export function bucketIdFor(actionsText: string): number {
  return fnv1a32(actionsText) % 0xffffff00;
}

/** The identity of a switch: host, namespace and bridge (a path visits each once per route). */
export function switchKey(h: { readonly connection: Pick<ConnectionWithoutKey, 'host' | 'netns'> | { readonly host?: unknown; readonly netns?: unknown }; readonly bridge: string }): string {
  return `${h.connection.host}|${h.connection.netns ?? ''}|${h.bridge}`;
}

/** The eth_src tag of traffic diverted at a switch away from primary port X (a local MAC). */
export function backupTag(divergingSwitch: string, primaryPort: number): Mac {
  const h = fnv1a32(`tag|${divergingSwitch}|${primaryPort}`);
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff].map((x) => x.toString(16).padStart(2, '0'));
  return parseMac(`02:56:46:${b.join(':')}`, 'tag');
}

export function ffGroupId(groupId: number, primary: number, backup: number, tag: string): number {
  return 1 + (fnv1a32(`ff|${groupId}|${primary}|${backup}|${tag}`) % 0xfffffe00);
}

/** The cookie of the shared flow of group G (one per group, whichever paths use it). */
export const sharedCookie = (groupId: number): Cookie => parseCookie(sharedCookieText(groupId), 'cookie');

function cookieHalves(cookie: string): [number, number] {
  const c = BigInt(cookie);
  return [Number(c >> 32n), Number(c & 0xffffffffn)];
}

/** The marker flow that records `cookie`'s ownership of bucket (G, B). */
export function markerFlow(groupId: number, bucketId: number, cookie: string): Flow {
  const [hi, lo] = cookieHalves(cookie);
  const metadata = '0x' + ((BigInt(groupId) << 32n) | BigInt(bucketId)).toString(16);
  return { table: MARKER_TABLE, priority: PATH_PRIORITY, cookie: parseCookie(cookie, 'cookie'), match: { metadata, reg0: hi, reg1: lo }, actions: [{ type: 'drop' }] };
}

/** Two cookies as numbers (dumps print them in hex, inputs may too, with or without zeros). */
export function sameCookie(a: string, b: string): boolean {
  return BigInt(a) === BigInt(b);
}
