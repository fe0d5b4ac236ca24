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
 *
 * Failover (a relay R dies; DESIGN.md "beyond the paper"). A hop P whose next hop is a relay
 * may carry `backup: {outPort: B}`: its exit bucket then sends to a fast-failover group F
 * instead of straight to the primary tunnel X (groups chain: all-group bucket -> group:F):
 *   F = 1 + fnv1a32("ff|G|X|B|tag") mod 0xfffffe00, type ff, buckets
 *     0: watch_port X              -> output:X                   (R alive: BFD up on X)
 *     1: watch_port B              -> set eth_src=tag, output:B  (R dead, backup neighbour up)
 *     2: watch_group G             -> output:X, set eth_src=tag, output:B
 *                                    (neither BFD session up: an all-group is always live.
 *                                     Either BFD is still starting, or a session flapped on a
 *                                     loaded host, or both neighbours died: send both ways, a
 *                                     duplicate is better than a gap; a flapped session takes
 *                                     ~1 s to come back, BFD restarts at 1 s intervals)
 * F belongs to the bucket (G, B) that names it: created with the bucket, deleted with it, so
 * the bucket's markers own it too, and paths that share the bucket share F.
 * `backupHops` (each with `from` = the index of the hop where its route diverges) pre-install
 * the route around R: transit hops (in -> out) and, last, the *join* on a switch of the path
 * after R (in -> whatever that hop does with the stream). Backup segments match the tag in
 * eth_src (tag = 02:56:46 + 3 bytes of fnv1a32(P's switch|X)) at priority 1001, so the same
 * stream arriving untagged for another path never takes a backup route, and a backup route
 * carries only traffic diverted at P; the join's actions are the hop's own (its leaf rewrite
 * sets eth_src anyway). A path's parts on one switch (primary hop, joins, transits of several
 * routes) are merged into one *switch plan*, installed and removed in one bundle.
 */
import type { Action, Flow, Match } from '../ovs/flow';
import { actionsToOfctl, flowToOfctl, matchToOfctl } from '../ovs/flow';
import type { BundleOps, DumpedFlow, DumpedGroup } from '../ovs/ofctl';
import type { Bucket, Group } from '../ovs/group';
import { parseBucketId, parseCookie, parseGroupId, parseIpv4, parseMac, parseOfPortNumber, parseUdpPort } from '../ovs/values';
import type { BackupHop, FlowPathInputs, Hop } from './types';
import { fnv1a32 } from '../common/hash';
import { BACKUP_PRIORITY, MARKER_TABLE, PATH_PRIORITY, parseMarkers, sharedCookieText } from './marker-table';

// The hash and the marker table's layout live apart (other modules use them); re-exported here.
export { fnv1a32 } from '../common/hash';
export { BACKUP_PRIORITY, MARKER_TABLE, PATH_PRIORITY, parseMarkers } from './marker-table';
/** Bucket ids inside a fast-failover group F. */
export const FF_PRIMARY_BUCKET = 0;
export const FF_BACKUP_BUCKET = 1;
export const FF_FALLBACK_BUCKET = 2;

export interface SegmentPlan {
  readonly inPort: number;
  readonly match: Match;
  readonly groupId: number;
  readonly bucketId: number;
  readonly bucket: Bucket;
  readonly sharedFlow: Flow;
  readonly marker: Flow;
  /** The fast-failover group the bucket sends to (hops with a backup). */
  readonly ff?: Group;
  /** Set on backup segments: the node whose failure they route around. */
  readonly backupFor?: string;
}

export interface HopPlan {
  readonly index: number;
  readonly hop: Hop;
  readonly isRoot: boolean;
  readonly segments: readonly SegmentPlan[];
}

/**
 * Everything one path has on one switch: its primary hop there (if any) plus backup segments.
 * `index` is the primary hop's index, or -1 for a switch only backup routes visit
 * (`backupIndex` is then the first backup hop on it: its connection and key are used).
 */
export interface SwitchPlan extends HopPlan {
  readonly key: string;
  readonly backupIndex?: number;
}

/** How a segment leaves: plain actions, or a fast-failover exit. */
type Exit = { readonly actions: Action[] } | { readonly ff: { readonly primary: number; readonly backup: number; readonly tag: string } };

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

function streamMatch(inPort: number, stream: FlowPathInputs['stream'], tag?: string): Match {
  return {
    inPort: parseOfPortNumber(inPort, 'inPort'),
    ...(tag ? { dlSrc: parseMac(tag, 'tag') } : {}),
    dlType: 'ip',
    nwProto: 17,
    udpDst: parseUdpPort(stream.udpDst, 'stream.udpDst'),
    ...(stream.srcIp ? { nwSrc: parseIpv4(stream.srcIp, 'stream.srcIp') } : {}),
  };
}

/** The identity of a switch: host, namespace and bridge (a path visits each once per route). */
export function switchKey(h: Pick<Hop, 'connection' | 'bridge'>): string {
  return `${h.connection.host}|${h.connection.netns ?? ''}|${h.bridge}`;
}

/** The eth_src tag of traffic diverted at a switch away from primary port X (a local MAC). */
export function backupTag(divergingSwitch: string, primaryPort: number): string {
  const h = fnv1a32(`tag|${divergingSwitch}|${primaryPort}`);
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff].map((x) => x.toString(16).padStart(2, '0'));
  return `02:56:46:${b.join(':')}`;
}

