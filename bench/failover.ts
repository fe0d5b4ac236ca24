/**
 * Benchmark of failover (issue 8): the receiver's longest gap when the relay on a path dies.
 *
 * Lab: 4 hypervisors, 2 receivers; the topology of stacks/topologies/failover.yaml (root h1,
 * relay R = h2 on the path h1 -> h2 -> h4, redundancy route h1 -> h3 -> h4), built with the
 * providers from the StreamingTree plan (lab/testbeds/failover-lab.ts). A numbered UDP stream,
 * 1 datagram per ms, from h1's source to r2 on h4's LAN. A failure = SIGKILL of h2's
 * ovs-vswitchd (by its pidfile PID): h2 stops forwarding and, its sshd being reached through
 * its own br0, becomes unreachable, like a crashed hypervisor. Between trials h2's vswitchd is
 * restarted, the path repaired (FlowPath update: its flows died with the vswitchd) and BFD
 * given time to come back at full rate.
 *
 *   fast-failover + BFD  the path as StreamingTree plans it: an OpenFlow fast-failover group at
 *                        h1 (gre-h2 while BFD says h2 is alive, else gre-h3) and the route
 *                        around h2 pre-installed; nothing runs after the failure. Measured for
 *                        several BFD intervals (min_tx = min_rx); the first is the default.
 *   reactive             a real `pulumi up`: the same topology as a stack of its own
 *                        (bench-failover-reactive) with `vpm:bfd false` (no BFD, so no
 *                        data-plane failover: the stream stops with h2); the moment the kill
 *                        returns, h2 is marked `failed: true` in the topology and
 *                        `pulumi up --yes` runs (engine start, program, diff, FlowPath update);
 *                        then h2 is restarted, un-failed and `up` again before the next trial.
 * Gap = longest interval between two datagrams at the receiver around the failure; lost =
 * sequence numbers never received. Also: BFD session flaps in 10 s of idle per interval (a
 * 10 ms session on a loaded 2-core machine is close to the scheduler's own jitter).
 *
 * Needs root and the lab tools; uses the lab of VPM_LAB_DIR / VPM_LAB_NS_PREFIX (defaults
 * .lab/ and vpmlab-), which must not be running. After `npx tsc -p tsconfig.json`:
 *   node dist/bench/failover.js [--trials 10] [--intervals 10,8,6,20,50]
 * Writes bench/results/failover.json and prints a table.
 */
import { parseArgs } from 'node:util';
import { labDown, labUp } from '../lab';
import { closeAll } from '../providers/exec';
import { FailoverLab, STREAM_FROM, STREAM_TO, type LivePath } from '../lab/testbeds/failover-lab';
import { requireLabPrerequisites } from '../lab/tools';
import { UdpReceiver, UdpSender, analyse, nowUs, sleep, type ReceiverReport } from '../lab/stream/measure';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { LabPaths } from '../lab/names';
import { startReceiver, startSender } from '../lab/stream';
import { FAILOVER_TOPOLOGY } from '../lab/testbeds/failover-lab';
import { mustRun, repoRoot, run, stat, writeResult, type Stat } from './lib/common';
import { applyArgv, pulumiArgv } from './lib/pulumi';

const RELAY = 'h2';

export interface Trial {
  gapMs: number;
  /** When the longest gap began, relative to the kill (ms; negative = before it); fast-failover trials. */
  gapStartMs?: number;
  lost: number;
  duplicates: number;
  /** Reactive only: how long the `pulumi up` took, start to exit. */
  updateMs?: number;
}

export interface Row {
  mode: 'fast-failover' | 'reactive';
  bfd: string;
  trials: Trial[];
  gapMs: Stat;
  lost: Stat;
  updateMs?: Stat;
  idleFlaps10s?: number;
}

