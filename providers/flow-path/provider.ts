/**
 * The FlowPath provider. Order across the path (no packet is ever forwarded into a hop that
 * is not ready, "sink or swim"): install every non-root switch in parallel, then the root (the
 * only way in); remove the root first (the stream stops at the source), then the rest in
 * parallel. Per switch (primary hop plus any backup segments, plan.ts planSwitches), every
 * step is as few round trips as it can be (switch-io.ts; each is ONE command on the host):
 *   create   1: its tunnel neighbours, ONE bundle, and the marker table after it, shared with
 *            the other paths' creates waiting for the same switch (switch-commit.ts: one write
 *            carries all their parts). The bundle is computed from the groups this process
 *            believes are on the switch (none, the first time) and checks itself: OVS applies
 *            a bundle atomically and refuses a `group add` of a group that exists, an
 *            `insert-buckets` of a bucket that exists or into a missing group. Refused (the
 *            switch is shared with another process's paths, or holds parts of an earlier life
 *            of this path), it is recomputed from the dumps the same round trip makes only
 *            then: one more bundle. First datagram after 2 round trips (non-root hops, then
 *            the root), 1 command per host, fewer than one per path on a shared switch.
 *   read     1: both dumps.
 *   delete / update   per switch: read (with the neighbours to seed, on update), then one
 *            bundle, under the switch's lock; then the neighbour release (below).
 *
 * Update (e.g. the tree routes around a failed relay): 1. new parts on non-root switches,
 * additively, except segments that replace an old segment's bucket in the same group; 2. those
 * replacements, one atomic bundle per switch (new bucket in, old bucket out), leaf side first;
 * 3. the root in ONE bundle (new in, old out: no clone, no gap); 4. old parts elsewhere.
 * A switch whose ovs-vswitchd is gone (a dead relay) holds no flows: removing from it is a no-op.
 *
 * Sweep (touched.ts): the state keeps every switch any version of the path touched, and what
 * this path owns there and its plan does not name is taken back by cookie: by delete on every
 * one of them (on the plan's switches in the same bundle as the removal); by update on those
 * neither version names, and on all of them when the last step failed or refresh reported
 * leftovers (its `missing` is not empty). Refresh reports leftovers as drift. A failed update
 * still records the switches it touched (PartialStateError), so the next up or destroy sweeps
 * them. The common case costs no extra dump: on a userspace datapath a dump holds up forwarding. A failed
 * create rolls back and names what it could not remove (common/rollback.ts).
 *
 * Tunnel neighbours: the entries a path seeds (`tnl/neigh/set` on br0) are released by delete,
 * and by update on switches where the new version no longer seeds them; an entry stays while
 * any tunnel on that host still sends to its IP, and the cache is flushed only when no tunnel
 * on the host uses it (`tnlNeighRelease`).
 */
import type * as pulumi from '@pulumi/pulumi';
import { z } from 'zod';
import { checkWith, containsUnknown, type CheckFailure } from '../common/check';
import { joinConnection } from '../common/connection-input';
import { cookieFor, keepOwner } from '../common/owner';
import { progressSink } from '../common/progress';
import { PROVIDER_VERSION } from '../common/version';
import * as schemas from '../common/schemas';
import { type CommandRunner, getRunner, hostLockKey, RemoteCommandError, withHostLock } from '../exec';
import { tnlNeighRelease, isStateConflict, parseBridgeName, parseIpv4, type BundleOps } from '../ovs';
import { UNDERLAY_BRIDGE, applySwitch as applyBundleTo, firstPerIp, readSwitch, readSwitchShared, type Neighbour } from './switch-io';
import { installOnSwitch, noteSwitch } from './switch-commit';
import { applyOps, describePlan, gcOps, installOps, joinIndex, mergeOps, missingParts, planConflicts, planSwitches, receiverMacFor, removeOps, swapOps, switchKey, type SegmentPlan, type SwitchPlan, type SwitchState } from './plan';
import type { FlowPathInputs, FlowPathOutputs } from './types';
import { leftoverLine, merge, switchesOf, toProps, touchedOf, type Touched } from './touched';
import { PartialStateError } from '../common/partial';
import { RolledBackError } from '../common/rollback';

