/**
 * Every rollback failure is reported with what was left and where (issue 17, item 3):
 * OvsBridge and GreTunnel create roll back what they added when a later command fails; when the
 * rollback itself fails (the host went away in between), the error names the part LEFT BEHIND
 * and its host instead of swallowing it. FlowPath and MigratedDomain: flowpath-sweep.test.ts
 * and domain-faults.test.ts.
 *
 * A small model of each host's OVSDB stands behind spies on the vsctl layer (bridgeInfo,
 * portInfo, VsctlTxn.run); ovs-ofctl calls go to a RecordingRunner per host.
 */
import * as pool from '../../providers/exec/pool';
import * as appctl from '../../providers/ovs/appctl';
import * as vsctl from '../../providers/ovs/vsctl';
import { RecordingRunner } from '../../providers/exec/recording';
import { RolledBackError } from '../../providers/common/rollback';
import { provider as bridgeProvider } from '../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../providers/gre-tunnel/provider';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (host: string) => ({ host, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });

/** Who adds things in this test (the resource under test). */
let owner = '';
interface Host {
  bridges: Map<string, string | undefined>;
  ports: Map<string, { bridge: string; owner?: string; ofport: number }>;
  /** argv words that make a command fail, e.g. 'add-flow'. */
  failing: Set<string>;
  /** After this many vsctl transactions the host stops answering (a crash mid-step). */
  txnsLeft: number;
}
let hosts: Map<string, Host>;
const host = (r: { host: string }) => hosts.get(r.host)!;
const gone = (r: { host: string }) => new Error(`cannot connect to root@${r.host}:22 after 10 attempts`);

beforeEach(() => {
  hosts = new Map(
    ['192.0.2.1', '192.0.2.2'].map((h) => [
      h,
      { bridges: new Map([['br0', undefined]]), ports: new Map([['eth0', { bridge: 'br0', ofport: 1 }]]), failing: new Set<string>(), txnsLeft: Infinity },
    ]),
  );
  jest.spyOn(pool, 'getRunner').mockImplementation(
    (spec) =>
      new RecordingRunner({
        host: spec.host,
        handler: (call) => {
          const h = hosts.get(spec.host)!;
          if (h.txnsLeft <= 0) return gone({ host: spec.host });
          if (call.argv.some((a) => h.failing.has(a))) return { exitCode: 1, stderr: `${call.argv[1]}: refused` };
          if (call.argv.includes('mac_in_use')) return { stdout: '"02:56:50:00:00:01"\n' };
          return {};
        },
      }),
  );
  jest.spyOn(appctl, 'tnlNeighSet').mockResolvedValue(undefined);
  jest.spyOn(appctl, 'tnlNeighRelease').mockResolvedValue({ removed: [], stillUsed: [], left: [] });
  jest.spyOn(vsctl, 'bridgeInfo').mockImplementation(async (r, name) => {
    const h = host(r);
    if (h.txnsLeft <= 0) throw gone(r);
    if (!h.bridges.has(name)) return undefined;
    const o = h.bridges.get(name);
    return { name, uuid: `uuid-${name}`, datapathType: 'netdev', externalIds: o ? { 'vpm-owner': o } : {}, protocols: [], otherConfig: {} } as never;
  });
  jest.spyOn(vsctl, 'portInfo').mockImplementation(async (r, name) => {
    const h = host(r);
    if (h.txnsLeft <= 0) throw gone(r);
    const p = h.ports.get(name);
    return p ? ({ uuid: `uuid-${name}`, name, bridge: p.bridge, externalIds: p.owner ? { 'vpm-owner': p.owner } : {}, options: {}, ofport: p.ofport } as never) : undefined;
  });
  // A transaction: what it adds appears, what it deletes goes; unless the host is gone.
  jest.spyOn(vsctl.VsctlTxn.prototype, 'run').mockImplementation(async function (this: vsctl.VsctlTxn, r) {
    const h = host(r);
    if (h.txnsLeft-- <= 0) throw gone(r);
    const argv = this.argv();
    // Commands are `--` separated; options (--may-exist, --if-exists) come before the words.
    const words = (i: number) => argv.slice(i + 1).filter((a) => !a.startsWith('--'));
    for (let i = 0; i < argv.length; i++) {
      if (argv[i] === 'add-br') h.bridges.set(words(i)[0], owner);
      if (argv[i] === 'del-br') {
        const br = words(i)[0];
        h.bridges.delete(br);
        for (const [n, p] of h.ports) if (p.bridge === br) h.ports.delete(n);
      }
      if (argv[i] === 'add-port') h.ports.set(words(i)[1], { bridge: words(i)[0], owner, ofport: 10 + h.ports.size });
      if (argv[i] === 'del-port') h.ports.delete(words(i)[0]);
    }
    return;
  });
});
afterEach(() => jest.restoreAllMocks());

