/**
 * FlowPath end to end through the real Pulumi CLI (`npm run -s pulumi`, Automation API
 * driver, local file backend): dist/stacks/programs/two-paths.js (br1 on h1..h4, tunnels
 * h1-h2, h2-h3, h2-h4, two FlowPaths sharing the root and the relay) on a 4-hypervisor lab
 * with 2 receivers: up; a numbered UDP stream from the root's source reaches both receivers;
 * preview and refresh without changes; destroy leaves no flow with a VPM cookie (0x56...,
 * 0x57...) and no group on any host; stack rm.
 *
 * Needs root, the lab tools, the Pulumi CLI (`npm run setup`) and a fresh build
 * (`npx tsc -p tsconfig.json`); any of them missing or stale FAILS the suite, it never skips.
 */
import * as fs from 'node:fs';
import type { Inventory } from '../../lab';
import { LabHosts, acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { requireBuilt, requireFresh } from '../support/serialised-provider';
import { PULUMI_CLI, Stack, ok, pulumi, summaryOf } from '../support/pulumi-stack';
import { UdpReceiver, UdpSender, analyse, killAll, type NetnsScript } from '../../lab/stream/measure';

const PROGRAM = 'dist/stacks/programs/two-paths.js';
const STACK = `e2e-fp-${process.pid}`;
const SOURCE_IP = '10.99.0.1';
const BROADCAST = '10.99.0.255';
const PORT = 5004;

/** A program command on this test's stack (up, refresh, preview, destroy). */
const program = (command: string, ...flags: string[]) => pulumi([command, '--stack', STACK, '--program', PROGRAM, ...flags]);
/** The backend's leftovers of this run's unique stack, after `stack rm`. */
const forgetStackFiles = () => new Stack(STACK).forgetFiles();


jest.setTimeout(180_000);

describe(`pulumi up/preview/refresh/destroy of the two-paths program (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let weStartedIt = false;
  let stackCreated = false;
  let destroyed = false;
  const scripts: NetnsScript[] = [];
  const netns = (name: string) => [...inventory.hypervisors, ...inventory.receivers].find((x) => x.name === name)!.netns;

  async function groups(h: string, br: string): Promise<string[]> {
    const out = await lab.must(h, ['ovs-ofctl', '-O', 'OpenFlow15', 'dump-groups', br]);
    return out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('group_id='));
  }

  beforeAll(async () => {
    requireLabPrerequisites({ ethtool: 'ethtool' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    const built: Array<[string, string]> = [
      ['stacks/programs/two-paths.ts', PROGRAM],
      ...['plan', 'provider', 'resource'].map((m): [string, string] => [`providers/flow-path/${m}.ts`, `dist/providers/flow-path/${m}.js`]),
      ['providers/ovs-bridge/provider.ts', 'dist/providers/ovs-bridge/provider.js'],
      ['providers/gre-tunnel/provider.ts', 'dist/providers/gre-tunnel/provider.js'],
    ];
    requireBuilt(...built.map(([, out]) => out));
    requireFresh(built);
    inventory = await acquireLab({ hypervisors: 4, receivers: 2 });
    weStartedIt = true;
    lab = new LabHosts(inventory);
  }, 6 * 60_000);

  afterEach(() => killAll(scripts.splice(0)));

  afterAll(async () => {
    try {
      if (stackCreated) await new Stack(STACK).tearDown(!destroyed, '--program', PROGRAM);
    } finally {
      if (weStartedIt) await releaseLab();
    }
  }, 240_000);

  test('up creates bridges, tunnels and two paths that share the root and the relay', async () => {
    stackCreated = true;
    const up = summaryOf(ok(await program('up', '--json')));
    expect(up.changeSummary).toMatchObject({ create: 10 }); // stack + 4 bridges + 3 tunnels + 2 paths
    const paths = up.outputs!.paths as Array<{ pathId: string; cookie: string; flows: Array<{ node: string; rules: string[] }> }>;
    expect(paths.map((p) => p.pathId)).toEqual(['r1-h3-5004', 'r2-h4-5004']);
    expect(paths.map((p) => p.flows.map((f) => f.node))).toEqual([
      ['h1', 'h2', 'h3'],
      ['h1', 'h2', 'h4'],
    ]);
    for (const p of paths) expect(p.cookie).toMatch(/^0x56[0-9a-f]{14}$/);
    // Shared root: same actions -> one bucket; shared relay: two buckets in one group.
    expect((await groups('h1', 'br1')).map((g) => g.split(',bucket=').length - 1)).toEqual([1]);
    expect((await groups('h2', 'br1')).map((g) => g.split(',bucket=').length - 1)).toEqual([2]);
    for (const h of ['h3', 'h4']) expect(await groups(h, 'br1')).toHaveLength(1);
  });

  test('the stream from the root reaches both receivers', async () => {
    // The program makes src0 (port 2 on h1's br1); the test gives it its overlay address.
    await lab.must('h1', ['ip', 'addr', 'replace', `${SOURCE_IP}/24`, 'dev', 'src0']);
    await lab.must('h1', ['ip', 'link', 'set', 'src0', 'up']);
    await lab.must('h1', ['ethtool', '-K', 'src0', 'tx', 'off']);
    const rs = await Promise.all([UdpReceiver.start(netns('r1'), PORT, 'r1'), UdpReceiver.start(netns('r2'), PORT, 'r2')]);
    scripts.push(...rs);
    const s = await UdpSender.start(netns('h1'), { ip: BROADCAST, port: PORT, count: 2000, bindIp: SOURCE_IP });
    scripts.push(s);
    expect((await s.finished(15_000)).sent).toBe(2000);
    await Promise.all(rs.map((r) => r.waitQuiet(150, 5_000)));
    for (const r of rs) {
      const a = analyse(await r.stop(), 0, 1999);
      expect(a.received).toBeGreaterThanOrEqual(1998);
      expect(a.duplicates).toBe(0);
    }
  });

  test('preview and refresh report no changes', async () => {
    ok(await program('preview', '--expect-no-changes'));
    ok(await program('refresh', '--expect-no-changes'));
  });

  test('destroy leaves no VPM flow and no group on any host; stack rm', async () => {
    ok(await program('destroy'));
    destroyed = true;
    for (const h of inventory.hypervisors.map((x) => x.name)) {
      expect(await lab.bridges(h)).toEqual(['br0']);
      for (const br of await lab.bridges(h)) {
        expect((await lab.flows(h, br)).filter((f) => /cookie=0x5[67]/.test(f))).toEqual([]);
        expect(await groups(h, br)).toEqual([]);
      }
      expect(await lab.vpmLeftovers(h)).toEqual([]);
    }
    ok(await pulumi(['stack', 'rm', STACK, '--yes']));
    stackCreated = false;
    const ls = ok(await pulumi(['stack', 'ls', '--json']));
    expect(ls.stdout).not.toContain(`"${STACK}"`);
    forgetStackFiles();
  });
});