/** A switch where the path has no part: everything it owns there is a leftover. */
const NO_SEGMENTS = { segments: [] as SegmentPlan[] };

const SECRET_KEYS = ['privateKeys', 'passphrases', 'backupPrivateKeys', 'backupPassphrases', 'touchedPrivateKeys', 'touchedPassphrases'];

const HOP = z
  .object({
    node: schemas.label('node'),
    connection: schemas.connection,
    bridge: schemas.ifaceName('bridge'),
    inPort: schemas.ofport('inPort'),
    outPort: schemas.ofport('outPort'),
    vmPort: schemas.ofport('vmPort').optional(),
    vmMac: schemas.mac('vmMac').optional(),
    vmIp: schemas.ipv4('vmIp').optional(),
    neighbours: z.array(z.object({ ip: schemas.ipv4('neighbours.ip'), mac: schemas.mac('neighbours.mac') }).strict()).optional(),
    backup: z.object({ outPort: schemas.ofport('backup.outPort') }).strict().optional(),
  })
  .strict();

const BACKUP_HOP = z
  .object({
    from: z.number().int('from must be a hop index').min(0, 'from must be a hop index'),
    node: schemas.label('node'),
    connection: schemas.connection,
    bridge: schemas.ifaceName('bridge'),
    inPort: schemas.ofport('inPort'),
    outPort: schemas.ofport('outPort').optional(),
    neighbours: z.array(z.object({ ip: schemas.ipv4('neighbours.ip'), mac: schemas.mac('neighbours.mac') }).strict()).optional(),
  })
  .strict();

const INPUTS = z
  .object({
    pathId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$/, 'pathId must be 1..64 letters, digits, _ . : @ -'),
    stream: z.object({ udpDst: z.number().int().min(1, 'udpDst must be 1..65535').max(65535, 'udpDst must be 1..65535'), srcIp: schemas.ipv4('srcIp').optional() }).strict(),
    hops: z.array(HOP).min(2, 'a path needs at least two hops (the root and the leaf)'),
    privateKeys: z.array(schemas.privateKey.nullable()).optional(),
    passphrases: z.array(schemas.passphrase.nullable()).optional(),
    backupHops: z.array(BACKUP_HOP).optional(),
    backupPrivateKeys: z.array(schemas.privateKey.nullable()).optional(),
    backupPassphrases: z.array(schemas.passphrase.nullable()).optional(),
    down: z.array(schemas.label('down')).optional(),
    egress: z.object({ receiverIp: schemas.ipv4('receiverIp'), receiverMac: schemas.mac('receiverMac').optional(), srcMac: schemas.mac('srcMac') }).strict(),
    owner: schemas.owner.optional(),
    // Computed by check from the owner; a value passed in is ignored, but must look like one.
    cookie: z.string().regex(/^0x[0-9a-f]{1,16}$/, 'cookie is computed by check: leave it out').optional(),
    flows: z.unknown().optional(),
  })
  .strict();

