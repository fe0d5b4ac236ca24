/**
 * Tunnel neighbour entries go with their owner (issue 17), on the real lab through the real
 * Pulumi CLI. Program: stacks/programs/faults.ts with `vpm:keyedTunnels` = ["h2-h4", "h1-h3"]:
 * a second tunnel h2-h4 (GRE key 7) beside the tree's, sending to the same neighbours, and a
 * tunnel h1-h3 that no tree link shares. The stayer (5004, 1 datagram/ms from h1 to r1 behind h3
 * and r2 behind h4) runs over the tree's tunnels throughout.
 *
 *   1. gre-h2-h4-k7 removed (shares its neighbours): the `up` deletes exactly it; every entry
 *      stays (no flush happens); the stream loses no run of 50.
 *   2. gre-h1-h3-k7 removed (its neighbours used by nothing else): OVS 3.1 cannot delete one
 *      entry, and a flush would make the tree's tunnels on h1 and h3 re-resolve their
 *      neighbours under the stream, so the unused entries are kept (they age out; the host's
 *      last tunnel flushes them): every entry as before; the stream keeps arriving (no run of 50
 *      lost, no duplicates); its losses are recorded in the figures.
 *   3. After `destroy`, `ovs-appctl tnl/neigh/show` on every host holds no entry VPM set (none
 *      for a hypervisor's underlay IP on br0); entries not for a hypervisor (the lab's own,
 *      learned) are no concern of VPM's and are not asserted.
 *
 * Needs root, the lab tools, ethtool, the Pulumi CLI (`npm run setup`) and a fresh build; any
 * of them missing FAILS the suite, it never skips.
 */
