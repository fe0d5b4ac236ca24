/**
 * FlowPath leaves nothing behind (issue 17, item 3), on a model of the switches: the
 * provider's dumps and bundles are routed to plan.ts's applyOps (the OVS bundle semantics the
 * unit tests pin), per host; a host can be made to fail its bundles or be unreachable.
 *
 * The scenario of the issue: path v1 h1-h2-h3; an update to v2 h1-h4-h3 fails at the root
 * after h4 got its part; the program is reverted to v1. Before the fix the update kept the old
 * state, v1's update never looked at h4, delete neither: h4 kept the path's group, bucket,
 * shared flow and marker for ever, and refresh reported nothing.
 */
import * as io from '../../providers/flow-path/switch-io';
import { PartialStateError } from '../../providers/common/partial';
import { provider } from '../../providers/flow-path/provider';
import type { SwitchState } from '../../providers/flow-path/plan';
import type { FlowPathOutputs } from '../../providers/flow-path/types';
import { checkedFlowPath, routeFlowPathToSwitches } from '../support/switch-model';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const addr = (host: string) => Number(host.split('.')[3]);

let switches: Map<number, SwitchState>;
let failing: Set<number>;
let unreachable: Set<number>;
const state = (n: number) => switches.get(n) ?? { groups: [], flows: [] };
/** What carries `cookie` (markers) or belongs to groups only this path used, on host n. */
const owned = (n: number, cookie: string) => state(n).flows.filter((f) => BigInt(f.cookie) === BigInt(cookie));
const isEmpty = (n: number) => state(n).groups.length === 0 && state(n).flows.length === 0;

beforeEach(() => {
  switches = new Map();
  failing = new Set();
  unreachable = new Set();
  routeFlowPathToSwitches({
    reach: (host) => {
      const n = addr(host);
      if (unreachable.has(n)) throw new Error(`cannot connect to root@${host}:22 after 10 attempts`);
      return n;
    },
    state,
    set: (n, s) => switches.set(n, s),
    beforeBundle: (n, host) => {
      if (failing.has(n)) throw new Error(`ovs-ofctl bundle on ${host}: OFPBFC_MSG_FAILED`);
    },
  });
});
afterEach(() => jest.restoreAllMocks());

const hop = (node: string, n: number, inPort: number, outPort: number) => ({ node, connection: conn(n), bridge: 'br1', inPort, outPort });
const v1 = () => ({
  pathId: 'p5004-h3',
  owner: 'vpm/dev/path-p5004-h3',
  stream: { udpDst: 5004 },
  hops: [hop('h1', 1, 2, 102), hop('h2', 2, 101, 103), hop('h3', 3, 102, 1)],
  egress: { receiverIp: '10.250.0.201', receiverMac: '02:56:52:00:00:01', srcMac: '02:56:50:00:00:03' },
});
const v2 = () => ({ ...v1(), hops: [hop('h1', 1, 2, 104), hop('h4', 4, 101, 103), hop('h3', 3, 104, 1)] });

const checked = checkedFlowPath;

/** The outputs the engine stores from a PartialStateError (its properties without __provider). */
const stored = (e: PartialStateError) => {
  const { __provider: _p, ...outs } = e.properties;
  return outs as unknown as FlowPathOutputs;
};

/** v1 created, then an update to v2 that fails at the root (h1) after h4 got its part. */
async function failedUpdate(): Promise<{ id: string; outs: FlowPathOutputs; err: PartialStateError }> {
  const created = (await provider.create!(await checked(v1()))) as { id: string; outs: FlowPathOutputs };
  failing.add(1);
  const err = (await provider.update!(created.id, created.outs, { ...(await checked(v2())), __provider: 'p' } as never).catch((e: unknown) => e)) as PartialStateError;
  failing.delete(1);
  return { id: created.id, outs: created.outs, err };
}