function fullInputs(v: z.infer<typeof INPUTS>): { inputs?: FlowPathInputs; failures: CheckFailure[] } {
  const failures: CheckFailure[] = [];
  const receiverMac = receiverMacFor(v.egress.receiverIp, v.egress.receiverMac);
  if (!receiverMac) failures.push({ property: 'egress.receiverMac', reason: `receiver ${v.egress.receiverIp} is unicast: give its MAC address (egress.receiverMac)` });
  if (v.hops[0].vmPort !== undefined) failures.push({ property: 'hops[0].vmPort', reason: 'the root sends the stream straight on: give the source VM port as hops[0].inPort instead' });
  const seen = new Set<string>();
  v.hops.forEach((h, i) => {
    const key = switchKey(h);
    if (seen.has(key)) failures.push({ property: `hops[${i}]`, reason: `hop ${h.node} repeats a switch already on the path: a path visits each switch once` });
    seen.add(key);
  });
  failures.push(...backupProblems(v));
  if (failures.length) return { failures };
  const inputs: FlowPathInputs = {
    pathId: v.pathId,
    // The owner (project/stack/resource) is in the cookie, so two stacks never share markers.
    cookie: cookieFor(`path:${v.owner ?? v.pathId}`),
    ...(v.owner ? { owner: v.owner } : {}),
    stream: v.stream,
    hops: v.hops.map((h) => ({ ...h, connection: h.connection as unknown as FlowPathInputs['hops'][number]['connection'] })),
    // Protobuf structs cannot carry undefined: absent keys are null, and no list when none is given.
    ...(v.privateKeys?.some((k) => k) ? { privateKeys: v.privateKeys.map((k) => k ?? null) } : {}),
    ...(v.passphrases?.some((k) => k) ? { passphrases: v.passphrases.map((k) => k ?? null) } : {}),
    ...(v.backupHops?.length ? { backupHops: v.backupHops.map((h) => ({ ...h, connection: h.connection as unknown as FlowPathInputs['hops'][number]['connection'] })) } : {}),
    ...(v.backupHops?.length && v.backupPrivateKeys?.some((k) => k) ? { backupPrivateKeys: v.backupPrivateKeys.map((k) => k ?? null) } : {}),
    ...(v.backupHops?.length && v.backupPassphrases?.some((k) => k) ? { backupPassphrases: v.backupPassphrases.map((k) => k ?? null) } : {}),
    ...(v.down?.length ? { down: [...new Set(v.down)].sort() } : {}),
    egress: { receiverIp: v.egress.receiverIp, receiverMac: receiverMac!, srcMac: v.egress.srcMac },
    flows: [],
  };
  try {
    const plans = planSwitches(inputs);
    const conflicts = planConflicts(plans);
    if (conflicts.length) return { failures: conflicts.map((reason) => ({ property: 'backupHops', reason })) };
    inputs.flows = describePlan(plans);
  } catch (e) {
    return { failures: [{ property: 'hops', reason: e instanceof Error ? e.message : String(e) }] };
  }
  return { inputs, failures: [] };
}

/**
 * Backups: on a hop before a relay, routes that leave there and end by joining the path after
 * it. A backup with no route of its own is allowed: it shares the exit of another path of the
 * same stream (StreamingTree keeps those identical, else the stream would be sent twice).
 */
function backupProblems(v: z.infer<typeof INPUTS>): CheckFailure[] {
  const failures: CheckFailure[] = [];
  const last = v.hops.length - 1;
  const key = switchKey;
  const primary = v.hops.map(key);
  const down = new Set(v.down ?? []);
  v.hops.forEach((h, i) => {
    if (down.has(h.node)) failures.push({ property: `hops[${i}].node`, reason: `hop ${h.node} is on a node listed as down: route the path around it` });
  });
  (v.backupHops ?? []).forEach((b, j) => {
    if (down.has(b.node)) failures.push({ property: `backupHops[${j}].node`, reason: `backup hop ${b.node} is on a node listed as down: route around it` });
  });
  v.hops.forEach((h, i) => {
    if (!h.backup) return;
    if (i >= last - 1) failures.push({ property: `hops[${i}].backup`, reason: `hop ${h.node} sends to the ${i === last ? 'receiver' : 'leaf'}: only a hop before a relay can route around it` });
    else if (h.backup.outPort === h.outPort) failures.push({ property: `hops[${i}].backup.outPort`, reason: `backup.outPort ${h.outPort} is the primary outPort: give the tunnel to the backup route's first node` });
  });
  const routes = new Map<number, number[]>();
  (v.backupHops ?? []).forEach((b, j) => {
    const at = `backupHops[${j}]`;
    if (b.from > last || !v.hops[b.from].backup) {
      failures.push({ property: `${at}.from`, reason: `from=${b.from} must be the index of a hop with backup (the hop where the route leaves the path)` });
      return;
    }
    routes.set(b.from, [...(routes.get(b.from) ?? []), j]);
  });
  for (const [from, js] of routes) {
    const seen = new Set<string>();
    js.forEach((j, k) => {
      const b = v.backupHops![j];
      const at = `backupHops[${j}]`;
      const onPath = primary.indexOf(key(b));
      const isLast = k === js.length - 1;
      if (seen.has(key(b))) failures.push({ property: at, reason: `backup hop ${b.node} repeats a switch of its route` });
      seen.add(key(b));
      if (onPath >= 0 && onPath <= from + 1) {
        failures.push({ property: at, reason: `backup hop ${b.node} is on the path at or before the relay ${v.hops[from + 1].node}: a route around it must avoid it and the hops before it` });
      } else if (onPath >= 0 && !isLast) {
        failures.push({ property: at, reason: `backup hop ${b.node} joins the path: it must be the last hop of its route (from=${from})` });
      } else if (onPath >= 0 && b.outPort !== undefined && b.outPort !== v.hops[onPath].outPort) {
        failures.push({ property: `${at}.outPort`, reason: `backup hop ${b.node} joins the path, where the stream goes on as on hop ${onPath}: leave outPort out` });
      } else if (onPath < 0 && isLast) {
        failures.push({ property: at, reason: `the route from hop ${from} ends at ${b.node}, off the path: end it with the hop where it joins the path after ${v.hops[from + 1].node}` });
      } else if (onPath < 0 && b.outPort === undefined) {
        failures.push({ property: `${at}.outPort`, reason: `backup hop ${b.node} is a transit hop of the route: give outPort (the tunnel to the route's next node)` });
      }
    });
  }
  return failures;
}

