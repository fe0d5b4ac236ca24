/**
 * FlowPath's bundle operations: from a switch's state (switch-model.ts) and a path's part on
 * it (segments.ts), the one atomic bundle that installs it, removes it leaving other paths'
 * shares, swaps an old part for a new one, or takes back leftovers; and what of a part is
 * missing (refresh). Pure.
 */
import { actionsToOfctl, flowToOfctl, type Flow } from '../ovs/flow';
import type { Group } from '../ovs/group';
import type { BundleOps } from '../ovs/ofctl';
import { parseBucketId, parseCookie, parseGroupId } from '../ovs/values';
import { markerFlow, parseMarkers, sameCookie, sharedCookie } from './ids';
import type { HopPlan, SegmentPlan } from './segments';
import { applyOps, hasSharedFlow, type SwitchState } from './switch-model';

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
