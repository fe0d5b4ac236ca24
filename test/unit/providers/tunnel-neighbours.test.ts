/**
 * Tunnel neighbour entries go with their owner (issue 17): GreTunnel delete and FlowPath
 * delete/update release the `tnl/neigh` entries they set, never one that another tunnel on
 * the host still sends to, and never by a flush while any tunnel on the host still uses the
 * cache (OVS 3.1 can only flush it all). Each host is a small model (test/support/ovs-model.ts:
 * its OVSDB ports with their remote_ip, its tunnel neighbour cache) answering a
 * RecordingRunner, batch steps included; FlowPath's switch reads and bundles (switch-io) are
 * spied, every OVSDB and neighbour command runs for real against the model.
 */
import * as pool from '../../../providers/exec/pool';
import * as io from '../../../providers/flow-path/switch-io';
import type { CommandRunner } from '../../../providers/exec/runner';
import { RecordingRunner } from '../../../providers/exec/recording';
import { provider as tunnelProvider } from '../../../providers/gre-tunnel/provider';
import { provider as pathProvider } from '../../../providers/flow-path/provider';
import { applyOps, type SwitchState } from '../../../providers/flow-path/plan';
import type { FlowPathInputs, FlowPathOutputs } from '../../../providers/flow-path/types';
import type { GreTunnelOutputs } from '../../../providers/gre-tunnel/types';
import { forgetUnderlayMacs } from '../../../providers/ovs/underlay-macs';
import { answerOvs, modelHost, type ModelHost } from '../../support/ovs-model';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const underlay = (n: number) => `10.250.0.1${n}`;
const mac = (n: number) => `02:56:50:00:00:0${n}`;

interface Host extends ModelHost {
  argvs: string[][];
}
let hosts: Map<string, Host>;
const H = (n: number) => hosts.get(`192.0.2.${n}`)!;
const entries = (n: number) => [...H(n).cache.keys()].sort();
const flushes = (n: number) => H(n).argvs.filter((a) => a[1] === 'tnl/neigh/flush');
let owner = '';
let switches: Map<string, SwitchState>;

beforeEach(() => {
  forgetUnderlayMacs();
  hosts = new Map([1, 2, 3, 4].map((n) => [`192.0.2.${n}`, { ...modelHost({ mac: mac(n) }), bridges: new Map([['br0', {}], ['br1', {}]]), argvs: [] }]));
  switches = new Map();
  jest.spyOn(pool, 'getRunner').mockImplementation(
    (spec) =>
      new RecordingRunner({
        host: spec.host,
        handler: ({ argv }) => {
          const h = hosts.get(spec.host)!;
          h.argvs.push([...argv]);
          const answer = answerOvs(h, argv);
          if (!answer) throw new Error(`unexpected command ${JSON.stringify(argv)}`);
          return answer;
        },
      }),
  );
  const sw = (r: { host: string }) => switches.get(r.host) ?? { groups: [], flows: [] };
  // FlowPath's round trips: the switch is a model, the neighbour entries they seed run for real
  // against the host's cache (as the steps of the batch do).
  const seed = async (r: CommandRunner, neighbours: readonly io.Neighbour[] = []) => {
    for (const n of neighbours) await r.run(['ovs-appctl', 'tnl/neigh/set', 'br0', n.ip, n.mac]);
  };
  jest.spyOn(io, 'readSwitch').mockImplementation(async (r, _br, neighbours) => (await seed(r, neighbours), sw(r)));
  jest.spyOn(io, 'writeSwitch').mockImplementation(async (r, _br, neighbours, ops) => {
    await seed(r, neighbours);
    switches.set(r.host, applyOps(sw(r), ops));
    return { applied: true, markers: sw(r).flows.filter((f) => f.table === 250) };
  });
  jest.spyOn(io, 'applySwitch').mockImplementation(async (r, _br, ops) => void switches.set(r.host, applyOps(sw(r), ops)));
});
afterEach(() => jest.restoreAllMocks());

async function tunnel(x: number, y: number, key?: number): Promise<GreTunnelOutputs> {
  owner = `vpm/dev/gre-h${x}-h${y}${key ? `-k${key}` : ''}`;
  const end = (n: number, to: number) => ({ connection: conn(n), bridge: 'br1', remoteIp: underlay(to), underlayBridge: 'br0', portName: `gre-h${to}${key ? `-k${key}` : ''}` });
  const r = (await tunnelProvider.check!({}, { a: end(x, y), b: end(y, x), owner, ...(key ? { key } : {}) })) as { inputs?: Record<string, unknown>; failures?: unknown[] };
  expect(r.failures ?? []).toEqual([]);
  return ((await tunnelProvider.create!(r.inputs!)) as { outs: GreTunnelOutputs }).outs;
}
const drop = (outs: GreTunnelOutputs) => tunnelProvider.delete!('id', outs);