function runnerFor(p: FlowPathInputs, plan: SwitchPlan): CommandRunner {
  if (plan.index < 0) {
    const j = plan.backupIndex!;
    return getRunner(joinConnection(p.backupHops![j].connection, p.backupPrivateKeys?.[j], p.backupPassphrases?.[j]));
  }
  return getRunner(joinConnection(p.hops[plan.index].connection, p.privateKeys?.[plan.index], p.passphrases?.[plan.index]));
}

/**
 * The lock of ONE switch (host, netns, bridge) for FlowPath's read-modify-writes. A change
 * computed from a dump (remove a bucket, delete a group that looks empty, insert a bucket into
 * a group that exists) is right only while no other path changes the same groups between the
 * dump and the bundle, and paths do share groups: one all-group per segment match (the root's
 * of a stream is shared by every path of its tree, a relay's by the paths through it), one
 * bucket per action list. So two paths' writes to one switch wait for each other: creates'
 * group commits (switch-commit.ts) and deletes' and updates' read-modify-writes alike. Other
 * switches, other bridges and other resources on the host (bridges, tunnels) never wait for it.
 */
function withSwitchLock<T>(sw: SwitchRef, fn: () => Promise<T>): Promise<T> {
  return withHostLock(switchLockKey(sw), fn);
}

type SwitchRef = { connection: SwitchPlan['hop']['connection']; bridge: string };
const switchLockKey = (sw: SwitchRef) => `flow-path|${hostLockKey(sw.connection)}|${sw.bridge}`;

/** How often a read-modify-write is recomputed when the switch refused its bundle (another process changed the groups it read). */
const RMW_ATTEMPTS = 3;

/**
 * A read-modify-write of one switch under its lock: read (seeding `neighbours` in the same
 * round trip), compute the bundle, apply it: 2 round trips. Recomputed from a fresh read when
 * the switch refuses the bundle because its groups changed since the read. With `ifGone`, a
 * switch whose bridge or ovs-vswitchd is gone is left alone (nothing of the path lives there).
 */
async function changeSwitch(
  runner: CommandRunner,
  sw: SwitchRef,
  compute: (state: SwitchState) => BundleOps,
  options: { ifGone?: boolean; neighbours?: readonly Neighbour[] } = {},
): Promise<void> {
  await withSwitchLock(sw, async () => {
    for (let attempt = 1; ; attempt++) {
      let state: SwitchState;
      try {
        state = await readSwitch(runner, sw.bridge, attempt === 1 ? options.neighbours : undefined);
      } catch (err) {
        noteSwitch(runner, sw.bridge, undefined);
        if (options.ifGone && switchIsGone(err)) return;
        throw err;
      }
      const ops = compute(state);
      try {
        await applyBundleTo(runner, sw.bridge, ops);
        noteSwitch(runner, sw.bridge, applyOps(state, ops));
        return;
      } catch (err) {
        noteSwitch(runner, sw.bridge, undefined);
        if (attempt < RMW_ATTEMPTS && err instanceof RemoteCommandError && isStateConflict(`${err.stderr}\n${err.stdout}\n${err.message}`)) continue;
        throw err;
      }
    }
  });
}

