/**
 * The pure part of FlowPath: which OpenFlow state a path needs on each hop, and the bundle
 * that adds or removes exactly its own part of a switch shared with other paths.
 *
 * Per hop, a path is one or two *segments* (in_port + stream match -> actions):
 *   root / pass-through:   in -> out
 *   node with a VM:        in -> vm,   vm -> out      (the VM relays the stream; with vmMac/vmIp
 *                          the stream is first addressed to the VM, so its kernel accepts it)
 *   leaf:                  last segment rewrites eth_src/eth_dst/ip_dst and outputs to the patch
 *
 * Sharing. Two paths through one switch may need the same segment match (the root, a relay).
 * So each segment match owns an OpenFlow `group type=all`; the table-0 flow (the *shared
 * flow*) sends to the group, and each distinct action list is one bucket:
 *   group id  G = 1 + fnv1a32(in_port | match) mod 0xfffffe00     (per switch)
 *   bucket id B = fnv1a32(actions) mod 0xffffff00                    (same actions = same bucket,
 *                                                                       so a shared hop never duplicates packets)
 *   shared flow: table 0, priority 1000, cookie 0x57000000_<G>, match -> group:G
 * Ownership of (G, B) is recorded by *marker flows* that never see a packet (table 250, no
 * goto reaches it): cookie = the path's cookie, match metadata=G<<32|B, reg0/reg1 = the two
 * halves of the path's cookie (flows are identified by match, so the match must be unique
 * per path), actions=drop. A path removes its bucket only when no other path's marker names
 * it, and the group with its shared flow only when no bucket is left. Everything a path
 * installs on a switch goes in one atomic bundle, computed from a dump under the host lock.
 */
import type { Action, Flow, Match } from '../ovs/flow';
import { actionsToOfctl, flowToOfctl, matchToOfctl } from '../ovs/flow';
import type { BundleOps, DumpedFlow, DumpedGroup } from '../ovs/ofctl';
import type { Bucket, Group } from '../ovs/group';
import { parseBucketId, parseCookie, parseGroupId, parseIpv4, parseMac, parseOfPortNumber, parseUdpPort } from '../ovs/values';
import type { FlowPathInputs, Hop } from './types';

export const MARKER_TABLE = 250;
export const PATH_PRIORITY = 1000;
const SHARED_COOKIE_BASE = 0x57n << 56n;

export interface SegmentPlan {
  readonly inPort: number;
  readonly match: Match;
  readonly groupId: number;
  readonly bucketId: number;
  readonly bucket: Bucket;
  readonly sharedFlow: Flow;
  readonly marker: Flow;
}

export interface HopPlan {
  readonly index: number;
  readonly hop: Hop;
  readonly isRoot: boolean;
  readonly segments: readonly SegmentPlan[];
}

/** FNV-1a, 32 bits: small, stable, no dependency; ids only need to be spread, not secret. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The receiver MAC: given, or derived for multicast (RFC 1112) and broadcast receivers. */
export function receiverMacFor(ip: string, mac: string | undefined): string | undefined {
  if (mac) return mac.toLowerCase();
  const o = ip.split('.').map(Number);
  if (o[0] >= 224 && o[0] <= 239) {
    const hex = (n: number) => n.toString(16).padStart(2, '0');
    return `01:00:5e:${hex(o[1] & 0x7f)}:${hex(o[2])}:${hex(o[3])}`;
  }
  if (ip === '255.255.255.255' || o[3] === 255) return 'ff:ff:ff:ff:ff:ff';
  return undefined;
}

function streamMatch(inPort: number, stream: FlowPathInputs['stream']): Match {
  return {
    inPort: parseOfPortNumber(inPort, 'inPort'),
    dlType: 'ip',
    nwProto: 17,
    udpDst: parseUdpPort(stream.udpDst, 'stream.udpDst'),
    ...(stream.srcIp ? { nwSrc: parseIpv4(stream.srcIp, 'stream.srcIp') } : {}),
  };
}

