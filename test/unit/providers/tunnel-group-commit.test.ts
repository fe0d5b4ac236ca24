/**
 * GreTunnel end creates on one host group-commit (providers/gre-tunnel/provider.ts,
 * `endCommits`): on a relay, the first end goes out alone and the ends that arrive while it is
 * in flight go together in ONE command with ONE ovs-vsctl transaction. A foreign port or a
 * failing step fails only its own tunnel, with the error it would have had alone, and the
 * rollback removes exactly what each failed create added. Hosts are test/support/ovs-model.ts
 * models; RecordingRunner counts the round trips a real host would see.
 */
import * as pool from '../../../providers/exec/pool';
import { RecordingRunner } from '../../../providers/exec/recording';
import type { ScriptedResponse } from '../../../providers/exec/recording';
import { forgetUnderlayMacs } from '../../../providers/ovs/underlay-macs';
import { provider as bridgeProvider } from '../../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../../providers/gre-tunnel/provider';
import type { GreTunnelOutputs } from '../../../providers/gre-tunnel/types';
import { answerOvs, modelHost, type ModelHost } from '../../support/ovs-model';
import { checkedInputs } from '../../support/runners';

const HOST_KEY = 'SHA256:' + 'A'.repeat(43);
const ip = (n: number) => `192.0.2.${n}`;
const conn = (n: number) => ({ host: ip(n), hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' });
const underlay = (n: number) => `10.250.0.${100 + n}`;
const mac = (n: number) => `02:56:50:00:00:${n.toString(16).padStart(2, '0')}`;
/** The relay and its eight leaves (the engine runs up to 8 steps at once on this machine). */
const RELAY = 2;
const LEAVES = [3, 4, 5, 6, 7, 8, 9, 10];

let hosts: Map<string, ModelHost>;
let runners: Map<string, RecordingRunner[]>;
/** Per host: answers to force (a fault), tried before the model. */
let faults: Map<string, (argv: readonly string[]) => ScriptedResponse | undefined>;
const H = (n: number) => hosts.get(ip(n))!;

/** The commands (batches) host n saw, each as its steps' argvs. */
function commands(n: number): Array<Array<readonly string[]>> {
  return (runners.get(ip(n)) ?? []).flatMap((r) => {
    const byBatch = new Map<number, Array<readonly string[]>>();
    const singles: Array<Array<readonly string[]>> = [];
    for (const c of r.calls) {
      if (c.batch === undefined) singles.push([c.argv]);
      else byBatch.set(c.batch, [...(byBatch.get(c.batch) ?? []), c.argv]);
    }
    return [...byBatch.values(), ...singles];
  });
}
const trips = (n: number) => (runners.get(ip(n)) ?? []).reduce((sum, r) => sum + r.roundTrips, 0);
const addPorts = (cmd: Array<readonly string[]>) => cmd.filter((a) => a[0] === 'ovs-vsctl').map((a) => a.filter((w) => w === 'add-port').length).filter((k) => k > 0);

beforeEach(() => {
  forgetUnderlayMacs();
  hosts = new Map([1, RELAY, ...LEAVES].map((n) => [ip(n), modelHost({ mac: mac(n) })]));
  runners = new Map();
  faults = new Map();
  jest.spyOn(pool, 'getRunner').mockImplementation((spec) => {
    const r = new RecordingRunner({
      host: spec.host,
      handler: (call) => faults.get(spec.host)?.(call.argv) ?? answerOvs(hosts.get(spec.host)!, call.argv) ?? new Error(`unexpected command ${JSON.stringify(call.argv)}`),
    });
    runners.set(spec.host, [...(runners.get(spec.host) ?? []), r]);
    return r;
  });
});
afterEach(() => jest.restoreAllMocks());

const checked = (p: typeof bridgeProvider, args: Record<string, unknown>): Promise<any> => checkedInputs(p, args);
/** Bridges first (so every far MAC is known and each end seeds in its own command), then a clean count. */
async function bridges(): Promise<void> {
  for (const n of [RELAY, ...LEAVES]) {
    await bridgeProvider.create!(await checked(bridgeProvider, { connection: conn(n), owner: `vpm/dev/br1-h${n}`, name: 'br1', patch: { overlayOfport: 1 } }));
  }
  runners = new Map();
}
// No fixed ofport: the host numbers each port, so each tunnel must get its own number back.
const end = (n: number, to: number) => ({ connection: conn(n), bridge: 'br1', remoteIp: underlay(to), portName: `gre-h${to}` });
/** The relay's tunnels to its leaves, checked first, then all creates started in the same tick. */
async function relayTunnels(): Promise<Array<PromiseSettledResult<GreTunnelOutputs>>> {
  const inputs = [];
  for (const k of LEAVES) inputs.push(await checked(tunnelProvider, { a: end(RELAY, k), b: end(k, RELAY), owner: `vpm/dev/gre-h${RELAY}-h${k}` }));
  return Promise.allSettled(inputs.map(async (i) => ((await tunnelProvider.create!(i)) as { outs: GreTunnelOutputs }).outs));
}
const outcome = (o: PromiseSettledResult<GreTunnelOutputs>) => (o.status === 'fulfilled' ? 'ok' : String(o.reason));

describe('GreTunnel: end creates on one host group-commit', () => {
  it('8 tunnels on the relay at once: the relay sees 2 commands (1 end alone, then 7 in one transaction), each leaf 1; each end has its own port number', async () => {
    await bridges();
    const out = await relayTunnels();
    expect(out.map(outcome)).toEqual(LEAVES.map(() => 'ok'));
    // One by one (main before this change) the relay saw 8 commands, one per end.
    expect(trips(RELAY)).toBe(2);
    expect(commands(RELAY).map(addPorts).sort()).toEqual([[1], [7]]);
    for (const k of LEAVES) expect(trips(k)).toBe(1);

    const outs = out.map((o) => (o as PromiseFulfilledResult<GreTunnelOutputs>).value);
    expect(new Set(outs.map((t) => t.aOfport)).size).toBe(LEAVES.length);
    LEAVES.forEach((k, i) => {
      expect(outs[i]).toMatchObject({ aPresent: true, bPresent: true, aOfport: H(RELAY).ports.get(`gre-h${k}`)!.ofport, bOfport: H(k).ports.get(`gre-h${RELAY}`)!.ofport });
      expect(H(RELAY).ports.get(`gre-h${k}`)).toMatchObject({ bridge: 'br1', owner: `vpm/dev/gre-h${RELAY}-h${k}`, remoteIp: underlay(k) });
      // Both caches seeded in the same command as the port (the far MACs were known).
      expect(H(RELAY).cache.get(`${underlay(k)} br0`)).toBe(mac(k));
      expect(H(k).cache.get(`${underlay(RELAY)} br0`)).toBe(mac(RELAY));
    });
    // The combined command: 7 guards, one transaction, one read of all 7 ports, one MAC read, 7 seeds.
    const together = commands(RELAY).find((c) => addPorts(c)[0] === 7)!;
    expect(together.map((a) => (a[0] === 'ovs-appctl' ? a[1] : a.includes('find') ? 'guard' : a.includes('add-port') ? 'txn' : a.includes('mac_in_use') ? 'mac' : 'read'))).toEqual([
      ...Array(7).fill('guard'),
      'txn',
      'read',
      'mac',
      ...Array(7).fill('tnl/neigh/set'),
    ]);
  });

  it('a foreign port fails only its own tunnel, with the foreign-port error; its leaf end is rolled back; the others stand', async () => {
    await bridges();
    H(RELAY).ports.set('gre-h6', { bridge: 'br1', owner: 'someone/else', ofport: 40 });
    const out = await relayTunnels();
    LEAVES.forEach((k, i) => {
      if (k === 6) expect(outcome(out[i])).toMatch(/192\.0\.2\.2: port "gre-h6" exists and is not owned by this tunnel \(vpm-owner=someone\/else\); choose another portName/);
      else expect(outcome(out[i])).toBe('ok');
    });
    expect(outcome(out[LEAVES.indexOf(6)])).toMatch(/rolled back: GRE port gre-h2 on br1 on 192\.0\.2\.6/);
    expect(H(RELAY).ports.get('gre-h6')).toEqual({ bridge: 'br1', owner: 'someone/else', ofport: 40 });
    expect(H(6).ports.has('gre-h2')).toBe(false);
    for (const k of LEAVES.filter((k) => k !== 6)) expect(H(RELAY).ports.get(`gre-h${k}`)!.owner).toBe(`vpm/dev/gre-h${RELAY}-h${k}`);
  });

  it('a failed combined transaction: each member gets the error it would have had alone, the others stand', async () => {
    await bridges();
    // OVSDB transactions are atomic: a failing one changes nothing (the model's would).
    faults.set(ip(RELAY), (argv) => {
      if (!argv.includes('add-port')) return undefined;
      if (argv.includes('gre-h5')) return { exitCode: 1, stderr: 'ovs-vsctl: fault five\n' };
      if (argv.includes('gre-h8')) return { exitCode: 1, stderr: 'ovs-vsctl: fault eight\n' };
      return undefined;
    });
    const out = await relayTunnels();
    LEAVES.forEach((k, i) => {
      if (k === 5) expect(outcome(out[i])).toMatch(/fault five/);
      else if (k === 8) expect(outcome(out[i])).toMatch(/fault eight/);
      else expect(outcome(out[i])).toBe('ok');
    });
    expect(outcome(out[LEAVES.indexOf(5)])).not.toMatch(/fault eight/);
    expect(outcome(out[LEAVES.indexOf(8)])).not.toMatch(/fault five/);
    for (const k of [5, 8]) expect([H(RELAY).ports.has(`gre-h${k}`), H(k).ports.has(`gre-h${RELAY}`)]).toEqual([false, false]);
    for (const k of LEAVES.filter((k) => k !== 5 && k !== 8)) expect(H(RELAY).ports.get(`gre-h${k}`)!.owner).toBe(`vpm/dev/gre-h${RELAY}-h${k}`);
  });

  it('a step after the combined transaction fails for one member: its tunnel is rolled back on both hosts (the port the combined command added included)', async () => {
    await bridges();
    faults.set(ip(RELAY), (argv) => (argv[1] === 'tnl/neigh/set' && argv[3] === underlay(9) ? { exitCode: 2, stderr: 'neighbour fault\n' } : undefined));
    const out = await relayTunnels();
    LEAVES.forEach((k, i) => expect(outcome(out[i])).toMatch(k === 9 ? /neighbour fault/ : /^ok$/));
    expect(outcome(out[LEAVES.indexOf(9)])).toMatch(/rolled back: .*GRE port gre-h9 on br1 on 192\.0\.2\.2/);
    expect([H(RELAY).ports.has('gre-h9'), H(9).ports.has('gre-h2')]).toEqual([false, false]);
    for (const k of LEAVES.filter((k) => k !== 9)) expect(H(RELAY).ports.get(`gre-h${k}`)!.owner).toBe(`vpm/dev/gre-h${RELAY}-h${k}`);
  });
});