/** The bridge is gone, or its ovs-vswitchd is (killed: its socket refuses): no flows live there. */
function switchIsGone(err: unknown): boolean {
  return /not a bridge|no such bridge|is not a bridge|\.mgmt: failed to (open socket|connect) \(Connection refused\)/i.test(String(err));
}

/** The tunnel neighbours the path seeds on a switch (its hop's and its backup hops'), first per IP. */
function neighboursOf(plan: SwitchPlan, p: FlowPathInputs): Neighbour[] {
  return firstPerIp([...(plan.hop.neighbours ?? []), ...(p.backupHops ?? []).filter((b) => switchKey(b) === plan.key).flatMap((b) => b.neighbours ?? [])]);
}

/**
 * Takes back the neighbour entries `olds` seeded on each of its switches that `news` (absent:
 * the path is deleted) does not seed there. `tnlNeighRelease` keeps any entry a tunnel on the
 * host still sends to, which is the common case (paths go before their tunnels), so this is
 * one OVSDB read per switch that seeded neighbours, and a flush only on a host with no tunnel left.
 */
async function releaseNeighbours(olds: FlowPathInputs, news?: FlowPathInputs): Promise<void> {
  // Under the HOST's lock, not the switch's: the neighbour cache is the host's, shared with
  // GreTunnel, and the release is a read-modify-write of it (read which IPs tunnels still send
  // to and the cache, then maybe flush it all); a tunnel created or removed between the read
  // and the flush would be wrong. Setting an entry (create) is a plain write and takes no lock.
  const kept = new Map((news ? planSwitches(news) : []).map((h) => [h.key, new Set(neighboursOf(h, news!).map((n) => n.ip))]));
  const down = new Set([...(olds.down ?? []), ...(news?.down ?? [])]);
  await Promise.all(
    planSwitches(olds).map(async (h) => {
      const ips = neighboursOf(h, olds)
        .map((n) => n.ip)
        .filter((ip) => !kept.get(h.key)?.has(ip));
      if (down.has(h.hop.node) || ips.length === 0) return;
      await withHostLock(h.hop.connection, async () => {
        try {
          const { left } = await tnlNeighRelease(runnerFor(olds, h), ips.map((ip) => ({ bridge: parseBridgeName(UNDERLAY_BRIDGE, 'bridge'), ip: parseIpv4(ip, 'ip') })));
          for (const e of left) {
            progressSink().info(`path ${olds.pathId}: neighbour entry ${e.ip} on ${e.bridge} kept on ${h.hop.node} (OVS cannot delete one entry and a flush would interrupt the tunnels still using the cache; unused, it ages out, and the host's last tunnel flushes it)`);
          }
        } catch (err) {
          // Its ovs-vswitchd is gone: so is its neighbour cache.
          if (switchIsGone(err)) return;
          throw err;
        }
      });
    }),
  );
}

/**
 * A create's step on one switch: ONE round trip in the common case, shared with the other
 * paths' installs waiting for the same switch (switch-commit.ts: the neighbours, one bundle, the
 * marker table after it); one more when the switch was not as this process believed.
 */
async function installSwitch(p: FlowPathInputs, plan: SwitchPlan): Promise<void> {
  const runner = runnerFor(p, plan);
  const state = await installOnSwitch(switchLockKey(plan.hop), runner, plan.hop.bridge, { plan, cookie: p.cookie, neighbours: neighboursOf(plan, p) });
  // Leftovers of an earlier life of this path (same cookie) on this switch, not in its plan:
  // rare (a delete that could not reach the switch). Its markers name them (the groups are
  // only believed); they are taken back from a fresh read, locked.
  if (leftoverLine(plan.hop.node, gcOps(plan, state, p.cookie))) await changeSwitch(runner, plan.hop, (s) => gcOps(plan, s, p.cookie));
}

