/**
 * OvsBridge and GreTunnel on the real lab (3 hypervisors), driven through the providers as
 * the engine runs them: the lazy provider objects of resource.ts, serialised and loaded back
 * the way @pulumi/pulumi does (test/support/serialised-provider.ts). Every effect is checked
 * on the hosts themselves with `lab exec` (ovs-vsctl / ovs-ofctl / ovs-appctl / ping).
 *
 * Needs root, the lab tools and ping (`npm run setup`) and the compiled providers in dist/
 * (`npx tsc -p tsconfig.json`); any of them missing FAILS the suite, it never skips.
 */
import type { Inventory } from '../../lab';
import { labConnection } from '../../lab/connections';
import { provider as bridgeLazy } from '../../providers/ovs-bridge/resource';
import { provider as tunnelLazy } from '../../providers/gre-tunnel/resource';
import { LabHosts, acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { nativeRequire, requireBuilt, serialise, type SerialisedProvider } from '../support/serialised-provider';
import { PROVIDER_VERSION } from '../../providers/common/version';

type Provider = SerialisedProvider['provider'];
type Props = Record<string, any>;

const RUN = `bt-${process.pid}`;
const ownerOf = (name: string) => `vpm-it/${RUN}/${name}`;
/** Cookie of this test's own temporary flows on br1 (not a VPM cookie: those start with 0x56). */
const TEST_COOKIE = '0x7e57';

jest.setTimeout(60_000);

describe('OvsBridge + GreTunnel on a 3-hypervisor lab, through the serialised providers', () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let weStartedIt = false;
  let B: Provider;
  let T: Provider;
  const bridgeOuts: Record<string, Props> = {};
  const tunnelOuts: Record<string, Props> = {};
  const tunnelInputs: Record<string, Props> = {};

  const conn = (h: string) => labConnection(inventory, h);
  const ip = (h: string) => inventory.hypervisors.find((x) => x.name === h)!.ip;
  const mac = (h: string) => inventory.hypervisors.find((x) => x.name === h)!.mac;
  /** GRE port on `h` towards `peer`: named gre-<peer>, OpenFlow port 10 + peer number. */
  const grePort = (peer: string) => ({ name: `gre-${peer}`, ofport: 10 + Number(peer.slice(1)) });

  /** check, asserting it passes; returns the checked inputs (defaults applied). */
  async function checked(p: Provider, news: Props): Promise<Props> {
    const r = (await p.check({}, news)) as { inputs?: Props; failures?: unknown[] };
    expect(r.failures).toEqual([]);
    return r.inputs!;
  }

  const bridgeArgs = (h: string, over: Props = {}) => ({
    connection: conn(h),
    owner: ownerOf(`br1-${h}`),
    name: 'br1',
    patch: { overlayOfport: 1 },
    ...over,
  });

  const tunnelArgs = (x: string, y: string, over: Props = {}) => ({
    a: { connection: conn(x), bridge: 'br1', remoteIp: ip(y), portName: grePort(y).name, ofport: grePort(y).ofport },
    b: { connection: conn(y), bridge: 'br1', remoteIp: ip(x), portName: grePort(x).name, ofport: grePort(x).ofport },
    owner: ownerOf(`gre-${x}-${y}`),
    ...over,
  });

  /** The error a promise rejects with (errors come from another realm: compare messages). */
  async function failure(p: Promise<unknown>): Promise<string> {
    try {
      await p;
    } catch (e) {
      return String((e as Error)?.message ?? e);
    }
    throw new Error('expected the call to fail, it succeeded');
  }

  /** Pings across br1 from `from` to `toAddr`; true when a reply came back. */
  async function ping(from: string, toAddr: string): Promise<boolean> {
    await lab.must(from, ['ip', 'neigh', 'flush', 'dev', 'br1']);
    const r = await lab.exec(from, ['ping', '-n', '-c', '1', '-W', '2', toAddr]);
    return r.code === 0;
  }

  beforeAll(async () => {
    requireLabPrerequisites({ ping: 'iputils-ping' });
    requireBuilt('dist/providers/ovs-bridge/provider.js', 'dist/providers/gre-tunnel/provider.js');
    const [sb, st] = await Promise.all([serialise(bridgeLazy), serialise(tunnelLazy)]);
    expect([sb.containsSecrets, st.containsSecrets]).toEqual([false, false]);
    B = sb.provider;
    T = st.provider;
    inventory = await acquireLab({ hypervisors: 3, receivers: 0 });
    weStartedIt = true;
    lab = new LabHosts(inventory);
  }, 6 * 60_000);

  afterAll(async () => {
    // The deserialised providers pooled their SSH connections in dist/'s pool module.
    try {
      await nativeRequire('dist/providers/exec/pool').closeAll();
    } catch {
      /* dist missing: nothing was pooled */
    }
    if (weStartedIt) await releaseLab();
  });

  test('check + create br1 on h1, h2, h3: secure, netdev, OpenFlow15, owned, patched to br0 with its static rule', async () => {
    const hosts = ['h1', 'h2', 'h3'];
    const outs = await Promise.all(hosts.map(async (h) => (await B.create(await checked(B, bridgeArgs(h)))) as { id: string; outs: Props }));
    for (const [i, h] of hosts.entries()) {
      const { id, outs: o } = outs[i];
      bridgeOuts[h] = o;
      expect(id).toBe(`${ip(h)}/br1`);
      expect(o).toMatchObject({ name: 'br1', failMode: 'secure', datapathType: 'netdev', patchOfport: 1, patchPresent: true, providerVersion: PROVIDER_VERSION });
      expect(o.cookie).toMatch(/^0x56[0-9a-f]{14}$/);
      expect(o).not.toHaveProperty('privateKey');

      const [failMode, dpType, protocols, ids, uuid] = await lab.get(h, 'Bridge', 'br1', 'fail_mode', 'datapath_type', 'protocols', 'external_ids', '_uuid');
      expect([failMode, dpType, uuid]).toEqual(['secure', 'netdev', o.bridgeUuid]);
      expect(protocols).toContain('OpenFlow15');
      expect(protocols).toContain('OpenFlow14');
      expect(ids).toBe(`{vpm-owner="${ownerOf(`br1-${h}`)}"}`);

      // The patch pair: each end on its bridge, peered with the other, owned; ofport_request honoured.
      expect(await lab.must(h, ['ovs-vsctl', 'port-to-br', 'patch-ovl'])).toBe('br1');
      expect(await lab.must(h, ['ovs-vsctl', 'port-to-br', 'patch-phy'])).toBe('br0');
      expect(await lab.get(h, 'Interface', 'patch-ovl', 'type', 'options', 'ofport', 'ofport_request')).toEqual(['patch', '{peer=patch-phy}', '1', '1']);
      expect(await lab.get(h, 'Interface', 'patch-phy', 'type', 'options', 'ofport')).toEqual(['patch', '{peer=patch-ovl}', String(o.physicalPatchOfport)]);
      expect(await lab.ownedRows(h, 'Port')).toEqual(
        expect.arrayContaining([
          { name: 'patch-ovl', owner: ownerOf(`br1-${h}`) },
          { name: 'patch-phy', owner: ownerOf(`br1-${h}`) },
        ]),
      );

      // br0's static rule: from the patch straight out of eth0, under this resource's cookie.
      const eth0 = (await lab.get(h, 'Interface', 'eth0', 'ofport'))[0];
      const mine = (await lab.flows(h, 'br0')).filter((f) => f.includes(`cookie=${o.cookie}`));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toMatch(new RegExp(`priority=1000,in_port=${o.physicalPatchOfport} actions=output:${eth0}$`));
      // Fail mode secure and no flows: br1 has no flow at all (sink).
      expect(await lab.flows(h, 'br1')).toEqual([]);
    }
  });

  test('GRE tunnels h1-h2 and h2-h3: ports with remote_ip, requested ofports, owned, neighbour caches seeded', async () => {
    for (const [x, y] of [['h1', 'h2'], ['h2', 'h3']]) {
      const key = `${x}-${y}`;
      tunnelInputs[key] = await checked(T, tunnelArgs(x, y));
      const { id, outs } = (await T.create(tunnelInputs[key])) as { id: string; outs: Props };
      tunnelOuts[key] = outs;
      expect(id).toBe(`${ip(x)}/gre-${y}~${ip(y)}/gre-${x}`);
      expect(outs).toMatchObject({ aOfport: grePort(y).ofport, bOfport: grePort(x).ofport, aPresent: true, bPresent: true });
      for (const [h, peer] of [[x, y], [y, x]]) {
        const port = grePort(peer);
        expect(await lab.must(h, ['ovs-vsctl', 'port-to-br', port.name])).toBe('br1');
        expect(await lab.get(h, 'Interface', port.name, 'type', 'options:remote_ip', 'ofport', 'ofport_request')).toEqual([
          'gre',
          `"${ip(peer)}"`,
          String(port.ofport),
          String(port.ofport),
        ]);
        expect(await lab.get(h, 'Port', port.name, 'external_ids:vpm-owner')).toEqual([`"${ownerOf(`gre-${key}`)}"`]);
        // OVS's own tunnel neighbour cache knows the peer's underlay MAC (no ARP on the first packet).
        const neigh = await lab.must(h, ['ovs-appctl', 'tnl/neigh/show']);
        expect(neigh).toMatch(new RegExp(`^${ip(peer).replace(/\./g, '\\.')}\\s+${mac(peer)}\\s+br0\\s*$`, 'm'));
      }
    }
  });

  test('sink or swim: a ping across h1-h2 fails without flows and crosses with them', async () => {
    await lab.must('h1', ['sh', '-c', 'ip addr add 10.99.0.1/24 dev br1 && ip link set br1 up']);
    await lab.must('h2', ['sh', '-c', 'ip addr add 10.99.0.2/24 dev br1 && ip link set br1 up']);
    expect(await ping('h1', '10.99.0.2')).toBe(false);

    for (const [h, peer] of [['h1', 'h2'], ['h2', 'h1']]) {
      const gre = grePort(peer).ofport;
      const flows = [
        `cookie=${TEST_COOKIE},priority=100,in_port=LOCAL,actions=output:${gre}`,
        `cookie=${TEST_COOKIE},priority=100,in_port=${gre},actions=LOCAL`,
      ];
      await lab.must(h, ['ovs-ofctl', 'add-flows', 'br1', '-'], flows.join('\n') + '\n');
    }
    expect(await ping('h1', '10.99.0.2')).toBe(true);
    // The packets really crossed the tunnel: the GRE port's flow on h2 counted them.
    const stats = await lab.must('h2', ['ovs-ofctl', 'dump-flows', 'br1', `cookie=${TEST_COOKIE}/-1,in_port=${grePort('h1').ofport}`]);
    expect(stats).toMatch(/n_packets=[1-9]/);
  });

  test('tunnel drift: a GRE port deleted by hand is seen by read, diffed as a change, re-created by update; ping works again', async () => {
    await lab.must('h2', ['ovs-vsctl', 'del-port', 'br1', 'gre-h1']);
    // A change by hand, then a read: the next refresh, a new provider process in production
    // (the providers run dist/'s modules; a refresh may reuse what it read: exec/shared-reads.ts).
    nativeRequire('dist/providers/exec/process-memory').forgetProcessMemory(); // the next refresh
    expect(await ping('h1', '10.99.0.2')).toBe(false);

    const id = `${ip('h1')}/gre-h2~${ip('h2')}/gre-h1`;
    const read = (await T.read(id, tunnelOuts['h1-h2'])) as { id: string; props: Props };
    expect(read.id).toBe(id);
    expect(read.props).toMatchObject({ aPresent: true, bPresent: false, aOfport: 12 });

    const diff = (await T.diff(id, read.props, tunnelInputs['h1-h2'])) as { changes: boolean; replaces: string[] };
    expect(diff.changes).toBe(true);
    expect(diff.replaces).toEqual([]);

    const upd = (await T.update(id, read.props, tunnelInputs['h1-h2'])) as { outs: Props };
    expect(upd.outs).toMatchObject({ aPresent: true, bPresent: true, aOfport: 12, bOfport: 11 });
    expect(await lab.get('h2', 'Interface', 'gre-h1', 'options:remote_ip', 'ofport')).toEqual([`"${ip('h1')}"`, '11']);
    // Same ofport as before, so the flows that name port 11 work again untouched.
    expect(await ping('h1', '10.99.0.2')).toBe(true);

    // And after the repair there is nothing to do.
    const again = (await T.read(id, upd.outs)) as { props: Props };
    expect(((await T.diff(id, again.props, tunnelInputs['h1-h2'])) as { changes: boolean }).changes).toBe(false);
  });

  test('bridge drift: fail_mode set to standalone by hand is read back, and update restores secure', async () => {
    await lab.must('h3', ['ovs-vsctl', 'set', 'Bridge', 'br1', 'fail_mode=standalone']);
    nativeRequire('dist/providers/exec/process-memory').forgetProcessMemory(); // the next refresh
    const id = `${ip('h3')}/br1`;
    const read = (await B.read(id, bridgeOuts.h3)) as { id: string; props: Props };
    expect(read.props).toMatchObject({ failMode: 'standalone', patchPresent: true });

    const inputs = await checked(B, bridgeArgs('h3'));
    const diff = (await B.diff(id, read.props, inputs)) as { changes: boolean; replaces: string[] };
    expect(diff).toMatchObject({ changes: true, replaces: [] });
    const upd = (await B.update(id, read.props, inputs)) as { outs: Props };
    expect(upd.outs.failMode).toBe('secure');
    expect(upd.outs.bridgeUuid).toBe(bridgeOuts.h3.bridgeUuid); // repaired in place, not re-created
    expect(await lab.get('h3', 'Bridge', 'br1', 'fail_mode')).toEqual(['secure']);

    const again = (await B.read(id, upd.outs)) as { props: Props };
    expect(((await B.diff(id, again.props, inputs)) as { changes: boolean }).changes).toBe(false);
  });

  test('bridge drift: a patch pair removed by hand is read as patchPresent=false and re-created by update', async () => {
    await lab.must('h3', ['ovs-vsctl', 'del-port', 'br0', 'patch-phy']);
    nativeRequire('dist/providers/exec/process-memory').forgetProcessMemory(); // the next refresh
    const id = `${ip('h3')}/br1`;
    const read = (await B.read(id, bridgeOuts.h3)) as { props: Props };
    expect(read.props.patchPresent).toBe(false);
    const inputs = await checked(B, bridgeArgs('h3'));
    expect(((await B.diff(id, read.props, inputs)) as { changes: boolean }).changes).toBe(true);
    const upd = (await B.update(id, read.props, inputs)) as { outs: Props };
    expect(upd.outs.patchPresent).toBe(true);
    expect(await lab.get('h3', 'Interface', 'patch-phy', 'options')).toEqual(['{peer=patch-ovl}']);
    bridgeOuts.h3 = upd.outs;
  });

  test("bridge drift: br0's static rule deleted by hand is read as patchPresent=false and restored by update", async () => {
    const cookie = String(bridgeOuts.h2.cookie);
    await lab.must('h2', ['ovs-ofctl', 'del-flows', 'br0', `cookie=${cookie}/-1`]);
    nativeRequire('dist/providers/exec/process-memory').forgetProcessMemory(); // the next refresh
    const id = `${ip('h2')}/br1`;
    const read = (await B.read(id, bridgeOuts.h2)) as { props: Props };
    expect(read.props.patchPresent).toBe(false);
    const inputs = await checked(B, bridgeArgs('h2'));
    const upd = (await B.update(id, read.props, inputs)) as { outs: Props };
    expect(upd.outs.patchPresent).toBe(true);
    const flows = await lab.must('h2', ['ovs-ofctl', 'dump-flows', 'br0', `cookie=${cookie}/-1`]);
    expect(flows).toMatch(/actions=output:/);
    bridgeOuts.h2 = upd.outs;
  });

  test('idempotency: create twice gives the same outputs; delete twice and delete after a hand removal succeed', async () => {
    // Create again with the same inputs: adopts what it owns, same outputs, no duplicate flow.
    const b1 = (await B.create(await checked(B, bridgeArgs('h1')))) as { outs: Props };
    expect(b1.outs).toEqual(bridgeOuts.h1);
    expect((await lab.flows('h1', 'br0')).filter((f) => f.includes(bridgeOuts.h1.cookie))).toHaveLength(1);
    const t12 = (await T.create(tunnelInputs['h1-h2'])) as { outs: Props };
    expect(t12.outs).toEqual(tunnelOuts['h1-h2']);

    // Delete the h2-h3 tunnel twice.
    const tid = `${ip('h2')}/gre-h3~${ip('h3')}/gre-h2`;
    await T.delete(tid, tunnelOuts['h2-h3']);
    await T.delete(tid, tunnelOuts['h2-h3']);
    expect((await lab.exec('h2', ['ovs-vsctl', 'port-to-br', 'gre-h3'])).code).not.toBe(0);
    expect((await lab.exec('h3', ['ovs-vsctl', 'port-to-br', 'gre-h2'])).code).not.toBe(0);
    expect(((await T.read(tid, tunnelOuts['h2-h3'])) as { id: string }).id).toBe(''); // gone on both ends

    // h3's br1 removed by hand: delete still succeeds and cleans up its half on br0.
    await lab.must('h3', ['ovs-vsctl', 'del-br', 'br1']);
    nativeRequire('dist/providers/exec/process-memory').forgetProcessMemory(); // the next refresh
    const bid = `${ip('h3')}/br1`;
    expect(((await B.read(bid, bridgeOuts.h3)) as { id: string }).id).toBe('');
    await B.delete(bid, bridgeOuts.h3);
    await B.delete(bid, bridgeOuts.h3);
    expect(await lab.bridges('h3')).toEqual(['br0']);
    expect(await lab.vpmLeftovers('h3')).toEqual([]);
  });

  test('ownership: create refuses a hand-made bridge of the same name; delete leaves it alone', async () => {
    await lab.must('h1', ['ovs-vsctl', 'add-br', 'br9', '--', 'set', 'Bridge', 'br9', 'datapath_type=netdev']);
    const before = await lab.must('h1', ['ovs-vsctl', '--format=json', 'list', 'Bridge', 'br9']);
    const flowsBefore = await lab.flows('h1', 'br0');
    const args = bridgeArgs('h1', { owner: ownerOf('br9-h1'), name: 'br9', patch: { overlayPort: 'patch-ovl9', physicalPort: 'patch-phy9' } });
    const inputs = await checked(B, args);

    try {
      const message = await failure(B.create(inputs));
      expect(message).toMatch(/bridge "br9" exists and is not owned by this resource/);
      expect(message).toMatch(/vpm-owner=none/);
      const untouched = async () => {
        expect(await lab.must('h1', ['ovs-vsctl', '--format=json', 'list', 'Bridge', 'br9'])).toBe(before);
        expect(await lab.must('h1', ['ovs-vsctl', 'list-ports', 'br9'])).toBe('');
        expect((await lab.exec('h1', ['ovs-vsctl', 'port-to-br', 'patch-phy9'])).code).not.toBe(0);
        expect(await lab.flows('h1', 'br0')).toEqual(flowsBefore);
      };
      await untouched();

      // A delete with this name (e.g. from a stale state) does not remove what VPM does not own.
      await B.delete(`${ip('h1')}/br9`, { ...inputs, cookie: '0x5600000000000000' });
      await untouched();
    } finally {
      await lab.must('h1', ['ovs-vsctl', '--if-exists', 'del-br', 'br9']);
    }
  });

  test('rollback: a tunnel whose end b names a missing bridge fails and leaves nothing on end a', async () => {
    const args = tunnelArgs('h1', 'h2', { owner: ownerOf('gre-rollback'), key: 101 });
    args.a.portName = 'gre-rb';
    args.a.ofport = 40;
    args.b.portName = 'gre-rb';
    args.b.ofport = 40;
    args.b.bridge = 'br8';
    const message = await failure(T.create(await checked(T, args)));
    expect(message).toMatch(/br8/);
    expect((await lab.exec('h1', ['ovs-vsctl', 'port-to-br', 'gre-rb'])).code).not.toBe(0);
    expect((await lab.exec('h2', ['ovs-vsctl', 'port-to-br', 'gre-rb'])).code).not.toBe(0);
    expect((await lab.ownedRows('h1', 'Port')).map((r) => r.owner)).not.toContain(ownerOf('gre-rollback'));
  });

  test('rollback: a port that OVS accepts but cannot bring up is removed too, with end a', async () => {
    // A bridge on the kernel datapath cannot open here (no openvswitch module): its ports never get an ofport.
    await lab.must('h2', ['ovs-vsctl', 'add-br', 'brsys', '--', 'set', 'Bridge', 'brsys', 'datapath_type=system']);
    try {
      const args = tunnelArgs('h1', 'h2', { owner: ownerOf('gre-rollback2'), key: 102 });
      args.a.portName = 'gre-rb2';
      args.a.ofport = 41;
      args.b.portName = 'gre-rb2';
      args.b.ofport = 41;
      args.b.bridge = 'brsys';
      const message = await failure(T.create(await checked(T, args)));
      expect(message).toMatch(/GRE port "gre-rb2" did not come up/);
      expect((await lab.exec('h1', ['ovs-vsctl', 'port-to-br', 'gre-rb2'])).code).not.toBe(0);
      expect(await lab.must('h2', ['ovs-vsctl', 'list-ports', 'brsys'])).toBe('');
    } finally {
      await lab.must('h2', ['ovs-vsctl', '--if-exists', 'del-br', 'brsys']);
    }
  });

  test('rollback: a second tunnel to the same peer with the same (no) key is refused by OVS on end a, and leaves nothing', async () => {
    // OVS allows one GRE port per (remote_ip, key) in a datapath: "could not add network device ... (File exists)".
    const args = tunnelArgs('h1', 'h2', { owner: ownerOf('gre-rollback4') });
    args.a.portName = 'gre-rb4';
    args.a.ofport = 43;
    args.b.portName = 'gre-rb4';
    args.b.ofport = 43;
    const message = await failure(T.create(await checked(T, args)));
    expect(message).toMatch(/GRE port "gre-rb4" did not come up: .*File exists/);
    expect((await lab.exec('h1', ['ovs-vsctl', 'port-to-br', 'gre-rb4'])).code).not.toBe(0);
    expect((await lab.exec('h2', ['ovs-vsctl', 'port-to-br', 'gre-rb4'])).code).not.toBe(0);
  });

  test('rollback: when seeding the neighbour cache fails (no such underlay bridge), both ends are removed', async () => {
    const args = tunnelArgs('h1', 'h2', { owner: ownerOf('gre-rollback3'), key: 103 });
    args.a.portName = 'gre-rb3';
    args.a.ofport = 42;
    (args.a as Props).underlayBridge = 'br7';
    args.b.portName = 'gre-rb3';
    args.b.ofport = 42;
    const message = await failure(T.create(await checked(T, args)));
    expect(message).toMatch(/br7/);
    expect((await lab.exec('h1', ['ovs-vsctl', 'port-to-br', 'gre-rb3'])).code).not.toBe(0);
    expect((await lab.exec('h2', ['ovs-vsctl', 'port-to-br', 'gre-rb3'])).code).not.toBe(0);
  });

  test('group commit: four tunnels h1-h2 created at once come up on real OVS (the ends after the first go in one transaction); a foreign port fails only its own tunnel', async () => {
    // Distinct keys: OVS allows one GRE port per (remote_ip, key). gre-g3 on h2 is a hand-made foreign port.
    await lab.must('h2', ['ovs-vsctl', 'add-port', 'br1', 'gre-g3', '--', 'set', 'Interface', 'gre-g3', 'type=internal']);
    const args = [1, 2, 3, 4].map((n) => {
      const a = tunnelArgs('h1', 'h2', { owner: ownerOf(`gre-g${n}`), key: 110 + n });
      for (const e of [a.a, a.b] as Props[]) {
        e.portName = `gre-g${n}`;
        delete e.ofport;
      }
      return a;
    });
    const inputs = await Promise.all(args.map((a) => checked(T, a)));
    const out = await Promise.allSettled(inputs.map((i) => T.create(i) as Promise<{ id: string; outs: Props }>));
    try {
      const why = (o: PromiseSettledResult<unknown>) => (o.status === 'fulfilled' ? 'ok' : String((o.reason as Error)?.message ?? o.reason));
      expect(why(out[2])).toMatch(/port "gre-g3" exists and is not owned by this tunnel \(vpm-owner=none\)/);
      expect([0, 1, 3].map((i) => why(out[i]))).toEqual(['ok', 'ok', 'ok']);
      // Rolled back on h1; the foreign port on h2 untouched.
      expect((await lab.exec('h1', ['ovs-vsctl', 'port-to-br', 'gre-g3'])).code).not.toBe(0);
      expect(await lab.get('h2', 'Interface', 'gre-g3', 'type')).toEqual(['internal']);
      const ofports = new Set<string>();
      for (const i of [0, 1, 3]) {
        const { outs } = (out[i] as PromiseFulfilledResult<{ outs: Props }>).value;
        for (const [h, peer, ofport] of [['h1', 'h2', outs.aOfport], ['h2', 'h1', outs.bOfport]] as const) {
          const name = `gre-g${i + 1}`;
          expect(await lab.get(h, 'Interface', name, 'type', 'options:remote_ip', 'options:key', 'ofport')).toEqual(['gre', `"${ip(peer)}"`, `"${111 + i}"`, String(ofport)]);
          expect((await lab.ownedRows(h, 'Port')).find((r) => r.name === name)?.owner).toBe(ownerOf(`gre-g${i + 1}`));
          ofports.add(`${h}/${ofport}`);
        }
      }
      expect(ofports.size).toBe(6);
      for (const i of [0, 1, 3]) {
        const { id, outs } = (out[i] as PromiseFulfilledResult<{ id: string; outs: Props }>).value;
        await T.delete(id, outs);
      }
      for (const h of ['h1', 'h2']) expect((await lab.ownedRows(h, 'Port')).map((r) => r.name).filter((n) => n.startsWith('gre-g'))).toEqual([]);
    } finally {
      await lab.must('h2', ['ovs-vsctl', '--if-exists', 'del-port', 'gre-g3']);
    }
  });

  test('missing br0: create fails naming br0 and changes nothing', async () => {
    // Delete h3's br0 but keep h3 reachable: its address (and br0's MAC) move to eth0.
    const h3 = inventory.hypervisors.find((x) => x.name === 'h3')!;
    await lab.must('h3', [
      'sh',
      '-c',
      `ovs-vsctl del-br br0 && ip link set eth0 address ${h3.mac} arp on && ip addr add ${h3.ip}/24 dev eth0 && ip route add default dev eth0`,
    ]);
    expect(await lab.bridges('h3')).toEqual([]);
    const message = await failure(B.create(await checked(B, bridgeArgs('h3'))));
    expect(message).toMatch(/the physical bridge "br0" does not exist/);
    expect(message).toMatch(/Nothing was changed/);
    expect(await lab.bridges('h3')).toEqual([]);
    expect(await lab.must('h3', ['ovs-vsctl', '--columns=name', 'list', 'Port'])).toBe('');
  });

  test('deleting the rest leaves no VPM-owned row and no VPM cookie on any host', async () => {
    await T.delete(`${ip('h1')}/gre-h2~${ip('h2')}/gre-h1`, tunnelOuts['h1-h2']);
    await Promise.all(['h1', 'h2'].map((h) => B.delete(`${ip(h)}/br1`, bridgeOuts[h])));
    for (const h of ['h1', 'h2']) expect(await lab.bridges(h)).toEqual(['br0']);
    const left = (await Promise.all(['h1', 'h2', 'h3'].map((h) => lab.vpmLeftovers(h)))).flat();
    expect(left).toEqual([]);
  });
});