function cookieHalves(cookie: string): [number, number] {
  const c = BigInt(cookie);
  return [Number(c >> 32n), Number(c & 0xffffffffn)];
}

function segment(inPort: number, actions: Action[], p: FlowPathInputs): SegmentPlan {
  const match = streamMatch(inPort, p.stream);
  const groupId = 1 + (fnv1a32(`${inPort}|${matchToOfctl(match)}`) % 0xfffffe00);
  const bucketId = fnv1a32(actionsToOfctl(actions)) % 0xffffff00;
  const [hi, lo] = cookieHalves(p.cookie);
  const metadata = '0x' + ((BigInt(groupId) << 32n) | BigInt(bucketId)).toString(16);
  return {
    inPort,
    match,
    groupId,
    bucketId,
    bucket: { id: parseBucketId(bucketId, 'bucketId'), actions },
    sharedFlow: {
      priority: PATH_PRIORITY,
      cookie: parseCookie('0x' + (SHARED_COOKIE_BASE | BigInt(groupId)).toString(16), 'cookie'),
      match,
      actions: [{ type: 'group', id: parseGroupId(groupId, 'groupId') }],
    },
    marker: {
      table: MARKER_TABLE,
      priority: PATH_PRIORITY,
      cookie: parseCookie(p.cookie, 'cookie'),
      match: { metadata, reg0: hi, reg1: lo },
      actions: [{ type: 'drop' }],
    },
  };
}

const out = (port: number): Action => ({ type: 'output', port: parseOfPortNumber(port, 'port') });

/** The segments of every hop, root first. */
export function planPath(p: FlowPathInputs): HopPlan[] {
  const last = p.hops.length - 1;
  return p.hops.map((hop, index) => {
    const isRoot = index === 0;
    const isLeaf = index === last;
    const exit: Action[] = isLeaf
      ? [
          { type: 'setField', field: 'eth_src', value: parseMac(p.egress.srcMac, 'egress.srcMac') },
          { type: 'setField', field: 'eth_dst', value: parseMac(p.egress.receiverMac, 'egress.receiverMac') },
          { type: 'setField', field: 'ip_dst', value: parseIpv4(p.egress.receiverIp, 'egress.receiverIp') },
          out(hop.outPort),
        ]
      : [out(hop.outPort)];
    const toVm: Action[] = [
      ...(hop.vmMac ? [{ type: 'setField', field: 'eth_dst', value: parseMac(hop.vmMac, 'vmMac') } as Action] : []),
      ...(hop.vmIp ? [{ type: 'setField', field: 'ip_dst', value: parseIpv4(hop.vmIp, 'vmIp') } as Action] : []),
    ];
    const segments =
      hop.vmPort !== undefined && !isRoot
        ? [segment(hop.inPort, [...toVm, out(hop.vmPort)], p), segment(hop.vmPort, exit, p)]
        : [segment(hop.inPort, exit, p)];
    return { index, hop, isRoot, segments };
  });
}

/** The rules of each hop as text (what preview and outputs show). */
export function describePlan(plans: readonly HopPlan[]): FlowPathInputs['flows'] {
  return plans.map((h) => ({
    node: h.hop.node,
    bridge: h.hop.bridge,
    rules: h.segments.map((s) => `${matchToOfctl(s.match)} -> group:${s.groupId} bucket:${s.bucketId} ${actionsToOfctl(s.bucket.actions)}`),
  }));
}

/** What a switch shows of the VPM state that matters to one hop (from dumps). */
export interface SwitchState {
  readonly groups: readonly DumpedGroup[];
  readonly flows: readonly DumpedFlow[];
}