/**
 * One switch, one bundle, read-modify-write: this path's new part `next` in, its old part
 * `prev` out (either may be absent); the new part's neighbours are seeded in the read.
 */
async function swapSwitch(
  p: FlowPathInputs,
  next: SwitchPlan | undefined,
  prev: SwitchPlan | undefined,
  prevInputs: FlowPathInputs | undefined,
  only?: (s: SegmentPlan) => boolean,
): Promise<void> {
  const target = next ?? prev!;
  const runner = next ? runnerFor(p, next) : runnerFor(prevInputs!, prev!);
  const nextPart = next && only ? { ...next, segments: next.segments.filter(only) } : next;
  const neighbours = nextPart && nextPart.segments.length ? neighboursOf(nextPart, p) : [];
  await changeSwitch(runner, target.hop, (state) => (prev ? swapOps(nextPart, prev, state, p.cookie) : installOps(nextPart!, state, p.cookie)), {
    neighbours,
    // Removing from a switch that is gone: nothing of this path can be left on it.
    ifGone: !next,
  });
}

async function install(p: FlowPathInputs): Promise<void> {
  const plans = planSwitches(p);
  await Promise.all(plans.filter((h) => !h.isRoot).map((h) => installSwitch(p, h)));
  await installSwitch(p, plans[0]);
}

/** Removes the path's part, except what `keep` (the new version of the same path) still uses. */
async function remove(p: FlowPathInputs, keep?: FlowPathInputs, gc = false): Promise<void> {
  const plans = planSwitches(p);
  const keepPlans = new Map((keep ? planSwitches(keep) : []).map((h) => [h.key, h]));
  const down = new Set(p.down ?? []);
  const removeFrom = (h: SwitchPlan) => (down.has(h.hop.node) ? Promise.resolve() : removeSwitch(p, h, keepPlans.get(h.key)?.segments ?? [], gc));
  await removeFrom(plans[0]);
  await Promise.all(plans.filter((h) => !h.isRoot).map(removeFrom));
}

/** With `gc`, leftovers of earlier versions on the switch go in the same bundle (no extra dump). */
async function removeSwitch(p: FlowPathInputs, plan: SwitchPlan, keep: readonly SegmentPlan[], gc = false): Promise<void> {
  await changeSwitch(
    runnerFor(p, plan),
    plan.hop,
    (state) => {
      const ops = removeOps(plan, state, p.cookie, keep);
      return gc ? mergeOps(ops, gcOps({ segments: keep }, applyOps(state, ops), p.cookie)) : ops;
    },
    { ifGone: true },
  );
}

/** Where the new plan puts the switch along the stream (leaf side = higher), for swap order. */
function depth(p: FlowPathInputs, h: SwitchPlan): number {
  if (h.index >= 0) return h.index;
  const b = p.backupHops![h.backupIndex!];
  const j = joinIndex(p, b);
  return j >= 0 ? j : b.from + 0.5;
}

