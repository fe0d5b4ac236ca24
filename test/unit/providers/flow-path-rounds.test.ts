/**
 * FlowPath's round trips (issue 18, items 2 and 3), through the real batches (exec runBatch,
 * answered step by step by a RecordingRunner per host):
 *   create of an N-hop path = 2 rounds (every hop but the root at once, then the root), ONE
 *   round trip per host (its neighbours, one optimistic bundle, the dumps after it);
 *   read = 1 round trip per host; delete = the root first, then the rest at once.
 * Each host answers from a state of its own (the dumps are printed as OVS prints them, from a
 * SwitchState), so a switch that already holds a group of the path (one shared with another
 * path) shows the fallback: the bundle refused, then read-modify-write under the switch's lock.
 */
import * as pool from '../../../providers/exec/pool';
import * as appctl from '../../../providers/ovs/appctl';
import { RecordingRunner, type RecordedCall } from '../../../providers/exec/recording';
import { REUSE_WINDOW_MS } from '../../../providers/exec/shared-reads';
import { provider } from '../../../providers/flow-path/provider';
import { applyOps, installOps, planSwitches, type SwitchState } from '../../../providers/flow-path/plan';
import type { FlowPathInputs, FlowPathOutputs } from '../../../providers/flow-path/types';
import { checkedFlowPath } from '../../support/switch-model';
import { answerOvs, modelHost } from '../../support/ovs-model';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const addr = (host: string) => Number(host.split('.')[3]);
const EMPTY: SwitchState = { groups: [], flows: [] };

/** A switch's state as `dump-groups` / `dump-flows --no-stats` print it. */
function groupsText(s: SwitchState): string {
  const lines = s.groups.map(
    (g) =>
      ` group_id=${g.id},type=${g.type}` +
      g.buckets.map((b) => `,bucket=bucket_id:${b.id}${b.watchPort !== undefined ? `,watch_port:${b.watchPort}` : ''}${b.watchGroup !== undefined ? `,watch_group:${b.watchGroup}` : ''},actions=${b.actionsText}`).join(''),
  );
  return ['OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):', ...lines].join('\n') + '\n';
}
function flowsText(s: SwitchState): string {
  return s.flows.map((f) => ` cookie=${f.cookie}, table=${f.table}, priority=${f.priority}${f.matchText ? `,${f.matchText}` : ''} actions=${f.actionsText}`).join('\n') + '\n';
}

interface Event {
  readonly host: number;
  readonly batch: number | undefined;
  readonly at: 'start' | 'end';
  readonly argv: readonly string[];
}

let events: Event[];
let runners: Map<number, RecordingRunner>;
/** What each host's dumps print (default: nothing of any path). */
let states: Map<number, SwitchState>;
/** Answers for a bundle on a host (default: accepted). */
let bundleAnswer: (host: number, call: RecordedCall) => { exitCode: number; stderr?: string } | undefined;

const tick = () => new Promise((r) => setTimeout(r, 2));

beforeEach(() => {
  events = [];
  runners = new Map();
  states = new Map();
  bundleAnswer = () => undefined;
  jest.spyOn(appctl, 'tnlNeighRelease').mockResolvedValue({ removed: [], stillUsed: [], left: [] });
  jest.spyOn(pool, 'getRunner').mockImplementation((spec) => {
    const n = addr(spec.host);
    let r = runners.get(n);
    if (!r) {
      r = new RecordingRunner({
        host: spec.host,
        handler: async (call) => {
          events.push({ host: n, batch: call.batch, at: 'start', argv: call.argv });
          await tick(); // a host takes time: concurrent round trips overlap
          events.push({ host: n, batch: call.batch, at: 'end', argv: call.argv });
          const a = call.argv;
          // A read lists the host whole (ovs/host-view.ts): its rows (an empty host here) and br0's flows.
          if (a[0] === 'ovs-vsctl') return answerOvs(modelHost({ mac: '02:56:50:00:00:99' }), a) ?? new Error(`unexpected ${JSON.stringify(a)}`);
          if (a.includes('dump-flows') && a.includes('br0')) return { stdout: '' };
          if (a.includes('dump-groups')) return { stdout: groupsText(states.get(n) ?? EMPTY) };
          if (a.includes('dump-flows')) return { stdout: flowsText(states.get(n) ?? EMPTY) };
          if (a.includes('bundle') || a.includes('--bundle')) return bundleAnswer(n, call) ?? {};
          if (a[0] === 'ovs-appctl' && a[1] === 'tnl/neigh/set') return {};
          throw new Error(`unexpected command ${JSON.stringify(a)}`);
        },
      });
      runners.set(n, r);
    }
    return r;
  });
});
afterEach(() => jest.restoreAllMocks());