function longestGap(r: ReceiverReport, fromUs: number): { gapMs: number; startUs: number } {
  let gap = 0;
  let start = 0;
  for (let i = 1; i < r.arrivals.length; i++) {
    if (r.arrivals[i] < fromUs - 200_000) continue; // around the failure only
    const g = r.arrivals[i] - r.arrivals[i - 1];
    if (g > gap) {
      gap = g;
      start = r.arrivals[i - 1];
    }
  }
  return { gapMs: gap / 1000, startUs: start };
}

async function stream(lab: FailoverLab): Promise<{ receiver: UdpReceiver; sender: UdpSender }> {
  const plan = lab.plan();
  const receiver = await UdpReceiver.start(lab.receiverNetns(plan), plan.paths[0].udpDst, 'r2');
  const sender = await UdpSender.start(lab.netns(plan.root), { ip: STREAM_TO, port: plan.paths[0].udpDst, count: 0, bindIp: STREAM_FROM });
  await receiver.waitFor(300, 10_000);
  return { receiver, sender };
}

async function finish(s: { receiver: UdpReceiver; sender: UdpSender }): Promise<ReceiverReport> {
  await s.sender.halt();
  await s.receiver.waitQuiet(150, 5_000);
  const r = await s.receiver.stop();
  s.sender.kill();
  return r;
}

/** h2's vswitchd back, with fresh connections (as a new `pulumi up` has: h2's sshd died with its br0). */
async function restart(lab: FailoverLab): Promise<void> {
  await lab.restartVswitchd(RELAY);
  await closeAll();
}

async function fastFailoverTrial(lab: FailoverLab, path: LivePath): Promise<{ trial: Trial; path: LivePath }> {
  const s = await stream(lab);
  const killedAt = nowUs();
  await lab.killVswitchd(RELAY);
  await sleep(1000);
  const r = await finish(s);
  const gap = longestGap(r, killedAt);
  const a = analyse(r);
  await restart(lab);
  // Its flows died with the vswitchd: the repair a refresh + up would do; then BFD at full rate.
  const repaired = await lab.updatePath(path, lab.pathArgs(lab.plan()));
  await lab.waitBfd(lab.plan());
  return { trial: { gapMs: gap.gapMs, gapStartMs: (gap.startUs - killedAt) / 1000, lost: a.lost.length, duplicates: a.duplicates }, path: repaired };
}

const REACTIVE_STACK = 'bench-failover-reactive';

/** The committed failover topology with `failed` on these nodes, written to `file`. */
function writeTopology(file: string, failed: readonly string[]): void {
  const doc = parseYaml(fs.readFileSync(FAILOVER_TOPOLOGY, 'utf8')) as { nodes: Array<Record<string, unknown>> };
  doc.nodes = doc.nodes.map((n) => (failed.includes(String(n.id)) ? { ...n, failed: true } : (({ failed: _f, ...rest }) => rest)(n)));
  fs.writeFileSync(file, `# stacks/topologies/failover.yaml, failed: ${failed.join(', ') || 'none'} (bench/failover.ts)\n${toYaml(doc)}`);
}

async function pulumiUp(stack: string): Promise<number> {
  const t0 = nowUs();
  await mustRun(applyArgv('up', stack), { timeoutMs: 600_000 });
  return (nowUs() - t0) / 1000;
}

/** The reactive stack: the failover topology without BFD, up. */
async function reactiveStack(topologyFile: string): Promise<void> {
  await run(pulumiArgv(['stack', 'rm', REACTIVE_STACK, '--yes', '--force']));
  await mustRun(pulumiArgv(['stack', 'init', REACTIVE_STACK]));
  writeTopology(topologyFile, []);
  for (const [k, v] of [
    ['vpm:topology', topologyFile],
    ['vpm:hosts', LabPaths.default().hostsFile],
    ['vpm:bfd', 'false'],
  ]) {
    await mustRun(pulumiArgv(['config', 'set', k, v, '--stack', REACTIVE_STACK]));
  }
  await pulumiUp(REACTIVE_STACK);
}

