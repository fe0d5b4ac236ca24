/**
 * FlowPath's segments: per hop, what a path needs on the switch (in_port + stream match ->
 * actions, through a shared all-group and its bucket, with a marker), and the path's parts
 * merged per switch with the routes around relays (see plan.ts for the scheme). Pure; works on
 * the typed path (spec.ts), parsed once from the stored inputs.
 */
import type { Action, Flow, Match } from '../ovs/flow';
import { actionsToOfctl, matchToOfctl } from '../ovs/flow';
import type { Group } from '../ovs/group';
import type { Bucket } from '../ovs/group';
import { parseBucketId, parseGroupId, type Mac, type OfPortNumber } from '../ovs/values';
import {
  BACKUP_PRIORITY,
  FF_BACKUP_BUCKET,
  FF_FALLBACK_BUCKET,
  FF_PRIMARY_BUCKET,
  PATH_PRIORITY,
  backupTag,
  bucketIdFor,
  ffGroupId,
  groupIdFor,
  markerFlow,
  sharedCookie,
  switchKey,
} from './ids';
import { parsePath, type PathBackupHop, type PathHop, type PathSpec } from './spec';
import type { BackupHop, FlowPathInputs } from './types';

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
  readonly hop: PathHop;
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
type Exit = { readonly actions: Action[] } | { readonly ff: { readonly primary: OfPortNumber; readonly backup: OfPortNumber; readonly tag: Mac } };

const FF_BUCKET = {
  primary: parseBucketId(FF_PRIMARY_BUCKET, 'bucketId'),
  backup: parseBucketId(FF_BACKUP_BUCKET, 'bucketId'),
  fallback: parseBucketId(FF_FALLBACK_BUCKET, 'bucketId'),
};

const out = (port: OfPortNumber): Action => ({ type: 'output', port });

function streamMatch(inPort: OfPortNumber, stream: PathSpec['stream'], tag?: Mac): Match {
  return {
    inPort,
    ...(tag ? { dlSrc: tag } : {}),
    dlType: 'ip',
    nwProto: 17,
    udpDst: stream.udpDst,
    ...(stream.srcIp ? { nwSrc: stream.srcIp } : {}),
  };
}

function segment(inPort: OfPortNumber, exit: Exit, p: PathSpec, backup?: { tag: Mac; for: string }): SegmentPlan {
  const match = streamMatch(inPort, p.stream, backup?.tag);
  const groupId = groupIdFor(inPort, matchToOfctl(match));
  let actions: Action[];
  let ff: Group | undefined;
  if ('ff' in exit) {
    const { primary, backup: alt, tag } = exit.ff;
    const id = parseGroupId(ffGroupId(groupId, primary, alt, tag), 'ffGroupId');
    ff = {
      id,
      type: 'ff',
      buckets: [
        { id: FF_BUCKET.primary, watchPort: primary, actions: [out(primary)] },
        { id: FF_BUCKET.backup, watchPort: alt, actions: [{ type: 'setField', field: 'eth_src', value: tag }, out(alt)] },
        { id: FF_BUCKET.fallback, watchGroup: parseGroupId(groupId, 'groupId'), actions: [out(primary), { type: 'setField', field: 'eth_src', value: tag }, out(alt)] },
      ],
    };
    actions = [{ type: 'group', id }];
  } else actions = exit.actions;
  const bucketId = bucketIdFor(actionsToOfctl(actions));
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

/** How hop `index` treats the stream: what it does with it on entry, and (with a VM) after the VM. */
function hopExits(p: PathSpec, index: number): { entry: Exit; afterVm?: Exit } {
  const hop = p.hops[index];
  const isRoot = index === 0;
  const isLeaf = index === p.hops.length - 1;
  const exit: Exit = isLeaf
    ? {
        actions: [
          { type: 'setField', field: 'eth_src', value: p.egress.srcMac },
          { type: 'setField', field: 'eth_dst', value: p.egress.receiverMac },
          { type: 'setField', field: 'ip_dst', value: p.egress.receiverIp },
          out(hop.outPort),
        ],
      }
    : hop.backup
      ? { ff: { primary: hop.outPort, backup: hop.backup.outPort, tag: backupTag(switchKey(hop), hop.outPort) } }
      : { actions: [out(hop.outPort)] };
  if (hop.vmPort === undefined || isRoot) return { entry: exit };
  const toVm: Action[] = [
    ...(hop.vmMac ? [{ type: 'setField', field: 'eth_dst', value: hop.vmMac } as Action] : []),
    ...(hop.vmIp ? [{ type: 'setField', field: 'ip_dst', value: hop.vmIp } as Action] : []),
    out(hop.vmPort),
  ];
  return { entry: { actions: toVm }, afterVm: exit };
}

function hopPlans(p: PathSpec): HopPlan[] {
  return p.hops.map((hop, index) => {
    const isRoot = index === 0;
    const { entry, afterVm } = hopExits(p, index);
    const segments = afterVm && hop.vmPort !== undefined ? [segment(hop.inPort, entry, p), segment(hop.vmPort, afterVm, p)] : [segment(hop.inPort, entry, p)];
    return { index, hop, isRoot, segments };
  });
}

/** The segments of every hop, root first (the primary route; see planSwitches for backups). */
export function planPath(p: FlowPathInputs): HopPlan[] {
  return hopPlans(parsePath(p));
}

/** The primary hop index on the switch of a backup hop (a join), or -1 (a transit hop). */
export function joinIndex(p: Pick<FlowPathInputs, 'hops'> | Pick<PathSpec, 'hops'>, b: Pick<BackupHop, 'connection' | 'bridge'>): number {
  const key = switchKey(b);
  return p.hops.findIndex((h) => switchKey(h) === key);
}

/** The backup segment of backup hop j: transit in -> out, or the join into its primary hop. */
function backupSegment(p: PathSpec, j: number): SegmentPlan {
  const b = p.backupHops[j];
  const from = p.hops[b.from];
  const tag = backupTag(switchKey(from), from.outPort);
  const relay = p.hops[b.from + 1]?.node ?? '?';
  const at = joinIndex(p, b);
  const exit: Exit = at >= 0 ? hopExits(p, at).entry : { actions: [out(b.outPort!)] };
  return segment(b.inPort, exit, p, { tag, for: relay });
}

/** A switch only backup routes visit: its hop as the route's first hop there (in -> out). */
function backupOnlyHop(b: PathBackupHop): PathHop {
  return { node: b.node, connection: b.connection, bridge: b.bridge, inPort: b.inPort, outPort: b.outPort ?? b.inPort, ...(b.neighbours ? { neighbours: b.neighbours } : {}) };
}

/**
 * Everything of the path per switch: the primary hops in path order, then switches only
 * backup routes visit (in backupHops order). Segments are deduplicated by (group, bucket).
 */
export function planSwitches(inputs: FlowPathInputs): SwitchPlan[] {
  const p = parsePath(inputs);
  const plans: SwitchPlan[] = hopPlans(p).map((h) => ({ ...h, key: switchKey(h.hop) }));
  const byKey = new Map(plans.map((h, i) => [h.key, i]));
  p.backupHops.forEach((b, j) => {
    const s = backupSegment(p, j);
    const key = switchKey(b);
    let i = byKey.get(key);
    if (i === undefined) {
      plans.push({ index: -1, backupIndex: j, hop: backupOnlyHop(b), isRoot: false, segments: [], key });
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