describe('GreTunnel', () => {
  it('delete of a host\'s last tunnel flushes its cache (a learned entry too: OVS learns it again when used)', async () => {
    H(1).cache.set('10.250.0.77 br0', '02:56:50:00:00:77'); // learned by OVS, no tunnel sends there
    const t = await tunnel(1, 2);
    expect(entries(1)).toEqual(['10.250.0.12 br0', '10.250.0.77 br0']);
    expect(entries(2)).toEqual(['10.250.0.11 br0']);
    await drop(t);
    expect(entries(1)).toEqual([]);
    expect(entries(2)).toEqual([]);
    expect([flushes(1).length, flushes(2).length]).toEqual([1, 1]);
  });

  it('two tunnels sharing a neighbour: removing one leaves the entry (no flush), removing both clears it', async () => {
    const t1 = await tunnel(1, 2, 1);
    const t2 = await tunnel(1, 2, 2);
    await drop(t1);
    expect(entries(1)).toEqual(['10.250.0.12 br0']);
    expect(entries(2)).toEqual(['10.250.0.11 br0']);
    expect([...flushes(1), ...flushes(2)]).toEqual([]);
    await drop(t2);
    expect(entries(1)).toEqual([]);
    expect(entries(2)).toEqual([]);
  });

  it('a relay with two tunnels: removing one never flushes under the other (its entry is left to age out); the last takes all', async () => {
    const t12 = await tunnel(1, 2);
    const t23 = await tunnel(2, 3);
    await drop(t23);
    // h2 still sends to h1: a flush would drop its packets until OVS re-resolves 10.250.0.11.
    expect(entries(2)).toEqual(['10.250.0.11 br0', '10.250.0.13 br0']);
    expect(flushes(2)).toEqual([]);
    expect(entries(3)).toEqual([]);
    await drop(t12);
    expect([1, 2, 3].flatMap(entries)).toEqual([]);
  });

  it('a changed remote replaces the tunnel: the old entry goes with the old resource', async () => {
    const old = await tunnel(1, 2);
    const diff = await tunnelProvider.diff!('id', old, { ...old, a: { ...old.a, remoteIp: '10.250.0.14' } } as never);
    expect(diff.replaces).toContain('a.remoteIp');
  });
});

const hop = (node: string, n: number, inPort: number, outPort: number, next?: number) => ({
  node,
  connection: conn(n),
  bridge: 'br1',
  inPort,
  outPort,
  ...(next ? { neighbours: [{ ip: underlay(next), mac: mac(next) }] } : {}),
});
const path = (via: number) => ({
  pathId: 'p5004-h3',
  owner: 'vpm/dev/path-p5004-h3',
  stream: { udpDst: 5004 },
  hops: [hop('h1', 1, 2, 100 + via, via), hop(`h${via}`, via, 101, 103, 3), hop('h3', 3, 100 + via, 1)],
  egress: { receiverIp: '10.250.0.201', receiverMac: '02:56:52:00:00:01', srcMac: '02:56:50:00:00:03' },
});
async function checked(args: Record<string, unknown>): Promise<FlowPathInputs> {
  const r = (await pathProvider.check!({}, args)) as { inputs?: FlowPathInputs; failures?: unknown[] };
  if (r.failures?.length) throw new Error(JSON.stringify(r.failures));
  return r.inputs!;
}

describe('FlowPath', () => {
  it('delete while its tunnels stay: the entries stay, one OVSDB read per seeding switch, no flush', async () => {
    await tunnel(1, 2);
    await tunnel(2, 3);
    const p = (await pathProvider.create!(await checked(path(2)))) as { outs: FlowPathOutputs };
    const before = [1, 2, 3].map(entries);
    for (const n of [1, 2, 3]) H(n).argvs = [];
    await pathProvider.delete!('id', p.outs);
    expect([1, 2, 3].map(entries)).toEqual(before);
    expect([1, 2, 3].flatMap(flushes)).toEqual([]);
    expect([1, 2, 3].map((n) => H(n).argvs.length)).toEqual([1, 1, 0]); // h3 (the leaf) seeded none
  });

  it('delete with no tunnel left on the host: its entries go (one flush per host)', async () => {
    H(1).cache.set('10.250.0.77 br0', '02:56:50:00:00:77');
    const p = (await pathProvider.create!(await checked(path(2)))) as { outs: FlowPathOutputs };
    expect(entries(1)).toEqual(['10.250.0.12 br0', '10.250.0.77 br0']);
    expect(entries(2)).toEqual(['10.250.0.13 br0']);
    await pathProvider.delete!('id', p.outs);
    expect(entries(1)).toEqual([]);
    expect(entries(2)).toEqual([]);
  });

  it('update to another relay: the old relay (no tunnel left) is flushed; the root keeps its old entry while its new tunnel is in use', async () => {
    const v1 = (await pathProvider.create!(await checked(path(2)))) as { outs: FlowPathOutputs };
    await tunnel(1, 4);
    await tunnel(4, 3);
    await pathProvider.update!('id', v1.outs, await checked(path(4)));
    expect(entries(1)).toEqual(['10.250.0.12 br0', '10.250.0.14 br0']); // 12 unused now: it ages out
    expect(flushes(1)).toEqual([]);
    expect(entries(2)).toEqual([]); // h2 is no longer on the path and has no tunnel
    expect(entries(4)).toEqual(['10.250.0.11 br0', '10.250.0.13 br0']);
  });
});
