/**
 * `pulumi up` from empty for generated trees of 2, 4, 8, 16, 32 and 64 hypervisors, then the
 * no-change `up` (with `--refresh`, which inspects every host like the baselines' re-runs, and
 * without), side by side with the baselines on the same lab in the same run: a careful plain
 * ssh script (one session per host, one vsctl transaction + one flow bundle, hosts in
 * parallel), the naive one-ssh-per-change script (baselines/plain-ssh.ts), and Ansible with the
 * openvswitch collection and `changed_when` (baselines/ansible.ts), each run first on an empty
 * overlay and then re-run on the converged one.
 *
 * One lab of max(sizes) hypervisors and one receiver; a tree of N uses h1..hN (bench/lib/tree.ts).
 * Per size, RUNS repetitions of: the engine's fixed cost (`up` and `up --refresh` of stack
 * bench-empty, whose program registers nothing: stacks/programs/empty.ts, same CLI, backend and
 * flags), VPM up (trace, memory sampling), no-change up, no-change
 * `up --refresh`, destroy; careful script, re-run, teardown; naive script, re-run, teardown;
 * Ansible, re-run, teardown (the naive script and Ansible only up to SLOW_MAX_N hypervisors:
 * at 64 they take minutes each; the careful script, THE baseline, runs at every size).
 * VPM's own share = VPM's median − the fixed cost's median (bench/lib/scaling.ts). Between methods the overlay's own
 * state (br1, br0's patch port, the baselines' br0 rule, the tunnel neighbour cache) is removed
 * from the tree's hypervisors. The first repetition checks that the three end states agree
 * (br1's ports, number of stream flows, each GRE interface's bfd column: VPM's tunnels run BFD
 * at 10 ms, components/streaming-tree DEFAULT_BFD, and the baselines set the same).
 *
 * Measured: wall time of `node lab/setup/pulumi.js up --stack bench-up --yes` (the plain CLI,
 * `npm run pulumi -- up` runs, without npm's own start-up); from the command trace: commands
 * per host, SSH connections (distinct provider pid and host), mutating commands, time per
 * phase; from sshd's logs: SSH logins per method; memory: RSS of the dynamic-provider process
 * (max while the up runs, sampled every 100 ms), the engine and the driver; per-hypervisor lab
 * footprint (ovsdb-server + ovs-vswitchd + sshd RSS) with the largest tree converged, and
 * the CPU those processes use meanwhile with nothing running (5 s of utime + stime; again with
 * each baseline's overlay converged at that size, first run).
 *
 * Env: VPM_BENCH_SIZES=2,4,8,16,32,64  VPM_BENCH_RUNS=3  VPM_BENCH_RUNS_LARGE=2 (runs for N = 16..31)
 *      VPM_BENCH_RUNS_HUGE=1 (runs for N >= 32)
 *      VPM_BENCH_UP_BUDGET_S=1260: sizes run round robin (all once, then again cheapest first) and
 *      no further repetition starts once it would end past this budget (the first run of every
 *      size always happens); the result says how many ran.
 *      VPM_BENCH_BASELINES=careful,plain,ansible (plain = the naive script; empty: VPM only).
 *      VPM_BENCH_SLOW_BASELINES_MAX_N=16: the naive script and Ansible run up to this N only.
 *      Lab: VPM_LAB_NS_PREFIX / VPM_LAB_DIR.
 * Writes bench/results/up-scaling.json. Run after `npm run build`: node dist/bench/up-scaling.js
 */
import { applyArgv, lastChanges, pulumiArgv } from './lib/pulumi';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labDown, labUp } from '../lab';
import type { Inventory } from '../lab/inventory';
import { LabPaths, MAX_HYPERVISORS } from '../lab/names';
import type { PidEntry } from '../lab/procs';
import { ansibleMissing, ansibleVersion, runAnsible, writeProject, type AnsibleRun } from './baselines/ansible';
import { overlayDifferences, overlayOn, runCarefulSsh, runPlainSsh, sameOverlay, teardownOverlay, type OverlaySnapshot, type PlainRun } from './baselines/plain-ssh';
import { RssSampler, descendants, envInt, envList, labEnvText, mustRun, repoRoot, rssKiB, run, sleep, stat, writeResult, type Stat } from './lib/common';
import { readTrace, summarise, PHASES, type TraceSummary } from './lib/trace';
import { ownShareOf } from './lib/scaling';
import { sampleCpu, type CpuSummary } from './lib/cpu';
import { RECEIVER_IP, desiredState, planFor, writeTopologyFile } from './lib/tree';

