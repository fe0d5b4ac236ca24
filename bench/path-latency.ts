/**
 * Benchmark of FlowPath on the lab: how long until a new path carries the stream, and how
 * long until a deleted path stops carrying it, for paths of 2, 4 and 8 hops.
 *
 * Lab: 9 hypervisors in a chain (GRE h1-h2, h2-h3, ..., h8-h9), one receiver r1 on the LAN.
 * A numbered UDP stream runs from the root's source (src0 on h1's br1, to the overlay
 * broadcast address) the whole time, one datagram every 0.5 ms; a path of k hops is
 * h1 -> ... -> hk, exiting at hk to r1. Times are CLOCK_MONOTONIC (the same clock in every
 * namespace), so the receiver's arrival times compare with this process's own clock.
 *   setup   = first datagram at r1  - start of FlowPath `create`   (create returns: createMs)
 *   removal = last datagram at r1   - start of FlowPath `delete`   (delete returns: deleteMs)
 *   waves   = round trips before the first datagram: the longest chain of the create's commands
 *             (its command trace, VPM_TRACE_FILE) in which each starts after the one before it
 *             ended, counting those started before the first datagram arrived
 * A lone round trip (`true` on a kept connection to h2, nothing else running) is measured too.
 * The providers run in this process as the engine calls them (check, then create/delete),
 * over SSH to each hypervisor. One 8-hop create/delete on a closed connection pool comes
 * first (the longest; it opens every connection; reported as `cold`); then 5 timed runs per length with
 * the pool warm; median/min/max printed and written to bench/results/path-latency.json.
 * Baseline, run the same way on the same chain and stream (bench/baselines/path-ssh.ts): the
 * same flows by plain ssh, `careful` (kept ControlMaster connections, hops in parallel) and
 * `naive` (a new ssh per hop, hop after hop); setup/removal measured at the receiver alike.
 *
 * Env: VPM_BENCH_PATH_LENGTHS=2,4,8 (the chain has max+1 hypervisors), VPM_BENCH_PATH_RUNS=5.
 * Needs root and the lab tools; uses the lab of VPM_LAB_DIR / VPM_LAB_NS_PREFIX (defaults:
 * .lab/ and vpmlab-), which must not be running already. Run after `npm run build`:
 *   node dist/bench/path-latency.js
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot as repoRoot } from '../contracts';
import { labDown, labUp } from '../lab';
import { closeAll, getRunner } from '../providers/exec';
import { commandWaves, withCommandTrace } from './lib/trace';
import { provider as pathProvider } from '../providers/flow-path/provider';
import { FlowLab, OVERLAY_BROADCAST, SOURCE_IP, STREAM_PORT } from '../lab/testbeds/flow-lab';
import { requireLabPrerequisites } from '../lab/tools';
import { UdpReceiver, UdpSender, nowUs, sleep } from '../lab/stream/measure';
import { envInt, envList } from './lib/common';
import { chainFlows, installRemote, removeRemote, runHops, SshMasters, type Form } from './baselines/path-ssh';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { PATCH_OFPORT, SOURCE_OFPORT, greOfport } from '../lab/testbeds/flow-lab';
import type { Inventory } from '../lab/inventory';

/** VPM_BENCH_PATH_LENGTHS / VPM_BENCH_PATH_RUNS: smaller for a quick check (e.g. 2 and 1). */
const LENGTHS = envList('VPM_BENCH_PATH_LENGTHS', [2, 4, 8]);
const RUNS = envInt('VPM_BENCH_PATH_RUNS', 5);
const HYPERVISORS = Math.max(...LENGTHS) + 1;
const INTERVAL_US = 500;

export interface Sample {
  setupMs: number;
  /** Round trips (command waves) of the create before the first datagram (VPM only). */
  waves?: number;
  createMs: number;
  removalMs: number;
  deleteMs: number;
}

export interface Stat {
  medianMs: number;
  minMs: number;
  maxMs: number;
}

export interface LengthRow {
  hops: number;
  runs: number;
  setup: Stat;
  create: Stat;
  removal: Stat;
  delete: Stat;
  /** Most round trips before the first datagram over the runs (VPM only). */
  maxWaves?: number;
  samples: Sample[];
}

const round = (ms: number) => Math.round(ms * 100) / 100;

function stat(values: number[]): Stat {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  return { medianMs: round(mid), minMs: round(v[0]), maxMs: round(v[v.length - 1]) };
}

