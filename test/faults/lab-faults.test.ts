/**
 * Faults on the real lab (4 hypervisors, 2 receivers) through the real Pulumi CLI, each
 * injected, observed and recovered from, with the hosts' OpenFlow/OVSDB state and a numbered
 * stream (1 datagram/ms, sequence numbers) asserted. Program: stacks/programs/faults.ts (one
 * root h1, one relay h2, leaves h3 -> r1 and h4 -> r2; config vpm:paths = the UDP ports per leaf).
 *
 *   1. SSH to h4 dropped in the middle of `up` (its sshd and sessions killed by PID right after
 *      the first resources are created): up fails naming the host; with sshd back (same config
 *      file), up converges to exactly the declared state: no duplicate port, flow or bucket.
 *   2. ovs-vswitchd restarted on the relay by PID: refresh reports the lost flows as drift, up
 *      restores them, the stream resumes.
 *   3. A flow, a port and a tunnel port removed by hand: refresh shows exactly those three
 *      resources as drift, up repairs exactly them; every other flow keeps running (its
 *      duration only grows) and every other port keeps its OVSDB row.
 *   5. 20 paths through one root and relay changing in one `up` (10 removed, 10 added, run in
 *      parallel by the engine) while the stayer path streams: final flows and buckets exactly
 *      as declared; the stayer loses nothing.
 *   6. `pulumi up` SIGKILLed mid-run (its whole process tree, by PID): the lock it leaves is
 *      removed with `pulumi cancel`; after `refresh` the next `up` converges, exactly.
 * (4, a migration that cannot complete, is test 6 of test/e2e/streaming-tree.test.ts.)
 *
 * Needs root, the lab tools, ethtool, the Pulumi CLI (`npm run setup`) and a fresh build; any
 * of them missing FAILS the suite, it never skips.
 */
import * as fs from 'node:fs';
import type { Inventory } from '../../lab';
import { LabHosts, acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { UdpReceiver, UdpSender, analyse, killAll, longestRun, sleep, type NetnsScript } from '../../lab/stream/measure';
import { PROVIDER_BUILD, PULUMI_CLI, Stack, changesOf, killSshd, lockFiles, ok, pendingOperations, removeEmptyAttrSidecars, requireFresh, restartVswitchd, startSshd, stateResources, type Run } from '../support/fault-lab';

const PROGRAM = 'dist/stacks/programs/faults.js';
const STACK = `flt-lab-${process.pid}`;
const STAYER = 5004;
const SOURCE_IP = '10.99.0.1';
const BROADCAST = '10.99.0.255';
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/**
 * Beside the stayer (5004 to both leaves), ten paths to h3 (X) or the same ten ports to h4 (Y).
 * X -> Y removes 10 paths and adds 10 in one up, on SHARED groups: at the root, port P's group
 * has one bucket (output to the relay) owned first by pP-h3 and then by pP-h4; at the relay,
 * P's group gets pP-h4's bucket and loses pP-h3's.
 */
const TEN = range(6001, 10);
const SET_X = { h3: [STAYER, ...TEN], h4: [STAYER] };
const SET_Y = { h3: [STAYER], h4: [STAYER, ...TEN] };
const HOSTS = ['h1', 'h2', 'h3', 'h4'];
/** The ports of br1 the program makes, per host (no more, no fewer). */
const BR1_PORTS: Record<string, string[]> = {
  h1: ['gre-h2', 'patch-ovl', 'src0'],
  h2: ['gre-h1', 'gre-h3', 'gre-h4', 'patch-ovl'],
  h3: ['gre-h2', 'patch-ovl'],
  h4: ['gre-h2', 'patch-ovl'],
};

jest.setTimeout(240_000);

/** One line of `ovs-ofctl dump-flows`, parsed far enough to compare. */
interface DumpedLine {
  cookie: string;
  table: number;
  durationS: number;
  /** The line without statistics (what the flow is). */
  key: string;
  group?: number;
  metadata?: string;
}

function parseFlows(text: string): DumpedLine[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('cookie='))
    .map((l) => {
      const key = l
        .replace(/\b(duration|n_packets|n_bytes|idle_age|hard_age|idle_time)=[^,\s]+,?\s*/g, '')
        .replace(/\s+/g, ' ')
        .trim();
      return {
        cookie: /cookie=(0x[0-9a-f]+)/.exec(l)![1],
        table: Number(/table=(\d+)/.exec(l)?.[1] ?? 0),
        durationS: Number(/duration=([0-9.]+)s/.exec(l)?.[1] ?? NaN),
        key,
        ...(/group:(\d+)/.test(l) ? { group: Number(/group:(\d+)/.exec(l)![1]) } : {}),
        ...(/metadata=(0x[0-9a-f]+)/.test(l) ? { metadata: /metadata=(0x[0-9a-f]+)/.exec(l)![1] } : {}),
      };
    });
}