const STACK = 'bench-up';
/** The engine's fixed cost: a stack of this project whose program registers nothing (vpm:program empty). */
const EMPTY_STACK = 'bench-empty';
const SIZES = envList('VPM_BENCH_SIZES', [2, 4, 8, 16, 32, 64]);
const RUNS = envInt('VPM_BENCH_RUNS', 3);
const RUNS_LARGE = envInt('VPM_BENCH_RUNS_LARGE', 2);
const RUNS_HUGE = envInt('VPM_BENCH_RUNS_HUGE', 1);
const BASELINES = (process.env.VPM_BENCH_BASELINES ?? 'careful,plain,ansible').split(',').filter(Boolean);
/** The naive script and Ansible run up to this N (minutes each beyond); the careful script at every N. */
const SLOW_MAX_N = envInt('VPM_BENCH_SLOW_BASELINES_MAX_N', 16);
/** Seconds the repetitions may take in all (the first run of every size always happens). */
const BUDGET_S = envInt('VPM_BENCH_UP_BUDGET_S', 1260);
/** Repetitions wanted: fewer for larger trees (one N=64 run with its baseline takes minutes). */
const runsFor = (n: number, runs = RUNS, large = RUNS_LARGE, huge = RUNS_HUGE) => (n >= 32 ? Math.min(runs, large, huge) : n >= 16 ? Math.min(runs, large) : runs);
const baselineAt = (name: string, n: number) => BASELINES.includes(name) && (name === 'careful' || n <= SLOW_MAX_N);

const log = (s: string) => console.log(`[up-scaling ${new Date().toISOString().slice(11, 19)}] ${s}`);

interface PulumiRun {
  readonly wallMs: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly changeSummary: Record<string, number>;
  readonly trace: TraceSummary;
  readonly rssMaxKiB?: Record<string, number>;
  readonly sshLogins: number;
}


async function pulumiCmd(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return (await mustRun(pulumiArgv(args), { env, timeoutMs: 600_000 })).stdout;
}

/** "Accepted publickey" lines in the sshd logs of these hypervisors (SSH logins so far). */
function sshLogins(hosts: readonly string[]): number {
  const paths = LabPaths.default();
  let n = 0;
  for (const h of hosts) {
    try {
      n += (fs.readFileSync(path.join(paths.sshDir(h), 'sshd.log'), 'utf8').match(/Accepted publickey/g) ?? []).length;
    } catch {
      /* no log yet */
    }
  }
  return n;
}

