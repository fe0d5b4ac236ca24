/**
 * A model of one switch's VPM state (its groups and flows, as dumps show them) and of how OVS
 * applies a bundle to it: lets one bundle both install a path's new part and remove its old
 * part (ops.ts swapOps), and lets tests follow sequences of bundles without a switch.
 */
import { actionsToOfctl, matchToOfctl, type Flow } from '../ovs/flow';
import type { Bucket } from '../ovs/group';
import type { BundleOps, DumpedFlow, DumpedGroup } from '../ovs/ofctl';
import { sameCookie } from './ids';
import type { SegmentPlan } from './segments';

/** What a switch shows of the VPM state that matters to one hop (from dumps). */
export interface SwitchState {
  readonly groups: readonly DumpedGroup[];
  readonly flows: readonly DumpedFlow[];
}

/** The segment's shared flow (table 0, its match, sending to its group) is on the switch. */
export function hasSharedFlow(state: SwitchState, s: SegmentPlan): boolean {
  const text = matchToOfctl(s.match);
  return state.flows.some((f) => f.table === 0 && f.priority === s.sharedFlow.priority && sameCookie(String(f.cookie), String(s.sharedFlow.cookie)) && f.matchText === text);
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