export function ffGroupId(groupId: number, primary: number, backup: number, tag: string): number {
  return 1 + (fnv1a32(`ff|${groupId}|${primary}|${backup}|${tag}`) % 0xfffffe00);
}

function cookieHalves(cookie: string): [number, number] {
  const c = BigInt(cookie);
  return [Number(c >> 32n), Number(c & 0xffffffffn)];
}

function segment(inPort: number, exit: Exit, p: FlowPathInputs, backup?: { tag: string; for: string }): SegmentPlan {
  const match = streamMatch(inPort, p.stream, backup?.tag);
  const groupId = 1 + (fnv1a32(`${inPort}|${matchToOfctl(match)}`) % 0xfffffe00);
  let actions: Action[];
  let ff: Group | undefined;
  if ('ff' in exit) {
    const { primary, backup: alt, tag } = exit.ff;
    const id = parseGroupId(ffGroupId(groupId, primary, alt, tag), 'ffGroupId');
    ff = {
      id,
      type: 'ff',
      buckets: [
        { id: parseBucketId(FF_PRIMARY_BUCKET, 'bucketId'), watchPort: parseOfPortNumber(primary, 'outPort'), actions: [out(primary)] },
        {
          id: parseBucketId(FF_BACKUP_BUCKET, 'bucketId'),
          watchPort: parseOfPortNumber(alt, 'backup.outPort'),
          actions: [{ type: 'setField', field: 'eth_src', value: parseMac(tag, 'tag') }, out(alt)],
        },
        {
          id: parseBucketId(FF_FALLBACK_BUCKET, 'bucketId'),
          watchGroup: parseGroupId(groupId, 'groupId'),
          actions: [out(primary), { type: 'setField', field: 'eth_src', value: parseMac(tag, 'tag') }, out(alt)],
        },
      ],
    };
    actions = [{ type: 'group', id }];
  } else actions = exit.actions;
  const bucketId = fnv1a32(actionsToOfctl(actions)) % 0xffffff00;
  return {
    inPort,
    match,
    groupId,
    bucketId,
    bucket: { id: parseBucketId(bucketId, 'bucketId'), actions },
    ...(ff ? { ff } : {}),
    ...(backup ? { backupFor: backup.for } : {}),
    sharedFlow: {
      priority: backup ? BACKUP_PRIORITY : PATH_PRIORITY,
      cookie: sharedCookie(groupId),
      match,
      actions: [{ type: 'group', id: parseGroupId(groupId, 'groupId') }],
    },
    marker: markerFlow(groupId, bucketId, p.cookie),
  };
}