/** A chain h1 -> ... -> hN (h1 the root), each hop seeding its next hop's neighbour entry. */
function chain(n: number, owner = 'vpm/dev/path-p5004-chain'): Record<string, unknown> {
  const hops = Array.from({ length: n }, (_, i) => ({
    node: `h${i + 1}`,
    connection: conn(i + 1),
    bridge: 'br1',
    inPort: i === 0 ? 2 : 101,
    outPort: i === n - 1 ? 1 : 102,
    ...(i < n - 1 ? { neighbours: [{ ip: `10.250.0.${i + 2}`, mac: `02:56:50:00:00:0${(i + 2) % 10}` }] } : {}),
  }));
  return {
    pathId: `p5004-h${n}`,
    owner,
    stream: { udpDst: 5004 },
    hops,
    egress: { receiverIp: '10.250.0.201', receiverMac: '02:56:52:00:00:01', srcMac: '02:56:50:00:00:03' },
  };
}

const roundTrips = () => new Map([...runners].map(([n, r]) => [n, r.roundTrips]));
const first = (host: number, from = 0) => events.findIndex((e, i) => i >= from && e.host === host && e.at === 'start');
const last = (host: number) => events.map((e, i) => (e.host === host && e.at === 'end' ? i : -1)).reduce((a, b) => Math.max(a, b), -1);

/** What the path's create leaves on each switch of `p` (the state its bundles produce). */
function installed(p: FlowPathInputs): Map<number, SwitchState> {
  return new Map(planSwitches(p).map((h) => [addr(h.hop.connection.host), applyOps(EMPTY, installOps(h, EMPTY, p.cookie))]));
}

