/**
 * Every rollback failure is reported with what was left and where (issue 17, item 3):
 * OvsBridge and GreTunnel create roll back what they added when a later command fails; when the
 * rollback itself fails (the host went away in between), the error names the part LEFT BEHIND
 * and its host instead of swallowing it. FlowPath and MigratedDomain: flowpath-sweep.test.ts
 * and domain-faults.test.ts.
 *
 * A small model of each host's Open vSwitch (test/support/ovs-model.ts) answers every command
 * and batch step through a RecordingRunner per host; a host can refuse one command (its
 * words) or stop answering after a number of round trips (a crash mid-step).
 */
import * as pool from '../../providers/exec/pool';
import * as appctl from '../../providers/ovs/appctl';
import { forgetUnderlayMacs } from '../../providers/ovs/underlay-macs';
import { RecordingRunner } from '../../providers/exec/recording';
import { RolledBackError } from '../../providers/common/rollback';
import { provider as bridgeProvider } from '../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../providers/gre-tunnel/provider';
import { answerOvs, modelHost, type ModelHost } from '../support/ovs-model';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const conn = (host: string) => ({ host, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });

interface Host extends ModelHost {
  /** argv words that make a command fail, e.g. 'add-flow'. */
  failing: Set<string>;
  /** After this many round trips (a batch is one) the host stops answering (a crash mid-step). */
  tripsLeft: number;
}
let hosts: Map<string, Host>;
const gone = (host: string) => new Error(`cannot connect to root@${host}:22 after 10 attempts`);

beforeEach(() => {
  forgetUnderlayMacs();
  hosts = new Map(['192.0.2.1', '192.0.2.2'].map((h) => [h, { ...modelHost(), failing: new Set<string>(), tripsLeft: Infinity }]));
  jest.spyOn(pool, 'getRunner').mockImplementation((spec) => {
    const h = hosts.get(spec.host)!;
    let batch: number | undefined;
    return new RecordingRunner({
      host: spec.host,
      handler: (call) => {
        // A new round trip: a single command, or the first step of a batch.
        if (call.batch === undefined || call.batch !== batch) h.tripsLeft--;
        batch = call.batch;
        if (h.tripsLeft < 0) return gone(spec.host);
        if (call.argv.some((a) => h.failing.has(a))) return { exitCode: 1, stderr: `${call.argv[1]}: refused` };
        return answerOvs(h, call.argv) ?? new Error(`unexpected command ${JSON.stringify(call.argv)}`);
      },
    });
  });
});
afterEach(() => jest.restoreAllMocks());

const bridgeInputs = async () => {
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
    h.tripsLeft = 1; // the create's own batch, then nothing answers
    const err = (await bridgeProvider.create!(await bridgeInputs()).catch((e: unknown) => e)) as RolledBackError;
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.leftBehind).toEqual([{ what: 'bridge br1 and its patch ports', where: '192.0.2.1', error: expect.stringMatching(/cannot connect to root@192.0.2.1/) }]);
    expect(err.message).toMatch(/rollback incomplete, LEFT BEHIND: bridge br1 and its patch ports on 192.0.2.1/);
    expect(h.bridges.has('br1')).toBe(true); // really left: and now reported
  });
});

const tunnelInputs = async () => {
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
    hosts.get('192.0.2.2')!.tripsLeft = 0; // h2 down from the start
    const err = await tunnelProvider.create!(await tunnelInputs()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect(String(err)).toMatch(/rolled back: GRE port gre-h2 on br1 on 192.0.2.1/);
    expect(hosts.get('192.0.2.1')!.ports.has('gre-h2')).toBe(false);
  });

  it('both ends made, the neighbour seeding fails and h1 dies: the ends LEFT BEHIND are named', async () => {
    const h1 = hosts.get('192.0.2.1')!;
    // Neither host's underlay MAC is known before its end's batch: the seeds follow in a second
    // round trip, where h1 goes away while the tunnel is being finished.
    jest.spyOn(appctl, 'tnlNeighSet').mockImplementation(async () => {
      h1.tripsLeft = 0;
      throw new Error('ovs-appctl tnl/neigh/set: timed out');
    });
    const err = (await tunnelProvider.create!(await tunnelInputs()).catch((e: unknown) => e)) as RolledBackError;
    expect(err).toBeInstanceOf(RolledBackError);
    expect(err.undone).toEqual(['GRE port gre-h1 on br1 on 192.0.2.2']);
    expect(err.leftBehind.map((l) => `${l.what} @ ${l.where}`)).toEqual(['GRE port gre-h2 on br1 @ 192.0.2.1']);
    expect(err.message).toMatch(/LEFT BEHIND: GRE port gre-h2 on br1 on 192.0.2.1 \(cannot connect/);
  });
});
