/**
 * Benchmark of live migration under a stream, and of what the clone-path order buys.
 *
 * On a running lab with libvirt (`npx vpm lab up --stack lab --receivers 2`) and the lab
 * stack (stacks/topologies/lab.yaml: leaf VM leafvm, leaves h3/h4, a path to r1), with a
 * numbered 1 datagram/ms stream from the root's src0 to the VM's receiver (lab/stream/tree.ts):
 *
 *   clone   N migrations h3 <-> h4, each one `pulumi up` after flipping the stack's
 *           `vpm:placement.leafvm`: the engine creates the path to the new leaf (packets are
 *           cloned onto both leaves), live-migrates the domain, then deletes the old path.
 *   noclone N migrations done WITHOUT the clone path, with the same product code outside the
 *           engine: the VM's tap on the destination (as the provider makes it), the same
 *           `virsh migrate --live --p2p` with the same max downtime, and only once it returned
 *           the path to the new leaf is installed (FlowPath provider, as fast as it goes: no
 *           engine in between). Only the old path exists while the VM moves, the usual
 *           "migrate, then fix the network" order. Afterwards (not measured) the VM goes back
 *           and the bench path is removed, so the stack's state stays true: every noclone
 *           migration starts from the stack's placement.
 *
 * Per migration, around the moment the VM resumes on the destination (`virsh domstate` polled
 * there every 100 ms): the *migration gap* = the longest gap between two new sequence numbers
 * that ends within [resume - 0.5 s, resume + 3 s], and the datagrams lost among those sent
 * within resume ± 3 s. These windows are the same for both kinds: a clone migration's step
 * (a whole `pulumi up`, 10-30 s on a loaded machine) is much longer than a noclone one, and
 * the longest gap over the whole step would count unrelated stalls of a busy machine. The
 * whole-step figures (longest gap, losses, duplicates) are kept too, with libvirt's own
 * downtime (clone: the stack output vms.<vm>.lastMigration; noclone: domjobinfo on the
 * destination) and wall times. Prints every migration, a median/max table, and writes
 * bench/results/migration.json.
 *
 *   direct  the LIME order without the engine, once per migration setting (--variants, tried
 *           round robin): the destination's tap (and its queue length), the clone path to the
 *           new leaf (FlowPath provider), `virsh migrate` with the setting; afterwards (not
 *           measured) the VM goes back and the bench path and tap are removed. What each
 *           setting buys, without a whole `pulumi up` around it.
 *
 *   inplace the reference for the guest's own restart: the VM paused and resumed where it runs
 *           (`virsh suspend`, 100 ms, `virsh resume`; the same QEMU, its TCG translation cache
 *           warm), measured like the migrations.
 *
 * Every migration is also set against libvirt's lifecycle events (`virsh event`, libvirtd's
 * own timestamps): the VM's pause (Suspended on the source to Resumed on the destination),
 * and how long after it resumed the first new datagram reached the receiver. And at the VM's
 * own taps (vpm-tapwatch in both hypervisors' namespaces, bench/lib/tap-watch.ts): when the
 * network first wrote a datagram into the destination's tap after the resume, when the VM
 * first sent one there, and the VM's own outage (its last datagram out on the source to its
 * first new one out on the destination); the receiver's gap minus that outage is what the
 * network adds.
 *
 *   node dist/bench/migration.js [--stack lab] [--runs 10] [--direct-runs N] [--only clone,noclone,direct] [--variants SPEC]
 *
 * Pulumi runs through `npm run -s pulumi` (the project's driver), with the environment of
 * this process (VPM_LAB_DIR, VPM_LAB_NS_PREFIX select the lab).
 */
import { lastChanges, pulumiArgv, stackOutputs } from './lib/pulumi';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { loadTopologyFile, parseTopology, type Topology } from '../components/topology';
import { flowPathArgs } from '../components/streaming-tree/flow-path-args';
import { planTree, type PlannedPath, type TreePlan } from '../components/streaming-tree/plan';
import { readInventory, type Inventory } from '../lab/inventory';
import { repoRoot } from '../lab/names';
import { stackConfig, stackTopologyFile, startReceiver, startSender, type ReceiverStats } from '../lab/stream';
import { labConnection } from '../lab/connections';
import { ownerFor } from '../providers/common/owner';
import { closeAll, getRunner } from '../providers/exec';
import { completedJob, domainState, migrateLive } from '../providers/libvirt';
import { ensureTap, removeTap, setTapQueueLength } from '../providers/migrated-domain/tap';
import { provider as flowPathProvider } from '../providers/flow-path/provider';
import type { FlowPathInputs, FlowPathOutputs } from '../providers/flow-path/types';
import { buildGuest } from '../lab/libvirt/guest';
import { vmOutage, watchTap, type TapDatagram, type VmOutage } from './lib/tap-watch';
import { sleep } from './lib/common';
import { watchLifecycle, watchResume } from './lib/libvirt-events';
import { anatomy, GAP_WINDOW, sideStats, splitGaps, stallSides, type GapAnatomy, type LifecycleEvent, type StallSides } from './lib/gap-analysis';