describe(`faults on the lab through the real CLI (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let stack: Stack;
  let weStartedIt = false;
  const scripts: NetnsScript[] = [];
  const figures: Record<string, unknown> = {};
  const netns = (name: string) => [...inventory.hypervisors, ...inventory.receivers].find((x) => x.name === name)!.netns;
  const hv = (name: string) => inventory.hypervisors.find((x) => x.name === name)!;

  async function flows(h: string, br: string, withStats = false): Promise<DumpedLine[]> {
    return parseFlows(await lab.must(h, ['ovs-ofctl', '-O', 'OpenFlow15', ...(withStats ? [] : ['--no-stats']), 'dump-flows', br]));
  }

  async function groups(h: string): Promise<Map<number, number[]>> {
    const out = await lab.must(h, ['ovs-ofctl', '-O', 'OpenFlow15', 'dump-groups', 'br1']);
    const map = new Map<number, number[]>();
    for (const line of out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('group_id='))) {
      const id = Number(/group_id=(\d+)/.exec(line)![1]);
      if (map.has(id)) throw new Error(`${h}: group ${id} listed twice`);
      map.set(id, [...line.matchAll(/bucket_id:(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b));
    }
    return map;
  }

  /** The FlowPath resources of the state: pathId, cookie and per node the (group, bucket) pairs. */
  function statePaths(): Array<{ name: string; pathId: string; cookie: string; missing: string[]; parts: Array<{ node: string; group: number; bucket: number }> }> {
    return stateResources(STACK)
      .filter((r) => r.type.endsWith(':FlowPath'))
      .map((r) => ({
        name: r.urn.split('::').pop()!,
        pathId: r.outputs!.pathId,
        cookie: r.outputs!.cookie,
        missing: r.outputs!.missing ?? [],
        parts: (r.outputs!.flows as Array<{ node: string; rules: string[] }>).flatMap((f) =>
          f.rules.map((rule) => {
            const m = /group:(\d+) bucket:(\d+)/.exec(rule);
            if (!m) throw new Error(`unexpected rule text ${rule}`);
            return { node: f.node, group: Number(m[1]), bucket: Number(m[2]) };
          }),
        ),
      }));
  }

  /**
   * The hosts hold exactly what `declared` asks for: the declared paths and no other in the
   * state, none with missing parts; per host exactly the program's bridges and ports, one
   * group per shared match with exactly the buckets of the paths through it, one shared flow
   * per group, one marker per (path, group, bucket), one static rule on br0. Nothing twice.
   */
  async function expectExactlyDeclared(declared: Record<string, number[]>): Promise<void> {
    const want = Object.entries(declared).flatMap(([leaf, ports]) => ports.map((p) => `p${p}-${leaf}`)).sort();
    const paths = statePaths();
    expect(paths.map((p) => p.pathId).sort()).toEqual(want);
    expect(paths.filter((p) => p.missing.length)).toEqual([]);
    for (const h of HOSTS) {
      expect({ h, bridges: await lab.bridges(h) }).toEqual({ h, bridges: ['br0', 'br1'] });
      expect({ h, br1: (await lab.must(h, ['ovs-vsctl', 'list-ports', 'br1'])).split('\n').sort() }).toEqual({ h, br1: BR1_PORTS[h] });
      expect({ h, br0: (await lab.must(h, ['ovs-vsctl', 'list-ports', 'br0'])).split('\n').sort() }).toEqual({ h, br0: ['eth0', 'patch-phy'] });

      const wantGroups = new Map<number, Set<number>>();
      const wantMarkers: string[] = [];
      for (const p of paths) {
        for (const part of p.parts.filter((x) => x.node === h)) {
          wantGroups.set(part.group, (wantGroups.get(part.group) ?? new Set()).add(part.bucket));
          wantMarkers.push(`${p.cookie}/0x${((BigInt(part.group) << 32n) | BigInt(part.bucket)).toString(16)}`);
        }
      }
      const gotGroups = await groups(h);
      expect({ h, groups: Object.fromEntries([...gotGroups].sort(([a], [b]) => a - b)) }).toEqual({
        h,
        groups: Object.fromEntries([...wantGroups].sort(([a], [b]) => a - b).map(([g, bs]) => [g, [...bs].sort((a, b) => a - b)])),
      });
      const br1 = await flows(h, 'br1');
      const shared = br1.filter((f) => f.table === 0 && f.cookie.startsWith('0x57')).map((f) => f.group!).sort((a, b) => a - b);
      expect({ h, shared }).toEqual({ h, shared: [...wantGroups.keys()].sort((a, b) => a - b) });
      const markers = br1.filter((f) => f.table === 250).map((f) => `${f.cookie}/${f.metadata}`).sort();
      expect({ h, markers }).toEqual({ h, markers: wantMarkers.sort() });
      // Nothing else on br1 (fail_mode secure: no other flow), one static rule on br0.
      expect({ h, other: br1.filter((f) => !(f.table === 0 && f.cookie.startsWith('0x57')) && f.table !== 250).map((f) => f.key) }).toEqual({ h, other: [] });
      expect({ h, br0: (await flows(h, 'br0')).filter((f) => f.cookie.startsWith('0x56')).length }).toEqual({ h, br0: 1 });
    }
  }

  /** The stayer's stream: src0 on h1 sends 1 datagram/ms to the overlay broadcast; r1 and r2 count. */
  async function startStream(): Promise<{ sender: UdpSender; receivers: UdpReceiver[] }> {
    await lab.must('h1', ['ip', 'addr', 'replace', `${SOURCE_IP}/24`, 'dev', 'src0']);
    await lab.must('h1', ['ip', 'link', 'set', 'src0', 'up']);
    await lab.must('h1', ['ethtool', '-K', 'src0', 'tx', 'off']);
    const receivers = await Promise.all([UdpReceiver.start(netns('r1'), STAYER, 'r1'), UdpReceiver.start(netns('r2'), STAYER, 'r2')]);
    scripts.push(...receivers);
    const sender = await UdpSender.start(netns('h1'), { ip: BROADCAST, port: STAYER, count: 0, bindIp: SOURCE_IP });
    scripts.push(sender);
    for (const r of receivers) await r.waitFor(200, 15_000);
    return { sender, receivers };
  }

  beforeAll(async () => {
    requireLabPrerequisites({ ethtool: 'ethtool' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireFresh([['stacks/programs/faults.ts', PROGRAM], ...PROVIDER_BUILD]);
    inventory = await acquireLab({ hypervisors: 4, receivers: 2 });
    weStartedIt = true;
    lab = new LabHosts(inventory);
    stack = new Stack(STACK, PROGRAM);
    await stack.init();
    await stack.config('vpm:paths', JSON.stringify(SET_X));
  }, 6 * 60_000);

  afterEach(() => killAll(scripts.splice(0)));

  afterAll(async () => {
    process.stderr.write(`fault figures: ${JSON.stringify(figures)}\n`);
    try {
      await stack?.dispose(false); // the hosts go with the lab
    } finally {
      if (weStartedIt) await releaseLab();
    }
  }, 300_000);

  test('1. SSH to h4 dropped mid-up: up fails naming the host; with sshd back, up converges with nothing duplicated', async () => {
    const bg = stack.background('up');
    // The first resources are created (h1..h3: h4's bridge waits for them), then h4 goes away.
    await bg.waitFor(/vpm:(OvsBridge|GreTunnel)\s+\S+\s+created/, 180_000);
    const killed = await killSshd(inventory, 'h4');
    let first: Run;
    try {
      first = await bg.done();
    } finally {
      await startSshd(inventory, 'h4'); // same config file: the same host key, the same port
    }
    expect(killed.length).toBeGreaterThanOrEqual(1);
    const text = first.stdout + first.stderr;
    expect(first.code).not.toBe(0);
    expect(text).toMatch(new RegExp(`cannot connect to [^\\n]*${hv('h4').ip.replace(/\./g, '\\.')}`));
    for (const h of ['h1', 'h2', 'h3']) expect(await lab.bridges(h)).toContain('br1'); // the first resources are there

    const second = ok(await stack.run('up', '--json'));
    const changes = changesOf(second);
    expect(Object.keys(changes)).toEqual(['create']); // only what the failed up did not make
    figures.f1 = { firstUpCreated: (first.stdout.match(/ created/g) ?? []).length, secondUpCreated: changes.create };
    await expectExactlyDeclared(SET_X);
  });

  test('2. ovs-vswitchd restarted on the relay: refresh reports the lost flows, up restores them, the stream resumes', async () => {
    const { sender, receivers } = await startStream();
    const [r1, r2] = receivers;
    const { old, now } = await restartVswitchd(inventory, 'h2');
    expect(now).not.toBe(old);
    // The relay lost every flow and group: the stream stops at both receivers.
    await sleep(300);
    const stalled = await Promise.all(receivers.map((r) => r.stats()));
    await sleep(700);
    const still = await Promise.all(receivers.map((r) => r.stats()));
    still.forEach((s, i) => expect(s.count - stalled[i].count).toBeLessThanOrEqual(2));
    expect(await groups('h2')).toEqual(new Map());

    const refresh = ok(await stack.run('refresh', '--json'));
    const drift = changesOf(refresh);
    const paths = statePaths();
    // Every path crosses the relay: each reports the relay's part missing, and only that.
    expect(paths.length).toBe(12);
    for (const p of paths) {
      expect(p.missing.length).toBeGreaterThan(0);
      for (const m of p.missing) expect(m).toMatch(/^h2: /);
    }
    // + br1-h2: br0's static rule was lost with the daemon's flows.
    expect(drift).toEqual({ update: 13 });

    const up = ok(await stack.run('up', '--json'));
    expect(changesOf(up)).toEqual({ update: 13 });
    const resumedAt = await Promise.all(receivers.map((r) => r.stats()));
    await Promise.all(receivers.map((r, i) => r.waitFor(resumedAt[i].count + 500, 15_000)));
    await sender.halt();
    await Promise.all(receivers.map((r) => r.waitQuiet(150, 5000)));
    for (const [i, r] of [r1, r2].entries()) {
      const report = await r.report(); // (the script is ended by afterEach)
      // After the repair the stream is whole again: the last 500 sequence numbers arrived.
      const last = Math.max(...report.seqs);
      const tail = analyse(report, last - 499, last);
      expect({ r: i, stopped: longestRun(tail.lost) >= 50, duplicates: tail.duplicates }).toEqual({ r: i, stopped: false, duplicates: 0 });
      expect(tail.lost.length).toBeLessThanOrEqual(2);
      const whole = analyse(report);
      figures[`f2.r${i + 1}`] = { outageMs: Math.round(whole.maxGapMs), lost: whole.lost.length, received: whole.received };
    }
    await expectExactlyDeclared(SET_X);
  });

  test('3. a flow, a port and a tunnel removed by hand: refresh shows exactly those, up repairs only them', async () => {
    // Before: every VPM port row (by uuid) and every flow (with its age).
    const portRows = async () => {
      const rows = new Map<string, string>();
      for (const h of HOSTS) for (const r of await lab.ownedRows(h, 'Port')) rows.set(`${h}/${r.name}`, (await lab.get(h, 'Port', r.name, '_uuid'))[0]);
      return rows;
    };
    const allFlows = async () => {
      const m = new Map<string, DumpedLine>();
      for (const h of HOSTS) for (const br of ['br0', 'br1']) for (const f of await flows(h, br, true)) m.set(`${h}/${br}/${f.key}`, f);
      return m;
    };
    const rowsBefore = await portRows();
    const flowsBefore = await allFlows();
    const t0 = Date.now();

    const p6001 = statePaths().find((p) => p.pathId === 'p6001-h3')!;
    const group6001 = p6001.parts.find((x) => x.node === 'h3')!.group;
    await lab.must('h3', ['ovs-ofctl', '-O', 'OpenFlow15', 'del-flows', 'br1', 'udp,tp_dst=6001']); // a flow
    await lab.must('h4', ['ovs-vsctl', 'del-port', 'br0', 'patch-phy']); // a port (h4's patch pair)
    await lab.must('h3', ['ovs-vsctl', 'del-port', 'br1', 'gre-h2']); // a tunnel end

    const refresh = ok(await stack.run('refresh', '--json'));
    const updated = (run: Run) => [...run.stdout.matchAll(/vpm:(\w+)\s+(\S+)\s+updated/g)].map((m) => `${m[1]} ${m[2]}`).sort();
    const three = ['FlowPath path-p6001-h3', 'GreTunnel gre-h2-h3', 'OvsBridge br1-h4'];
    expect(changesOf(refresh)).toEqual({ update: 3 });
    expect(updated(refresh)).toEqual(three);

    const up = ok(await stack.run('up', '--json'));
    expect(changesOf(up)).toEqual({ update: 3 });
    expect(updated(up)).toEqual(three);
    await expectExactlyDeclared(SET_X);

    // Nothing else was touched: every other port keeps its row, every other flow its age.
    const rowsAfter = await portRows();
    expect(rowsBefore.size).toBeGreaterThanOrEqual(12); // patch pairs, tunnel ends, src0
    const recreated = ['h4/patch-phy', 'h3/gre-h2'];
    expect([...rowsAfter.keys()].sort()).toEqual([...rowsBefore.keys()].sort());
    for (const [k, uuid] of rowsBefore) if (!recreated.includes(k)) expect({ k, uuid: rowsAfter.get(k) }).toEqual({ k, uuid });
    const flowsAfter = await allFlows();
    const br1h4 = stateResources(STACK).find((r) => r.urn.endsWith('::br1-h4'))!.outputs!.cookie as string;
    // The repaired resources' own flows (the path's parts, h4's br0 rule for its patch port).
    const repairedFlow = (k: string, f: DumpedLine) =>
      f.cookie === p6001.cookie || f.group === group6001 || p6001.parts.some((x) => f.group === x.group) || (k.startsWith('h4/br0/') && f.cookie === br1h4);
    const others = (m: Map<string, DumpedLine>) => [...m].filter(([k, f]) => !repairedFlow(k, f)).map(([k]) => k).sort();
    expect(others(flowsAfter)).toEqual(others(flowsBefore));
    const elapsedS = (Date.now() - t0) / 1000;
    const touched = [...flowsBefore].filter(([k, f]) => !repairedFlow(k, f) && flowsAfter.get(k)!.durationS < f.durationS + elapsedS - 5);
    expect(touched.map(([k]) => k)).toEqual([]);
    const staticRule = (m: Map<string, DumpedLine>) => [...m].filter(([k, f]) => k.startsWith('h4/br0/') && f.cookie === br1h4).map(([, f]) => f.key);
    figures.f3 = { flowsCompared: flowsBefore.size, portsCompared: rowsBefore.size, h4StaticRule: [staticRule(flowsBefore), staticRule(flowsAfter)] };
  });

  test('5. 20 paths through one root and relay changed in one up: exactly as declared, the stayer never stops', async () => {
    const { sender, receivers } = await startStream();
    await stack.config('vpm:paths', JSON.stringify(SET_Y));
    const up = ok(await stack.run('up', '--json'));
    expect(changesOf(up)).toEqual({ create: 10, delete: 10 });
    await sleep(500);
    const sent = await sender.halt();
    await Promise.all(receivers.map((r) => r.waitQuiet(150, 5000)));
    for (const [i, r] of receivers.entries()) {
      const a = analyse(await r.report(), 0, sent.nextSeq - 1);
      figures[`f5.r${i + 1}`] = { sent: sent.nextSeq, lost: a.lost.length, maxGapMs: Math.round(a.maxGapMs), duplicates: a.duplicates };
      // The stayer never stops (no 50 consecutive datagrams = 50 ms missing; at most 0.1% lost
      // to the loaded 2-core machine's scheduling) and is never cloned while 20 paths come and go.
      expect({ r: i, stopped: longestRun(a.lost) >= 50, duplicates: a.duplicates }).toEqual({ r: i, stopped: false, duplicates: 0 });
      expect(a.lost.length).toBeLessThanOrEqual(Math.ceil(sent.nextSeq / 1000));
    }
    await expectExactlyDeclared(SET_Y);
  });

  test('6. a pulumi up killed mid-run: cancel removes its lock; after refresh the next up converges', async () => {
    await stack.config('vpm:paths', JSON.stringify(SET_X));
    const bg = stack.background('up');
    // Killed once the first path step has completed: some of the 20 changes done, others in flight.
    await bg.waitFor(/vpm:FlowPath\s+path-\S+\s+(created|deleted)/, 180_000);
    const killedPids = await bg.killTree(); // SIGKILL: no clean-up of any kind
    expect(killedPids.length).toBeGreaterThanOrEqual(3); // the driver, the CLI, the provider plugin(s)
    const pending = pendingOperations(STACK).length;
    // A kill inside the backend's own write can leave an empty sidecar (see the helper); the
    // operator's fix, counted in the figures so it shows how often the kill landed there.
    const sidecarsRemoved = removeEmptyAttrSidecars(STACK);
    const locks = lockFiles(STACK);
    if (locks.length) {
      // The killed run's lock is left: every command refuses the stack until `pulumi cancel`.
      expect(locks).toHaveLength(1);
      ok(await stack.cancel());
      expect(lockFiles(STACK)).toEqual([]);
    }
    const refresh = ok(await stack.run('refresh', '--json'));
    const up = ok(await stack.run('up', '--json'));
    figures.f6 = { killedPids: killedPids.length, pendingAfterKill: pending, sidecarsRemoved, lockLeft: locks.length > 0, refreshChanges: changesOf(refresh), upChanges: changesOf(up) };
    await expectExactlyDeclared(SET_X);
  });
});