import * as fs from 'node:fs';
import { parseTnlNeighShow } from '../../providers/ovs';
import type { Inventory } from '../../lab';
import { LabHosts, acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { UdpReceiver, UdpSender, analyse, killAll, longestRun, sleep, type NetnsScript } from '../../lab/stream/measure';
import { PROVIDER_BUILD, PULUMI_CLI, Stack, changesOf, ok, requireFresh } from '../support/fault-lab';

const PROGRAM = 'dist/stacks/programs/faults.js';
const STACK = `flt-neigh-${process.pid}`;
const STAYER = 5004;
const SOURCE_IP = '10.99.0.1';
const BROADCAST = '10.99.0.255';
const HOSTS = ['h1', 'h2', 'h3', 'h4'];

jest.setTimeout(240_000);

describe(`tunnel neighbour entries on the lab (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let stack: Stack;
  let weStartedIt = false;
  const scripts: NetnsScript[] = [];
  const figures: Record<string, unknown> = {};
  const netns = (name: string) => [...inventory.hypervisors, ...inventory.receivers].find((x) => x.name === name)!.netns;
  const ipOf = (name: string) => inventory.hypervisors.find((x) => x.name === name)!.ip;
  /** The host's entries for hypervisors' underlay IPs on br0 (what VPM sets), as "ip bridge". */
  const vpmEntries = async (h: string): Promise<string[]> => {
    const hvIps = new Set(inventory.hypervisors.map((x) => x.ip));
    return parseTnlNeighShow(await lab.must(h, ['ovs-appctl', 'tnl/neigh/show']))
      .filter((e) => hvIps.has(e.ip) && e.bridge === 'br0')
      .map((e) => `${e.ip} ${e.bridge}`)
      .sort();
  };

  beforeAll(async () => {
    requireLabPrerequisites({ ethtool: 'ethtool' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireFresh([['stacks/programs/faults.ts', PROGRAM], ['stacks/programs/star-overlay.ts', 'dist/stacks/programs/star-overlay.js'], ...PROVIDER_BUILD]);
    inventory = await acquireLab({ hypervisors: 4, receivers: 2 });
    weStartedIt = true;
    lab = new LabHosts(inventory);
    stack = new Stack(STACK, PROGRAM);
    await stack.init();
    await stack.config('vpm:paths', JSON.stringify({ h3: [STAYER], h4: [STAYER] }));
    await stack.config('vpm:keyedTunnels', JSON.stringify(['h2-h4', 'h1-h3']));
  }, 6 * 60_000);

  afterAll(async () => {
    killAll(scripts.splice(0)); // the stream runs from test 1 through test 2
    process.stderr.write(`neighbour figures: ${JSON.stringify(figures)}\n`);
    try {
      await stack?.dispose(false); // the hosts go with the lab
    } finally {
      if (weStartedIt) await releaseLab();
    }
  }, 300_000);

  const streams: { sender?: UdpSender; receivers: UdpReceiver[] } = { receivers: [] };

  /** Waits for 500 more datagrams at each receiver: the stream still flows. */
  async function stillStreams(): Promise<void> {
    const now = await Promise.all(streams.receivers.map((r) => r.stats()));
    await Promise.all(streams.receivers.map((r, i) => r.waitFor(now[i].count + 500, 15_000)));
  }

  test('1. one of two tunnels sharing a neighbour removed: every entry stays, the stream keeps going', async () => {
    ok(await stack.run('up', '--json'));
    expect(await lab.must('h2', ['ovs-vsctl', 'list-ports', 'br1'])).toContain('gre-h4-k7');
    expect(await lab.must('h1', ['ovs-vsctl', 'list-ports', 'br1'])).toContain('gre-h3-k7');
    const before = Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await vpmEntries(h)])));
    const want = (...hs: string[]) => hs.map((x) => `${ipOf(x)} br0`).sort();
    expect(before).toEqual({ h1: want('h2', 'h3'), h2: want('h1', 'h3', 'h4'), h3: want('h1', 'h2'), h4: want('h2') });

    // The stayer: src0 on h1 sends 1 datagram/ms to the overlay broadcast; r1 and r2 count.
    await lab.must('h1', ['ip', 'addr', 'replace', `${SOURCE_IP}/24`, 'dev', 'src0']);
    await lab.must('h1', ['ip', 'link', 'set', 'src0', 'up']);
    await lab.must('h1', ['ethtool', '-K', 'src0', 'tx', 'off']);
    streams.receivers = await Promise.all([UdpReceiver.start(netns('r1'), STAYER, 'r1'), UdpReceiver.start(netns('r2'), STAYER, 'r2')]);
    scripts.push(...streams.receivers);
    streams.sender = await UdpSender.start(netns('h1'), { ip: BROADCAST, port: STAYER, count: 0, bindIp: SOURCE_IP });
    scripts.push(streams.sender);
    for (const r of streams.receivers) await r.waitFor(200, 15_000);

    await stack.config('vpm:keyedTunnels', JSON.stringify(['h1-h3']));
    expect(changesOf(ok(await stack.run('up', '--json')))).toEqual({ delete: 1 });
    expect(await lab.must('h2', ['ovs-vsctl', 'list-ports', 'br1'])).not.toContain('gre-h4-k7');
    expect(await lab.must('h4', ['ovs-vsctl', 'list-ports', 'br1'])).not.toContain('gre-h2-k7');
    // The tree's gre-h2-h4 still sends to the same neighbours: their entries were kept.
    expect(Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await vpmEntries(h)])))).toEqual(before);
    await stillStreams();
  });

  test('2. a tunnel whose neighbours nothing else uses removed: no flush under the tree\'s tunnels, the stream keeps going', async () => {
    expect(streams.sender).toBeDefined(); // test 1 started it
    const before = Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await vpmEntries(h)])));
    await stack.config('vpm:keyedTunnels', JSON.stringify([]));
    expect(changesOf(ok(await stack.run('up', '--json')))).toEqual({ delete: 1 });
    expect(await lab.must('h1', ['ovs-vsctl', 'list-ports', 'br1'])).not.toContain('gre-h3-k7');
    // h1 and h3 still send to h2 over the tree's tunnels: their caches are left as they were.
    expect(Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, await vpmEntries(h)])))).toEqual(before);
    await stillStreams();
    await streams.sender!.halt();
    await Promise.all(streams.receivers.map((r) => r.waitQuiet(150, 5000)));
    for (const [i, r] of streams.receivers.entries()) {
      const report = await r.report();
      // From the first datagram that arrived (start-up is not what is measured).
      const whole = analyse(report, Math.min(...report.seqs));
      figures[`r${i + 1}`] = { lost: whole.lost.length, longestRun: longestRun(whole.lost), maxGapMs: Math.round(whole.maxGapMs), received: whole.received };
      expect({ r: i + 1, stopped: longestRun(whole.lost) >= 50, duplicates: whole.duplicates }).toEqual({ r: i + 1, stopped: false, duplicates: 0 });
    }
  });

  test('3. after destroy no host holds an entry VPM set', async () => {
    // Every host holds VPM's entries before (the tree's tunnels).
    for (const h of HOSTS) expect({ h, some: (await vpmEntries(h)).length > 0 }).toEqual({ h, some: true });
    ok(await stack.run('destroy'));
    await sleep(200);
    for (const h of HOSTS) expect({ h, entries: await vpmEntries(h) }).toEqual({ h, entries: [] });
    figures.destroyed = Object.fromEntries(await Promise.all(HOSTS.map(async (h) => [h, parseTnlNeighShow(await lab.must(h, ['ovs-appctl', 'tnl/neigh/show'])).length])));
  });
});