/** The update order of the header: no packet lost, none cloned by this path's own parts. */
async function replace(olds: FlowPathInputs, news: FlowPathInputs): Promise<void> {
  const next = planSwitches(news);
  const prev = new Map(planSwitches(olds).map((h) => [h.key, h]));
  const conflicting = (h: SwitchPlan) => {
    const old = prev.get(h.key);
    return (s: SegmentPlan) => !!old && old.segments.some((o) => o.groupId === s.groupId && o.bucketId !== s.bucketId) && !old.segments.some((o) => o.groupId === s.groupId && o.bucketId === s.bucketId);
  };
  const nonRoot = next.filter((h) => !h.isRoot);
  // 1. Additive parts everywhere but the root: a switch the old version did not use as a
  // create does (one round trip, leftovers taken back), the others read-modify-write.
  await Promise.all(nonRoot.map((h) => (prev.has(h.key) ? swapSwitch(news, h, undefined, undefined, (s) => !conflicting(h)(s)) : installSwitch(news, h))));
  // 2. Bucket replacements, leaf side first (what they send to is ready downstream).
  const swaps = nonRoot.filter((h) => h.segments.some(conflicting(h))).sort((a, b) => depth(news, b) - depth(news, a));
  for (const h of swaps) {
    const old = prev.get(h.key)!;
    const groups = new Set(h.segments.filter(conflicting(h)).map((s) => s.groupId));
    await swapSwitch(news, h, { ...old, segments: old.segments.filter((o) => groups.has(o.groupId)) }, olds);
  }
  // 3. The root: new in, old out, one bundle (a root on another switch: new first, then old).
  const root = next[0];
  const oldRoot = planSwitches(olds)[0];
  if (oldRoot.key === root.key) await swapSwitch(news, root, oldRoot, olds);
  else {
    await swapSwitch(news, root, undefined, undefined);
    await removeSwitch(olds, oldRoot, []);
  }
  // 4. What only the old path used, elsewhere.
  const nextByKey = new Map(next.map((h) => [h.key, h]));
  const down = new Set(news.down ?? []);
  await Promise.all(
    planSwitches(olds)
      .filter((h) => !h.isRoot && h.key !== root.key && !down.has(h.hop.node))
      .map((h) => removeSwitch(olds, h, nextByKey.get(h.key)?.segments ?? [])),
  );
}

async function observe(p: FlowPathOutputs): Promise<string[]> {
  const plans = planSwitches(p);
  const down = new Set(p.down ?? []);
  const planned = new Map(plans.map((h) => [h.key, h]));
  const touched = touchedOf(p);
  const missing = await Promise.all(
    plans.map(async (h) => {
      const runner = runnerFor(p, h);
      try {
        const state = await readSwitchShared(runner, h.hop.bridge);
        const extra = leftoverLine(h.hop.node, gcOps(h, state, p.cookie));
        return [...missingParts(h, state, p.cookie), ...(extra ? [extra] : [])];
      } catch (err) {
        return [`${h.hop.node}: cannot read bridge ${h.hop.bridge}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`];
      }
    }),
  );
  // Switches an earlier version touched and this one does not use: anything owned there is extra.
  const elsewhere = await Promise.all(
    touched.switches.map(async (s, i) => {
      if (planned.has(switchKey(s)) || down.has(s.node)) return [];
      try {
        const state = await readSwitchShared(touchedRunner(touched, i), s.bridge);
        const extra = leftoverLine(s.node, gcOps(NO_SEGMENTS, state, p.cookie));
        return extra ? [extra] : [];
      } catch (err) {
        if (switchIsGone(err)) return [];
        return [`${s.node}: cannot read bridge ${s.bridge} (touched by an earlier version of this path): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`];
      }
    }),
  );
  return [...missing.flat(), ...elsewhere.flat()];
}

function touchedRunner(t: Touched, i: number): CommandRunner {
  return getRunner(joinConnection(t.switches[i].connection, t.privateKeys[i], t.passphrases[i]));
}

/**
 * Takes back, on every touched switch, what this path owns and `keep`'s plan does not name
 * (everything, without `keep`). Every switch is tried; the error names each one that failed.
 */
