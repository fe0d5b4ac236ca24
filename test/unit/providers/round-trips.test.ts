/**
 * One round trip per host per resource step (issue 18, item 3): OvsBridge create, read and
 * delete are one batch on their host; a GreTunnel create is one batch on each end's host once
 * the far end's underlay MAC is known (its bridge ran in this process), read is one command
 * per end, delete one batch per end (the flush of a host's last tunnel included). Every
 * check the providers make still holds (foreign rows refused before anything changes, a
 * missing physical bridge named with its fix). Hosts are test/support/ovs-model.ts models;
 * RecordingRunner.roundTrips counts what a real host would see.
 */
import * as pool from '../../../providers/exec/pool';
import { RecordingRunner } from '../../../providers/exec/recording';
import { REUSE_WINDOW_MS } from '../../../providers/exec/shared-reads';
import { forgetUnderlayMacs } from '../../../providers/ovs/underlay-macs';
import { provider as bridgeProvider } from '../../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../../providers/gre-tunnel/provider';
import type { OvsBridgeOutputs } from '../../../providers/ovs-bridge/types';
import type { GreTunnelOutputs } from '../../../providers/gre-tunnel/types';
import { answerOvs, modelHost, type ModelHost } from '../../support/ovs-model';
import { checkedInputs } from '../../support/runners';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const ip = (n: number) => `192.0.2.${n}`;
const conn = (n: number) => ({ host: ip(n), hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const underlay = (n: number) => `10.250.0.1${n}`;
const mac = (n: number) => `02:56:50:00:00:0${n}`;

let hosts: Map<string, ModelHost>;
let runners: Map<string, RecordingRunner[]>;
const H = (n: number) => hosts.get(ip(n))!;
/** Round trips each host saw since the last call, and the tags of their commands. */
function trips(...ns: number[]): number[] {
  const out = ns.map((n) => (runners.get(ip(n)) ?? []).reduce((sum, r) => sum + r.roundTrips, 0));
  runners = new Map();
  return out;
}
let tags: Set<string>;

beforeEach(() => {
  forgetUnderlayMacs();
  hosts = new Map([1, 2, 3].map((n) => [ip(n), modelHost({ mac: mac(n) })]));
  runners = new Map();
  tags = new Set();
  jest.spyOn(pool, 'getRunner').mockImplementation((spec) => {
    const r = new RecordingRunner({
      host: spec.host,
      identity: spec.host, // one connection per host, as the pool gives
      handler: async (call) => {
        await new Promise((res) => setTimeout(res, 2)); // a host takes time: concurrent reads overlap
        tags.add(call.options?.trace?.tag ?? 'none');
        return answerOvs(hosts.get(spec.host)!, call.argv) ?? new Error(`unexpected command ${JSON.stringify(call.argv)}`);
      },
    });
    runners.set(spec.host, [...(runners.get(spec.host) ?? []), r]);
    return r;
  });
});
afterEach(() => jest.restoreAllMocks());

const checked = (p: typeof bridgeProvider, args: Record<string, unknown>): Promise<any> => checkedInputs(p, args);
const bridgeArgs = (n: number) => ({ connection: conn(n), owner: `vpm/dev/br1-h${n}`, name: 'br1', patch: { overlayOfport: 1 }, internalPorts: [{ name: 'src0', ofport: 2 }] });
async function bridge(n: number): Promise<OvsBridgeOutputs> {
  return ((await bridgeProvider.create!(await checked(bridgeProvider, bridgeArgs(n)))) as { outs: OvsBridgeOutputs }).outs;
}
const end = (n: number, to: number) => ({ connection: conn(n), bridge: 'br1', remoteIp: underlay(to), portName: `gre-h${to}`, ofport: 10 + to });
async function tunnel(x: number, y: number): Promise<GreTunnelOutputs> {
  const inputs = await checked(tunnelProvider, { a: end(x, y), b: end(y, x), owner: `vpm/dev/gre-h${x}-h${y}` });
  return ((await tunnelProvider.create!(inputs)) as { outs: GreTunnelOutputs }).outs;
}

describe('OvsBridge: one round trip per step', () => {
  it('create = 1, read = 1, re-create (adopt) = 1, delete = 1; every command tagged "bridge"', async () => {
    const outs = await bridge(1);
    expect(trips(1)).toEqual([1]);
    expect(H(1).bridges.get('br1')).toEqual({ owner: 'vpm/dev/br1-h1' });
    expect(outs).toMatchObject({ patchOfport: 1, patchPresent: true });
    const phy = H(1).ports.get('patch-phy')!.ofport;
    expect(H(1).rules).toEqual([{ bridge: 'br0', cookie: outs.cookie, inPort: phy, outPort: 1 }]);

    const read = (await bridgeProvider.read!('id', outs)) as { props: OvsBridgeOutputs };
    expect(trips(1)).toEqual([1]);
    expect(read.props).toMatchObject({ patchPresent: true, patchOfport: 1, physicalPatchOfport: phy });

    await bridge(1);
    expect(trips(1)).toEqual([1]);

    await bridgeProvider.delete!('id', outs);
    expect(trips(1)).toEqual([1]);
    expect(H(1).bridges.has('br1')).toBe(false);
    expect(H(1).ports.has('patch-phy')).toBe(false);
    expect(H(1).rules).toEqual([]);
    expect([...tags]).toEqual(['bridge']);
  });

  it('delete when br0 is gone too: one round trip, no error', async () => {
    const outs = await bridge(1);
    H(1).bridges.delete('br0');
    trips(1);
    await bridgeProvider.delete!('id', outs);
    expect(trips(1)).toEqual([1]);
  });

  it('a bridge of another owner is refused before anything changes, and the error names it', async () => {
    H(1).bridges.set('br1', { owner: 'someone/else' });
    const err = await bridgeProvider.create!(await checked(bridgeProvider, bridgeArgs(1))).catch((e: unknown) => e);
    expect(String(err)).toMatch(/refusing to touch what VPM does not own: bridge "br1" exists and is not owned by this resource \(vpm-owner=someone\/else\)/);
    expect(H(1).bridges.get('br1')).toEqual({ owner: 'someone/else' });
    expect(H(1).ports.has('patch-phy')).toBe(false);
  });

  it('a missing physical bridge or NIC: the error says what and how to fix it, nothing changed, one round trip', async () => {
    H(1).bridges.delete('br0');
    H(1).ports.delete('eth0');
    await expect(bridgeProvider.create!(await checked(bridgeProvider, bridgeArgs(1)))).rejects.toThrow(/physical bridge "br0" does not exist.*ovs-vsctl add-br br0 -- add-port br0 eth0\)\. Nothing was changed\./);
    expect(trips(1)).toEqual([1]);
    H(1).bridges.set('br0', {});
    H(1).ports.set('eth0', { bridge: 'br0', ofport: -1 });
    await expect(bridgeProvider.create!(await checked(bridgeProvider, bridgeArgs(1)))).rejects.toThrow(/the NIC "eth0" is not a working port of bridge "br0" \(set patch.uplink\)/);
    expect(H(1).bridges.has('br1')).toBe(false);
  });

  it('a stale static rule (patch port renumbered by hand) goes in a second round trip, after the new one is in', async () => {
    const outs = await bridge(1);
    H(1).rules.push({ bridge: 'br0', cookie: outs.cookie, inPort: 7, outPort: 1 });
    trips(1);
    await bridge(1);
    expect(trips(1)).toEqual([2]);
    expect(H(1).rules.map((r) => r.inPort)).toEqual([outs.physicalPatchOfport]);
  });
});

describe('GreTunnel: one round trip per end per step', () => {
  it('after the bridges: create = 1 on each end (seeded with the far MAC), read = 1 per end, delete = 1 per end with the flush of each host\'s last tunnel', async () => {
    await bridge(1);
    await bridge(2);
    trips(1, 2);
    const t = await tunnel(1, 2);
    expect(trips(1, 2)).toEqual([1, 1]);
    expect(t).toMatchObject({ aOfport: 12, bOfport: 11, aPresent: true, bPresent: true });
    expect([...H(1).cache]).toEqual([[`${underlay(2)} br0`, mac(2)]]);
    expect([...H(2).cache]).toEqual([[`${underlay(1)} br0`, mac(1)]]);

    await tunnelProvider.read!('id', t);
    expect(trips(1, 2)).toEqual([1, 1]);

    await tunnelProvider.delete!('id', t);
    expect(trips(1, 2)).toEqual([1, 1]); // the hosts' last tunnels: their caches are flushed in the same batch
    expect([H(1).cache.size, H(2).cache.size, H(1).ports.has('gre-h2'), H(2).ports.has('gre-h1')]).toEqual([0, 0, false, false]);
    expect([...tags].sort()).toEqual(['bridge', 'tunnel']);
  });

  it('a refresh reads each host once: the bridges\' reads serve the tunnel ends read after them; each right', async () => {
    const brs = [await bridge(1), await bridge(2), await bridge(3)];
    const ts = [await tunnel(1, 2), await tunnel(2, 3)];
    trips(1, 2, 3);
    // As the engine refreshes: the bridges first, then the tunnels (their dependants).
    const bridgeReads = await Promise.all(brs.map((b) => bridgeProvider.read!('id', b)));
    const reads = await Promise.all([...ts, ...ts, ...ts].map((t) => tunnelProvider.read!('id', t)));
    expect(trips(1, 2, 3)).toEqual([1, 1, 1]); // h2: its bridge and 6 reads of a tunnel end
    for (const [i, r] of bridgeReads.entries()) expect(r.props).toMatchObject({ patchPresent: true, patchOfport: brs[i].patchOfport, physicalPatchOfport: brs[i].physicalPatchOfport });
    for (const [i, r] of reads.entries()) expect(r.props).toMatchObject({ aPresent: true, bPresent: true, aOfport: ts[i % 2].aOfport, bOfport: ts[i % 2].bOfport });

    // A change by hand during the refresh may be missed by it; the next one (past the window) sees it.
    H(3).ports.delete('gre-h2');
    expect((await tunnelProvider.read!('id', ts[1])).props).toMatchObject({ aPresent: true, bPresent: true });
    const later = Date.now() + REUSE_WINDOW_MS + 1;
    jest.spyOn(Date, 'now').mockImplementation(() => later);
    expect((await tunnelProvider.read!('id', ts[1])).props).toMatchObject({ aPresent: true, bPresent: false });
    expect(trips(1, 2, 3)).toEqual([0, 1, 1]);
  });

  it('whichever the engine reads first, a host\'s bridge and tunnel ends at once cost one command there', async () => {
    const brs = [await bridge(1), await bridge(2), await bridge(3)];
    const ts = [await tunnel(1, 2), await tunnel(2, 3)];
    trips(1, 2, 3);
    await Promise.all([...ts.map((t) => tunnelProvider.read!('id', t)), ...brs.map((b) => bridgeProvider.read!('id', b))]);
    expect(trips(1, 2, 3)).toEqual([1, 1, 1]);
  });

  it('a change made through VPM is never hidden by an earlier read: after a delete, the ends read afresh', async () => {
    await bridge(1);
    await bridge(2);
    const t = await tunnel(1, 2);
    expect((await tunnelProvider.read!('id', t)).props).toMatchObject({ aPresent: true, bPresent: true });
    await tunnelProvider.delete!('id', t);
    trips(1, 2);
    expect(await tunnelProvider.read!('id', t)).toEqual({ id: '', props: {} }); // gone from both hosts
    expect(trips(1, 2)).toEqual([1, 1]);
  });

  it('a relay\'s tunnels: deleting one while the other stays is one round trip per end (no flush where a tunnel stays)', async () => {
    for (const n of [1, 2, 3]) await bridge(n);
    const t12 = await tunnel(1, 2);
    await tunnel(2, 3);
    trips(1, 2, 3);
    await tunnelProvider.delete!('id', t12);
    expect(trips(1, 2)).toEqual([1, 1]); // h1 lost its last tunnel (flushed in its batch); h2 keeps its tunnel to h3
    expect([H(1).cache.size, H(2).cache.size]).toEqual([0, 2]); // h2's entry for h1 is left to age out (h3's is in use)
  });

  it('far MAC not known yet (no bridge step in this process): the seeds follow in a second round trip', async () => {
    for (const n of [1, 2]) H(n).bridges.set('br1', {});
    const t = await tunnel(1, 2);
    expect(trips(1, 2)).toEqual([2, 2]);
    expect([...H(1).cache]).toEqual([[`${underlay(2)} br0`, mac(2)]]);
    // The next tunnel on these hosts knows both MACs now.
    await tunnelProvider.delete!('id', t);
    trips(1, 2);
    await tunnel(1, 2);
    expect(trips(1, 2)).toEqual([1, 1]);
  });

  it('a port of another owner is refused with its owner named; the end made on the other host is rolled back', async () => {
    for (const n of [1, 2]) await bridge(n);
    H(2).ports.set('gre-h1', { bridge: 'br1', owner: 'someone/else', ofport: 11 });
    const err = await tunnel(1, 2).catch((e: unknown) => e);
    expect(String(err)).toMatch(/port "gre-h1" exists and is not owned by this tunnel \(vpm-owner=someone\/else\)/);
    expect(String(err)).toMatch(/rolled back: GRE port gre-h2 on br1 on 192\.0\.2\.1/);
    expect(H(1).ports.has('gre-h2')).toBe(false);
    expect(H(2).ports.get('gre-h1')!.owner).toBe('someone/else');
  });
});