const PROJECT = 'vpm';
const BRIDGE = 'br1';

interface Migration {
  readonly kind: 'clone' | 'noclone' | 'direct' | 'inplace';
  /** direct: the migration settings tried (variantName). */
  readonly variant?: string;
  readonly run: number;
  readonly from: string;
  readonly to: string;
  /** Longest gap ending within [resume - 0.5 s, resume + 3 s]; null: no gap >= 20 ms there. */
  readonly migrationGapMs: number | null;
  /** The longest gap (>= 20 ms, else 0) ending outside the resume window. */
  readonly otherStallMs?: number;
  /** Datagrams sent within resume ± 3 s never received. */
  readonly lostNearResume: number | null;
  /** The longest gap over the whole step. */
  readonly maxGapMs: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly sent: number;
  /** libvirt's downtime (domjobinfo on the destination). */
  readonly downtimeMs: number | null;
  /** Wall time of the whole step: `pulumi up` (clone) or tap + migrate + path (noclone). */
  readonly stepMs: number;
  /** Wall time of `virsh migrate` (noclone; clone: the provider's wallMs). */
  readonly migrateMs: number | null;
  /** noclone: from the end of `virsh migrate` to the new path installed. */
  readonly pathAfterMs?: number;
  readonly gaps: { atMs: number; ms: number; beforeSeq: number }[];
  /** Epoch ms of the sender's sequence number 0 and of the receiver's clock origin (gaps[].atMs). */
  readonly clocks?: { senderT0: number; receiverT0: number };
  /** The gap against the VM's pause (libvirt's lifecycle events); absent when not seen. */
  readonly anatomy?: GapAnatomy;
  /** The VM's own outage at its taps, and the receiver's gap beyond it; absent when not seen. */
  readonly outage?: VmOutage & { readonly networkAddsMs: number };
  /** Stalls outside the switch-over, by the side that held the stream. */
  readonly stallSides?: StallSides;
}

/**
 * A control without a migration, for the stalls at the receiver outside a switch-over:
 * still = the stream alone for STILL_MS; noop = a no-change `pulumi up` of the stack (the
 * engine runs, reads nothing, touches no host).
 */
interface Control {
  readonly kind: 'still' | 'noop';
  readonly run: number;
  readonly stepMs: number;
  /** The longest gap at the receiver over the step. */
  readonly maxGapMs: number;
  /** Gaps >= 20 ms at the receiver over the stream (the step and a few seconds around it). */
  readonly stalls: number;
  readonly lost: number;
  readonly sent: number;
  readonly stallSides: StallSides;
}
const STILL_MS = 20_000;