describe.each([2, 4, 8])('a %i-hop path', (n) => {
  const hosts = Array.from({ length: n }, (_, i) => i + 1);
  const nonRoot = hosts.slice(1);

  it('create: every hop but the root in one round (concurrently), then the root; ONE round trip per host', async () => {
    const inputs = await checkedFlowPath(chain(n));
    await provider.create!(inputs);
    expect([...roundTrips()].sort((a, b) => a[0] - b[0])).toEqual(hosts.map((h) => [h, 1]));
    // Round 1: every non-root host started before any of them finished.
    const firstEnd = Math.min(...nonRoot.map((h) => events.findIndex((e) => e.host === h && e.at === 'end')));
    for (const h of nonRoot) expect(first(h)).toBeLessThan(firstEnd);
    // Round 2: the root, after every other host's round trip ended ("sink or swim").
    expect(first(1)).toBeGreaterThan(Math.max(...nonRoot.map(last)));
    // Each host's one batch: its neighbour entries, the bundle, the marker table after it (the
    // full dumps only follow a refused bundle: none here).
    for (const h of hosts) {
      const words = runners.get(h)!.calls.map((c) => (c.argv[0] === 'ovs-appctl' ? c.argv[1] : c.argv.filter((w) => ['bundle', '--bundle', 'dump-groups', 'dump-flows', 'table=250'].includes(w)).join(' ')));
      expect(words).toEqual([...(h < n ? ['tnl/neigh/set'] : []), 'bundle', 'dump-flows table=250']);
      for (const c of runners.get(h)!.calls) expect(c.options?.trace?.tag).toBe('path');
    }
    // The optimistic bundle adds the groups, the shared flows and the markers in one go.
    const rootBundle = runners.get(1)!.calls.find((c) => c.argv.includes('bundle'))!;
    expect(rootBundle.stdin).toMatch(/^group add group_id=\d+,type=all,bucket=bucket_id:\d+,actions=output:102\nflow add .*\nflow add .*table=250,.*\n$/);
  });

  it('read: ONE round trip per host', async () => {
    const inputs = await checkedFlowPath(chain(n));
    const created = (await provider.create!(inputs)) as { id: string; outs: FlowPathOutputs };
    states = installed(inputs);
    const before = roundTrips();
    const r = await provider.read!(created.id, created.outs);
    expect((r.props as FlowPathOutputs).missing).toEqual([]);
    for (const h of hosts) expect(runners.get(h)!.roundTrips - before.get(h)!).toBe(1);
  });

  it('a refresh dumps each switch once: 6 reads of paths through it, at once and after, ONE round trip per host; a change through VPM or the window ends it', async () => {
    const inputs = await checkedFlowPath(chain(n));
    const created = (await provider.create!(inputs)) as { id: string; outs: FlowPathOutputs };
    states = installed(inputs);
    const since = (before: Map<number, number>) => hosts.map((h) => runners.get(h)!.roundTrips - before.get(h)!);
    let before = roundTrips();
    const reads = await Promise.all(Array.from({ length: 5 }, () => provider.read!(created.id, created.outs)));
    reads.push(await provider.read!(created.id, created.outs));
    for (const r of reads) expect((r.props as FlowPathOutputs).missing).toEqual([]);
    expect(since(before)).toEqual(hosts.map(() => 1));
    // A delete through VPM: the next read dumps again, and sees it.
    await provider.delete!(created.id, created.outs);
    states = new Map(); // what the delete's bundles left (this model does not apply them)
    before = roundTrips();
    expect(((await provider.read!(created.id, created.outs)).props as FlowPathOutputs).missing).not.toEqual([]);
    expect(since(before)).toEqual(hosts.map(() => 1));
    // Past the window, a read dumps again even when nothing went through VPM.
    before = roundTrips();
    const later = Date.now() + REUSE_WINDOW_MS + 1;
    jest.spyOn(Date, 'now').mockImplementation(() => later);
    await provider.read!(created.id, created.outs);
    expect(since(before)).toEqual(hosts.map(() => 1));
  });

  it('delete: the root first (the stream stops at the source), then the rest at once; a read and a bundle per host', async () => {
    const inputs = await checkedFlowPath(chain(n));
    const created = (await provider.create!(inputs)) as { id: string; outs: FlowPathOutputs };
    states = installed(inputs);
    const before = roundTrips();
    const from = events.length;
    await provider.delete!(created.id, created.outs);
    for (const h of hosts) expect(runners.get(h)!.roundTrips - before.get(h)!).toBe(2);
    const rootEnd = last(1);
    for (const h of nonRoot) expect(first(h, from)).toBeGreaterThan(rootEnd);
    const bundles = runners.get(1)!.calls.filter((c, i) => i > 0 && c.argv.includes('bundle'));
    expect(bundles.at(-1)!.stdin).toMatch(/flow delete_strict .*table=250,/);
    expect(bundles.at(-1)!.stdin).toMatch(/group delete group_id=\d+/);
    if (n > 2) {
      const firstEnd = Math.min(...nonRoot.map((h) => events.findIndex((e, i) => i >= from && e.host === h && e.at === 'end')));
      for (const h of nonRoot) expect(first(h, from)).toBeLessThan(firstEnd);
    }
  });
});