async function reactiveTeardown(topologyFile: string): Promise<void> {
  await run(pulumiArgv(['destroy', '--stack', REACTIVE_STACK, '--yes', '--non-interactive']), { timeoutMs: 300_000 });
  await run(pulumiArgv(['stack', 'rm', REACTIVE_STACK, '--yes', '--force']));
  fs.rmSync(nodePath.join(repoRoot(), 'stacks', `Pulumi.${REACTIVE_STACK}.yaml`), { force: true });
  fs.rmSync(topologyFile, { force: true });
}

/**
 * One reactive trial: stream, kill h2's switch, mark it failed and `pulumi up` at once; the
 * gap at the receiver is the longest interval between two new datagrams (as for the
 * data-plane figure). Then h2 back, un-failed, up: the primary tree for the next trial.
 */
async function reactiveTrial(lab: FailoverLab, topologyFile: string): Promise<Trial> {
  const inventory = lab.inventory;
  const receiver = await startReceiver({ inventory, receiver: 'r2', gapLogMs: 20 });
  const sender = await startSender({ inventory, root: 'h1', rate: 1000 });
  try {
    await receiver.waitFor(300, 10_000);
    await lab.killVswitchd(RELAY);
    writeTopology(topologyFile, [RELAY]);
    const updateMs = await pulumiUp(REACTIVE_STACK);
    await sleep(500);
    const sent = await sender.stop();
    const at = await receiver.stop({ expected: sent.sent, quietMs: 300 });
    return { gapMs: at.maxGapMs, lost: at.lost, duplicates: at.duplicates, updateMs };
  } finally {
    await sender.stop().catch(() => undefined);
    await receiver.stop().catch(() => undefined);
    await lab.restartVswitchd(RELAY);
    writeTopology(topologyFile, []);
    await pulumiUp(REACTIVE_STACK);
  }
}

function row(mode: Row['mode'], bfd: string, trials: Trial[], extra: Partial<Row> = {}): Row {
  return {
    mode,
    bfd,
    trials,
    gapMs: stat(trials.map((t) => t.gapMs)),
    lost: stat(trials.map((t) => t.lost)),
    ...(trials.some((t) => t.updateMs !== undefined) ? { updateMs: stat(trials.map((t) => t.updateMs ?? NaN)) } : {}),
    ...extra,
  };
}