/** The marker flow that records `cookie`'s ownership of bucket (G, B). */
function markerFlow(groupId: number, bucketId: number, cookie: string): Flow {
  const [hi, lo] = cookieHalves(cookie);
  const metadata = '0x' + ((BigInt(groupId) << 32n) | BigInt(bucketId)).toString(16);
  return { table: MARKER_TABLE, priority: PATH_PRIORITY, cookie: parseCookie(cookie, 'cookie'), match: { metadata, reg0: hi, reg1: lo }, actions: [{ type: 'drop' }] };
}

const sharedCookie = (groupId: number) => parseCookie(sharedCookieText(groupId), 'cookie');

const out = (port: number): Action => ({ type: 'output', port: parseOfPortNumber(port, 'port') });

/** How hop `index` treats the stream: what it does with it on entry, and (with a VM) after the VM. */
function hopExits(p: FlowPathInputs, index: number): { entry: Exit; afterVm?: Exit } {
  const hop = p.hops[index];
  const isRoot = index === 0;
  const isLeaf = index === p.hops.length - 1;
  const exit: Exit = isLeaf
    ? {
        actions: [
          { type: 'setField', field: 'eth_src', value: parseMac(p.egress.srcMac, 'egress.srcMac') },
          { type: 'setField', field: 'eth_dst', value: parseMac(p.egress.receiverMac, 'egress.receiverMac') },
          { type: 'setField', field: 'ip_dst', value: parseIpv4(p.egress.receiverIp, 'egress.receiverIp') },
          out(hop.outPort),
        ],
      }
    : hop.backup
      ? { ff: { primary: hop.outPort, backup: hop.backup.outPort, tag: backupTag(switchKey(hop), hop.outPort) } }
      : { actions: [out(hop.outPort)] };
  if (hop.vmPort === undefined || isRoot) return { entry: exit };
  const toVm: Action[] = [
    ...(hop.vmMac ? [{ type: 'setField', field: 'eth_dst', value: parseMac(hop.vmMac, 'vmMac') } as Action] : []),
    ...(hop.vmIp ? [{ type: 'setField', field: 'ip_dst', value: parseIpv4(hop.vmIp, 'vmIp') } as Action] : []),
    out(hop.vmPort),
  ];
  return { entry: { actions: toVm }, afterVm: exit };
}

/** The segments of every hop, root first (the primary route; see planSwitches for backups). */
export function planPath(p: FlowPathInputs): HopPlan[] {
  return p.hops.map((hop, index) => {
    const isRoot = index === 0;
    const { entry, afterVm } = hopExits(p, index);
    const segments = afterVm && hop.vmPort !== undefined ? [segment(hop.inPort, entry, p), segment(hop.vmPort, afterVm, p)] : [segment(hop.inPort, entry, p)];
    return { index, hop, isRoot, segments };
  });
}

/** The primary hop index on the switch of a backup hop (a join), or -1 (a transit hop). */
export function joinIndex(p: FlowPathInputs, b: BackupHop): number {
  const key = switchKey(b);
  return p.hops.findIndex((h) => switchKey(h) === key);
}

/** The backup segment of backup hop j: transit in -> out, or the join into its primary hop. */
function backupSegment(p: FlowPathInputs, j: number): SegmentPlan {
  const b = p.backupHops![j];
  const from = p.hops[b.from];
  const tag = backupTag(switchKey(from), from.outPort);
  const relay = p.hops[b.from + 1]?.node ?? '?';
  const at = joinIndex(p, b);
  const exit: Exit = at >= 0 ? hopExits(p, at).entry : { actions: [out(b.outPort!)] };
  return segment(b.inPort, exit, p, { tag, for: relay });
}

/**
 * Everything of the path per switch: the primary hops in path order, then switches only
 * backup routes visit (in backupHops order). Segments are deduplicated by (group, bucket).
 */