async function pulumiProgramRun(command: 'up' | 'destroy', work: string, tag: string, hosts: readonly string[], inventory: Inventory, sampleMemory: boolean, flags: readonly string[] = []): Promise<PulumiRun> {
  const traceFile = path.join(work, `trace-${tag}.jsonl`);
  fs.rmSync(traceFile, { force: true });
  let sampler: RssSampler | undefined;
  const logins0 = sshLogins(hosts);
  const startedAt = Date.now();
  const r = await run(applyArgv(command, STACK, flags), {
    env: { ...process.env, VPM_TRACE_FILE: traceFile },
    timeoutMs: 600_000,
    onSpawn: (pid) => {
      if (sampleMemory) {
        sampler = new RssSampler(pid, { provider: /cmd\/dynamic-provider/, engine: /^(\S*\/)?pulumi\s+(up|destroy|preview|refresh)\s/, driver: /lab\/setup\/pulumi\.js/ }, 100).start();
      }
    },
  });
  sampler?.stop();
  const endedAt = Date.now();
  if (r.code !== 0) throw new Error(`pulumi ${command} (${tag}) exited ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  const changeSummary = await lastChanges(STACK);
  return {
    wallMs: r.ms,
    startedAt,
    endedAt,
    changeSummary,
    trace: summarise(readTrace(traceFile), startedAt, endedAt, inventory),
    ...(sampler ? { rssMaxKiB: sampler.maxKiB } : {}),
    sshLogins: sshLogins(hosts) - logins0,
  };
}

/** Wall time (ms) of `up` (with `flags`) of the empty program's stack: the engine's fixed cost. */
async function emptyProgramUp(flags: readonly string[]): Promise<number> {
  const r = await run(applyArgv('up', EMPTY_STACK, flags), { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`pulumi up ${flags.join(' ')} of ${EMPTY_STACK} (the empty program) exited ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return r.ms;
}

/**
 * RSS per hypervisor of its ovsdb-server, ovs-vswitchd and sshd (the listening daemon; the
 * per-connection sshd processes of sessions still open are counted apart).
 */
type Footprint = { ovsdb: number; vswitchd: number; sshd: number; total: number; sshdSessions: number };
function labFootprint(hosts: readonly string[]): { perHypervisorKiB: Record<string, Footprint> } {
  const pids = labPids(hosts);
  const out: Record<string, Footprint> = {};
  for (const h of hosts) {
    const pid = (what: LabProcess): number | undefined => pids[h][what];
    const rssOf = (what: LabProcess) => (pid(what) ? rssKiB(pid(what)!) ?? 0 : 0);
    const ovsdb = rssOf('ovsdb-server');
    const vswitchd = rssOf('ovs-vswitchd');
    const sshd = rssOf('sshd');
    const sshdSessions = pid('sshd') ? descendants(pid('sshd')!).reduce((a, c) => a + (rssKiB(c) ?? 0), 0) : 0;
    out[h] = { ovsdb, vswitchd, sshd, total: ovsdb + vswitchd + sshd, sshdSessions };
  }
  return { perHypervisorKiB: out };
}

/** The lab's own processes per hypervisor (the pids file). */
const LAB_PROCESSES = ['ovs-vswitchd', 'ovsdb-server', 'sshd'] as const;
type LabProcess = (typeof LAB_PROCESSES)[number];

/** Per hypervisor, the pid of each of its lab processes that the pids file names (absent ones left out). */
function labPids(hosts: readonly string[]): Record<string, Record<string, number>> {
  const entries: PidEntry[] = JSON.parse(fs.readFileSync(LabPaths.default().pids, 'utf8'));
  const out: Record<string, Record<string, number>> = {};
  for (const h of hosts) {
    out[h] = {};
    for (const what of LAB_PROCESSES) {
      const pid = entries.find((e) => e.name === `${h}/${what}`)?.pid;
      if (pid) out[h][what] = pid;
    }
  }
  return out;
}

/** How long the idle CPU is sampled (ms). */
const IDLE_CPU_WINDOW_MS = 5000;

/**
 * CPU the lab's processes use while nothing runs (the tree converged, no SSH session open):
 * utime + stime of every hypervisor's ovs-vswitchd, ovsdb-server and sshd over
 * IDLE_CPU_WINDOW_MS (bench/lib/cpu.ts). With BFD at 10 ms on every tunnel, ovs-vswitchd's
 * userspace datapath sends and receives every BFD packet itself: that is most of it.
 */
async function labIdleCpu(hosts: readonly string[]): Promise<CpuSummary> {
  return sampleCpu(labPids(hosts), IDLE_CPU_WINDOW_MS);
}

/** Measured once, with the largest tree converged: memory, and idle CPU per method's end state. */
interface LabMeasure {
  value?: ReturnType<typeof labFootprint>;
  idleCpu: Record<string, CpuSummary>;
}

interface Sample {
  n: number;
  run: number;
  resources: { bridges: number; tunnels: number; paths: number; hops: number };
  /** The engine's fixed cost in this run: `up` and `up --refresh` of the empty program (ms). */
  engine: { upMs: number; upRefreshMs: number };
  vpm: { up: PulumiRun; noChange: PulumiRun; noChangeRefresh: PulumiRun; destroy: PulumiRun };
  careful?: { first: PlainRun & { sshLogins: number }; again: PlainRun & { sshLogins: number } };
  plain?: { first: PlainRun & { sshLogins: number }; again: PlainRun & { sshLogins: number } };
  ansible?: { first: AnsibleRun & { sshLogins: number }; again: AnsibleRun & { sshLogins: number } };
  checks?: Record<string, unknown>;
}

async function overlaySnapshot(inventory: Inventory, hosts: readonly string[]): Promise<OverlaySnapshot> {
  const pairs = await Promise.all(hosts.map(async (h) => [h, (await overlayOn(inventory, h)) ?? null] as const));
  return Object.fromEntries(pairs);
}

/** The end-state check of one baseline against VPM's: same or not, and what differs (first lines). */
function compareOverlay(checks: Record<string, unknown>, method: string, snap: OverlaySnapshot, vpmOverlay: OverlaySnapshot | undefined): void {
  checks[`${method}MatchesVpm`] = vpmOverlay ? sameOverlay(snap, vpmOverlay) : undefined;
  if (vpmOverlay && !checks[`${method}MatchesVpm`]) {
    checks[`${method}Overlay`] = snap;
    checks[`${method}Differences`] = overlayDifferences(snap, vpmOverlay).slice(0, 20);
  }
}

async function oneRun(n: number, r: number, inventory: Inventory, work: string, samples: Sample[], footprint: LabMeasure): Promise<void> {
  const hosts = inventory.hypervisors.slice(0, n).map((h) => h.name);
  const topoFile = path.join(work, `tree-${n}.yaml`);
  const r1 = inventory.receivers.find((r) => r.ip === RECEIVER_IP);
  if (!r1) throw new Error(`the lab has no receiver ${RECEIVER_IP}`);
  writeTopologyFile(topoFile, n, r1.mac);
  await pulumiCmd(['config', 'set', 'vpm:topology', topoFile, '--stack', STACK]);
  const plan = planFor(n, inventory);
  const state = desiredState(plan, inventory);
  const resources = plan.bridges.length + plan.tunnels.length + plan.paths.length;
  if (r === 0) log(`N=${n}: ${plan.bridges.length} bridges, ${plan.tunnels.length} tunnels, ${plan.paths.length} paths`);
  {
    const tag = `${n}-${r}`;
    const sample: Sample = { n, run: r, resources: { bridges: plan.bridges.length, tunnels: plan.tunnels.length, paths: plan.paths.length, hops: plan.paths.reduce((a, p) => a + p.hops.length, 0) } } as Sample;
    const checks: Record<string, unknown> = {};
    // The baseline's converged overlay, idle, as VPM's above (only at the largest size, first run).
    const idleAfter = async (method: string) => {
      await sleep(2000);
      footprint.idleCpu[method] = await labIdleCpu(inventory.hypervisors.map((h) => h.name));
      log(`N=${n}: lab idle CPU with the ${method} baseline's overlay: ${footprint.idleCpu[method].allCores} cores`);
    };
    // The engine's fixed cost, right before VPM's up: the same command on a program with no resources.
    sample.engine = { upMs: await emptyProgramUp([]), upRefreshMs: await emptyProgramUp(['--refresh']) };
    // VPM: up from empty, no-change up, destroy.
    const up = await pulumiProgramRun('up', work, `${tag}-up`, hosts, inventory, true);
    if ((up.changeSummary.create ?? 0) < resources) throw new Error(`N=${n}: up created ${JSON.stringify(up.changeSummary)}, expected >= ${resources} resources`);
    let vpmOverlay: OverlaySnapshot | undefined;
    const measureIdle = r === 0 && n === Math.max(...SIZES);
    if (r === 0) {
      vpmOverlay = await overlaySnapshot(inventory, hosts);
      if (measureIdle) {
        await sleep(2000); // let the sessions of the checks above end
        footprint.value = labFootprint(inventory.hypervisors.map((h) => h.name));
        footprint.idleCpu.vpm = await labIdleCpu(inventory.hypervisors.map((h) => h.name));
        log(`N=${n}: lab idle CPU with VPM's tree converged: ${footprint.idleCpu.vpm.allCores} cores (h1 ${footprint.idleCpu.vpm.root}, h2 ${footprint.idleCpu.vpm.relay}, median per hypervisor ${footprint.idleCpu.vpm.perHypervisor.median})`);
      }
    }
    const noChange = await pulumiProgramRun('up', work, `${tag}-nochange`, hosts, inventory, false);
    const changed = Object.entries(noChange.changeSummary).filter(([k, v]) => k !== 'same' && v > 0);
    checks.noChangeSummary = noChange.changeSummary;
    if (changed.length) log(`N=${n} run ${r}: the no-change up reported changes: ${JSON.stringify(noChange.changeSummary)}`);
    // The like-for-like no-change figure: --refresh reads every resource from its host first,
    // as the baselines' re-runs inspect (Ansible) or re-send (scripts).
    const noChangeRefresh = await pulumiProgramRun('up', work, `${tag}-nochange-refresh`, hosts, inventory, false, ['--refresh']);
    checks.noChangeRefreshSummary = noChangeRefresh.changeSummary;
    const destroy = await pulumiProgramRun('destroy', work, `${tag}-destroy`, hosts, inventory, false);
    await teardownOverlay(inventory, hosts);
    sample.vpm = { up, noChange, noChangeRefresh, destroy };
    log(
      `N=${n} run ${r}: empty program up ${(sample.engine.upMs / 1000).toFixed(2)} s, up --refresh ${(sample.engine.upRefreshMs / 1000).toFixed(2)} s; VPM up ${(up.wallMs / 1000).toFixed(2)} s (${up.trace.commands} commands, ${up.trace.sshConnections} connections, provider ${Math.round((up.rssMaxKiB?.provider ?? 0) / 1024)} MiB), ` +
        `no-change ${(noChange.wallMs / 1000).toFixed(2)} s (${noChange.trace.commands} commands, ${noChange.trace.mutating} mutating), ` +
        `no-change --refresh ${(noChangeRefresh.wallMs / 1000).toFixed(2)} s (${noChangeRefresh.trace.commands} commands, ${noChangeRefresh.trace.mutating} mutating), destroy ${(destroy.wallMs / 1000).toFixed(2)} s`,
    );

    if (baselineAt('careful', n)) {
      let l0 = sshLogins(hosts);
      const first = await runCarefulSsh(inventory, state, work);
      const firstLogins = sshLogins(hosts) - l0;
      if (r === 0) {
        const snap = await overlaySnapshot(inventory, hosts);
        compareOverlay(checks, 'careful', snap, vpmOverlay);
        if (measureIdle) await idleAfter('careful');
      }
      l0 = sshLogins(hosts);
      const again = await runCarefulSsh(inventory, state, work);
      const againLogins = sshLogins(hosts) - l0;
      await teardownOverlay(inventory, hosts);
      sample.careful = { first: { ...first, sshLogins: firstLogins }, again: { ...again, sshLogins: againLogins } };
      log(`N=${n} run ${r}: careful ssh ${(first.wallMs / 1000).toFixed(2)} s, re-run ${(again.wallMs / 1000).toFixed(2)} s (${first.sshConnections} sessions, ${first.commands} commands)`);
    }
    if (baselineAt('plain', n)) {
      let l0 = sshLogins(hosts);
      const first = await runPlainSsh(inventory, state, work);
      const firstLogins = sshLogins(hosts) - l0;
      if (r === 0) {
        const snap = await overlaySnapshot(inventory, hosts);
        compareOverlay(checks, 'plain', snap, vpmOverlay);
        if (measureIdle) await idleAfter('plain');
      }
      l0 = sshLogins(hosts);
      const again = await runPlainSsh(inventory, state, work);
      const againLogins = sshLogins(hosts) - l0;
      await teardownOverlay(inventory, hosts);
      sample.plain = { first: { ...first, sshLogins: firstLogins }, again: { ...again, sshLogins: againLogins } };
      log(`N=${n} run ${r}: plain ssh ${(first.wallMs / 1000).toFixed(2)} s, re-run ${(again.wallMs / 1000).toFixed(2)} s (${first.commands} ssh each)`);
    }
    if (baselineAt('ansible', n)) {
      const project = writeProject(inventory, state, work);
      let l0 = sshLogins(hosts);
      const first = await runAnsible(project, inventory, state);
      const firstLogins = sshLogins(hosts) - l0;
      if (r === 0) {
        const snap = await overlaySnapshot(inventory, hosts);
        compareOverlay(checks, 'ansible', snap, vpmOverlay);
        if (measureIdle) await idleAfter('ansible');
      }
      l0 = sshLogins(hosts);
      const again = await runAnsible(project, inventory, state);
      const againLogins = sshLogins(hosts) - l0;
      await teardownOverlay(inventory, hosts);
      sample.ansible = { first: { ...first, sshLogins: firstLogins }, again: { ...again, sshLogins: againLogins } };
      log(`N=${n} run ${r}: ansible ${(first.wallMs / 1000).toFixed(2)} s, re-run ${(again.wallMs / 1000).toFixed(2)} s (${first.tasks} module runs, re-run changed ${again.changed})`);
    }
    if (r === 0) {
      checks.vpmOverlay = vpmOverlay;
      sample.checks = checks;
    }
    samples.push(sample);
  }
}

const ratio = (a: Stat, b: Stat | undefined) => (b && b.median > 0 ? Math.round((a.median / b.median) * 100) / 100 : null);

function rowFor(n: number, ss: Sample[]) {
  const pick = <T>(f: (s: Sample) => T | undefined) => ss.map(f).filter((v): v is T => v !== undefined);
  const first = ss[0];
  const upWall = stat(pick((s) => s.vpm.up.wallMs));
  const noChangeWall = stat(pick((s) => s.vpm.noChange.wallMs));
  const noChangeRefreshWall = stat(pick((s) => s.vpm.noChangeRefresh?.wallMs));
  const carefulFirst = first.careful ? stat(pick((s) => s.careful?.first.wallMs)) : undefined;
  const carefulAgain = first.careful ? stat(pick((s) => s.careful?.again.wallMs)) : undefined;
  const plainFirst = first.plain ? stat(pick((s) => s.plain?.first.wallMs)) : undefined;
  const plainAgain = first.plain ? stat(pick((s) => s.plain?.again.wallMs)) : undefined;
  const ansFirst = first.ansible ? stat(pick((s) => s.ansible?.first.wallMs)) : undefined;
  const ansAgain = first.ansible ? stat(pick((s) => s.ansible?.again.wallMs)) : undefined;
  const phases = Object.fromEntries(
    PHASES.map((p) => [
      p,
      {
        windowMs: stat(pick((s) => s.vpm.up.trace.phases[p]?.windowMs)),
        commands: stat(pick((s) => s.vpm.up.trace.phases[p]?.commands)),
        maxCommandsPerHost: stat(pick((s) => s.vpm.up.trace.phases[p]?.maxCommandsPerHost)),
        parallelism: stat(pick((s) => s.vpm.up.trace.phases[p]?.parallelism)),
      },
    ]),
  );
  const row = {
    n,
    runs: ss.length,
    resources: first.resources,
    engine: { up: stat(pick((s) => s.engine?.upMs)), upRefresh: stat(pick((s) => s.engine?.upRefreshMs)) },
    vpm: {
      up: {
        wallMs: upWall,
        commands: stat(pick((s) => s.vpm.up.trace.commands)),
        commandsPerHost: first.vpm.up.trace.commandsPerHost,
        maxCommandsPerHost: stat(pick((s) => Math.max(...Object.values(s.vpm.up.trace.commandsPerHost)))),
        sshConnections: stat(pick((s) => s.vpm.up.trace.sshConnections)),
        sshLogins: stat(pick((s) => s.vpm.up.sshLogins)),
        providerProcesses: stat(pick((s) => s.vpm.up.trace.providerPids.length)),
        commandWindowMs: stat(pick((s) => s.vpm.up.trace.commandWindowMs)),
        medianCommandMs: stat(pick((s) => s.vpm.up.trace.medianCommandMs)),
        beforeFirstCommandMs: stat(pick((s) => s.vpm.up.trace.beforeFirstMs)),
        afterLastCommandMs: stat(pick((s) => s.vpm.up.trace.afterLastMs)),
        phases,
        providerRssMaxKiB: stat(pick((s) => s.vpm.up.rssMaxKiB?.provider)),
        engineRssMaxKiB: stat(pick((s) => s.vpm.up.rssMaxKiB?.engine)),
        driverRssMaxKiB: stat(pick((s) => s.vpm.up.rssMaxKiB?.driver)),
        changeSummary: first.vpm.up.changeSummary,
      },
      noChange: {
        wallMs: noChangeWall,
        commands: stat(pick((s) => s.vpm.noChange.trace.commands)),
        mutating: stat(pick((s) => s.vpm.noChange.trace.mutating)),
        sshLogins: stat(pick((s) => s.vpm.noChange.sshLogins)),
        changeSummary: first.vpm.noChange.changeSummary,
      },
      noChangeRefresh: {
        wallMs: noChangeRefreshWall,
        commands: stat(pick((s) => s.vpm.noChangeRefresh?.trace.commands)),
        mutating: stat(pick((s) => s.vpm.noChangeRefresh?.trace.mutating)),
        sshLogins: stat(pick((s) => s.vpm.noChangeRefresh?.sshLogins)),
        changeSummary: first.vpm.noChangeRefresh?.changeSummary,
      },
      destroy: { wallMs: stat(pick((s) => s.vpm.destroy.wallMs)), commands: stat(pick((s) => s.vpm.destroy.trace.commands)) },
    },
    careful: first.careful
      ? {
          first: { wallMs: carefulFirst!, commands: first.careful.first.commands, commandsPerHost: first.careful.first.commandsPerHost, sshConnections: first.careful.first.sshConnections, sshLogins: stat(pick((s) => s.careful?.first.sshLogins)) },
          again: { wallMs: carefulAgain!, commands: first.careful.again.commands, mutating: first.careful.again.commands, sshLogins: stat(pick((s) => s.careful?.again.sshLogins)) },
        }
      : undefined,
    plain: first.plain
      ? {
          first: { wallMs: plainFirst!, commands: first.plain.first.commands, commandsPerHost: first.plain.first.commandsPerHost, sshLogins: stat(pick((s) => s.plain?.first.sshLogins)), phasesMs: first.plain.first.phasesMs },
          again: { wallMs: plainAgain!, commands: first.plain.again.commands, mutating: first.plain.again.commands, sshLogins: stat(pick((s) => s.plain?.again.sshLogins)) },
        }
      : undefined,
    ansible: first.ansible
      ? {
          first: { wallMs: ansFirst!, moduleRuns: first.ansible.first.tasks, moduleRunsPerHost: first.ansible.first.tasksPerHost, changed: stat(pick((s) => s.ansible?.first.changed)), sshLogins: stat(pick((s) => s.ansible?.first.sshLogins)) },
          again: { wallMs: ansAgain!, moduleRuns: first.ansible.again.tasks, changed: stat(pick((s) => s.ansible?.again.changed)), sshLogins: stat(pick((s) => s.ansible?.again.sshLogins)) },
        }
      : undefined,
    ratios: {
      firstVsCareful: ratio(upWall, carefulFirst),
      noChangeRefreshVsCareful: ratio(noChangeRefreshWall, carefulAgain),
      noChangeRefreshVsAnsible: ratio(noChangeRefreshWall, ansAgain),
      firstVsPlain: ratio(upWall, plainFirst),
      firstVsAnsible: ratio(upWall, ansFirst),
      noChangeVsPlain: ratio(noChangeWall, plainAgain),
      noChangeVsAnsible: ratio(noChangeWall, ansAgain),
    },
    checks: first.checks,
  };
  return { ...row, ownShareMs: ownShareOf(row) };
}

export async function main(): Promise<unknown> {
  const maxN = Math.max(...SIZES);
  if (SIZES.some((n) => !Number.isInteger(n) || n < 2 || n > MAX_HYPERVISORS)) throw new Error(`VPM_BENCH_SIZES: sizes are 2..${MAX_HYPERVISORS} (the lab has at most ${MAX_HYPERVISORS} hypervisors), got ${SIZES.join(',')}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-up-scaling-'));
  const skipped: Record<string, string> = {};
  if (BASELINES.includes('ansible')) {
    const missing = await ansibleMissing();
    if (missing) {
      skipped.ansible = missing;
      BASELINES.splice(BASELINES.indexOf('ansible'), 1);
      log(`Ansible baseline not measured: ${missing}`);
    }
  }
  log(
    `sizes ${SIZES.join(', ')}; runs wanted ${SIZES.map((n) => `${runsFor(n)} for N=${n}`).join(', ')} within ${BUDGET_S} s; baselines: ${BASELINES.join(', ') || 'none'}` +
      ` (naive and Ansible up to N=${SLOW_MAX_N}); ${labEnvText()}; work dir ${work}`,
  );
  const t0 = Date.now();
  const inventory = await labUp({ hypervisors: maxN, receivers: 1, log: () => {} });
  log(`lab up: ${maxN} hypervisors in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const samples: Sample[] = [];
  const failures: { n: number; run: number; error: string }[] = [];
  const footprint: LabMeasure = { idleCpu: {} };
  // A stack of our own (never another engineer's), removed at the end.
  await run(pulumiArgv(['stack', 'rm', STACK, '--yes', '--force']));
  await pulumiCmd(['stack', 'init', STACK]);
  // The benchmarks' lab is not the repository's .lab/ (lib/bench-env.ts): name its hosts file.
  await pulumiCmd(['config', 'set', 'vpm:hosts', LabPaths.default().hostsFile, '--stack', STACK]);
  await run(pulumiArgv(['stack', 'rm', EMPTY_STACK, '--yes', '--force']));
  await pulumiCmd(['stack', 'init', EMPTY_STACK]);
  await pulumiCmd(['config', 'set', 'vpm:program', 'empty', '--stack', EMPTY_STACK]);
  try {
    // Round robin: every size once, then further rounds (cheapest size first) while the
    // budget allows, up to runsFor(N) per size. Each size gets >= 1 run.
    const began = Date.now();
    const cost = new Map<number, number>();
    for (let round = 0; round < RUNS; round++) {
      const order = round === 0 ? SIZES : [...SIZES].sort((a, b) => (cost.get(a) ?? 0) - (cost.get(b) ?? 0));
      for (const n of order) {
        if (round >= runsFor(n)) continue;
        const elapsed = Date.now() - began;
        if (round > 0 && elapsed + (cost.get(n) ?? 0) > BUDGET_S * 1000) {
          log(`N=${n}: run ${round + 1} skipped: ${Math.round(elapsed / 1000)} s used of the ${BUDGET_S} s budget, a run takes ~${Math.round((cost.get(n) ?? 0) / 1000)} s`);
          continue;
        }
        const t = Date.now();
        try {
          await oneRun(n, round, inventory, work, samples, footprint);
        } catch (e) {
          // One failed run (a timeout on a loaded machine) must not cost the others: record it,
          // clean up, go on.
          const error = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' | ') : String(e);
          failures.push({ n, run: round, error });
          log(`N=${n} run ${round}: FAILED: ${error}`);
          console.error(e instanceof Error ? e.message : String(e)); // the whole output, for the log
          await run(pulumiArgv(['destroy', '--stack', STACK, '--yes']), { timeoutMs: 300_000 }).catch(() => undefined);
          await teardownOverlay(inventory, inventory.hypervisors.slice(0, n).map((h) => h.name)).catch(() => undefined);
        }
        cost.set(n, Math.max(cost.get(n) ?? 0, Date.now() - t));
      }
    }
  } finally {
    await run(pulumiArgv(['destroy', '--stack', STACK, '--yes']), { timeoutMs: 300_000 }).catch(() => undefined);
    await run(pulumiArgv(['stack', 'rm', STACK, '--yes', '--force']));
    fs.rmSync(path.join(repoRoot(), 'stacks', `Pulumi.${STACK}.yaml`), { force: true });
    await run(pulumiArgv(['destroy', '--stack', EMPTY_STACK, '--yes']), { timeoutMs: 120_000 }).catch(() => undefined);
    await run(pulumiArgv(['stack', 'rm', EMPTY_STACK, '--yes', '--force']));
    fs.rmSync(path.join(repoRoot(), 'stacks', `Pulumi.${EMPTY_STACK}.yaml`), { force: true });
    await labDown({ log: () => {} }).catch((e) => log(`lab down failed: ${e instanceof Error ? e.message : e}`));
  }
  const measured = SIZES.filter((n) => samples.some((s) => s.n === n));
  const rows = measured.map((n) => rowFor(n, samples.filter((s) => s.n === n)));
  if (!rows.length) throw new Error(`no run succeeded: ${failures.map((f) => `N=${f.n}: ${f.error}`).join('; ')}`);
  const fp = footprint.value?.perHypervisorKiB ?? {};
  const totals = Object.values(fp).map((v) => v.total);
  const result = {
    benchmark: 'up-scaling',
    date: new Date().toISOString(),
    node: process.version,
    ansible: BASELINES.includes('ansible') ? await ansibleVersion() : undefined,
    sizes: measured,
    failures,
    runs: Object.fromEntries(SIZES.map((n) => [n, samples.filter((x) => x.n === n).length])),
    runsWanted: Object.fromEntries(SIZES.map((n) => [n, runsFor(n)])),
    budgetSeconds: BUDGET_S,
    baselines: BASELINES,
    slowBaselinesMaxN: SLOW_MAX_N,
    notMeasured: skipped,
    definitions: {
      wallMs: 'VPM: `node lab/setup/pulumi.js up --stack bench-up --yes` (the plain CLI) start to exit (engine start, program, providers, state); baselines: script / ansible-playbook start to exit',
      noChangeRefresh: 'VPM: `pulumi up --refresh` on the converged stack (reads every resource from its host, then diffs): the like-for-like comparison with the baselines\' re-runs; noChange: plain `pulumi up` (no host is read)',
      careful: 'one ssh session per host (bash -s), one ovs-vsctl transaction + br0 rule + neighbour entries + one `ovs-ofctl --bundle add-flows`, hosts in parallel; plain: the naive script, one ssh per change, sequential',
      sshConnections: 'VPM: distinct (provider pid, host) in the command trace; sshLogins: "Accepted publickey" lines added to the hypervisors\' sshd logs during the run (all methods)',
      phases: 'from the trace: per host, bridges = commands up to br0\'s rule; paths = ofctl -O dumps/bundles (+ the neighbour seed just before); tunnels = the rest. window = first start to last end over all hosts',
      ratios: 'VPM median wall time / baseline median wall time (below 1: VPM is faster)',
      engine: `the engine's fixed cost: \`up\` (and \`up --refresh\`) of stack ${EMPTY_STACK}, whose program registers nothing (vpm:program empty), same CLI, backend and flags, right before VPM's up in every run`,
      ownShareMs: "VPM's own share: VPM median wall time − the fixed cost's median (up from empty − empty up; no-change up --refresh − empty up --refresh), and its ratio to the careful script's first run / re-run",
      slowBaselines: `the naive script and Ansible run up to N=${SLOW_MAX_N}; the careful script at every N`,
      footprint: `RSS (KiB) per hypervisor of ovsdb-server + ovs-vswitchd + sshd with the ${maxN}-hypervisor tree converged (no SSH session open)`,
      labIdleCpu: `cores (1 = one core busy) used by every hypervisor's ovs-vswitchd + ovsdb-server + sshd (utime + stime from /proc/<pid>/stat over ${IDLE_CPU_WINDOW_MS / 1000} s) with the ${maxN}-hypervisor tree converged and nothing running: allCores = the whole lab, perHypervisor = median/min/max over the hypervisors, root = h1, relay = h2; per method (vpm, and each baseline measured at that size, first run); BFD at 10 ms on every tunnel, handled by ovs-vswitchd's userspace datapath, is the main load`,
      endState: "per host: br1's ports, the number of stream flows (priority 1000, table 0), each GRE interface's bfd column; checks.<method>MatchesVpm, and <method>Differences when not",
    },
    rows,
    resources: {
      providerRssMaxKiB: rows[rows.length - 1].vpm.up.providerRssMaxKiB,
      engineRssMaxKiB: rows[rows.length - 1].vpm.up.engineRssMaxKiB,
      driverRssMaxKiB: rows[rows.length - 1].vpm.up.driverRssMaxKiB,
      atHypervisors: rows[rows.length - 1].n,
      footprintAtHypervisors: maxN,
      labPerHypervisorKiB: { ...stat(totals), perHypervisor: fp },
      labIdleCpu: footprint.idleCpu,
    },
    samples,
  };
  const file = writeResult('up-scaling', result);
  printTable(rows);
  log(`wrote ${file} (${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
  fs.rmSync(work, { recursive: true, force: true });
  return result;
}

function printTable(rows: ReturnType<typeof rowFor>[]): void {
  const s = (x?: Stat) => (x && x.n ? (x.median / 1000).toFixed(2) : '-');
  const ms = (x?: number) => (x === undefined ? '-' : (x / 1000).toFixed(2));
  console.log('N   empty up s  VPM up s  own share s  careful s  naive s  ansible s | up --refresh s  own share s  up (no refresh) s  careful re-run s  naive re-run s  ansible re-run s | cmds  conns');
  for (const r of rows) {
    console.log(
      [
        String(r.n).padEnd(3),
        s(r.engine.up).padStart(10),
        s(r.vpm.up.wallMs).padStart(8),
        ms(r.ownShareMs.up).padStart(11),
        s(r.careful?.first.wallMs).padStart(9),
        s(r.plain?.first.wallMs).padStart(7),
        s(r.ansible?.first.wallMs).padStart(9),
        '|',
        s(r.vpm.noChangeRefresh.wallMs).padStart(14),
        ms(r.ownShareMs.noChangeRefresh).padStart(11),
        s(r.vpm.noChange.wallMs).padStart(17),
        s(r.careful?.again.wallMs).padStart(16),
        s(r.plain?.again.wallMs).padStart(14),
        s(r.ansible?.again.wallMs).padStart(16),
        '|',
        String(r.vpm.up.commands.median).padStart(4),
        String(r.vpm.up.sshConnections.median).padStart(5),
      ].join(' '),
    );
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
