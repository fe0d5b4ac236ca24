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
 *   node dist/bench/migration.js [--stack lab] [--runs 10] [--only clone|noclone]
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
import { sh } from '../lab/sh';
import { stackConfig, stackTopologyFile, startReceiver, startSender, type ReceiverStats } from '../lab/stream';
import { labConnection } from '../lab/connections';
import { ownerFor } from '../providers/common/owner';
import { closeAll, getRunner } from '../providers/exec';
import { completedJob, domainState, migrateLive } from '../providers/libvirt';
import { ensureTap, removeTap } from '../providers/migrated-domain/tap';
import { provider as flowPathProvider } from '../providers/flow-path/provider';
import type { FlowPathInputs, FlowPathOutputs } from '../providers/flow-path/types';

const PROJECT = 'vpm';
const BRIDGE = 'br1';

interface Migration {
  readonly kind: 'clone' | 'noclone';
  readonly run: number;
  readonly from: string;
  readonly to: string;
  /** Longest gap ending within [resume - 0.5 s, resume + 3 s]; null: no gap >= 20 ms there. */
  readonly migrationGapMs: number | null;
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
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

const RATE = 1000;
const GAP_WINDOW = { beforeMs: 500, afterMs: 3000 };
const LOSS_WINDOW_MS = 3000;

/** Polls `virsh domstate` on a libvirtd until the domain runs there; stop() gives that time. */
function watchResume(libvirtUri: string, domain: string): { stop: () => Promise<number | undefined> } {
  let resumedAt: number | undefined;
  let stopped = false;
  const loop = (async () => {
    while (!stopped && resumedAt === undefined) {
      const r = await sh(['virsh', '-q', '-c', libvirtUri, 'domstate', domain], { okCodes: 'any', timeoutMs: 10_000 }).catch(() => undefined);
      if (r && r.code === 0 && r.stdout.trim().startsWith('running')) resumedAt = Date.now();
      else await sleep(100);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return resumedAt;
    },
  };
}

interface Measured<T> {
  readonly result: T;
  readonly stats: ReceiverStats;
  readonly sent: number;
  readonly resumedAt?: number;
  readonly migrationGapMs: number | null;
  readonly lostNearResume: number | null;
}

/**
 * Runs `step` under a 1 datagram/ms stream to `receiver` while watching for the VM to resume
 * on `destUri`'s libvirtd; returns the receiver's figures, whole and around the resume.
 */
async function underStream<T>(inventory: Inventory, stack: string, receiver: string, watch: { libvirtUri: string; domain: string }, step: () => Promise<T>): Promise<Measured<T>> {
  const rcv = await startReceiver({ inventory, receiver, gapLogMs: 20 });
  let snd: Awaited<ReturnType<typeof startSender>> | undefined;
  try {
    snd = await startSender({ inventory, stack, rate: RATE });
    const senderT0 = Date.now(); // it sends sequence number k at about senderT0 + k ms
    await rcv.waitFor(500, 60_000);
    const watcher = watchResume(watch.libvirtUri, watch.domain);
    let result: T;
    let resumedAt: number | undefined;
    try {
      result = await step();
    } finally {
      resumedAt = await watcher.stop();
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
    let migrationGapMs: number | null = null;
    if (resumedAt !== undefined) {
      for (const g of stats.gaps ?? []) {
        const end = receiverT0 + g.atMs;
        if (end >= resumedAt - GAP_WINDOW.beforeMs && end <= resumedAt + GAP_WINDOW.afterMs) migrationGapMs = Math.max(migrationGapMs ?? 0, g.ms);
      }
    }
    return { result, stats, sent, ...(resumedAt !== undefined ? { resumedAt } : {}), migrationGapMs, lostNearResume };
  } finally {
    await snd?.stop().catch(() => undefined);
    await rcv.stop().catch(() => undefined);
  }
}

function row(m: Migration): string {
  const f = (v: number | null | undefined, d = 0) => (v === null || v === undefined ? '-' : v.toFixed(d));
  return [
    m.kind.padEnd(7),
    String(m.run).padStart(3),
    `${m.from}->${m.to}`.padEnd(7),
    (m.migrationGapMs === null ? '<20' : f(m.migrationGapMs, 1)).padStart(8),
    f(m.lostNearResume).padStart(7),
    f(m.maxGapMs, 1).padStart(8),
    String(m.lost).padStart(6),
    String(m.duplicates).padStart(5),
    f(m.downtimeMs).padStart(9),
    f(m.migrateMs).padStart(8),
    f(m.stepMs).padStart(8),
    f(m.pathAfterMs).padStart(9),
  ].join(' ');
}
const HEADER = ['kind   ', 'run', 'move   ', 'mig gap', 'lost±3s', 'step gap', '  lost', '  dup', 'downtime', 'migr ms', 'step ms', 'path+ ms'].join(' ');

export async function main(argv: string[] = process.argv.slice(2)): Promise<{ migrations: Migration[]; summary: Record<string, unknown> }> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { stack: { type: 'string', default: 'lab' }, runs: { type: 'string', default: '10' }, only: { type: 'string' } },
  });
  const stack = values.stack!;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 100) throw new Error('--runs must be an integer in 1..100');
  const kinds = values.only ? [values.only] : ['clone', 'noclone'];
  if (kinds.some((k) => k !== 'clone' && k !== 'noclone')) throw new Error('--only takes clone or noclone');

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

  const migrations: Migration[] = [];
  let at = startNode;
  const otherOf = (n: string) => (n === tree.pair[0] ? tree.pair[1] : tree.pair[0]);
  try {
    if (kinds.includes('clone')) {
      for (let i = 1; i <= runs; i++) {
        const to = otherOf(at);
        await mustPulumi(['config', 'set', '--path', placementKey, to, '--stack', stack]);
        const t0 = Date.now();
        let stepMs = 0;
        const { result, stats, sent, migrationGapMs, lostNearResume } = await underStream(inventory, stack, receiver.name, { libvirtUri: libvirtUriOf(to), domain: vm.name }, async () => {
          const r = await up(stack);
          stepMs = Date.now() - t0;
          return r;
        });
        const lm = result.outputs?.vms?.[vm.name]?.lastMigration;
        if (result.outputs?.vms?.[vm.name]?.node !== to || !lm) throw new Error(`clone run ${i}: ${vm.name} did not move to ${to}: ${JSON.stringify(result.outputs?.vms)}`);
        const m: Migration = {
          kind: 'clone', run: i, from: at, to, migrationGapMs, lostNearResume, maxGapMs: stats.maxGapMs, lost: stats.lost, duplicates: stats.duplicates, sent,
          downtimeMs: lm.downtimeMs ?? null, stepMs, migrateMs: lm.wallMs ?? null, gaps: stats.gaps ?? [],
        };
        migrations.push(m);
        console.log(row(m));
        at = to;
      }
    }
    if (kinds.includes('noclone')) {
      const domainOwner = ownerFor(PROJECT, stack, `tree-vm-${vm.name}`);
      for (let i = 1; i <= runs; i++) {
        const from = at;
        const to = otherOf(from);
        const plan: TreePlan = planTree(tree.topology, tree.hosts, { [vm.name]: to });
        const pv = plan.vms.find((v) => v.name === vm.name)!;
        const pathTo = plan.paths.find((p) => p.nodes.includes(to))!;
        const network = { bridge: BRIDGE, tap: pv.tap, ofport: pv.ofport, mac: pv.mac };
        const src = getRunner(labConnection(inventory, tree.hostOf(from)));
        const dst = getRunner(labConnection(inventory, tree.hostOf(to)));
        const destUri = inventory.hypervisors.find((h) => h.name === tree.hostOf(to))!.migrationUri!;
        const pathInputs = await checkedPath(benchPathInputs(pathTo, inventory, stack));
        let created: FlowPathOutputs | undefined;
        let migrateMs = 0;
        let pathAfterMs = 0;
        let stepMs = 0;
        let downtimeMs: number | null = null;
        try {
          const { stats, sent, migrationGapMs, lostNearResume } = await underStream(inventory, stack, receiver.name, { libvirtUri: libvirtUriOf(to), domain: vm.name }, async () => {
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
          const m: Migration = {
            kind: 'noclone', run: i, from, to, migrationGapMs, lostNearResume, maxGapMs: stats.maxGapMs, lost: stats.lost, duplicates: stats.duplicates, sent,
            downtimeMs, stepMs, migrateMs, pathAfterMs, gaps: stats.gaps ?? [],
          };
          migrations.push(m);
          console.log(row(m));
        } finally {
          // Back to where the stack's state has it (the stack's old path still reaches it), then
          // take the bench path and the destination tap away.
          if ((await domainState(dst, vm.name).catch(() => undefined)) === 'running') {
            await migrateLive(dst, vm.name, { destinationUri: inventory.hypervisors.find((h) => h.name === tree.hostOf(from))!.migrationUri!, allowUnencrypted: true, maxDowntimeMs, timeoutMs: 120_000 });
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
    const ms = migrations.filter((m) => m.kind === kind);
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
      ...(kind === 'noclone' ? { pathAfterMs: stat(pick((m) => m.pathAfterMs)) } : {}),
    };
  };
  const summary: Record<string, unknown> = {};
  for (const k of kinds) summary[k] = summarise(k);

  console.log('');
  console.log('median / max    migration gap ms   lost ±3 s     step gap ms       step lost     downtime ms   step ms');
  const mm = (x: { median: number; max: number }, d = 0) => `${x.median.toFixed(d).padStart(7)} / ${x.max.toFixed(d).padEnd(7)}`;
  for (const k of kinds) {
    const s = summary[k] as ReturnType<typeof summarise>;
    if (!s) continue;
    console.log(`${k.padEnd(8)}  ${mm(s.migrationGapMs, 1)}  ${mm(s.lostNearResume)}  ${mm(s.gapMs, 1)}  ${mm(s.lost)}  ${mm(s.downtimeMs)}  ${s.stepMs.median.toFixed(0).padStart(7)}`);
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
    summary,
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