export function planSwitches(p: FlowPathInputs): SwitchPlan[] {
  const plans: SwitchPlan[] = planPath(p).map((h) => ({ ...h, key: switchKey(h.hop) }));
  const byKey = new Map(plans.map((h, i) => [h.key, i]));
  (p.backupHops ?? []).forEach((b, j) => {
    const s = backupSegment(p, j);
    const key = switchKey(b);
    let i = byKey.get(key);
    if (i === undefined) {
      const hop: Hop = { node: b.node, connection: b.connection, bridge: b.bridge, inPort: b.inPort, outPort: b.outPort ?? b.inPort, ...(b.neighbours ? { neighbours: b.neighbours } : {}) };
      plans.push({ index: -1, backupIndex: j, hop, isRoot: false, segments: [], key });
      i = plans.length - 1;
      byKey.set(key, i);
    }
    const plan = plans[i];
    if (!plan.segments.some((x) => x.groupId === s.groupId && x.bucketId === s.bucketId)) plans[i] = { ...plan, segments: [...plan.segments, s] };
  });
  return plans;
}

/** Segments of one path that would clone packets: same switch and match, other actions. */
export function planConflicts(plans: readonly SwitchPlan[]): string[] {
  const problems: string[] = [];
  for (const h of plans) {
    for (let i = 0; i < h.segments.length; i++) {
      for (let k = i + 1; k < h.segments.length; k++) {
        const [a, b] = [h.segments[i], h.segments[k]];
        if (a.groupId === b.groupId && a.bucketId !== b.bucketId) {
          problems.push(`${h.hop.node}: ${matchToOfctl(a.match)} would go both to ${actionsToOfctl(a.bucket.actions)} and to ${actionsToOfctl(b.bucket.actions)} (packets cloned)`);
        }
      }
    }
  }
  return problems;
}

function ffText(g: Group): string {
  const [primary, backup, fallback] = g.buckets;
  return `[ff ${g.id}: ${actionsToOfctl(primary.actions)} while port ${primary.watchPort} is live, else ${actionsToOfctl(backup.actions)} while port ${backup.watchPort} is live, else ${actionsToOfctl(fallback.actions)}]`;
}

/** The rules of each hop as text (what preview and outputs show). */
export function describePlan(plans: readonly HopPlan[]): FlowPathInputs['flows'] {
  return plans.map((h) => ({
    node: h.hop.node,
    bridge: h.hop.bridge,
    rules: h.segments.map(
      (s) =>
        `${matchToOfctl(s.match)} -> group:${s.groupId} bucket:${s.bucketId} ${actionsToOfctl(s.bucket.actions)}` +
        (s.ff ? ` ${ffText(s.ff)}` : '') +
        (s.backupFor ? ` (backup around ${s.backupFor})` : ''),
    ),
  }));
}

/** What a switch shows of the VPM state that matters to one hop (from dumps). */
export interface SwitchState {
  readonly groups: readonly DumpedGroup[];
  readonly flows: readonly DumpedFlow[];
}

function sameCookie(a: string, b: string): boolean {
  return BigInt(a) === BigInt(b);
}

function hasSharedFlow(state: SwitchState, s: SegmentPlan): boolean {
  const text = matchToOfctl(s.match);
  return state.flows.some((f) => f.table === 0 && f.priority === s.sharedFlow.priority && sameCookie(String(f.cookie), String(s.sharedFlow.cookie)) && f.matchText === text);
}

/** A group on the switch with this id but another type than ours: refuse rather than corrupt it. */
function checkGroupType(state: SwitchState, id: number, type: 'all' | 'ff', node: string): void {
  const g = state.groups.find((x) => x.id === id);
  if (g && g.type !== type) {
    throw new Error(`${node}: group ${id} exists with type ${g.type}, VPM wants type ${type} there (an id collision with a group VPM did not create): remove that group`);
  }
}