async function measure(lab: FlowLab, receiver: UdpReceiver, hops: number, run: string): Promise<Sample> {
  const chain = Array.from({ length: hops }, (_, i) => `h${i + 1}`);
  const inputs = await lab.checkPath(lab.pathArgs(`bench-${hops}-${run}`, chain, 'r1'));
  // Nothing may be arriving now (no path): start from silence.
  await receiver.waitQuiet(100, 5_000);
  await receiver.reset();

  let c1 = 0;
  const wall0 = Date.now();
  const c0 = nowUs();
  const { result: created, lines } = await withCommandTrace(async () => {
    const out = await pathProvider.create!(inputs);
    c1 = nowUs();
    return out;
  });
  const first = await receiver.waitFor(1, 5_000, 2);
  const waves = commandWaves(lines, wall0 + (first.firstUs! - c0) / 1000);

  await sleep(200); // the stream flows for a while
  const d0 = nowUs();
  await pathProvider.delete!(created.id, created.outs);
  const d1 = nowUs();
  const last = await receiver.waitQuiet(200, 5_000);
  return {
    setupMs: round((first.firstUs! - c0) / 1000),
    waves,
    createMs: round((c1 - c0) / 1000),
    removalMs: round((last.lastUs! - d0) / 1000),
    deleteMs: round((d1 - d0) / 1000),
  };
}

/** One baseline run: the chain's flows added by plain ssh, then removed, timed at the receiver. */
async function measureBaseline(inventory: Inventory, lab: FlowLab, receiver: UdpReceiver, masters: SshMasters, hops: number, form: Form, run: string): Promise<Sample> {
  const chain = Array.from({ length: hops }, (_, i) => `h${i + 1}`);
  const egress = (lab.pathArgs(`baseline-${hops}`, chain, 'r1') as { egress: { receiverIp: string; receiverMac: string } }).egress;
  const flows = chainFlows(inventory, chain, { sourceOfport: SOURCE_OFPORT, patchOfport: PATCH_OFPORT, greOfport, udpDst: STREAM_PORT, receiver: { ip: egress.receiverIp, mac: egress.receiverMac } });
  await receiver.waitQuiet(100, 5_000);
  await receiver.reset();
  const c0 = nowUs();
  await runHops(inventory, flows.map(installRemote), form, masters, `add-${hops}-${run}`);
  const c1 = nowUs();
  const first = await receiver.waitFor(1, 5_000, 2);
  await sleep(200);
  const d0 = nowUs();
  await runHops(inventory, flows.map(removeRemote), form, masters, `del-${hops}-${run}`);
  const d1 = nowUs();
  const last = await receiver.waitQuiet(200, 5_000);
  return { setupMs: round((first.firstUs! - c0) / 1000), createMs: round((c1 - c0) / 1000), removalMs: round((last.lastUs! - d0) / 1000), deleteMs: round((d1 - d0) / 1000) };
}

function lengthRow(hops: number, samples: Sample[]): LengthRow {
  return {
    hops,
    runs: samples.length,
    setup: stat(samples.map((s) => s.setupMs)),
    create: stat(samples.map((s) => s.createMs)),
    removal: stat(samples.map((s) => s.removalMs)),
    delete: stat(samples.map((s) => s.deleteMs)),
    ...(samples.every((s) => s.waves !== undefined) ? { maxWaves: Math.max(...samples.map((s) => s.waves!)) } : {}),
    samples,
  };
}

/** One round trip alone: `true` on the kept connection to `name`, median of `n` (ms). */
async function loneRoundTrip(lab: FlowLab, name: string, n = 15): Promise<Stat> {
  const runner = getRunner(lab.conn(name));
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = nowUs();
    await runner.run(['true']);
    times.push((nowUs() - t0) / 1000);
  }
  return stat(times);
}

