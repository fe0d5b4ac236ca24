/**
 * FlowPath creates that share switches (the root's, a relay's) go to each switch together
 * (providers/flow-path/switch-commit.ts): an install that arrives while a write to its switch
 * is in flight joins the next write, one bundle for all of them, computed from what the
 * process last saw of the switch. Run on the in-memory switches of test/support/switch-model
 * (OVS's bundle semantics: a bundle the state refuses is refused whole).
 */
import * as pool from '../../../providers/exec/pool';
import * as io from '../../../providers/flow-path/switch-io';
import { missingParts, planSwitches, type SwitchState } from '../../../providers/flow-path/plan';
import { provider } from '../../../providers/flow-path/provider';
import type { FlowPathInputs } from '../../../providers/flow-path/types';
import { checkedFlowPath, routeFlowPathToSwitches } from '../../support/switch-model';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const EMPTY: SwitchState = { groups: [], flows: [] };

let switches: Map<string, SwitchState>;
/** Per host: the bundles written (applied or refused), in order. */
let writes: Map<string, Array<'applied' | 'refused'>>;
let refuseOn: string | undefined;
let processes = 0;

beforeEach(() => {
  switches = new Map();
  writes = new Map();
  refuseOn = undefined;
  routeFlowPathToSwitches<string>({
    reach: (host) => host,
    state: (h) => switches.get(h) ?? EMPTY,
    set: (h, s) => switches.set(h, s),
    beforeBundle: (h) => {
      if (h === refuseOn) throw new Error('OFPBAC_BAD_OUT_PORT');
    },
  });
  // As the connection pool gives: a new handle on every call, one identity per connection;
  // each test is a new process (new connections: it knows nothing of the switches yet).
  const process = ++processes;
  (pool.getRunner as unknown as jest.Mock).mockImplementation((spec: { host: string }) => ({ host: spec.host, identity: `root@${spec.host}#${process}`, run: () => Promise.reject(new Error('no command may run')) }));
  const write = io.writeSwitch as unknown as jest.Mock;
  const model = write.getMockImplementation()!;
  write.mockImplementation(async (...args: Parameters<typeof io.writeSwitch>) => {
    const host = args[0].host;
    await new Promise((r) => setTimeout(r, 5)); // a round trip takes time: others arrive meanwhile
    const w = await model(...args);
    writes.set(host, [...(writes.get(host) ?? []), w.applied ? 'applied' : 'refused']);
    return w;
  });
});
afterEach(() => jest.restoreAllMocks());

/** h1 (root) -> h2 (relay) -> leaf h(10+k): what the bench tree's paths look like. */
function viaRelay(k: number): Record<string, unknown> {
  return {
    pathId: `p5004-leaf${k}`,
    owner: `vpm/dev/path-p5004-leaf${k}`,
    stream: { udpDst: 5004 },
    hops: [
      { node: 'h1', connection: conn(1), bridge: 'br1', inPort: 2, outPort: 101, neighbours: [{ ip: '10.250.0.2', mac: '02:56:50:00:00:02' }] },
      { node: 'h2', connection: conn(2), bridge: 'br1', inPort: 101, outPort: 200 + k, neighbours: [{ ip: `10.250.1.${k}`, mac: '02:56:50:00:01:01' }] },
      { node: `h${10 + k}`, connection: conn(10 + k), bridge: 'br1', inPort: 101, outPort: 1 },
    ],
    egress: { receiverIp: '10.250.0.201', receiverMac: '02:56:52:00:00:01', srcMac: '02:56:50:00:00:03' },
  };
}

function intact(p: FlowPathInputs): string[] {
  return planSwitches(p).flatMap((h) => missingParts(h, switches.get(h.hop.connection.host) ?? EMPTY, p.cookie));
}

describe('paths sharing the root and a relay, created one after another (as the engine frees its slots)', () => {
  it('every write after the first goes through at once: the process remembers each switch per connection, whatever handle it uses', async () => {
    for (let k = 0; k < 4; k++) await provider.create!(await checkedFlowPath(viaRelay(k)));
    for (const shared of ['192.0.2.1', '192.0.2.2']) expect(writes.get(shared)).toEqual(['applied', 'applied', 'applied', 'applied']);
  });
});

describe('paths sharing the root and a relay, created at once', () => {
  it('each shared switch gets at most two writes for eight paths (the first path alone, or not even that, then all the others together); no bundle refused; every path intact', async () => {
    const paths = await Promise.all(Array.from({ length: 8 }, (_, k) => checkedFlowPath(viaRelay(k))));
    await Promise.all(paths.map((p) => provider.create!(p)));
    for (const p of paths) expect(intact(p)).toEqual([]);
    // 8 paths: one or two writes on each shared switch (eight before); one on each leaf.
    for (const shared of ['192.0.2.1', '192.0.2.2']) {
      expect(writes.get(shared)!.length).toBeLessThanOrEqual(2);
      expect(writes.get(shared)!.every((w) => w === 'applied')).toBe(true);
    }
    for (let k = 0; k < 8; k++) expect(writes.get(`192.0.2.${10 + k}`)).toEqual(['applied']);
    // The relay holds one group for the shared match, with a bucket per path's exit.
    const relay = switches.get('192.0.2.2')!;
    const shared = relay.groups.filter((g) => g.type === 'all');
    expect(shared).toHaveLength(1);
    expect(shared[0].buckets).toHaveLength(8);
  });

  it('a switch changed behind the process\'s back (its groups gone): the write is refused and recomputed from the dumps of the same round trip', async () => {
    const first = await checkedFlowPath(viaRelay(0));
    await provider.create!(first);
    // Someone else empties the relay and the root (the process still believes its groups are there).
    switches.set('192.0.2.1', EMPTY);
    switches.set('192.0.2.2', EMPTY);
    const second = await checkedFlowPath(viaRelay(1));
    await provider.create!(second);
    expect(intact(second)).toEqual([]);
    expect(writes.get('192.0.2.2')).toEqual(['applied', 'refused', 'applied']);
    expect(writes.get('192.0.2.1')).toEqual(['applied', 'refused', 'applied']);
  });

  it('a bundle refused for another reason than the switch\'s groups: each path that waited meets its own error, one by one', async () => {
    const paths = await Promise.all(Array.from({ length: 4 }, (_, k) => checkedFlowPath(viaRelay(k))));
    refuseOn = '192.0.2.1';
    const outcomes = await Promise.allSettled(paths.map((p) => provider.create!(p)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const o of outcomes) expect(String((o as PromiseRejectedResult).reason)).toMatch(/OFPBAC_BAD_OUT_PORT/);
    // Rolled back: nothing of any path is left on the relay or the leaves.
    for (const [host, s] of switches) expect({ host, groups: s.groups.length }).toEqual({ host, groups: 0 });
  });
});