/** The bundle that gives this hop's segments to the path (idempotent). */
export function installOps(plan: HopPlan, state: SwitchState, cookie: string): BundleOps {
  const addGroups: Group[] = [];
  const insertBuckets: NonNullable<BundleOps['insertBuckets']>[number][] = [];
  const add: Flow[] = [];
  const markers = parseMarkers(state.flows);
  const adding = new Set<number>();
  for (const s of plan.segments) {
    checkGroupType(state, s.groupId, 'all', plan.hop.node);
    // The failover group first: the bucket that names it must not dangle.
    if (s.ff) {
      checkGroupType(state, s.ff.id, 'ff', plan.hop.node);
      if (!state.groups.some((g) => g.id === s.ff!.id) && !adding.has(s.ff.id)) {
        addGroups.push(s.ff);
        adding.add(s.ff.id);
      }
    }
    const group = state.groups.find((g) => g.id === s.groupId);
    if (!group && !adding.has(s.groupId)) {
      addGroups.push({ id: parseGroupId(s.groupId, 'groupId'), type: 'all', buckets: [s.bucket] });
      adding.add(s.groupId);
    } else if (group && !group.buckets.some((b) => b.id === s.bucketId)) {
      insertBuckets.push({ groupId: parseGroupId(s.groupId, 'groupId'), type: 'all', buckets: [s.bucket] });
    }
    if ((!group || !hasSharedFlow(state, s)) && !add.some((f) => f.cookie === s.sharedFlow.cookie)) add.push(s.sharedFlow);
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
  const delFf: number[] = [];
  const keepKey = new Set(keep.map((k) => `${k.groupId}/${k.bucketId}`));
  const keepFf = new Set(keep.filter((k) => k.ff).map((k) => k.ff!.id));
  // Buckets still left per group after this step (to know when a group empties).
  const left = new Map<number, Set<number>>(state.groups.map((g) => [g.id, new Set(g.buckets.map((b) => b.id))]));
  const dropFf = (s: SegmentPlan) => {
    if (s.ff && !keepFf.has(s.ff.id) && state.groups.some((g) => g.id === s.ff!.id) && !delFf.includes(s.ff.id)) delFf.push(s.ff.id);
  };
  for (const s of plan.segments) {
    if (keepKey.has(`${s.groupId}/${s.bucketId}`)) continue;
    if (markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && sameCookie(m.owner, cookie))) delStrict.push(s.marker);
    const others = markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && !sameCookie(m.owner, cookie));
    if (others) continue;
    const buckets = left.get(s.groupId);
    if (!buckets) {
      dropFf(s);
      continue;
    }
    if (!buckets.has(s.bucketId)) {
      dropFf(s);
      continue;
    }
    buckets.delete(s.bucketId);
    if (buckets.size === 0) {
      if (hasSharedFlow(state, s)) delStrict.push(s.sharedFlow);
      delGroups.push(s.groupId);
      left.delete(s.groupId);
    } else {
      removeBuckets.push({ groupId: parseGroupId(s.groupId, 'groupId'), bucketId: parseBucketId(s.bucketId, 'bucketId') });
    }
    dropFf(s);
  }
  // The failover groups go after the all-group buckets that name them (bundle order).
  return { delStrict, removeBuckets, delGroups: [...delGroups, ...delFf].map((g) => parseGroupId(g, 'groupId')) };
}

