/**
 * FlowPath's table layout on a switch, the part other modules read (monitor/parse.ts counts
 * packets per path with it): table 0 holds the *shared flows* (priority PATH_PRIORITY, or
 * BACKUP_PRIORITY for backup segments; cookie 0x57000000_<group id>) and table MARKER_TABLE
 * the *ownership markers* (one per path and bucket: cookie = the path's cookie, metadata =
 * group id << 32 | bucket id, actions=drop; never see a packet). See plan.ts for why.
 */
import type { DumpedFlow } from '../ovs/ofctl';

export const MARKER_TABLE = 250;
export const PATH_PRIORITY = 1000;
/** Backup segments (tagged) win over primary segments of other paths on the same in_port. */
export const BACKUP_PRIORITY = 1001;
/** Shared flows' cookies: this base | the group id. */
export const SHARED_COOKIE_BASE = 0x57n << 56n;

/** The cookie (as "0x..." text) of the shared flow that sends to group `groupId`. */
export function sharedCookieText(groupId: number): string {
  return '0x' + (SHARED_COOKIE_BASE | BigInt(groupId)).toString(16);
}

export interface MarkerKey {
  groupId: number;
  bucketId: number;
  owner: string;
}

/** The ownership markers on a switch. */
export function parseMarkers(flows: readonly DumpedFlow[]): MarkerKey[] {
  const keys: MarkerKey[] = [];
  for (const f of flows) {
    if (f.table !== MARKER_TABLE) continue;
    const md = /metadata=0x([0-9a-f]+)/.exec(f.matchText);
    if (!md) continue;
    const v = BigInt('0x' + md[1]);
    keys.push({ groupId: Number(v >> 32n), bucketId: Number(v & 0xffffffffn), owner: String(f.cookie) });
  }
  return keys;
}

/** Two cookies in any notation (decimal, 0x hex) are the same 64-bit value; false when either is not a number. */
export function cookiesEqual(a: string, b: string): boolean {
  try {
    return BigInt(a) === BigInt(b);
  } catch {
    return false;
  }
}