describe('a switch that already holds one of the path\'s groups', () => {
  it('a shared root group: the optimistic bundle is refused, and the root is installed read-modify-write from the dump of the same round trip (one more bundle there only)', async () => {
    const other = await checkedFlowPath({ ...chain(2, 'vpm/dev/path-other'), hops: (chain(2).hops as Array<Record<string, unknown>>).map((h, i) => (i === 0 ? { ...h, outPort: 103 } : h)) });
    const shared = installed(other).get(1)!;
    states.set(1, shared);
    bundleAnswer = (host, call) => {
      // OVS refuses `group add` of a group that exists (the whole bundle).
      if (host === 1 && /^group add/m.test(call.stdin ?? '')) return { exitCode: 1, stderr: 'OFPT_ERROR (OF1.5) (xid=0x2): OFPGMFC_GROUP_EXISTS\n' };
      return undefined;
    };
    const inputs = await checkedFlowPath(chain(2));
    await provider.create!(inputs);
    expect(roundTrips().get(2)).toBe(1);
    expect(roundTrips().get(1)).toBe(2);
    const rootBundles = runners.get(1)!.calls.filter((c) => c.argv.includes('bundle'));
    expect(rootBundles).toHaveLength(2);
    // The second one shares the group: its own bucket in, its marker; the other path's bucket untouched.
    expect(rootBundles[1].stdin).toMatch(/^group insert_bucket group_id=\d+,command_bucket_id=last,bucket=bucket_id:\d+,actions=output:102\n/);
    expect(rootBundles[1].stdin).not.toMatch(/group add|remove_bucket|group delete/);
  });

  it('another path\'s delete arriving while a create\'s write is refused waits for the create\'s retry (the switch\'s lock covers the whole commit): the retry computes from the dumps of the refused write', async () => {
    const other = await checkedFlowPath({ ...chain(2, 'vpm/dev/path-other'), hops: (chain(2).hops as Array<Record<string, unknown>>).map((h, i) => (i === 0 ? { ...h, outPort: 103 } : h)) });
    const otherDone = installed(other);
    states = new Map(otherDone);
    const otherOuts = { ...other, missing: [], providerVersion: 'x' } as unknown as FlowPathOutputs;
    let deletion: Promise<void> | undefined;
    bundleAnswer = (host, call) => {
      if (host === 1 && /^group add/m.test(call.stdin ?? '')) {
        // While this refused write's dumps are under way, the other path's delete asks for the switch.
        deletion ??= provider.delete!('other', otherOuts);
        return { exitCode: 1, stderr: 'OFPT_ERROR (OF1.5) (xid=0x2): OFPGMFC_GROUP_EXISTS\n' };
      }
      return undefined;
    };
    const inputs = await checkedFlowPath(chain(2));
    await provider.create!(inputs);
    await deletion;
    const h1 = runners.get(1)!.calls;
    const reads = new Set(h1.filter((c) => c.batch !== undefined && c.argv.includes('dump-groups') && !h1.some((x) => x.batch === c.batch && x.argv.includes('bundle'))).map((c) => c.batch));
    // Only the delete's read: the create's retry used the dumps of its refused write.
    expect(reads.size).toBe(1);
    const bundles = h1.filter((c) => c.argv.includes('bundle'));
    expect(bundles.map((b) => (/^group add/m.test(b.stdin ?? '') ? 'optimistic' : /insert_bucket/.test(b.stdin ?? '') ? 'insert' : 'delete'))).toEqual(['optimistic', 'insert', 'delete']);
  });

  it('a refusal that is not about the switch\'s groups fails the create as it is, and the create is rolled back', async () => {
    bundleAnswer = (host) => (host === 1 ? { exitCode: 1, stderr: 'OFPT_ERROR (OF1.5) (xid=0x2): OFPBAC_BAD_OUT_PORT\n' } : undefined);
    const inputs = await checkedFlowPath(chain(3));
    // The non-root hops took their part: the rollback's reads see it.
    const done = installed(inputs);
    states.set(2, done.get(2)!);
    states.set(3, done.get(3)!);
    await expect(provider.create!(inputs)).rejects.toThrow(/OFPBAC_BAD_OUT_PORT/);
    // The rollback takes back h2's and h3's parts (a read and a bundle each); h1 holds nothing.
    for (const h of [2, 3]) expect(runners.get(h)!.calls.filter((c) => c.argv.includes('bundle')).at(-1)!.stdin).toMatch(/group delete/);
    expect(runners.get(1)!.calls.filter((c) => c.argv.includes('bundle'))).toHaveLength(1);
  });
});