export async function main(): Promise<LengthRow[]> {
  requireLabPrerequisites({ ethtool: 'ethtool' });
  const inventory = await labUp({ hypervisors: HYPERVISORS, receivers: 1, log: () => {} });
  const lab = new FlowLab(inventory, 'bench-path-latency');
  let receiver: UdpReceiver | undefined;
  let sender: UdpSender | undefined;
  let masters: SshMasters | undefined;
  try {
    const names = inventory.hypervisors.map((h) => h.name);
    await Promise.all(names.map((h) => lab.bridge(h, { source: h === 'h1' })));
    await Promise.all(names.slice(1).map((h, i) => lab.tunnel(names[i], h)));
    receiver = await UdpReceiver.start(inventory.receivers[0].netns, STREAM_PORT, 'r1');
    sender = await UdpSender.start(inventory.hypervisors[0].netns, { ip: OVERLAY_BROADCAST, port: STREAM_PORT, count: 0, intervalUs: INTERVAL_US, bindIp: SOURCE_IP });

    // Cold: building the overlay opened pooled connections; close them so the first run pays for SSH.
    await closeAll();
    const cold = await measure(lab, receiver, Math.max(...LENGTHS), 'cold');
    const rows: LengthRow[] = [];
    for (const hops of LENGTHS) {
      const samples: Sample[] = [];
      for (let r = 0; r < RUNS; r++) samples.push(await measure(lab, receiver, hops, String(r)));
      rows.push(lengthRow(hops, samples));
    }
    const roundTrip = await loneRoundTrip(lab, 'h2');
    // The baseline on the same chain and stream: careful (kept connections, opened first, as
    // VPM's pool is warm) and naive (a new connection per hop, in order).
    masters = new SshMasters(inventory, mkdtempSync(join(tmpdir(), 'vpm-pathssh-')));
    await masters.open(inventory.hypervisors.slice(0, Math.max(...LENGTHS)).map((h) => h.ip));
    const baseline: Record<Form, LengthRow[]> = { careful: [], naive: [] };
    for (const form of ['careful', 'naive'] as const) {
      for (const hops of LENGTHS) {
        const samples: Sample[] = [];
        for (let r = 0; r < RUNS; r++) samples.push(await measureBaseline(inventory, lab, receiver, masters, hops, form, String(r)));
        baseline[form].push(lengthRow(hops, samples));
      }
    }
    const sent = await sender.stats();

    const f = (s: Stat) => `${s.medianMs} (${s.minMs}..${s.maxMs})`;
    const header = ['hops', 'setup ms', 'round trips', 'create returns ms', 'removal ms', 'delete returns ms'];
    const cells = rows.map((r) => [String(r.hops), f(r.setup), String(r.maxWaves ?? 'n/a'), f(r.create), f(r.removal), f(r.delete)]);
    const width = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const fmt = (c: string[]) => c.map((x, i) => x.padStart(width[i])).join('  ');
    console.log(
      `FlowPath latency on a ${HYPERVISORS}-hypervisor chain, stream 1 datagram / ${INTERVAL_US} us; median (min..max) of ${RUNS} runs, SSH pool warm`,
    );
    console.log('setup = start of create -> first datagram at the receiver; removal = start of delete -> last datagram');
    console.log(fmt(header));
    for (const c of cells) console.log(fmt(c));
    console.log(`cold (a ${Math.max(...LENGTHS)}-hop run that first opens its SSH connections): setup ${cold.setupMs} ms, removal ${cold.removalMs} ms`);
    console.log(`one round trip alone (\`true\` on the kept connection to h2): ${f(roundTrip)} ms`);
    for (const form of ['careful', 'naive'] as const) {
      console.log(`baseline, plain ssh ${form === 'careful' ? '(kept connections, hops in parallel)' : '(new connection per hop, in order)'}:`);
      for (const r of baseline[form]) console.log(fmt([String(r.hops), f(r.setup), '', f(r.create), f(r.removal), f(r.delete)]));
    }

    const outDir = join(repoRoot(), 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const out = resolve(outDir, 'path-latency.json');
    writeFileSync(
      out,
      JSON.stringify(
        {
          benchmark: 'flow-path.latency',
          date: new Date().toISOString(),
          node: process.version,
          hypervisors: HYPERVISORS,
          runs: RUNS,
          streamIntervalUs: INTERVAL_US,
          datagramsSent: sent.sent,
          definitions: {
            setup: 'first datagram at the receiver minus the start of FlowPath create',
            create: 'FlowPath create returned minus its start',
            removal: 'last datagram at the receiver minus the start of FlowPath delete',
            delete: 'FlowPath delete returned minus its start',
            waves: 'round trips before the first datagram: the longest chain of the create\'s commands in which each started after the one before it ended, among those started before the first datagram arrived (maxWaves: the most over the runs)',
            roundTrip: '`true` on the kept connection to h2, nothing else running (median of 15)',
          },
          cold,
          roundTrip,
          rows,
          baselineDefinitions: {
            careful: 'the same flows by plain ssh from the underlay namespace: one kept OpenSSH ControlMaster connection per hypervisor (opened before, as VPM\'s pool is warm), every hop\'s `ovs-ofctl add-flow` (removal: `del-flows cookie=`) at once',
            naive: 'the same, with a new ssh connection per hop, hop after hop',
          },
          baseline,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`wrote ${out}`);
    return rows;
  } finally {
    await masters?.close();
    if (masters) rmSync(masters.dir, { recursive: true, force: true });
    receiver?.kill();
    sender?.kill();
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