async function sweep(cookie: string, touched: Touched, keep: FlowPathInputs | undefined, down: readonly string[], skipKeys: ReadonlySet<string> = new Set()): Promise<void> {
  const plans = new Map((keep ? planSwitches(keep) : []).map((h) => [h.key, h]));
  const skip = new Set(down);
  const failed: string[] = [];
  await Promise.all(
    touched.switches.map(async (s, i) => {
      if (skip.has(s.node) || skipKeys.has(switchKey(s))) return;
      try {
        await changeSwitch(touchedRunner(touched, i), s, (state) => gcOps(plans.get(switchKey(s)) ?? NO_SEGMENTS, state, cookie), { ifGone: true });
      } catch (err) {
        failed.push(`${s.node} (bridge ${s.bridge}): ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      }
    }),
  );
  if (failed.length) throw new Error(`parts of this path could not be swept and are LEFT BEHIND on: ${failed.join('; ')}`);
}

export const provider: pulumi.dynamic.ResourceProvider = {
  async check(olds, news) {
    const shape = checkWith(INPUTS, keepOwner(olds, news));
    if (shape.failures.length || !shape.inputs) return shape;
    // Unknown values (preview) passed through unvalidated: keep them, compute nothing.
    if (containsUnknown(shape.inputs)) return shape;
    return fullInputs(shape.inputs as z.infer<typeof INPUTS>);
  },

  async diff(_id, olds: FlowPathOutputs, news: FlowPathInputs) {
    const replaces = olds.pathId !== news.pathId ? ['pathId'] : [];
    const changes =
      replaces.length > 0 ||
      (olds.missing ?? []).length > 0 ||
      olds.providerVersion !== PROVIDER_VERSION ||
      JSON.stringify([olds.stream, olds.hops, olds.egress, olds.flows, olds.privateKeys, olds.passphrases, olds.backupHops ?? [], olds.backupPrivateKeys ?? [], olds.backupPassphrases ?? []]) !==
        JSON.stringify([news.stream, news.hops, news.egress, news.flows, news.privateKeys, news.passphrases, news.backupHops ?? [], news.backupPrivateKeys ?? [], news.backupPassphrases ?? []]);
    return { changes, replaces };
  },

  async create(inputs: FlowPathInputs) {
    const touched = switchesOf(inputs);
    try {
      await install(inputs);
    } catch (err) {
      // Take back what this create installed, on every switch, and say what could not be.
      try {
        await sweep(inputs.cookie, touched, undefined, inputs.down ?? []);
      } catch (undoErr) {
        throw new RolledBackError(
          `creating path ${inputs.pathId} failed: ${err instanceof Error ? err.message : String(err)}\nrollback incomplete: ${(undoErr as Error).message}; ` +
            'run `pulumi up` again once those hosts answer (it converges), or `pulumi destroy`',
          err,
          [],
          [{ what: `path ${inputs.pathId}`, where: (undoErr as Error).message, error: '' }],
        );
      }
      throw err;
    }
    const outs: FlowPathOutputs = { ...inputs, ...toProps(touched), missing: [], providerVersion: PROVIDER_VERSION };
    return { id: `path:${inputs.pathId}`, outs };
  },

  async read(id, props: FlowPathOutputs) {
    const missing = await observe(props);
    return { id, props: { ...props, missing } };
  },

  async update(id, olds: FlowPathOutputs, news: FlowPathInputs) {
    const touched = merge(touchedOf(olds), switchesOf(news));
    try {
      // New state first, swapped in per switch (see the header), then what only the old had,
      // then leftovers of any earlier version anywhere.
      await replace(olds, news);
      // Every touched switch after a failure or reported leftovers; otherwise only those that
      // neither version names (each sweep is a dump per switch: on a userspace datapath a dump
      // holds up forwarding, so the common case adds none).
      const planned = new Set([...planSwitches(olds), ...planSwitches(news)].map((h) => h.key));
      await sweep(news.cookie, touched, news, news.down ?? [], (olds.missing ?? []).length > 0 ? new Set() : planned);
      await releaseNeighbours(olds, news);
    } catch (err) {
      // The hosts hold an unknown mix of both versions: keep every switch touched, and mark
      // the path as not intact so the next up repairs it and sweeps them.
      const msg = err instanceof Error ? err.message : String(err);
      const outs: FlowPathOutputs = { ...olds, ...toProps(touched), missing: [`update failed part way: ${msg.split('\n')[0].slice(0, 300)}`] };
      throw new PartialStateError(`updating path ${news.pathId} failed: ${msg}`, id, outs, news, SECRET_KEYS);
    }
    return { outs: { ...news, ...toProps(touched), missing: [], providerVersion: PROVIDER_VERSION } };
  },

  async delete(_id, props: FlowPathOutputs) {
    // The plan's switches: its parts and any leftovers in one bundle each; then every other
    // switch an earlier version touched. Nothing of this cookie may stay.
    await remove(props, undefined, true);
    await sweep(props.cookie, touchedOf(props), undefined, props.down ?? [], new Set(planSwitches(props).map((h) => h.key)));
    await releaseNeighbours(props);
  },
};