const bridgeInputs = async () => {
  owner = 'vpm/dev/br1-h1';
  const r = (await bridgeProvider.check!({}, {
    connection: conn('192.0.2.1'),
    owner: 'vpm/dev/br1-h1',
    name: 'br1',
    datapathType: 'netdev',
    failMode: 'secure',
    patch: { physicalBridge: 'br0', uplink: 'eth0', overlayPort: 'patch-ovl', physicalPort: 'patch-phy', overlayOfport: 1 },
  })) as { inputs?: Record<string, unknown>; failures?: unknown[] };
  expect(r.failures ?? []).toEqual([]);
  return r.inputs!;
};

describe('OvsBridge create', () => {
  it('a failed step is rolled back: the bridge it added is gone, the error says so', async () => {
    hosts.get('192.0.2.1')!.failing.add('add-flow');
    const err = await bridgeProvider.create!(await bridgeInputs()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(String(err)).toMatch(/creating bridge br1 on 192.0.2.1 failed: .*add-flow/s);
    expect(String(err)).toMatch(/rolled back: bridge br1 and its patch ports on 192.0.2.1/);
    expect(hosts.get('192.0.2.1')!.bridges.has('br1')).toBe(false);
  });

  it('the host goes away before the rollback: the error names the bridge LEFT BEHIND on it', async () => {
    const h = hosts.get('192.0.2.1')!;
    h.failing.add('add-flow');
    h.txnsLeft = 1; // the create's own transaction, then nothing answers
    const err = (await bridgeProvider.create!(await bridgeInputs()).catch((e: unknown) => e)) as RolledBackError;
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.leftBehind).toEqual([{ what: 'bridge br1 and its patch ports', where: '192.0.2.1', error: expect.stringMatching(/cannot connect to root@192.0.2.1/) }]);
    expect(err.message).toMatch(/rollback incomplete, LEFT BEHIND: bridge br1 and its patch ports on 192.0.2.1/);
    expect(h.bridges.has('br1')).toBe(true); // really left: and now reported
  });
});

const tunnelInputs = async () => {
  owner = 'vpm/dev/gre-h1-h2';
  const end = (host: string, remoteIp: string, portName: string) => ({ connection: conn(host), bridge: 'br1', remoteIp, underlayBridge: 'br0', portName, ofport: 102 });
  const r = (await tunnelProvider.check!({}, { a: end('192.0.2.1', '10.250.0.12', 'gre-h2'), b: end('192.0.2.2', '10.250.0.11', 'gre-h1'), owner: 'vpm/dev/gre-h1-h2' })) as {
    inputs?: Record<string, unknown>;
    failures?: unknown[];
  };
  expect(r.failures ?? []).toEqual([]);
  return r.inputs!;
};

describe('GreTunnel create', () => {
  it('the second end fails: the first end is removed again', async () => {
    hosts.get('192.0.2.2')!.txnsLeft = 0; // h2 down from the start
    const err = await tunnelProvider.create!(await tunnelInputs()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(String(err)).toMatch(/rolled back: GRE port gre-h2 on br1 on 192.0.2.1/);
    expect(hosts.get('192.0.2.1')!.ports.has('gre-h2')).toBe(false);
  });

  it('both ends made, the neighbour seeding fails and h1 dies: the ends LEFT BEHIND are named', async () => {
    const h1 = hosts.get('192.0.2.1')!;
    const appctlSpy = appctl.tnlNeighSet as unknown as jest.SpyInstance;
    appctlSpy.mockImplementation(async () => {
      h1.txnsLeft = 0; // h1 goes away while the tunnel is being finished
      throw new Error('ovs-appctl tnl/neigh/set: timed out');
    });
    const err = (await tunnelProvider.create!(await tunnelInputs()).catch((e: unknown) => e)) as RolledBackError;
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.undone).toEqual(['GRE port gre-h1 on br1 on 192.0.2.2']);
    expect(err.leftBehind.map((l) => `${l.what} @ ${l.where}`)).toEqual(['GRE port gre-h2 on br1 @ 192.0.2.1']);
    expect(err.message).toMatch(/LEFT BEHIND: GRE port gre-h2 on br1 on 192.0.2.1 \(cannot connect/);
  });
});