export async function main(argv = process.argv.slice(2)): Promise<Row[]> {
  const { values } = parseArgs({ args: argv, options: { trials: { type: 'string', default: '10' }, intervals: { type: 'string', default: '10,8,6,20,50' } } });
  const trials = Number(values.trials);
  const intervals = String(values.intervals).split(',').map(Number);
  if (!Number.isInteger(trials) || trials < 1 || intervals.some((i) => !Number.isInteger(i) || i < 1)) throw new Error('--trials N (>= 1) and --intervals a,b,c (ms, integers)');
  requireLabPrerequisites({ ethtool: 'ethtool' });
  const inventory = await labUp({ hypervisors: 4, receivers: 2, log: () => {} });
  const lab = new FailoverLab(inventory, 'bench-failover');
  const rows: Row[] = [];
  let path: LivePath | undefined;
  let reactiveTopology: string | undefined;
  const progress = (s: string) => process.stderr.write(`${s}\n`);
  try {
    const first = { minTxMs: intervals[0], minRxMs: intervals[0] };
    await lab.build(first);
    path = await lab.createPath(lab.pathArgs(lab.plan()));
    for (const [k, ms] of intervals.entries()) {
      const bfd = { minTxMs: ms, minRxMs: ms };
      if (k > 0) await lab.setBfd(bfd);
      // Idle flaps first (a quiet lab), then the trials.
      const before = await lab.bfdFlaps();
      await sleep(10_000);
      const after = await lab.bfdFlaps();
      const idleFlaps10s = Object.keys(after).reduce((n, key) => n + Math.max(0, after[key] - (before[key] ?? 0)), 0);
      const n = trials;
      const ts: Trial[] = [];
      for (let i = 0; i < n; i++) {
        const r = await fastFailoverTrial(lab, path);
        path = r.path;
        ts.push(r.trial);
        progress(`fast-failover, BFD ${ms}/${ms} ms, trial ${i + 1}/${n}: gap ${r.trial.gapMs.toFixed(1)} ms, ${r.trial.lost} lost`);
      }
      rows.push(row('fast-failover', `${ms}/${ms} ms`, ts, { idleFlaps10s }));
    }
    // Reactive: a real `pulumi up` on a stack of the same topology without BFD. The
    // providers' own resources go first (the stack builds its own bridges and tunnels).
    if (path) await lab.deletePath(path);
    path = undefined;
    await lab.teardown();
    await closeAll();
    reactiveTopology = nodePath.join(os.tmpdir(), `vpm-bench-failover-${process.pid}.yaml`);
    await reactiveStack(reactiveTopology);
    const ts: Trial[] = [];
    for (let i = 0; i < trials; i++) {
      const t = await reactiveTrial(lab, reactiveTopology);
      ts.push(t);
      progress(`reactive (pulumi up), trial ${i + 1}/${trials}: gap ${t.gapMs.toFixed(1)} ms, ${t.lost} lost, up ${t.updateMs!.toFixed(0)} ms`);
    }
    rows.push(row('reactive', 'n/a', ts));

    const f = (s: Stat | undefined, d = 1) => (s && s.n ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}..${s.max.toFixed(d)})` : '-');
    const header = ['mode', 'BFD min_tx/min_rx', 'trials', 'gap ms median (min..max)', 'lost median (min..max)', 'update ms', 'idle BFD flaps / 10 s'];
    const cells = rows.map((r) => [r.mode, r.bfd, String(r.trials.length), f(r.gapMs), f(r.lost, 0), f(r.updateMs, 0), r.idleFlaps10s === undefined ? '-' : String(r.idleFlaps10s)]);
    const width = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const fmt = (c: string[]) => c.map((x, i) => x.padEnd(width[i])).join('  ');
    console.log(`Failover: receiver gap when the relay h2 dies (SIGKILL of its ovs-vswitchd), stream 1 datagram/ms, path h1 -> h2 -> h4, backup h1 -> h3 -> h4`);
    console.log(fmt(header));
    for (const c of cells) console.log(fmt(c));
    const ff = rows[0];
    const reactive = rows[rows.length - 1];
    const file = writeResult('failover', {
      benchmark: 'failover',
      date: new Date().toISOString(),
      node: process.version,
      topology: 'stacks/topologies/failover.yaml',
      failure: 'SIGKILL of the relay h2 ovs-vswitchd (by pidfile PID)',
      streamIntervalUs: 1000,
      definitions: {
        gap: 'longest interval between two datagrams at the receiver, from 200 ms before the failure',
        lost: 'sequence numbers never received',
        reactive: 'a real `pulumi up --yes` of a stack of the same topology with `vpm:bfd false` (no data-plane failover), h2 marked failed, started as soon as the kill returns; gap = longest interval between two new datagrams at the receiver over the trial; update ms = the up, start to exit',
        idleFlaps10s: 'BFD flap_count increase over all tunnel ends in 10 s without failures',
      },
      summary: {
        failoverGapMs: ff.gapMs,
        failoverBfd: ff.bfd,
        failoverLost: ff.lost,
        reactiveGapMs: reactive.gapMs,
        reactiveUpdateMs: reactive.updateMs,
        bfdIntervals: rows.filter((r) => r.mode === 'fast-failover').map((r) => ({ bfd: r.bfd, gapMedianMs: r.gapMs.median, gapMaxMs: r.gapMs.max, idleFlaps10s: r.idleFlaps10s })),
      },
      rows,
    });
    console.log(`wrote ${file}`);
    return rows;
  } finally {
    if (path) await lab.deletePath(path).catch(() => undefined);
    if (reactiveTopology) {
      await lab.restartVswitchd(RELAY).catch(() => undefined);
      await reactiveTeardown(reactiveTopology).catch(() => undefined);
    }
    await lab.teardown().catch(() => undefined);
    await closeAll();
    await labDown({ log: () => {} });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