interface MarkerKey {
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

function sameCookie(a: string, b: string): boolean {
  return BigInt(a) === BigInt(b);
}

function hasSharedFlow(state: SwitchState, s: SegmentPlan): boolean {
  const text = matchToOfctl(s.match);
  return state.flows.some((f) => f.table === 0 && f.priority === PATH_PRIORITY && sameCookie(String(f.cookie), String(s.sharedFlow.cookie)) && f.matchText === text);
}

/** The bundle that gives this hop's segments to the path (idempotent). */
export function installOps(plan: HopPlan, state: SwitchState, cookie: string): BundleOps {
  const addGroups: Group[] = [];
  const insertBuckets: NonNullable<BundleOps['insertBuckets']>[number][] = [];
  const add: Flow[] = [];
  const markers = parseMarkers(state.flows);
  for (const s of plan.segments) {
    const group = state.groups.find((g) => g.id === s.groupId);
    if (!group) addGroups.push({ id: parseGroupId(s.groupId, 'groupId'), type: 'all', buckets: [s.bucket] });
    else if (!group.buckets.some((b) => b.id === s.bucketId)) {
      insertBuckets.push({ groupId: parseGroupId(s.groupId, 'groupId'), type: 'all', buckets: [s.bucket] });
    }
    if (!group || !hasSharedFlow(state, s)) add.push(s.sharedFlow);
    if (!markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && sameCookie(m.owner, cookie))) add.push(s.marker);
  }
  return { addGroups, insertBuckets, add };
}

/** The bundle that takes this hop's segments away from the path, leaving others' parts. */
export function removeOps(plan: HopPlan, state: SwitchState, cookie: string, keep: readonly SegmentPlan[] = []): BundleOps {
  const markers = parseMarkers(state.flows);
  const delStrict: Flow[] = [];
  const removeBuckets: NonNullable<BundleOps['removeBuckets']>[number][] = [];
  const delGroups: number[] = [];
  const keepKey = new Set(keep.map((k) => `${k.groupId}/${k.bucketId}`));
  // Buckets still left per group after this step (to know when a group empties).
  const left = new Map<number, Set<number>>(state.groups.map((g) => [g.id, new Set(g.buckets.map((b) => b.id))]));
  for (const s of plan.segments) {
    if (keepKey.has(`${s.groupId}/${s.bucketId}`)) continue;
    if (markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && sameCookie(m.owner, cookie))) delStrict.push(s.marker);
    const others = markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && !sameCookie(m.owner, cookie));
    if (others) continue;
    const buckets = left.get(s.groupId);
    if (!buckets) continue;
    buckets.delete(s.bucketId);
    if (buckets.size === 0) {
      if (hasSharedFlow(state, s)) delStrict.push(s.sharedFlow);
      delGroups.push(s.groupId);
      left.delete(s.groupId);
    } else if (state.groups.find((g) => g.id === s.groupId)!.buckets.some((b) => b.id === s.bucketId)) {
      removeBuckets.push({ groupId: parseGroupId(s.groupId, 'groupId'), bucketId: parseBucketId(s.bucketId, 'bucketId') });
    }
  }
  return { delStrict, removeBuckets, delGroups: delGroups.map((g) => parseGroupId(g, 'groupId')) };
}

/** What of this hop's part is missing on the switch (empty when intact). */
export function missingParts(plan: HopPlan, state: SwitchState, cookie: string): string[] {
  const markers = parseMarkers(state.flows);
  const missing: string[] = [];
  for (const s of plan.segments) {
    const rule = `${plan.hop.node}: in_port=${s.inPort}`;
    const group = state.groups.find((g) => g.id === s.groupId);
    if (!group) missing.push(`${rule}: group ${s.groupId} missing`);
    else if (!group.buckets.some((b) => b.id === s.bucketId)) missing.push(`${rule}: bucket ${s.bucketId} missing from group ${s.groupId}`);
    if (!hasSharedFlow(state, s)) missing.push(`${rule}: flow to group ${s.groupId} missing`);
    if (!markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && sameCookie(m.owner, cookie))) missing.push(`${rule}: ownership marker missing`);
  }
  return missing;
}

/** flowToOfctl re-exported for messages. */
export const flowText = (f: Flow) => flowToOfctl(f, 'add');
