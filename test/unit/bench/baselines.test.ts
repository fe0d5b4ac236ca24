/**
 * The up-scaling benchmark's baselines build VPM's end state, BFD included: the desired state
 * carries the bfd column VPM writes on every GRE end (DEFAULT_BFD through GreTunnel and
 * VsctlTxn), each baseline sends it, and the end-state comparison sees a difference in it.
 */
import { DEFAULT_BFD } from '../../../components/streaming-tree/component';
import { VsctlTxn } from '../../../providers/ovs/vsctl';
import { parseBridgeName, parseInterfaceName, parseIpv4 } from '../../../providers/ovs/values';
import type { Inventory } from '../../../lab/inventory';
import { bfdColumn, bfdSettings, desiredState, planFor } from '../../../bench/lib/tree';
import { OVERLAY_READ, hostScript, overlayDifferences, parseOverlay, sameOverlay, scriptLines, type OverlayState } from '../../../bench/baselines/plain-ssh';
import { greVars, playbook } from '../../../bench/baselines/ansible';

function inventoryOf(n: number): Inventory {
  const hex = (k: number) => k.toString(16).padStart(2, '0');
  return {
    version: 1,
    createdAt: '2026-12-05T00:00:00.000Z',
    underlay: { netns: 'vpmx-underlay', cidr: '10.250.0.0/24', bridge: 'ubr0', ip: '10.250.0.254' },
    privateKeyPath: '/tmp/vpmx/id_ed25519',
    knownHostsPath: '/tmp/vpmx/known_hosts',
    hypervisors: Array.from({ length: n }, (_, i) => ({
      name: `h${i + 1}`,
      netns: `vpmx-h${i + 1}`,
      ip: `10.250.0.${i + 1}`,
      mac: `02:00:00:00:01:${hex(i + 1)}`,
      sshPort: 22,
      user: 'vpm',
      hostKey: 'ssh-ed25519 AAAA',
      hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43),
      ovsRunDir: `/tmp/vpmx/h${i + 1}/ovs`,
    })),
    receivers: [{ name: 'r1', netns: 'vpmx-r1', ip: '10.250.0.201', mac: '02:00:00:00:02:01' }],
  } as unknown as Inventory;
}

/** The bfd column VPM writes on a GRE end of the StreamingTree (GreTunnel's addTxn: enable true over the tree's bfd). */
function vpmBfdColumn(): Record<string, string> {
  const argv = new VsctlTxn().addPort(parseBridgeName('br1', 'bridge'), parseInterfaceName('gre-x', 'port'), { type: 'gre', remoteIp: parseIpv4('10.250.0.2', 'remoteIp'), bfd: { enable: true, ...DEFAULT_BFD } }, { mayExist: true }).argv();
  const arg = argv.find((a) => a.startsWith('bfd={'));
  expect(arg).toBeDefined();
  // mapArg quotes keys and values: bfd={"enable"="true",...}.
  return Object.fromEntries(
    arg!
      .slice('bfd={'.length, -1)
      .split(',')
      .map((kv) => kv.split('=').map((w) => w.replace(/^"(.*)"$/, '$1')) as [string, string]),
  );
}

const BFD = { enable: 'true', min_tx: '10', min_rx: '10' };

describe('desired state: BFD on every GRE port as VPM sets it', () => {
  const inventory = inventoryOf(4);
  const state = desiredState(planFor(4, inventory), inventory);

  test('the bfd column equals what VPM writes (DEFAULT_BFD through VsctlTxn)', () => {
    expect(bfdColumn()).toEqual(BFD);
    expect(bfdColumn()).toEqual(vpmBfdColumn());
    expect(bfdColumn({ minTxMs: 6 })).toEqual({ enable: 'true', min_tx: '6', min_rx: '10' });
    expect(bfdColumn(false)).toEqual({});
    expect(bfdSettings(bfdColumn())).toEqual(['bfd:enable=true', 'bfd:min_tx=10', 'bfd:min_rx=10']);
    expect(bfdSettings({})).toEqual([]);
  });

  test('every GRE end of the tree carries it (both ends of 3 tunnels); BFD off leaves it empty', () => {
    const ends = state.flatMap((h) => h.grePorts);
    expect(ends).toHaveLength(6);
    for (const g of ends) expect(g.bfd).toEqual(BFD);
    const off = desiredState(planFor(4, inventory), inventory, false).flatMap((h) => h.grePorts);
    for (const g of off) expect(g.bfd).toEqual({});
  });

  test('careful script: the GRE port in the one vsctl transaction sets BFD', () => {
    const h2 = state.find((h) => h.host === 'h2')!;
    const script = hostScript(h2);
    for (const g of h2.grePorts) {
      expect(script).toContain(`--may-exist add-port br1 ${g.name} -- set interface ${g.name} type=gre options:remote_ip=${g.remoteIp} ofport_request=${g.ofport} bfd:enable=true bfd:min_tx=10 bfd:min_rx=10`);
    }
  });

  test('naive script: BFD is part of each GRE add-port command (no extra command)', () => {
    const tunnels = scriptLines(state).filter((l) => l.phase === 'tunnels' && l.remote.includes('type=gre'));
    expect(tunnels).toHaveLength(6);
    for (const l of tunnels) expect(l.remote).toMatch(/ type=gre options:remote_ip=\S+ ofport_request=\d+ bfd:enable=true bfd:min_tx=10 bfd:min_rx=10$/);
  });

  test('Ansible: the GRE port task sets {{ item.bfd }}, the host vars hold the settings', () => {
    const tasks = (playbook()[0] as { tasks: { name: string; [k: string]: unknown }[] }).tasks;
    const gre = tasks.find((t) => t.name === 'GRE ports')!;
    const set = (gre['openvswitch.openvswitch.openvswitch_port'] as { set: string[] }).set;
    expect(set).toEqual(['Interface {{ item.name }} type=gre options:remote_ip={{ item.remoteIp }} ofport_request={{ item.ofport }} {{ item.bfd }}']);
    const h1 = state.find((h) => h.host === 'h1')!;
    expect(greVars(h1)).toEqual(h1.grePorts.map((g) => ({ name: g.name, remoteIp: g.remoteIp, ofport: g.ofport, bfd: 'bfd:enable=true bfd:min_tx=10 bfd:min_rx=10' })));
  });
});