/** What of this hop's part is missing on the switch (empty when intact). */
export function missingParts(plan: HopPlan, state: SwitchState, cookie: string): string[] {
  const markers = parseMarkers(state.flows);
  const missing: string[] = [];
  for (const s of plan.segments) {
    const rule = `${plan.hop.node}: in_port=${s.inPort}${s.backupFor ? ` (backup around ${s.backupFor})` : ''}`;
    const group = state.groups.find((g) => g.id === s.groupId);
    if (!group) missing.push(`${rule}: group ${s.groupId} missing`);
    else if (!group.buckets.some((b) => b.id === s.bucketId)) missing.push(`${rule}: bucket ${s.bucketId} missing from group ${s.groupId}`);
    if (s.ff) {
      const ff = state.groups.find((g) => g.id === s.ff!.id);
      if (!ff) missing.push(`${rule}: fast-failover group ${s.ff.id} missing`);
      else if (ff.type !== 'ff' || s.ff.buckets.some((b) => !ff.buckets.some((x) => x.id === b.id))) missing.push(`${rule}: fast-failover group ${s.ff.id} altered`);
    }
    if (!hasSharedFlow(state, s)) missing.push(`${rule}: flow to group ${s.groupId} missing`);
    if (!markers.some((m) => m.groupId === s.groupId && m.bucketId === s.bucketId && sameCookie(m.owner, cookie))) missing.push(`${rule}: ownership marker missing`);
  }
  return missing;
}

/**
 * Leftovers: what `cookie` owns on the switch that the plan does not name (e.g. parts that
 * could not be removed while the switch was down). Takes back the path's markers there, and
 * the buckets, groups (with their shared flow) and failover groups no other owner names.
 */
export function gcOps(plan: Pick<HopPlan, 'segments'>, state: SwitchState, cookie: string): BundleOps {
  const all = parseMarkers(state.flows);
  const planned = new Set(plan.segments.map((s) => `${s.groupId}/${s.bucketId}`));
  const left = new Map<number, Set<number>>(state.groups.map((g) => [g.id, new Set(g.buckets.map((b) => b.id))]));
  const delStrict: Flow[] = [];
  const delCookies: string[] = [];
  const removeBuckets: NonNullable<BundleOps['removeBuckets']>[number][] = [];
  const delGroups: number[] = [];
  const delFf: number[] = [];
  for (const m of all) {
    if (!sameCookie(m.owner, cookie) || planned.has(`${m.groupId}/${m.bucketId}`)) continue;
    delStrict.push(markerFlow(m.groupId, m.bucketId, cookie));
    if (all.some((o) => o.groupId === m.groupId && o.bucketId === m.bucketId && !sameCookie(o.owner, cookie))) continue;
    const buckets = left.get(m.groupId);
    if (!buckets?.has(m.bucketId)) continue;
    const bucket = state.groups.find((g) => g.id === m.groupId)!.buckets.find((b) => b.id === m.bucketId)!;
    const target = /^group:(\d+)$/.exec(bucket.actionsText);
    if (target && state.groups.some((g) => g.id === Number(target[1]) && g.type === 'ff')) delFf.push(Number(target[1]));
    buckets.delete(m.bucketId);
    if (buckets.size === 0) {
      delCookies.push(sharedCookie(m.groupId));
      delGroups.push(m.groupId);
      left.delete(m.groupId);
    } else removeBuckets.push({ groupId: parseGroupId(m.groupId, 'groupId'), bucketId: parseBucketId(m.bucketId, 'bucketId') });
  }
  return { delCookies: delCookies.map((c) => parseCookie(c, 'cookie')), delStrict, removeBuckets, delGroups: [...delGroups, ...delFf].map((g) => parseGroupId(g, 'groupId')) };
}

/**
 * The switch state after a bundle, as OVS applies it (groups before flows, removals after):
 * lets one bundle both install a path's new part and remove its old part (swapOps), and lets
 * tests follow sequences without a switch.
 */