function pulumi(args: string[], timeoutMs = 300_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const [node, ...argv] = pulumiArgv(args);
    execFile(node, argv, { cwd: repoRoot(), timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function mustPulumi(args: string[]): Promise<string> {
  const r = await pulumi(args);
  if (r.code !== 0) throw new Error(`pulumi ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

async function up(stack: string): Promise<{ changeSummary: Record<string, number>; outputs: Record<string, any> }> {
  await mustPulumi(['up', '--stack', stack, '--yes', '--non-interactive']);
  return { changeSummary: await lastChanges(stack), outputs: await stackOutputs(stack) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The lab stack's view of the tree: topology (with receiver MACs, as stacks/main.ts), hosts, VM, leaves. */
function treeOf(stack: string, inventory: Inventory) {
  const topologyFile = stackTopologyFile(stack);
  const raw = loadTopologyFile(topologyFile);
  const macByIp = new Map(inventory.receivers.map((r) => [r.ip, r.mac]));
  const topology: Topology = parseTopology({
    ...raw,
    paths: raw.paths.map((p) => ({ ...p, receiver: { ...p.receiver, ...(p.receiver.mac || !macByIp.has(p.receiver.ip) ? {} : { mac: macByIp.get(p.receiver.ip) }) } })),
  });
  const vm = topology.vms[0];
  if (!vm) throw new Error(`the topology ${topologyFile} has no VM to migrate`);
  const leaves = topology.nodes.filter((n) => n.role === 'leaf' && !n.failed).map((n) => n.id);
  if (!leaves.includes(vm.node) || leaves.length < 2) throw new Error(`the VM ${vm.name} must sit on a leaf and another leaf must exist (leaves: ${leaves.join(', ')})`);
  const other = leaves.find((l) => l !== vm.node)!;
  const hosts = Object.fromEntries(inventory.hypervisors.map((h) => [h.name, { underlayIp: h.ip, underlayMac: h.mac }]));
  const path0 = topology.paths.find((p) => p.leaf === vm.node);
  if (!path0) throw new Error(`no path of ${topologyFile} ends at the VM's node ${vm.node}`);
  const receiver = inventory.receivers.find((r) => r.ip === path0.receiver.ip);
  if (!receiver) throw new Error(`the VM's path goes to ${path0.receiver.ip}, which is not a lab receiver`);
  const hostOf = (node: string) => topology.nodes.find((n) => n.id === node)!.host;
  return { topology, topologyFile, vm, pair: [vm.node, other] as const, hosts, receiver, hostOf };
}

/** FlowPath inputs as the StreamingTree component builds them (flowPathArgs), for a bench-owned path. */
function benchPathInputs(p: PlannedPath, inventory: Inventory, stack: string): Record<string, unknown> {
  return { ...flowPathArgs(p, (h) => labConnection(inventory, h), BRIDGE), pathId: `bench-${p.name}`, owner: ownerFor(PROJECT, stack, `bench-path-${p.name}`) };
}

async function checkedPath(inputs: Record<string, unknown>): Promise<FlowPathInputs> {
  const r = await flowPathProvider.check!({}, inputs);
  if (r.failures?.length) throw new Error(`bench path: ${r.failures.map((f) => `${f.property}: ${f.reason}`).join('; ')}`);
  return r.inputs as FlowPathInputs;
}

/**
 * Migration settings tried side by side (kind direct): `name:key=value,...` separated by `;`.
 * Keys: dt = max downtime ms, bw = bandwidth cap MiB/s, txq = the destination tap's queue
 * length in frames during the migration, post = post-copy.
 */
interface Variant {
  readonly name: string;
  readonly downtimeMs?: number;
  readonly bandwidthMiBs?: number;
  readonly tapQueue?: number;
  readonly postcopy?: boolean;
}
const DEFAULT_VARIANTS = 'default:;short-queue:txq=8;short-queue+bw:txq=8,bw=30,dt=5;postcopy:txq=8,post';

export function parseVariants(text: string): Variant[] {
  return text.split(';').filter(Boolean).map((spec) => {
    const [name, body = ''] = spec.split(':');
    const v: { -readonly [K in keyof Variant]: Variant[K] } = { name: name.trim() };
    if (!/^[a-z0-9+_-]{1,20}$/.test(v.name)) throw new Error(`--variants: bad name ${JSON.stringify(name)}`);
    for (const kv of body.split(',').filter(Boolean)) {
      const [k, val] = kv.split('=');
      const n = Number(val);
      if (k === 'post') v.postcopy = true;
      else if (!Number.isInteger(n) || n < 1) throw new Error(`--variants ${v.name}: ${k} needs a positive integer, got ${JSON.stringify(val)}`);
      else if (k === 'dt') v.downtimeMs = n;
      else if (k === 'bw') v.bandwidthMiBs = n;
      else if (k === 'txq') v.tapQueue = n;
      else throw new Error(`--variants ${v.name}: unknown key ${JSON.stringify(k)} (dt, bw, txq, post)`);
    }
    return v;
  });
}

const RATE = 1000;
/** How long kind inplace holds the VM paused (about a migration's pause on this lab). */
const INPLACE_PAUSE_MS = 100;
const LOSS_WINDOW_MS = 3000;

interface Measured<T> {
  readonly result: T;
  readonly stats: ReceiverStats;
  readonly sent: number;
  readonly resumedAt?: number;
  readonly migrationGapMs: number | null;
  /** The longest gap (>= 20 ms, else 0) that ends outside the resume window: stalls during the rest of the step. */
  readonly otherStallMs: number;
  readonly lostNearResume: number | null;
  /** Epoch ms of the sender's sequence number 0 and of the receiver's clock origin (gaps[].atMs). */
  readonly clocks: { senderT0: number; receiverT0: number };
  readonly events: LifecycleEvent[];
  /** What the VM's taps saw (source, destination), when watched. */
  readonly taps?: { readonly source: TapDatagram[]; readonly dest: TapDatagram[] };
}

/** The VM's tap on both hosts of a migration, watched with vpm-tapwatch. */
interface TapWatchSpec {
  readonly tool: string;
  readonly tap: string;
  readonly sourceNetns: string;
  /** Absent: the VM stays where it is (a control), one watch. */
  readonly destNetns?: string;
}

/**
 * Runs `step` under a 1 datagram/ms stream to `receiver` while watching for the VM to resume
 * on `destUri`'s libvirtd; returns the receiver's figures, whole and around the resume.
 */
async function underStream<T>(inventory: Inventory, stack: string, receiver: string, watch: { libvirtUri?: string; domain?: string; lifecycle?: Record<string, string>; taps?: TapWatchSpec }, step: () => Promise<T>): Promise<Measured<T>> {
  const rcv = await startReceiver({ inventory, receiver, gapLogMs: 20 });
  const lifecycle = watchLifecycle(watch.lifecycle ?? {});
  // The destination's tap may not exist yet (a clone step makes it): its watch waits for it.
  const t = watch.taps;
  const taps = t ? { source: watchTap(t.tool, t.sourceNetns, t.tap, 0), dest: t.destNetns ? watchTap(t.tool, t.destNetns, t.tap, 300_000) : undefined } : undefined;
  let snd: Awaited<ReturnType<typeof startSender>> | undefined;
  try {
    snd = await startSender({ inventory, stack, rate: RATE });
    const senderT0 = Date.now(); // it sends sequence number k at about senderT0 + k ms
    await rcv.waitFor(500, 60_000);
    const watcher = watch.libvirtUri && watch.domain ? watchResume(watch.libvirtUri, watch.domain) : undefined;
    let result: T;
    let resumedAt: number | undefined;
    try {
      result = await step();
    } finally {
      resumedAt = await watcher?.stop();
    }
    // The stream goes on past both windows after the resume.
    const until = Math.max(Date.now() + 1000, (resumedAt ?? 0) + Math.max(GAP_WINDOW.afterMs, LOSS_WINDOW_MS) + 300);
    await sleep(until - Date.now());
    const sent = (await snd.stop()).sent;
    await sleep(300);
    let lostNearResume: number | null = null;
    const seqAt = (t: number) => Math.min(sent, Math.max(0, Math.floor(((t - senderT0) * RATE) / 1000)));
    if (resumedAt !== undefined) {
      const from = seqAt(resumedAt - LOSS_WINDOW_MS);
      const to = seqAt(resumedAt + LOSS_WINDOW_MS);
      lostNearResume = to - from - (await rcv.countRange(from, to));
    }
    const probe = await rcv.stats();
    const receiverT0 = Date.now() - probe.elapsedMs; // the receiver's clock origin, on ours
    const stats = await rcv.stop({ expected: sent, quietMs: 300 });
    const { migrationGapMs, otherStallMs } = splitGaps(stats.gaps ?? [], receiverT0, resumedAt);
    const tapsSeen = taps ? { source: await taps.source.stop(), dest: (await taps.dest?.stop()) ?? [] } : undefined;
    return { result, stats, sent, ...(resumedAt !== undefined ? { resumedAt } : {}), migrationGapMs, otherStallMs, lostNearResume, clocks: { senderT0, receiverT0 }, events: await lifecycle.stop(), ...(tapsSeen ? { taps: tapsSeen } : {}) };
  } finally {
    await lifecycle.stop();
    await taps?.source.stop();
    await taps?.dest?.stop();
    await snd?.stop().catch(() => undefined);
    await rcv.stop().catch(() => undefined);
  }
}

/** stallSides of one measured run. */
function sidesOf(m: Measured<unknown>): StallSides {
  return stallSides({ gaps: m.stats.gaps ?? [], clocks: m.clocks, ...(m.resumedAt !== undefined ? { resumedAt: m.resumedAt } : {}), ...(m.taps ? { taps: m.taps } : {}) });
}

function row(m: Migration): string {
  const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined ? '-' : v.toFixed(d));
  return [
    m.kind.padEnd(7),
    String(m.run).padStart(3),
    `${m.from}->${m.to}`.padEnd(7),
    (m.variant ?? '').padEnd(14),
    (m.migrationGapMs === null ? '<20' : f(m.migrationGapMs, 1)).padStart(8),
    f(m.lostNearResume).padStart(7),
    f(m.maxGapMs, 1).padStart(8),
    String(m.lost).padStart(6),
    String(m.duplicates).padStart(5),
    f(m.downtimeMs).padStart(9),
    f(m.migrateMs).padStart(8),
    f(m.stepMs).padStart(8),
    f(m.pathAfterMs).padStart(9),
    f(m.anatomy?.pauseMs).padStart(6),
    f(m.anatomy?.gapStartToPauseMs).padStart(6),
    f(m.anatomy?.resumeToGapEndMs).padStart(6),
    f(m.outage?.vmOutageMs).padStart(6),
    f(m.outage?.resumeToIntoTapMs, 1).padStart(6),
    f(m.outage?.resumeToOutOfVmMs).padStart(6),
    f(m.outage?.networkAddsMs).padStart(6),
    JSON.stringify(m.stallSides ?? {}),
  ].join(' ');
}
const HEADER = ['kind   ', 'run', 'variant       ', 'move   ', 'mig gap', 'lost±3s', 'step gap', '  lost', '  dup', 'downtime', 'migr ms', 'step ms', 'path+ ms', ' pause', '  pre', '  post', 'vm out', ' ->tap', ' ->out', '   net', 'stalls by side'].join(' ');

export async function main(argv: string[] = process.argv.slice(2)): Promise<{ migrations: Migration[]; summary: Record<string, unknown> }> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { stack: { type: 'string', default: 'lab' }, runs: { type: 'string', default: '10' }, 'direct-runs': { type: 'string' }, only: { type: 'string' }, variants: { type: 'string', default: DEFAULT_VARIANTS } },
  });
  const stack = values.stack!;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error('--runs must be an integer in 1..100');
  const kinds = values.only ? values.only.split(',') : ['clone', 'noclone'];
  if (kinds.some((k) => !['clone', 'noclone', 'direct', 'inplace', 'still', 'noop'].includes(k))) throw new Error('--only takes clone, noclone, direct, inplace, still or noop (comma-separated)');
  const variants = parseVariants(values.variants!);
  const directRuns = values['direct-runs'] !== undefined ? Number(values['direct-runs']) : runs;
  if (!Number.isInteger(directRuns) || directRuns < 1 || directRuns > 100) throw new Error('--direct-runs must be an integer in 1..100');

  const inventory = readInventory();
  if (!inventory.guest || inventory.hypervisors.some((h) => !h.migrationUri)) throw new Error('the lab runs no libvirt: `npx vpm lab up --stack lab --receivers 2`');
  const tree = treeOf(stack, inventory);
  const { vm, receiver } = tree;
  const maxDowntimeMs = Number(stackConfig(stack)['vpm:maxDowntimeMs'] ?? 20);
  const placementKey = `vpm:placement.${vm.name}`;
  const libvirtUriOf = (node: string) => {
    const h = inventory.hypervisors.find((x) => x.name === tree.hostOf(node));
    if (!h?.libvirtUri) throw new Error(`${tree.hostOf(node)} has no libvirtd in the inventory`);
    return h.libvirtUri;
  };

  // Converge the stack first (the tree exists, the VM runs where the config says).
  const first = await up(stack);
  const startNode: string = first.outputs?.vms?.[vm.name]?.node ?? vm.node;
  if (!tree.pair.includes(startNode as (typeof tree.pair)[number])) throw new Error(`${vm.name} is on ${startNode}, not on ${tree.pair.join('/')}`);
  console.log(`migration bench: stack ${stack}, VM ${vm.name} on ${startNode}, ${runs} migrations per kind between ${tree.pair.join(' and ')}, stream ${RATE} datagrams/s to ${receiver.name}, max downtime ${maxDowntimeMs} ms`);
  console.log(HEADER);

  const lifecycleOf = (from: string, to: string) => ({ [from]: libvirtUriOf(from), [to]: libvirtUriOf(to) });
  // The VM's tap on both hosts (the same name everywhere), watched during every migration.
  const tapwatch = (await buildGuest()).tapwatch;
  const netnsOf = (node: string) => inventory.hypervisors.find((h) => h.name === tree.hostOf(node))!.netns;
  const tapsOf = (from: string, to: string): TapWatchSpec => ({ tool: tapwatch, tap: planTree(tree.topology, tree.hosts, {}).vms.find((x) => x.name === vm.name)!.tap, sourceNetns: netnsOf(from), destNetns: netnsOf(to) });
  /** The gap against the VM's pause (lifecycle events) and against its outage at its taps. */
  const anatomyOf = (measured: Measured<unknown>, from: string, to: string) => {
    const gaps = measured.stats.gaps ?? [];
    const a = anatomy(measured.events, from, to, gaps, measured.clocks.receiverT0);
    const resumed = measured.events.find((e) => e.host === to && e.event.startsWith('Resumed'));
    const o = a && resumed && measured.taps ? vmOutage(measured.taps.source, measured.taps.dest, resumed.t) : undefined;
    return { ...(a ? { anatomy: a } : {}), ...(a && o ? { outage: { ...o, networkAddsMs: a.gapMs - o.vmOutageMs } } : {}), stallSides: sidesOf(measured) };
  };
  const uriOf = (node: string) => inventory.hypervisors.find((h) => h.name === tree.hostOf(node))!.migrationUri!;
  /** What a migration without the engine needs: the VM's port on the new leaf, both hosts, the bench path to it. */
  const benchMove = async (from: string, to: string) => {
    const plan: TreePlan = planTree(tree.topology, tree.hosts, { [vm.name]: to });
    const pv = plan.vms.find((x) => x.name === vm.name)!;
    const pathTo = plan.paths.find((p) => p.nodes.includes(to))!;
    return {
      network: { bridge: BRIDGE, tap: pv.tap, ofport: pv.ofport, mac: pv.mac },
      src: getRunner(labConnection(inventory, tree.hostOf(from))),
      dst: getRunner(labConnection(inventory, tree.hostOf(to))),
      pathInputs: await checkedPath(benchPathInputs(pathTo, inventory, stack)),
    };
  };
  const migrations: Migration[] = [];
  const controls: Control[] = [];
  let at = startNode;
  const otherOf = (n: string) => (n === tree.pair[0] ? tree.pair[1] : tree.pair[0]);
  try {
    if (kinds.includes('clone')) {
      for (let i = 1; i <= runs; i++) {
        const to = otherOf(at);
        await mustPulumi(['config', 'set', '--path', placementKey, to, '--stack', stack]);
        const t0 = Date.now();
        let stepMs = 0;
        const measured = await underStream(inventory, stack, receiver.name, { libvirtUri: libvirtUriOf(to), domain: vm.name, lifecycle: lifecycleOf(at, to), taps: tapsOf(at, to) }, async () => {
          const r = await up(stack);
          stepMs = Date.now() - t0;
          return r;
        });
        const { result, stats, sent, migrationGapMs, otherStallMs, lostNearResume, clocks } = measured;
        const lm = result.outputs?.vms?.[vm.name]?.lastMigration;
        if (result.outputs?.vms?.[vm.name]?.node !== to || !lm) throw new Error(`clone run ${i}: ${vm.name} did not move to ${to}: ${JSON.stringify(result.outputs?.vms)}`);
        const m: Migration = {
          kind: 'clone', run: i, from: at, to, migrationGapMs, otherStallMs, lostNearResume, maxGapMs: stats.maxGapMs, lost: stats.lost, duplicates: stats.duplicates, sent,
          downtimeMs: lm.downtimeMs ?? null, stepMs, migrateMs: lm.wallMs ?? null, gaps: stats.gaps ?? [], clocks,
          ...anatomyOf(measured, at, to),
        };
        migrations.push(m);
        console.log(row(m));
        at = to;
      }
    }
    if (kinds.includes('direct')) {
      const domainOwner = ownerFor(PROJECT, stack, `tree-vm-${vm.name}`);
      // Round robin over the variants, so a slow spell of the machine hits them alike.
      for (let i = 1; i <= directRuns; i++) {
        for (const v of variants) {
          const m = await directMigration(v, i, at);
          migrations.push(m);
          console.log(row(m));
        }
      }
      async function directMigration(v: Variant, i: number, from: string): Promise<Migration> {
        const to = otherOf(from);
        const { network, src, dst, pathInputs } = await benchMove(from, to);
        const settings = { allowUnencrypted: true /* the lab's closed underlay */, maxDowntimeMs: v.downtimeMs ?? maxDowntimeMs, ...(v.bandwidthMiBs ? { bandwidthMiBs: v.bandwidthMiBs } : {}), ...(v.postcopy ? { postcopy: true } : {}), timeoutMs: 120_000 };
        let created: FlowPathOutputs | undefined;
        let migrateMs = 0;
        let stepMs = 0;
        let downtimeMs: number | null = null;
        try {
          // The LIME order without the engine: the destination's port, the clone path to it,
          // then the migration; the stack's own path to the source stays throughout.
          await ensureTap(dst, network, domainOwner);
          if (v.tapQueue) await setTapQueueLength(dst, network.tap, v.tapQueue);
          created = (await flowPathProvider.create!(pathInputs)).outs as FlowPathOutputs;
          const measured = await underStream(inventory, stack, receiver.name, { libvirtUri: libvirtUriOf(to), domain: vm.name, lifecycle: lifecycleOf(from, to), taps: tapsOf(from, to) }, async () => {
            const t0 = Date.now();
            await migrateLive(src, vm.name, { destinationUri: uriOf(to), ...settings });
            migrateMs = Date.now() - t0;
            stepMs = migrateMs;
            downtimeMs = (await completedJob(dst, vm.name))?.downtimeMs ?? null;
          });
          const { stats, sent, migrationGapMs, otherStallMs, lostNearResume, clocks } = measured;
          return {
            kind: 'direct', variant: v.name, run: i, from, to, migrationGapMs, otherStallMs, lostNearResume, maxGapMs: stats.maxGapMs, lost: stats.lost, duplicates: stats.duplicates, sent,
            downtimeMs, stepMs, migrateMs, gaps: stats.gaps ?? [], clocks,
            ...anatomyOf(measured, from, to),
          };
        } finally {
          // Back where the stack's state has it (not measured), then the bench path and tap go.
          if ((await domainState(dst, vm.name).catch(() => undefined)) === 'running') {
            await migrateLive(dst, vm.name, { destinationUri: uriOf(from), allowUnencrypted: true, maxDowntimeMs, timeoutMs: 120_000 });
          }
          if (created) await flowPathProvider.delete!(created.pathId, created);
          await removeTap(dst, network, domainOwner);
        }
      }
    }
    if (kinds.includes('inplace')) {
      // The reference for the guest's own restart: the same VM paused and resumed where it
      // runs (same QEMU, its translation cache warm), for about as long as a migration pauses it.
      const host = tree.hostOf(at);
      const runner = getRunner(labConnection(inventory, host));
      for (let i = 1; i <= directRuns; i++) {
        const { stats, sent, lostNearResume, clocks, events } = await underStream(inventory, stack, receiver.name, { libvirtUri: libvirtUriOf(at), domain: vm.name, lifecycle: { [at]: libvirtUriOf(at) } }, async () => {
          await runner.run(['virsh', 'suspend', vm.name]);
          await sleep(INPLACE_PAUSE_MS);
          await runner.run(['virsh', 'resume', vm.name]);
        });
        const a = anatomy(events, at, at, stats.gaps ?? [], clocks.receiverT0);
        const m: Migration = {
          kind: 'inplace', run: i, from: at, to: at, migrationGapMs: a?.gapMs ?? null, lostNearResume, maxGapMs: stats.maxGapMs, lost: stats.lost, duplicates: stats.duplicates, sent,
          downtimeMs: null, stepMs: 0, migrateMs: null, gaps: stats.gaps ?? [], clocks, ...(a ? { anatomy: a } : {}),
        };
        migrations.push(m);
        console.log(row(m));
      }
    }
    // Controls: stalls at the receiver with no migration (nothing running; a no-change up).
    for (const kind of (['still', 'noop'] as const).filter((k) => kinds.includes(k))) {
      for (let i = 1; i <= directRuns; i++) {
        const t0 = Date.now();
        const measured = await underStream(inventory, stack, receiver.name, { taps: { ...tapsOf(at, at), destNetns: undefined } }, async () => (kind === 'still' ? (await sleep(STILL_MS), undefined) : up(stack)));
        const { stats, sent, result } = measured;
        const changed = Object.entries(result?.changeSummary ?? {}).filter(([k, n]) => k !== 'same' && n > 0);
        if (changed.length) throw new Error(`noop run ${i}: the stack was not converged, the up changed ${JSON.stringify(Object.fromEntries(changed))}`);
        const c: Control = { kind, run: i, stepMs: Date.now() - t0, maxGapMs: stats.maxGapMs, stalls: (stats.gaps ?? []).length, lost: stats.lost, sent, stallSides: sidesOf(measured) };
        controls.push(c);
        console.log(`${kind.padEnd(7)} ${String(i).padStart(3)} step ${c.stepMs} ms: longest gap ${c.maxGapMs.toFixed(1)} ms, ${c.stalls} gaps >= 20 ms, lost ${c.lost} of ${sent}; longest stall by side ${JSON.stringify(c.stallSides)}`);
      }
    }
    if (kinds.includes('noclone')) {
      const domainOwner = ownerFor(PROJECT, stack, `tree-vm-${vm.name}`);
      for (let i = 1; i <= runs; i++) {
        const from = at;
        const to = otherOf(from);
        const { network, src, dst, pathInputs } = await benchMove(from, to);
        const destUri = uriOf(to);
        let created: FlowPathOutputs | undefined;
        let migrateMs = 0;
        let pathAfterMs = 0;
        let stepMs = 0;
        let downtimeMs: number | null = null;
        try {
          const measured = await underStream(inventory, stack, receiver.name, { libvirtUri: libvirtUriOf(to), domain: vm.name, lifecycle: lifecycleOf(from, to), taps: tapsOf(from, to) }, async () => {
            const t0 = Date.now();
            await ensureTap(dst, network, domainOwner);
            const tm = Date.now();
            await migrateLive(src, vm.name, { destinationUri: destUri, allowUnencrypted: true /* the lab's closed underlay */, maxDowntimeMs, timeoutMs: 120_000 });
            const tDone = Date.now();
            migrateMs = tDone - tm;
            created = (await flowPathProvider.create!(pathInputs)).outs as FlowPathOutputs;
            pathAfterMs = Date.now() - tDone;
            stepMs = Date.now() - t0;
            downtimeMs = (await completedJob(dst, vm.name))?.downtimeMs ?? null;
          });
          const { stats, sent, migrationGapMs, otherStallMs, lostNearResume, clocks } = measured;
          const m: Migration = {
            kind: 'noclone', run: i, from, to, migrationGapMs, otherStallMs, lostNearResume, maxGapMs: stats.maxGapMs, lost: stats.lost, duplicates: stats.duplicates, sent,
            downtimeMs, stepMs, migrateMs, pathAfterMs, gaps: stats.gaps ?? [], clocks,
            ...anatomyOf(measured, from, to),
          };
          migrations.push(m);
          console.log(row(m));
        } finally {
          // Back to where the stack's state has it (the stack's old path still reaches it), then
          // take the bench path and the destination tap away.
          if ((await domainState(dst, vm.name).catch(() => undefined)) === 'running') {
            await migrateLive(dst, vm.name, { destinationUri: uriOf(from), allowUnencrypted: true, maxDowntimeMs, timeoutMs: 120_000 });
          }
          if (created) await flowPathProvider.delete!(created.pathId, created);
          else await flowPathProvider.delete!(pathInputs.pathId, { ...pathInputs, missing: [], providerVersion: '' } as FlowPathOutputs).catch(() => undefined);
          await removeTap(dst, network, domainOwner);
        }
      }
    }
  } finally {
    await closeAll();
  }

  const summarise = (kind: string) => {
    const ms = migrations.filter((m) => (m.variant ? `${m.kind} ${m.variant}` : m.kind) === kind);
    if (!ms.length) return undefined;
    const pick = (f: (m: Migration) => number | null | undefined) => ms.map(f).filter((v): v is number => typeof v === 'number');
    const stat = (xs: number[]) => ({ median: median(xs), max: xs.length ? Math.max(...xs) : NaN, min: xs.length ? Math.min(...xs) : NaN });
    return {
      migrations: ms.length,
      // A migration without a gap >= 20 ms in its window counts as 20 (an upper bound).
      migrationGapMs: stat(pick((m) => m.migrationGapMs ?? 20)),
      lostNearResume: stat(pick((m) => m.lostNearResume)),
      gapMs: stat(pick((m) => m.maxGapMs)),
      lost: stat(pick((m) => m.lost)),
      duplicates: stat(pick((m) => m.duplicates)),
      downtimeMs: stat(pick((m) => m.downtimeMs)),
      stepMs: stat(pick((m) => m.stepMs)),
      // The VM's own pause (lifecycle events) and the gap's parts outside it.
      otherStallMs: stat(pick((m) => m.otherStallMs)),
      pauseMs: stat(pick((m) => m.anatomy?.pauseMs)),
      gapStartToPauseMs: stat(pick((m) => m.anatomy?.gapStartToPauseMs)),
      resumeToGapEndMs: stat(pick((m) => m.anatomy?.resumeToGapEndMs)),
      // The VM's own outage at its taps, and what the network adds to it at the receiver.
      vmOutageMs: stat(pick((m) => m.outage?.vmOutageMs)),
      resumeToIntoTapMs: stat(pick((m) => m.outage?.resumeToIntoTapMs)),
      resumeToOutOfVmMs: stat(pick((m) => m.outage?.resumeToOutOfVmMs)),
      networkAddsMs: stat(pick((m) => m.outage?.networkAddsMs)),
      ...(kind === 'noclone' ? { pathAfterMs: stat(pick((m) => m.pathAfterMs)) } : {}),
      // Gaps >= 20 ms anywhere in the stream, per 10 s of it (steps differ in length; the
      // stream sends one datagram per ms, so `sent` is its length in ms).
      stallsPer10s: stat(ms.map((m) => (m.gaps.length * 10_000) / Math.max(1, m.sent))),
      stallSideMs: sideStats(ms.map((m) => m.stallSides), stat),
    };
  };
  const summariseControl = (kind: Control['kind']) => {
    const cs = controls.filter((c) => c.kind === kind);
    if (!cs.length) return undefined;
    const stat = (xs: number[]) => ({ median: median(xs), max: Math.max(...xs), min: Math.min(...xs) });
    return { runs: cs.length, stepMs: stat(cs.map((c) => c.stepMs)), maxGapMs: stat(cs.map((c) => c.maxGapMs)), stallsPer10s: stat(cs.map((c) => (c.stalls * 10_000) / Math.max(1, c.sent))), lost: stat(cs.map((c) => c.lost)), stallSideMs: sideStats(cs.map((c) => c.stallSides), stat) };
  };
  const controlSummary = Object.fromEntries((['still', 'noop'] as const).map((k) => [k, summariseControl(k)]).filter(([, v]) => v));
  const summary: Record<string, unknown> = {};
  for (const k of kinds.filter((k) => !['direct', 'still', 'noop'].includes(k))) summary[k] = summarise(k);
  if (kinds.includes('direct')) for (const v of variants) summary[`direct ${v.name}`] = summarise(`direct ${v.name}`);

  console.log('');
  console.log('median / max    migration gap ms   lost ±3 s     step gap ms       step lost     downtime ms   step ms   pause ms   resume→gap end ms   VM outage ms   resume→out of VM   network adds');
  const mm = (x: { median: number; max: number }, d = 0) => `${x.median.toFixed(d).padStart(7)} / ${x.max.toFixed(d).padEnd(7)}`;
  for (const k of Object.keys(summary)) {
    const s = summary[k] as ReturnType<typeof summarise>;
    if (!s) continue;
    console.log(`${k.padEnd(8)}  ${mm(s.migrationGapMs, 1)}  ${mm(s.lostNearResume)}  ${mm(s.gapMs, 1)}  ${mm(s.lost)}  ${mm(s.downtimeMs)}  ${s.stepMs.median.toFixed(0).padStart(7)}  ${mm(s.pauseMs)}  ${mm(s.resumeToGapEndMs)}  ${mm(s.vmOutageMs)}  ${mm(s.resumeToOutOfVmMs)}  ${mm(s.networkAddsMs)}`);
  }

  const outDir = path.join(repoRoot(), 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, 'migration.json');
  const report = {
    benchmark: 'migration',
    date: new Date().toISOString(),
    node: process.version,
    stack,
    topology: path.relative(repoRoot(), tree.topologyFile),
    vm: vm.name,
    leaves: tree.pair,
    receiver: receiver.name,
    streamRate: RATE,
    windows: { migrationGap: GAP_WINDOW, lossAroundResumeMs: LOSS_WINDOW_MS },
    maxDowntimeMs,
    variants,
    summary,
    controls: { stillMs: STILL_MS, summary: controlSummary, runs: controls },
    migrations,
  };
  fs.writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${out}`);
  return { migrations, summary };
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`migration bench failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