describe('end-state comparison', () => {
  const json = (rows: [string, [string, string][]][]) => JSON.stringify({ data: rows.map(([n, m]) => [n, ['map', m]]), headings: ['name', 'bfd'] });
  const out = (bfdRows: [string, [string, string][]][]) =>
    ['gre-h1-h2', 'patch-ovl', 'src0', ''].join('\n') +
    '---\n' +
    [' cookie=0x1, duration=1s, table=0, n_packets=0, priority=1000,udp,in_port=1,tp_dst=5004 actions=output:3', ' cookie=0x0, table=0, priority=0 actions=drop', ''].join('\n') +
    '---\n' +
    json(bfdRows) +
    '\n';

  test('OVERLAY_READ asks for the GRE interfaces\' bfd column', () => {
    expect(OVERLAY_READ).toContain('--columns=name,bfd find Interface type=gre');
  });

  test('parses ports, stream flows and each br1 GRE interface\'s bfd (key order aside; other bridges left out)', () => {
    const s = parseOverlay(out([['gre-h1-h2', [['min_tx', '10'], ['enable', 'true'], ['min_rx', '10']]], ['gre-elsewhere', []]]));
    expect(s).toEqual({ ports: ['gre-h1-h2', 'patch-ovl', 'src0'], flows: 1, bfd: { 'gre-h1-h2': { enable: 'true', min_rx: '10', min_tx: '10' } } });
  });

  test('a baseline without BFD (or with other intervals) differs from VPM; the same settings do not', () => {
    const vpm: Record<string, OverlayState | null> = { h1: parseOverlay(out([['gre-h1-h2', [['enable', 'true'], ['min_rx', '10'], ['min_tx', '10']]]])) };
    const withBfd = { h1: parseOverlay(out([['gre-h1-h2', [['min_rx', '10'], ['min_tx', '10'], ['enable', 'true']]]])) };
    const without = { h1: parseOverlay(out([['gre-h1-h2', []]])) };
    const slower = { h1: parseOverlay(out([['gre-h1-h2', [['enable', 'true'], ['min_rx', '50'], ['min_tx', '50']]]])) };
    expect(sameOverlay(withBfd, vpm)).toBe(true);
    expect(sameOverlay(without, vpm)).toBe(false);
    expect(overlayDifferences(without, vpm)).toEqual(['h1: gre-h1-h2 bfd {} vs {"enable":"true","min_rx":"10","min_tx":"10"}']);
    expect(sameOverlay(slower, vpm)).toBe(false);
  });

  test('ports, flow counts and unreadable hosts still count', () => {
    const a = { h1: { ports: ['a'], flows: 1, bfd: {} }, h2: null };
    expect(overlayDifferences(a, { h1: { ports: ['a'], flows: 2, bfd: {} }, h2: null })).toEqual(['h1: 1 vs 2 stream flows']);
    expect(overlayDifferences(a, { h1: { ports: ['a', 'b'], flows: 1, bfd: {} }, h2: null })).toEqual(['h1: ports a vs a,b']);
    expect(overlayDifferences(a, { h1: { ports: ['a'], flows: 1, bfd: {} }, h2: { ports: [], flows: 0, bfd: {} } })).toEqual(['h2: only the second could be read']);
  });
});