export function applyOps(state: SwitchState, ops: BundleOps): SwitchState {
  let groups: DumpedGroup[] = state.groups.map((g) => ({ ...g, buckets: [...g.buckets] }));
  let flows: DumpedFlow[] = [...state.flows];
  const dumpedBucket = (b: Bucket) => ({
    id: b.id,
    ...(b.watchPort !== undefined ? { watchPort: b.watchPort } : {}),
    ...(b.watchGroup !== undefined ? { watchGroup: b.watchGroup } : {}),
    actionsText: actionsToOfctl(b.actions),
  });
  const dumped = (f: Flow): DumpedFlow => ({ table: f.table ?? 0, priority: f.priority, cookie: f.cookie, matchText: matchToOfctl(f.match), actionsText: actionsToOfctl(f.actions) });
  const sameId = (a: DumpedFlow, b: DumpedFlow) => a.table === b.table && a.priority === b.priority && a.matchText === b.matchText;
  for (const g of ops.addGroups ?? []) {
    if (groups.some((x) => x.id === g.id)) throw new Error(`OFPGMFC_GROUP_EXISTS ${g.id}`);
    groups.push({ id: g.id, type: g.type, buckets: g.buckets.map(dumpedBucket) });
  }
  for (const ins of ops.insertBuckets ?? []) {
    const g = groups.find((x) => x.id === ins.groupId);
    if (!g) throw new Error(`OFPGMFC_UNKNOWN_GROUP ${ins.groupId}`);
    for (const b of ins.buckets) {
      if (g.buckets.some((x) => x.id === b.id)) throw new Error(`OFPGMFC_BUCKET_EXISTS ${b.id}`);
      (g.buckets as DumpedGroup['buckets'][number][]).push(dumpedBucket(b));
    }
  }
  for (const c of ops.delCookies ?? []) flows = flows.filter((f) => BigInt(f.cookie) !== BigInt(c));
  for (const f of ops.delStrict ?? []) {
    const d = dumped(f);
    flows = flows.filter((x) => !(sameId(x, d) && BigInt(x.cookie) === BigInt(d.cookie)));
  }
  for (const f of ops.add ?? []) {
    const d = dumped(f);
    const target = /group:(\d+)/.exec(d.actionsText);
    if (target && !groups.some((g) => g.id === Number(target[1]))) throw new Error(`OFPBAC_BAD_OUT_GROUP ${target[1]}`);
    flows = [...flows.filter((x) => !sameId(x, d)), d];
  }
  for (const r of ops.removeBuckets ?? []) {
    const g = groups.find((x) => x.id === r.groupId);
    if (!g) throw new Error(`OFPGMFC_UNKNOWN_GROUP ${r.groupId}`);
    if (!g.buckets.some((b) => b.id === r.bucketId)) throw new Error(`OFPGMFC_UNKNOWN_BUCKET ${r.bucketId}`);
    groups = groups.map((x) => (x.id === r.groupId ? { ...x, buckets: x.buckets.filter((b) => b.id !== r.bucketId) } : x));
  }
  for (const id of ops.delGroups ?? []) {
    groups = groups.filter((g) => g.id !== id);
    // OVS deletes the flows that output to a deleted group.
    flows = flows.filter((f) => f.actionsText !== `group:${id}`);
  }
  return { groups, flows };
}

/** Two bundles' operations as one (install parts first, removals last: see ofctl's bundle order). */
export function mergeOps(a: BundleOps, b: BundleOps): BundleOps {
  const cat = <K extends keyof BundleOps>(k: K) => [...((a[k] ?? []) as unknown[]), ...((b[k] ?? []) as unknown[])] as NonNullable<BundleOps[K]>;
  return {
    addGroups: cat('addGroups'),
    insertBuckets: cat('insertBuckets'),
    delCookies: cat('delCookies'),
    delStrict: cat('delStrict'),
    modify: cat('modify'),
    add: cat('add'),
    removeBuckets: cat('removeBuckets'),
    delGroups: cat('delGroups'),
  };
}

/**
 * ONE bundle that gives the switch the new plan's segments and takes away the old plan's
 * (except what the new one keeps): no moment with both (clones) or neither (loss).
 */
export function swapOps(next: HopPlan | undefined, prev: HopPlan | undefined, state: SwitchState, cookie: string): BundleOps {
  const install = next ? installOps(next, state, cookie) : {};
  if (!prev) return install;
  const after = applyOps(state, install);
  return mergeOps(install, removeOps(prev, after, cookie, next?.segments ?? []));
}

/** flowToOfctl re-exported for messages. */
export const flowText = (f: Flow) => flowToOfctl(f, 'add');