describe('a failed update records the switches it touched', () => {
  it('the update fails, h4 holds parts of the path, and the recorded state names h4', async () => {
    const { outs, err } = await failedUpdate();
    expect(err).toBeInstanceOf(PartialStateError);
    expect(err.message).toMatch(/updating path p5004-h3 failed: .*OFPBFC_MSG_FAILED/);
    expect(owned(4, outs.cookie).length).toBeGreaterThan(0); // the stranded part
    const rec = stored(err);
    expect(rec.touched!.map((s) => s.node).sort()).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect(rec.missing[0]).toMatch(/^update failed part way/);
    expect(rec.hops.map((h) => h.node)).toEqual(['h1', 'h2', 'h3']); // still the old version
  });

  it('refresh reports the extra parts on h4 as drift', async () => {
    const { id, err } = await failedUpdate();
    const r = await provider.read!(id, { ...stored(err), missing: [] });
    const missing = (r.props as FlowPathOutputs).missing;
    // h4: v2's whole part; h3: v2's rule for in_port 104 beside v1's (intact) one.
    expect(missing).toEqual([
      'h3: leftover of this path (not in its plan): 1 ownership marker(s), 1 group(s), 1 shared flow(s)',
      'h4: leftover of this path (not in its plan): 1 ownership marker(s), 1 group(s), 1 shared flow(s)',
    ]);
  });

  it('the program reverted to v1: the next update sweeps h4 clean; h1-h2-h3 exactly v1', async () => {
    const { id, outs, err } = await failedUpdate();
    const before = new Map([1, 2, 3].map((n) => [n, JSON.stringify(state(n))]));
    const r = await provider.update!(id, stored(err), await checked(v1()));
    expect(isEmpty(4)).toBe(true);
    // A fresh create of v1 on empty switches gives the same tables as what is left on h1..h3.
    const again = new Map(switches);
    switches = new Map();
    await provider.create!(await checked(v1()));
    for (const n of [1, 2, 3]) expect(JSON.stringify(state(n))).toBe(JSON.stringify(again.get(n)));
    expect(before.size).toBe(3);
    expect((r.outs as FlowPathOutputs).touched!.map((s) => s.node).sort()).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect(owned(4, outs.cookie)).toEqual([]);
  });

  it('destroy after the failed update: every switch ever touched is empty', async () => {
    const { id, err } = await failedUpdate();
    await provider.delete!(id, stored(err));
    for (const n of [1, 2, 3, 4]) expect({ n, empty: isEmpty(n) }).toEqual({ n, empty: true });
  });

  it('a sweep that cannot reach a host names it (LEFT BEHIND), the others are still swept', async () => {
    const { id, err } = await failedUpdate();
    unreachable.add(4);
    const e = await provider.delete!(id, stored(err)).catch((x: unknown) => x);
    expect(String(e)).toMatch(/could not be swept and are LEFT BEHIND on: h4 \(bridge br1\): cannot connect to root@192.0.2.4/);
    for (const n of [1, 2, 3]) expect(isEmpty(n)).toBe(true);
  });
});

describe('the sweep costs nothing in the common case', () => {
  it('a clean delete reads each switch once (the sweep rides on the removal bundle)', async () => {
    const created = (await provider.create!(await checked(v1()))) as { id: string; outs: FlowPathOutputs };
    const dumps = io.readSwitch as unknown as jest.SpyInstance;
    dumps.mockClear();
    await provider.delete!(created.id, created.outs);
    expect(dumps.mock.calls.map((c) => (c[0] as { host: string }).host).sort()).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    for (const n of [1, 2, 3]) expect(isEmpty(n)).toBe(true);
  });
});

describe('a create over an earlier life of the same path', () => {
  it('takes back what that life left on its switches: the marker table read after its bundle names it', async () => {
    // v2 was created, then forgotten by the state (its delete never reached the switches);
    // v1 has the same owner, so the same cookie: on h1 v2's bucket shares v1's group (the same
    // match), on h3 v2's group is one v1 never adds, so v1's bundle there goes through.
    await provider.create!(await checked(v2()));
    const earlier = owned(3, (await checked(v2())).cookie).length;
    expect(earlier).toBeGreaterThan(0);
    await provider.create!(await checked(v1()));
    const left = new Map([1, 2, 3].map((n) => [n, JSON.stringify(state(n))]));
    switches = new Map();
    await provider.create!(await checked(v1()));
    // h1..h3 hold exactly what a create of v1 on empty switches leaves (h4 is not v1's: the
    // create does not look there; refresh and the next update do, as above).
    for (const n of [1, 2, 3]) expect({ n, state: left.get(n) }).toEqual({ n, state: JSON.stringify(state(n)) });
  });
});

describe('create rolls back and reports what it could not', () => {
  it('the root refuses its bundle: the non-root parts are taken back', async () => {
    failing.add(1);
    await expect(provider.create!(await checked(v1()))).rejects.toThrow(/OFPBFC_MSG_FAILED/);
    for (const n of [1, 2, 3]) expect(isEmpty(n)).toBe(true);
  });

  it('and a host that dies before the rollback is named with what is left', async () => {
    failing.add(1);
    const reads = io.readSwitch as unknown as jest.SpyInstance;
    const real = reads.getMockImplementation()!;
    // h3 answers the install (one write, with the marker table after it), then goes away: its first
    // read is the rollback's.
    reads.mockImplementation(async (r: { host: string }, ...rest: unknown[]) => {
      if (addr(r.host) === 3) throw new Error('cannot connect to root@192.0.2.3:22 after 10 attempts');
      return real(r, ...rest);
    });
    const e = await provider.create!(await checked(v1())).catch((x: unknown) => x);
    expect(String(e)).toMatch(/creating path p5004-h3 failed: .*OFPBFC_MSG_FAILED/);
    expect(String(e)).toMatch(/rollback incomplete: .*LEFT BEHIND on: h3 \(bridge br1\): cannot connect to root@192.0.2.3/);
    expect(isEmpty(2)).toBe(true);
    expect(isEmpty(3)).toBe(false);
  });
});
