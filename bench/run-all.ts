/**
 * `npm run bench`: runs every benchmark of bench/ as its own child process, one after the
 * other, and writes bench/REPORT.md (machine, date, commit, every figure with its baseline and
 * ratio, the issues' targets marked met / not met) and the chart bench/results/up-scaling.svg
 * (copied to bench/REPORT-up-scaling.svg, which the report shows).
 *
 *   topology       computeTree on 1k/10k/100k nodes                 (bench/topology.ts)
 *   path-latency   FlowPath setup/removal for 2/4/8 hops (own lab)  (bench/path-latency.ts)
 *   up-scaling     pulumi up for 2..64 hypervisors + baselines, the   (bench/up-scaling.ts, own lab)
 *                  engine's fixed cost (an empty program's up)
 *   migration      10 live migrations with / without the clone path (bench/migration.ts; this
 *                  script brings up its lab with libvirt and a `bench-migration` stack)
 *   failover       stream gap when a relay dies                      (bench/failover.ts)
 * A benchmark that is missing, fails or times out is reported as "not measured: <reason>";
 * the others still run. Benchmarks never fail on time; this script exits 0 unless it cannot
 * write the report.
 *
 *   node dist/bench/run-all.js [--only a,b] [--report-only] [--dirty]
 * It refuses a working tree with changed or untracked files (bench/lib/provenance.ts) unless
 * --dirty, and then the report's first lines say the figures are not of a commit.
 * With --only (or --report-only), the benchmarks not run now are reported from their result
 * files of an earlier invocation, marked as such with their date.
 * Env: VPM_BENCH_MIGRATIONS (default 10), VPM_BENCH_FAILOVER_TRIALS (10) and
 * VPM_BENCH_FAILOVER_INTERVALS (10,8,6,20,50), path-latency's and up-scaling's VPM_BENCH_*
 * (see those files): smaller values for a quick check, the defaults for the report.
 * Labs: VPM_LAB_NS_PREFIX / VPM_LAB_DIR when set, else a lab of the benchmarks' own (vpmbench-*,
 * a fresh private /tmp/vpmbench-lab-XXXXXX: lib/bench-env.ts), whose namespaces must not be in use. A lab that a benchmark leaves
 * behind (it crashed) is brought down before the next one starts.
 */
import './lib/bench-env'; // first: picks the benchmarks' own lab before lab/names.ts loads
import { pulumiArgv } from './lib/pulumi';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { labDown, labUp } from '../lab';
import { LabPaths, NS_PREFIX } from '../lab/names';
import { listLabNamespaces } from '../lab/netns';
import { envInt, fmtMs, readResult, repoRoot, resultsDir, run, type Stat } from './lib/common';
import { idleCpuRows } from './lib/cpu';
import { provenanceLines, refusal, treeState, type TreeState } from './lib/provenance';
import { lineChart, type Series } from './lib/svg';
import { OWN_SHARE_MAX_RATIO, ownShareOf, refreshReads, scaleTargets } from './lib/scaling';

interface Bench {
  readonly name: string;
  readonly what: string;
  readonly args?: string[];
  readonly timeoutMs: number;
  readonly setup?: () => Promise<void>;
  readonly teardown?: () => Promise<void>;
}

interface Outcome {
  readonly name: string;
  readonly ok: boolean;
  readonly reason?: string;
  readonly seconds: number;
  /** Not run now: the result file of an earlier invocation (its date) is reported. */
  readonly earlier?: string;
  /**
   * The result as it was when this benchmark finished: other engineers' runs in the same
   * checkout write the same bench/results files, so the report never re-reads them later.
   */
  readonly result?: any;
}

const MIGRATION_STACK = 'bench-migration';
const log = (s: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}`);

async function pulumiOk(args: string[], timeoutMs = 600_000): Promise<string> {
  const r = await run(pulumiArgv(args), { timeoutMs });
  if (r.code !== 0) throw new Error(`pulumi ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
  return r.stdout;
}

async function migrationSetup(): Promise<void> {
  log('migration: lab up (4 hypervisors with libvirt, 2 receivers) and stack bench-migration (stacks/topologies/lab.yaml)');
  await labUp({ hypervisors: 4, receivers: 2, libvirt: true, log: () => {} });
  await run(pulumiArgv(['stack', 'rm', MIGRATION_STACK, '--yes', '--force']));
  await pulumiOk(['stack', 'init', MIGRATION_STACK]);
  await pulumiOk(['config', 'set', 'vpm:topology', path.join(repoRoot(), 'stacks', 'topologies', 'lab.yaml'), '--stack', MIGRATION_STACK]);
  // The benchmarks' lab is not the repository's .lab/ (lib/bench-env.ts): name its hosts file.
  await pulumiOk(['config', 'set', 'vpm:hosts', LabPaths.default().hostsFile, '--stack', MIGRATION_STACK]);
}

async function migrationTeardown(): Promise<void> {
  await run(pulumiArgv(['destroy', '--stack', MIGRATION_STACK, '--yes']), { timeoutMs: 300_000 });
  await run(pulumiArgv(['stack', 'rm', MIGRATION_STACK, '--yes', '--force']));
  fs.rmSync(path.join(repoRoot(), 'stacks', `Pulumi.${MIGRATION_STACK}.yaml`), { force: true });
  await labDown({ log: () => {} });
}

const BENCHES: Bench[] = [
  { name: 'topology', what: 'computeTree on 1k/10k/100k nodes', timeoutMs: 5 * 60_000 },
  { name: 'path-latency', what: 'FlowPath setup/removal latency, 2/4/8 hops', timeoutMs: 10 * 60_000 },
  { name: 'up-scaling', what: "`pulumi up` for 2..64 hypervisors, no-change up, the engine's fixed cost, plain-ssh and Ansible baselines, resource use", timeoutMs: 45 * 60_000 },
  {
    name: 'migration',
    what: 'receiver gap over live migrations, with and without the clone path, and per migration setting',
    args: ['--stack', MIGRATION_STACK, '--runs', String(envInt('VPM_BENCH_MIGRATIONS', 10)), '--direct-runs', String(envInt('VPM_BENCH_MIGRATION_VARIANT_RUNS', 5)), '--only', 'clone,noclone,direct,inplace,still,noop'],
    timeoutMs: 30 * 60_000,
    setup: migrationSetup,
    teardown: migrationTeardown,
  },
  {
    name: 'failover',
    what: 'stream gap when a relay dies: data-plane failover, and reactive with a real pulumi up',
    args: ['--trials', String(envInt('VPM_BENCH_FAILOVER_TRIALS', 10)), '--intervals', process.env.VPM_BENCH_FAILOVER_INTERVALS || '10,8,6,20,50'],
    timeoutMs: 40 * 60_000,
  },
];

/** The last meaningful line of a failed child's output. */
function failureReason(stdout: string, stderr: string): string {
  const lines = (stderr + '\n' + stdout).split('\n').map((l) => l.trim()).filter((l) => l && !/^at /.test(l) && !/^\s*\^/.test(l));
  const err = lines.find((l) => /error|failed|cannot|refus|not /i.test(l));
  return (err ?? lines[lines.length - 1] ?? 'no output').slice(0, 300);
}

async function runBench(b: Bench): Promise<Outcome> {
  const t0 = Date.now();
  const seconds = () => Math.round((Date.now() - t0) / 1000);
  const src = path.join(repoRoot(), 'bench', `${b.name}.ts`);
  const js = path.join(repoRoot(), 'dist', 'bench', `${b.name}.js`);
  const result = path.join(resultsDir(), `${b.name}.json`);
  // A stale result from an earlier run must never pass for this run's.
  fs.rmSync(result, { force: true });
  if (!fs.existsSync(src) && !fs.existsSync(js)) return { name: b.name, ok: false, reason: `bench/${b.name}.ts does not exist (yet)`, seconds: 0 };
  if (!fs.existsSync(js)) return { name: b.name, ok: false, reason: `dist/bench/${b.name}.js is missing: bench/${b.name}.ts did not compile`, seconds: 0 };
  log(`${b.name}: ${b.what}`);
  const logFile = path.join(resultsDir(), `${b.name}.log`);
  try {
    if (b.setup) await b.setup();
    const r = await run([process.execPath, js, ...(b.args ?? [])], { timeoutMs: b.timeoutMs, echo: true });
    fs.writeFileSync(logFile, `$ node dist/bench/${b.name}.js ${(b.args ?? []).join(' ')}\n${r.stdout}\n--- stderr ---\n${r.stderr}`);
    if (r.timedOut) return { name: b.name, ok: false, reason: `timed out after ${b.timeoutMs / 60_000} min (log: bench/results/${b.name}.log)`, seconds: seconds() };
    if (r.code !== 0) return { name: b.name, ok: false, reason: `exited ${r.code ?? r.signal}: ${failureReason(r.stdout, r.stderr)} (log: bench/results/${b.name}.log)`, seconds: seconds() };
    if (!fs.existsSync(result)) return { name: b.name, ok: false, reason: `finished but wrote no bench/results/${b.name}.json`, seconds: seconds() };
    // Ours only if written while this benchmark ran (and, for migration, by our stack).
    const value = readResult(b.name);
    const written = fs.statSync(result).mtimeMs;
    if (!value || written < t0 || (b.name === 'migration' && value.stack !== MIGRATION_STACK)) {
      return { name: b.name, ok: false, reason: `bench/results/${b.name}.json was overwritten by another process (another engineer's run?) before it could be read`, seconds: seconds() };
    }
    return { name: b.name, ok: true, seconds: seconds(), result: value };
  } catch (e) {
    return { name: b.name, ok: false, reason: `${b.setup ? 'setup failed: ' : ''}${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, seconds: seconds() };
  } finally {
    if (b.teardown) await b.teardown().catch((e) => log(`${b.name}: teardown failed: ${e instanceof Error ? e.message : e}`));
    if (listLabNamespaces().length) {
      log(`${b.name} left the lab ${NS_PREFIX}* running: bringing it down`);
      await labDown({ log: () => {} }).catch((e) => log(`lab down failed: ${e instanceof Error ? e.message : e}`));
    }
  }
}

// ---------------------------------------------------------------- machine

async function firstLine(argv: string[]): Promise<string> {
  const r = await run(argv).catch(() => undefined);
  if (!r || r.code !== 0) return 'not installed';
  return (r.stdout || r.stderr).trim().split('\n')[0] ?? '?';
}

interface Machine {
  [k: string]: string;
}

async function machine(): Promise<Machine> {
  const osName = (() => {
    try {
      return /^PRETTY_NAME="?([^"\n]*)/m.exec(fs.readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '?';
    } catch {
      return '?';
    }
  })();
  const cpu = os.cpus()[0]?.model ?? '?';
  const ns = await run(['ip', 'netns', 'list']).catch(() => undefined);
  const others = new Set(
    (ns?.stdout ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0])
      .filter((n) => n && !n.startsWith(NS_PREFIX))
      .map((n) => n.replace(/-[a-z0-9]+$/, '-')),
  );
  return {
    cpus: `${os.cpus().length} × ${cpu}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: osName,
    kernel: os.release(),
    'Open vSwitch': await firstLine(['ovs-vswitchd', '--version']),
    QEMU: await firstLine(['qemu-system-x86_64', '--version']),
    libvirt: await firstLine(['libvirtd', '--version']),
    Node: process.version,
    Pulumi: await firstLine([path.join(repoRoot(), '.tools', 'bin', 'pulumi'), 'version']),
    Ansible: await firstLine(['ansible', '--version']),
    'load average at start': os.loadavg().map((x) => x.toFixed(2)).join(', '),
    'other labs on the machine': others.size ? [...others].sort().join(' ') : 'none',
  };
}

// ---------------------------------------------------------------- report

type Verdict = 'met' | 'NOT met' | 'not measured';
interface Target {
  readonly issue: string;
  readonly target: string;
  readonly figure: string;
  readonly verdict: Verdict;
}

const s2 = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? 'n/a' : (ms / 1000).toFixed(2));
const r2 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(2));
const msStat = (s?: { medianMs: number; minMs: number; maxMs: number }) => (s ? `${s.medianMs.toFixed(1)} (${s.minMs.toFixed(1)}..${s.maxMs.toFixed(1)})` : 'n/a');
const mib = (kib?: number) => (kib === undefined || !Number.isFinite(kib) ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);
/** A Markdown table; the first column left-aligned, the others right-aligned unless `left`. */
const table = (header: string[], rows: (string | number)[][], left = false) =>
  [`| ${header.join(' | ')} |`, `| ${header.map((h, i) => (i === 0 || left ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function upScalingSection(u: any, targets: Target[], chartFile: string | undefined): string[] {
  const out: string[] = [];
  const rows: any[] = u.rows;
  const runsText = Object.entries(u.runs as Record<string, number>).map(([n, k]) => `${k} for N=${n}`).join(', ');
  const fewer = Object.entries(u.runsWanted ?? {}).filter(([n, k]) => (u.runs[n] ?? 0) < (k as number));
  out.push('## `pulumi up` from empty, and the no-change `up`, against the baselines (issue 7.1, 7.2)', '');
  out.push(
    `Generated trees (bench/lib/tree.ts): h1 root, h2 relay, the other hypervisors leaves under h2, one path per leaf to r1 (UDP 5004), no VMs; one lab of ${Math.max(...u.sizes)} hypervisors. ` +
      `Each figure: median (min..max) in seconds over ${runsText} runs. VPM: \`node lab/setup/pulumi.js up --stack bench-up --json\` (the plain CLI, what \`npm run pulumi -- up --yes\` runs), start to exit. ` +
      'Careful plain ssh (the baseline): a generated bash script with one ssh session per host (`bash -s`) holding ONE `ovs-vsctl` transaction of all the host\'s bridge and port changes, br0\'s rule, the neighbour entries and ONE `ovs-ofctl --bundle add-flows` of all its flows, hosts in parallel. ' +
      'Naive plain ssh (second row, for reference only): one `ssh host ovs-vsctl|ovs-ofctl|ovs-appctl …` per change on a new connection, host after host. Both scripts re-send everything on a re-run. ' +
      `Ansible (${u.ansible ?? 'n/a'}): openvswitch_bridge / openvswitch_port for the bridge and ports, \`shell\` tasks that look before they change (br0's rule, neighbour entries, the host's flows compared with \`ovs-ofctl diff-flows\` and replaced as one bundle only when they differ) with \`changed_when\`, so a re-run reports real changes; forks = hosts, pipelining on. ` +
      'No-change: VPM `pulumi up --refresh` (reads every resource from its host first) is compared with the re-runs; plain `pulumi up` (reads no host: the state says nothing changed) is its own row. ' +
      `The naive script and Ansible run up to N=${u.slowBaselinesMaxN ?? 'every N'} only (each takes minutes at 64 hypervisors); the careful script, the baseline of the targets, runs at every N. ` +
      'Every baseline converges to the same end state as VPM (checked in the first run of each size: the same br1 ports and stream flows on every host) and run from the underlay namespace. Ratio = VPM / baseline (below 1: VPM faster).',
    '',
  );
  const wantedText = Object.entries(u.runsWanted ?? {}).map(([n, k]) => `${k} for N=${n}`).join(', ');
  if (fewer.length || u.runsWanted) {
    out.push(
      `Runs: ${runsText}${wantedText ? ` (wanted: ${wantedText}${new Set(Object.values(u.runsWanted ?? {})).size > 1 ? '; the largest tree is wanted fewer times because one run of it with both baselines takes minutes' : ''})` : ''}. ` +
        `Sizes run round robin and a repetition starts only while the ${u.budgetSeconds ?? '?'} s budget of this benchmark allows${fewer.length ? `: N=${fewer.map(([n]) => n).join(', ')} ran fewer times than wanted` : ''}.`,
      '',
    );
  }
  for (const f of u.failures ?? []) out.push(`- run ${f.run} of N=${f.n} failed and is not counted: ${f.error}`);
  if ((u.failures ?? []).length) out.push('');
  out.push('### Wall time: from empty', '');
  out.push(
    table(
      ['hypervisors', 'VPM up', 'careful plain ssh', 'VPM/careful', 'Ansible', 'VPM/Ansible', 'naive plain ssh (reference)', 'VPM/naive'],
      rows.map((r) => [r.n, fmtMs(r.vpm.up.wallMs), fmtMs(r.careful?.first.wallMs), r2(r.ratios.firstVsCareful), fmtMs(r.ansible?.first.wallMs), r2(r.ratios.firstVsAnsible), fmtMs(r.plain?.first.wallMs), r2(r.ratios.firstVsPlain)]),
    ),
    '',
  );
  out.push('### Wall time: no change (the converged tree again)', '');
  out.push(
    table(
      ['hypervisors', 'VPM up --refresh', 'Ansible re-run', 'VPM --refresh/Ansible', 'careful re-run', 'VPM --refresh/careful', 'VPM up without refresh (reads no host)', 'naive re-run (reference)'],
      rows.map((r) => [
        r.n,
        fmtMs(r.vpm.noChangeRefresh?.wallMs),
        fmtMs(r.ansible?.again.wallMs),
        r2(r.ratios.noChangeRefreshVsAnsible),
        fmtMs(r.careful?.again.wallMs),
        r2(r.ratios.noChangeRefreshVsCareful),
        fmtMs(r.vpm.noChange.wallMs),
        fmtMs(r.plain?.again.wallMs),
      ]),
    ),
    '',
  );
  out.push("### The engine's fixed cost and VPM's own share (issue 18)", '');
  out.push(
    "Fixed cost = `up` (and `up --refresh`) of stack bench-empty, whose program registers nothing (`vpm:program empty`, stacks/programs/empty.ts): the same CLI, backend, flags and machine, right before VPM's up in every run. " +
      `Own share = VPM's median − the fixed cost's median. Target: own share ≤ ${OWN_SHARE_MAX_RATIO}× the careful script (from empty) and its re-run (no change), at every N. ` +
      'Refresh reads = resources × the hosts each lives on (bridge 1, tunnel 2 ends, path 1 per hop).',
    '',
  );
  out.push(
    table(
      ['hypervisors', 'empty program up', 'VPM up', 'own share', 'careful', 'own/careful', 'empty up --refresh', 'VPM no-change up --refresh', 'own share', 'careful re-run', 'own/careful re-run', 'refresh commands / reads'],
      rows.map((r) => {
        const o = r.ownShareMs ?? ownShareOf(r);
        return [
          r.n,
          fmtMs(r.engine?.up),
          fmtMs(r.vpm.up.wallMs),
          s2(o.up),
          fmtMs(r.careful?.first.wallMs),
          r2(o.upVsCareful),
          fmtMs(r.engine?.upRefresh),
          fmtMs(r.vpm.noChangeRefresh?.wallMs),
          s2(o.noChangeRefresh),
          fmtMs(r.careful?.again.wallMs),
          r2(o.refreshVsCareful),
          r.vpm.noChangeRefresh ? `${r.vpm.noChangeRefresh.commands.median} / ${refreshReads(r.resources)}` : 'n/a',
        ];
      }),
    ),
    '',
  );
  if (chartFile) out.push(`![pulumi up time against hypervisor count, VPM vs baselines](${chartFile})`, '');
  out.push('### SSH sessions and commands', '');
  out.push(
    'VPM connections = distinct (provider process, host) in the command trace; logins = "Accepted publickey" lines the run added to the hypervisors\' sshd logs (all methods alike). Mutating = commands that change a host (VPM: from the trace; scripts: every command of the re-run; Ansible: tasks reporting `changed` in the re-run, with `changed_when`).',
    '',
  );
  out.push(
    table(
      ['hypervisors', 'VPM commands (max per host)', 'VPM SSH connections', 'VPM logins', 'careful: commands / sessions', 'naive: commands = logins', 'Ansible module runs', 'Ansible logins', 'no-change --refresh: VPM commands / mutating', 'no-change without refresh: VPM commands', 'careful re-run mutating', 'Ansible re-run changed'],
      rows.map((r) => [
        r.n,
        `${r.vpm.up.commands.median} (${r.vpm.up.maxCommandsPerHost.median})`,
        r.vpm.up.sshConnections.median,
        r.vpm.up.sshLogins.median,
        r.careful ? `${r.careful.first.commands} / ${r.careful.first.sshConnections}` : 'n/a',
        r.plain ? `${r.plain.first.commands} (${Math.max(...(Object.values(r.plain.first.commandsPerHost) as number[]))} per host max)` : 'n/a',
        r.ansible ? `${r.ansible.first.moduleRuns}` : 'n/a',
        r.ansible ? `${r.ansible.first.sshLogins.median} / re-run ${r.ansible.again.sshLogins.median}` : 'n/a',
        r.vpm.noChangeRefresh ? `${r.vpm.noChangeRefresh.commands.median} / ${r.vpm.noChangeRefresh.mutating.max}` : 'n/a',
        r.vpm.noChange.commands.median,
        r.careful ? r.careful.again.mutating : 'n/a',
        r.ansible ? r.ansible.again.changed.median : 'n/a',
      ]),
    ),
    '',
  );
  {
    const big = rows[rows.length - 1];
    const split = (per: Record<string, number> | undefined) => {
      if (!per) return 'n/a';
      const leaves = Object.entries(per).filter(([h]) => h !== 'h1' && h !== 'h2').map(([, v]) => v).sort((a, b) => a - b);
      return `h1 (root) ${per.h1 ?? '-'}, h2 (${big.n >= 3 ? 'relay' : 'leaf'}) ${per.h2 ?? '-'}${leaves.length ? `, each leaf ${leaves[leaves.length >> 1]}` : ''}`;
    };
    out.push(
      `Per host at N=${big.n}: VPM commands ${split(big.vpm.up.commandsPerHost)} (all over one SSH connection per host); careful plain ssh ${split(big.careful?.first.commandsPerHost)} (one session per host); naive plain ssh ${split(big.plain?.first.commandsPerHost)} (one connection each); Ansible module runs ${split(big.ansible?.first.moduleRunsPerHost)}.`,
      '',
    );
    // "differs" names the first difference when the result has it (<method>Differences).
    const same = (c: any, m: string) => (c?.[`${m}MatchesVpm`] === true ? 'same' : c?.[`${m}MatchesVpm`] === false ? `**differs**${c?.[`${m}Differences`]?.length ? ` (${c[`${m}Differences`][0]})` : ''}` : 'n/a');
    const checks = rows.map((r) => `N=${r.n}: careful ${same(r.checks, 'careful')}, naive ${same(r.checks, 'plain')}, Ansible ${same(r.checks, 'ansible')}`);
    out.push(`End state against VPM's (per host: br1 ports, stream flows, each GRE interface's BFD settings; first run): ${checks.join('; ')}.`, '');
  }
  out.push('### Time per phase of the VPM `up` (from the command trace)', '');
  out.push(
    'Windows in seconds, first command start to last command end over all hosts (phases overlap: one host may still build its bridge while another builds tunnels). "before" = from start to the first command (engine and language host start, program, plan); "after" = last command to exit (state written). Commands per host per resource = commands of the phase on the busiest host / resources of that kind on it.',
    '',
  );
  out.push(
    table(
      ['hypervisors', 'before first command', 'bridges', 'tunnels', 'paths', 'after last command', 'commands window', 'median command (round trip) ms'],
      rows.map((r) => [
        r.n,
        fmtMs(r.vpm.up.beforeFirstCommandMs),
        `${fmtMs(r.vpm.up.phases.bridges.windowMs)} · ${r.vpm.up.phases.bridges.commands.median} cmds`,
        `${fmtMs(r.vpm.up.phases.tunnels.windowMs)} · ${r.vpm.up.phases.tunnels.commands.median} cmds`,
        `${fmtMs(r.vpm.up.phases.paths.windowMs)} · ${r.vpm.up.phases.paths.commands.median} cmds`,
        fmtMs(r.vpm.up.afterLastCommandMs),
        fmtMs(r.vpm.up.commandWindowMs),
        r.vpm.up.medianCommandMs?.median ?? 'n/a',
      ]),
    ),
    '',
  );
  // The naive script runs only up to some size: its phases at the largest size it ran.
  const lastNaive = [...rows].reverse().find((r) => r.plain?.first?.phasesMs);
  if (lastNaive) {
    out.push(`Naive plain-ssh phases at N=${lastNaive.n} (first run, s): ${Object.entries(lastNaive.plain.first.phasesMs as Record<string, number>).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`).join(', ')}.`, '');
  }
  out.push('### Resource use (issue 7.7)', '');
  const res = u.resources;
  const fp = res.labPerHypervisorKiB;
  const per = Object.values(fp.perHypervisor ?? {}) as any[];
  const med = (f: (x: any) => number) => {
    const v = per.map(f).sort((a, b) => a - b);
    return v.length ? v[v.length >> 1] : NaN;
  };
  out.push(
    table(
      ['what', 'figure'],
      [
        [`dynamic-provider process, max RSS during the ${res.atHypervisors}-hypervisor up (sampled every 100 ms)`, `${mib(res.providerRssMaxKiB?.median)} (${mib(res.providerRssMaxKiB?.min)}..${mib(res.providerRssMaxKiB?.max)})`],
        ['Pulumi engine (`pulumi up`), max RSS', mib(res.engineRssMaxKiB?.median)],
        ['pass-through (node lab/setup/pulumi.js), max RSS', mib(res.driverRssMaxKiB?.median)],
        [`lab footprint per hypervisor (ovsdb-server + ovs-vswitchd + sshd listener), tree of ${res.footprintAtHypervisors ?? res.atHypervisors} converged`, `${mib(fp.median)} (${mib(fp.min)}..${mib(fp.max)})`],
        ['  of which ovsdb-server / ovs-vswitchd / sshd (median)', `${mib(med((x) => x.ovsdb))} / ${mib(med((x) => x.vswitchd))} / ${mib(med((x) => x.sshd))}`],
        ...idleCpuRows(res.labIdleCpu, res.footprintAtHypervisors ?? res.atHypervisors),
      ],
    ),
    '',
  );
  if (res.labIdleCpu?.vpm) {
    out.push(
      'Idle CPU: BFD at 10 ms on every tunnel (VPM\'s default, for data-plane failover; the baselines set the same) is the main load: in the userspace (netdev) datapath ovs-vswitchd itself sends and receives every BFD packet, on both ends of every tunnel, for as long as the overlay exists; the relay h2 ends N−1 tunnels.',
      '',
    );
  }

  // Targets.
  const lo = rows[0];
  const hi = rows[rows.length - 1];
  if (rows.length >= 2) {
    const growth = hi.vpm.up.wallMs.median / lo.vpm.up.wallMs.median;
    const windowGrowth = hi.vpm.up.commandWindowMs.median / Math.max(1, lo.vpm.up.commandWindowMs.median);
    const slope = (hi.vpm.up.wallMs.median - lo.vpm.up.wallMs.median) / (hi.n - lo.n);
    targets.push({
      issue: '7.1',
      target: '`up` linear in hypervisors (no worse than proportional)',
      figure: `N ${lo.n}→${hi.n} (×${hi.n / lo.n}): wall ×${growth.toFixed(2)} (${s2(lo.vpm.up.wallMs.median)} → ${s2(hi.vpm.up.wallMs.median)} s, ${slope.toFixed(0)} ms per added hypervisor), command window ×${windowGrowth.toFixed(2)}`,
      verdict: growth <= hi.n / lo.n && windowGrowth <= hi.n / lo.n ? 'met' : 'NOT met',
    });
  }
  const res0 = hi.resources;
  const perRes = (phase: string, count: number) => (hi.vpm.up.phases[phase]?.maxCommandsPerHost?.median ?? NaN) / Math.max(1, count);
  // The busiest host: bridges 1 per host; tunnel ends on the relay = its degree; hops on the root = paths.
  const relayDegree = hi.n >= 3 ? hi.n - 1 : 1;
  const rtBridge = perRes('bridges', 1);
  const rtTunnel = perRes('tunnels', relayDegree);
  const rtPath = perRes('paths', Math.max(1, res0?.paths ?? 1));
  targets.push({
    issue: '7.1',
    target: 'about one round trip per host per step',
    figure: `N=${hi.n}, commands on the busiest host per resource step: bridge ${r2(rtBridge)}, tunnel end ${r2(rtTunnel)}, path hop ${r2(rtPath)}`,
    verdict: Math.max(rtBridge, rtTunnel, rtPath) <= 2 ? 'met' : 'NOT met',
  });
  const par = hi.vpm.up.phases.bridges?.parallelism?.median;
  const bw = [lo.vpm.up.phases.bridges?.windowMs?.median, hi.vpm.up.phases.bridges?.windowMs?.median];
  targets.push({
    issue: '7.1',
    target: 'hosts in parallel',
    figure: `bridge phase ${s2(bw[0])} s at N=${lo.n} → ${s2(bw[1])} s at N=${hi.n}; ${r2(par)} commands in flight on average`,
    // Parallel: the phase grows by less than half of what doing hosts one after another would add.
    verdict: par > 1.5 && bw[1] / Math.max(1, bw[0]) <= 1 + (hi.n / lo.n - 1) / 2 ? 'met' : 'NOT met',
  });
  const mutating = Math.max(...rows.map((r) => r.vpm.noChange.mutating.max));
  const nochangeCmds = Math.max(...rows.map((r) => r.vpm.noChange.commands.max));
  targets.push({
    issue: '7.1',
    target: 'no-change `up` issues no mutating command',
    figure: `${mutating} mutating (${nochangeCmds} commands at all) over ${rows.reduce((a, r) => a + r.runs, 0)} no-change runs`,
    verdict: mutating === 0 ? 'met' : 'NOT met',
  });
  targets.push(...scaleTargets(rows));
  return out;
}

/** The path-setup target (issue 5, issue 18.2): one text for its verdict and for "not measured". */
const PATH_SETUP_TARGET = { issue: '5, 18.2', target: 'first datagram ≤ 2 SSH round trips after the FlowPath create starts, for 2, 4 and 8 hops (all hops but the root in parallel, root last)' };

function pathLatencySection(p: any, targets: Target[]): string[] {
  const out: string[] = ['## Path setup and removal latency (issue 7.3, issue 5, issue 18.2)', ''];
  // The baselines ran on the same chain and stream (bench/baselines/path-ssh.ts).
  const careful = new Map<number, any>((p.baseline?.careful ?? []).map((r: any) => [r.hops, r]));
  const naive = new Map<number, any>((p.baseline?.naive ?? []).map((r: any) => [r.hops, r]));
  out.push(
    `${p.hypervisors}-hypervisor chain, stream 1 datagram / ${p.streamIntervalUs} µs; median (min..max) of ${p.runs} runs in ms, SSH pool warm. ` +
      'setup = start of FlowPath create → first datagram at the receiver; removal = start of delete → last datagram; ' +
      'round trips = the most, over the runs, of the create\'s commands one after the other before the first datagram (its command trace: the longest chain of commands each started after the one before it ended). ' +
      (p.baseline
        ? `Baselines, run on the same chain and stream and measured the same way at the receiver: careful = ${p.baselineDefinitions?.careful ?? 'kept ssh connections, hops in parallel'}; naive = ${p.baselineDefinitions?.naive ?? 'a new ssh per hop, in order'}.`
        : 'No baseline in this result (it predates the run baseline).'),
    '',
  );
  out.push(
    table(
      ['hops', 'VPM setup', 'VPM round trips', 'VPM removal', 'careful ssh setup', 'careful removal', 'VPM/careful setup', 'naive ssh setup (reference)', 'naive removal'],
      p.rows.map((r: any) => {
        const c = careful.get(r.hops);
        const n = naive.get(r.hops);
        return [r.hops, msStat(r.setup), r.maxWaves ?? 'n/a', msStat(r.removal), msStat(c?.setup), msStat(c?.removal), c ? r2(r.setup.medianMs / c.setup.medianMs) : 'n/a', msStat(n?.setup), msStat(n?.removal)];
      }),
    ),
    '',
    `Create / delete returned (VPM), ms: ${p.rows.map((r: any) => `${r.hops} hops ${msStat(r.create)} / ${msStat(r.delete)}`).join('; ')}.`,
    '',
    `Cold (a ${Math.max(...p.rows.map((r: any) => r.hops))}-hop run that first opens its SSH connections): setup ${p.cold?.setupMs} ms, removal ${p.cold?.removalMs} ms.`,
    '',
    `One round trip alone (\`true\` on the kept connection to h2, nothing else running): ${msStat(p.roundTrip)} ms. ` +
      'A round trip to k hops at once costs more on this 2-core machine (every hop\'s sshd, shell, ovs-ofctl and ovs-vswitchd share the two cores with the stream): the careful script\'s setup, every hop\'s flow at once on kept connections, is that one round trip measured.',
    '',
  );
  // Two round trips: at most two commands one after the other before the first datagram (the
  // trace), and no longer than twice the careful script's one round trip to the same hops.
  const rows = p.rows.map((r: any) => ({ hops: r.hops, setup: r.setup.medianMs, waves: r.maxWaves, careful: careful.get(r.hops)?.setup.medianMs }));
  const met = rows.every((r: any) => r.waves !== undefined && r.waves <= 2 && r.careful !== undefined && r.setup <= 2 * r.careful);
  targets.push({
    ...PATH_SETUP_TARGET,
    figure: rows
      .map((r: any) => `${r.hops} hops: ${r.waves ?? 'n/a'} round trips, ${r.setup.toFixed(0)} ms = ${r.careful ? `×${(r.setup / r.careful).toFixed(2)}` : 'n/a'} the careful one-round-trip setup`)
      .join('; ') + `; one round trip alone ${p.roundTrip ? p.roundTrip.medianMs.toFixed(0) : 'n/a'} ms`,
    verdict: met ? 'met' : 'NOT met',
  });
  return out;
}

function migrationSection(m: any, targets: Target[]): string[] {
  const out: string[] = ['## Live migration under a stream (issue 7.4, issue 6)', ''];
  const c = m.summary?.clone;
  const n = m.summary?.noclone;
  out.push(
    `Stack ${m.stack} (${m.topology}), VM ${m.vm} between ${m.leaves?.join(' and ')}, ${m.streamRate} datagrams/s to ${m.receiver}, libvirt max downtime ${m.maxDowntimeMs} ms. ` +
      'clone = `pulumi up` after changing the placement (new path first, packets cloned onto both leaves, migrate, old path removed); no clone = the same migration with the path moved only after `virsh migrate` returned (the usual "migrate, then fix the network"), which is the baseline. Gap = longest time between two new datagrams at the receiver; the switch-over gap is the longest one ending within 0.5 s before to 3 s after the VM resumed (`virsh domstate` polled on the destination), the whole step\'s includes stalls elsewhere in the `pulumi up`.',
    '',
  );
  const f = (s: any, d = 1) => (s && Number.isFinite(s.median) ? `${s.median.toFixed(d)} / ${s.max.toFixed(d)}` : 'n/a');
  out.push(
    table(
      ['', 'migrations', 'switch-over gap ms median / max', 'longest gap of the whole step ms', 'lost median / max', 'duplicates median / max', 'libvirt downtime ms median / max', 'step ms median / max'],
      [
        ['clone path (VPM)', c?.migrations ?? 0, f(c?.migrationGapMs), f(c?.gapMs), f(c?.lost, 0), f(c?.duplicates, 0), f(c?.downtimeMs, 0), f(c?.stepMs, 0)],
        ['no clone path (baseline)', n?.migrations ?? 0, f(n?.migrationGapMs), f(n?.gapMs), f(n?.lost, 0), f(n?.duplicates, 0), f(n?.downtimeMs, 0), f(n?.stepMs, 0)],
      ],
    ),
    '',
  );
  if (c && n) out.push(`Ratio clone / no clone: switch-over gap median ${r2(c.migrationGapMs.median / n.migrationGapMs.median)}, max ${r2(c.migrationGapMs.max / n.migrationGapMs.max)}; lost median ${r2(c.lost.median / Math.max(1e-9, n.lost.median))}.`, '');
  out.push(...anatomyLines(m), ...stallLines(m), ...variantLines(m));
  if (c) {
    targets.push({
      issue: '18',
      target: 'migration duplicates ≤ 10 per migration',
      figure: `clone path: duplicates median ${c.duplicates.median}, max ${c.duplicates.max} over ${c.migrations} migrations`,
      verdict: c.duplicates.max <= 10 ? 'met' : 'NOT met',
    });
    if (Number.isFinite(c.pauseMs?.median) && Number.isFinite(c.resumeToGapEndMs?.median)) {
      targets.push({
        issue: '18',
        target: "gap within 10 ms of the VM's own pause (the floor: libvirt's Suspended → Resumed events)",
        figure: `clone path: VM paused ${c.pauseMs.median} ms (median); the first new datagram reached the receiver ${c.resumeToGapEndMs.median} ms (median, max ${c.resumeToGapEndMs.max}) after it resumed`,
        verdict: c.resumeToGapEndMs.median <= 10 ? 'met' : 'NOT met',
      });
    }
    if (Number.isFinite(c.vmOutageMs?.median) && Number.isFinite(c.networkAddsMs?.max)) {
      targets.push({
        issue: '18',
        target: "gap within 10 ms of the VM's own outage at its taps (the floor under TCG: its last datagram out on the source → its first new one out on the destination)",
        figure: `clone path: VM's outage ${c.vmOutageMs.median.toFixed(0)} ms (median), gap at the receiver − outage median ${c.networkAddsMs.median.toFixed(1)} ms, max ${c.networkAddsMs.max.toFixed(1)} ms; the clone path wrote into the destination's tap ${c.resumeToIntoTapMs.median.toFixed(1)} ms after the VM resumed, the VM sent its first datagram ${c.resumeToOutOfVmMs.median.toFixed(0)} ms after`,
        // The outage is the VM's own only if the network was ready when it resumed (→ tap).
        verdict: c.networkAddsMs.max <= 10 && c.resumeToIntoTapMs?.max <= 10 ? 'met' : 'NOT met',
      });
    }
    if (Number.isFinite(c.otherStallMs?.max)) {
      const ctl = m.controls?.summary ?? {};
      const controlText = ['still', 'noop']
        .filter((k) => ctl[k])
        .map((k) => `${k === 'still' ? 'the stream alone' : 'a no-change `pulumi up` (no host touched)'}: longest gap max ${ctl[k].maxGapMs.max.toFixed(1)} ms`)
        .join('; ');
      targets.push({
        issue: '18',
        target: 'no stall > 20 ms at the receiver outside the switch-over',
        figure: `clone path: longest gap outside the resume window median ${c.otherStallMs.median.toFixed(1)} ms, max ${c.otherStallMs.max.toFixed(1)} ms (0 = none ≥ 20 ms)` + (controlText ? `; for reference, ${controlText}` : ''),
        verdict: c.otherStallMs.max <= 20 ? 'met' : 'NOT met',
      });
    }
    targets.push({
      issue: '6',
      target: 'migration gap median ≤ 40 ms and max ≤ 80 ms',
      figure: `clone path, switch-over gap: median ${c.migrationGapMs.median.toFixed(1)} ms, max ${c.migrationGapMs.max.toFixed(1)} ms over ${c.migrations} migrations`,
      verdict: c.migrationGapMs.median <= 40 && c.migrationGapMs.max <= 80 ? 'met' : 'NOT met',
    });
    if (Number.isFinite(c.downtimeMs?.median)) {
      targets.push({
        issue: '6',
        target: "gap no longer than the hypervisor's own downtime",
        figure: `switch-over gap median ${c.migrationGapMs.median.toFixed(1)} ms vs libvirt downtime median ${c.downtimeMs.median} ms`,
        verdict: c.migrationGapMs.median <= c.downtimeMs.median ? 'met' : 'NOT met',
      });
    }
  }
  return out;
}

/** Where the gap sits against the VM's own pause (lifecycle events), per kind. */
function anatomyLines(m: any): string[] {
  const kinds = Object.entries(m.summary ?? {}).filter(([, s]: [string, any]) => s && Number.isFinite(s.pauseMs?.median));
  if (!kinds.length) return [];
  const f = (s: any) => (s && Number.isFinite(s.median) ? `${s.median.toFixed(0)} / ${s.max.toFixed(0)}` : 'n/a');
  const f1 = (s: any) => (s && Number.isFinite(s.median) ? `${s.median.toFixed(1)} / ${s.max.toFixed(1)}` : 'n/a');
  return [
    "Against the VM's own pause (libvirtd's lifecycle events with their timestamps: Suspended on the source, Resumed on the destination), median / max ms: pause = the VM stopped; before = from the gap's start to the pause; after = from the resume to the first new datagram at the receiver (the guest's own restart on a fresh QEMU, whose TCG translation cache starts empty, plus its relay). inplace = the same VM paused and resumed where it runs for 100 ms (the same QEMU, its translation cache warm): the guest's restart without a migration, for reference.",
    '',
    "At the VM's taps (lab/stream/tapwatch.c in each hypervisor's namespace, kernel timestamps on the clock of libvirt's events): → tap = from the resume to the first datagram the network wrote into the destination's tap; → out = from the resume to the first datagram the VM sent there; VM outage = from the VM's last datagram out on the source to its first new one out on the destination (what no network can hide); network adds = the receiver's gap − the VM's outage (the paths, the switches and the receiver's leg; around 0, within the clocks' resolution, when the network was ready before the VM). The VM forwards only what reaches it, so its outage is its own only where → tap is about 0; without the clone path it includes the wait for the new path.",
    '',
    table(
      ['kind', 'migrations', 'pause', 'gap start → pause', 'resume → first new datagram', 'gap (in the resume window)', '→ tap', '→ out', 'VM outage', 'network adds'],
      kinds.map(([k, s]: [string, any]) => [k, s.migrations, f(s.pauseMs), f(s.gapStartToPauseMs), f(s.resumeToGapEndMs), f(s.migrationGapMs), f1(s.resumeToIntoTapMs), f(s.resumeToOutOfVmMs), f(s.vmOutageMs), f1(s.networkAddsMs)]),
    ),
    '',
  ];
}

/** Stalls at the receiver outside the switch-over, by the side that held the stream, and the controls without a migration. */
function stallLines(m: any): string[] {
  const rows: Array<Array<string | number>> = [];
  const f = (s: any, d = 0) => (s && Number.isFinite(s.median) ? `${s.median.toFixed(d)} / ${s.max.toFixed(d)}` : 'n/a');
  const sides = (s: any) => ['beforeVm', 'inVm', 'afterVm', 'unseen'].map((k) => f(s?.stallSideMs?.[k]));
  for (const [k, what] of [['still', 'the stream alone, 20 s'], ['noop', 'a no-change `pulumi up` (reads and changes nothing)']] as const) {
    const s = m.controls?.summary?.[k];
    if (s) rows.push([k, what, s.runs, f(s.maxGapMs, 1), f(s.stallsPer10s, 1), ...sides(s)]);
  }
  for (const k of ['clone', 'noclone']) {
    const s = m.summary?.[k];
    if (s && s.stallSideMs) rows.push([k, 'the migration step (outside the switch-over: longest gap outside the resume window)', s.migrations, f(s.otherStallMs, 1), f(s.stallsPer10s, 1), ...sides(s)]);
  }
  if (!rows.length) return [];
  return [
    '### Stalls outside the switch-over',
    '',
    "Gaps ≥ 20 ms at the receiver, median / max over runs. Each stall is followed through the VM's taps by the datagram that ended it, and goes to the side where that datagram waited longest: before the VM (the sender process, the root's and relay's switches), in the VM, after it (the leaf's switch, the receiver process); unseen = the taps did not see that datagram both ways. Every part of the lab (sender, receiver, switches, the VM, the engine) shares the machine's two cores, so a busy spell stalls whichever runs late; the controls show what the machine does without a migration.",
    '',
    table(['kind', 'what', 'runs', 'longest gap ms', 'gaps ≥ 20 ms per 10 s', 'before the VM', 'in the VM', 'after the VM', 'unseen'], rows),
    '',
  ];
}

/** The migration settings tried side by side (kind direct). */
function variantLines(m: any): string[] {
  const rows = (m.variants ?? []).map((v: any) => ({ v, s: m.summary?.[`direct ${v.name}`] })).filter((x: any) => x.s);
  if (!rows.length) return [];
  const f = (s: any, d = 0) => (s && Number.isFinite(s.median) ? `${s.median.toFixed(d)} / ${s.max.toFixed(d)}` : 'n/a');
  const what = (v: any) =>
    [v.downtimeMs ? `max downtime ${v.downtimeMs} ms` : `max downtime ${m.maxDowntimeMs} ms`, v.bandwidthMiBs ? `bandwidth ${v.bandwidthMiBs} MiB/s` : undefined, v.tapQueue ? `destination tap queue ${v.tapQueue} frames` : 'tap queue 1000 (kernel default)', v.postcopy ? 'post-copy' : undefined]
      .filter(Boolean)
      .join(', ');
  return [
    '### Migration settings, one by one',
    '',
    'The LIME order without the engine (bench/migration.ts, kind direct): the destination tap, the clone path to the new leaf, then `virsh migrate` with the setting; settings tried round robin under the same stream. Median / max.',
    '',
    table(
      ['setting', 'what', 'migrations', 'gap ms', 'lost', 'duplicates', 'libvirt downtime ms', 'VM pause ms', 'resume → first new datagram ms'],
      rows.map(({ v, s }: any) => [v.name, what(v), s.migrations, f(s.migrationGapMs, 1), f(s.lostNearResume), f(s.duplicates), f(s.downtimeMs), f(s.pauseMs), f(s.resumeToGapEndMs)]),
    ),
    '',
  ];
}

function topologySection(t: any, targets: Target[]): string[] {
  const out: string[] = ['## Topology engine (issue 7.5, issue 3)', ''];
  out.push(`computeTree on seeded random graphs (about ${t.linksPerNode} links per node), ms: cold = first call; median (min..max) of ${t.runs} runs after warm-up; Node ${t.node}. Baseline: the issue's budget (${t.budget.ms} ms for ${t.budget.nodes} nodes).`, '');
  out.push(
    table(
      ['nodes', 'links', 'tree links', 'cold', 'median (min..max)', 'vs budget'],
      t.rows.map((r: any) => [r.nodes, r.links, r.treeLinks, r.coldMs, `${r.medianMs} (${r.minMs}..${r.maxMs})`, r.nodes === t.budget.nodes ? r2(r.medianMs / t.budget.ms) : '']),
    ),
    '',
  );
  const row = t.rows.find((r: any) => r.nodes === t.budget.nodes);
  targets.push({
    issue: '3',
    target: `computeTree on ${t.budget.nodes} nodes / ~${t.budget.nodes * t.linksPerNode} links ≤ ${t.budget.ms} ms`,
    figure: row ? `${row.medianMs} ms median (cold ${row.coldMs} ms)` : 'n/a',
    verdict: t.budget.met ? 'met' : 'NOT met',
  });
  return out;
}

/** Numbers of an unknown result, flattened to "a.b.c: v" lines (failover's format is not fixed yet). */
function flatten(v: any, prefix = '', out: [string, string][] = []): [string, string][] {
  if (out.length > 60) return out;
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') out.push([prefix, String(v)]);
  else if (Array.isArray(v)) {
    if (v.length <= 6) v.forEach((x, i) => flatten(x, `${prefix}[${i}]`, out));
    else out.push([prefix, `${v.length} entries`]);
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

function failoverSection(f: any, targets: Target[]): string[] {
  const out: string[] = ['## Failover: stream gap when a relay dies (issue 7.6, issue 8)', ''];
  const rows: any[] = Array.isArray(f.rows) ? f.rows : [];
  const st = (x: any, d = 1) => (x && x.n ? `${x.median.toFixed(d)} (${x.min.toFixed(d)}..${x.max.toFixed(d)})` : 'n/a');
  if (rows.length && rows.every((r) => r.gapMs && r.mode)) {
    const reactive = rows.find((r) => r.mode === 'reactive');
    out.push(
      `Failure: ${f.failure ?? '?'}; topology ${f.topology ?? '?'}; stream 1 datagram / ${f.streamIntervalUs ?? '?'} µs. Gap = ${f.definitions?.gap ?? 'longest interval between two datagrams'}. ` +
        `Baseline: reactive = ${f.definitions?.reactive ?? 'the path moved after the failure'}. Median (min..max) over the trials.`,
      '',
    );
    out.push(
      table(
        ['mode', 'BFD min_tx/min_rx ms', 'trials', 'gap ms', 'lost', 'reactive: pulumi up ms', 'idle BFD flaps / 10 s', 'gap / reactive gap'],
        rows.map((r) => [r.mode, r.bfd, r.trials?.length ?? '?', st(r.gapMs), st(r.lost, 0), st(r.updateMs, 0), r.idleFlaps10s ?? '-', reactive && r !== reactive ? r2(r.gapMs.median / reactive.gapMs.median) : '']),
      ),
      '',
    );
    const ff = rows.find((r) => r.mode !== 'reactive');
    if (ff) targets.push({ issue: '8', target: 'data-plane failover gap median ≤ 30 ms', figure: `fast-failover + BFD ${ff.bfd}: median ${ff.gapMs.median.toFixed(1)} ms, max ${ff.gapMs.max.toFixed(1)} ms over ${ff.trials?.length ?? '?'} trials${reactive ? ` (reactive: ${reactive.gapMs.median.toFixed(0)} ms)` : ''}`, verdict: ff.gapMs.median <= 30 ? 'met' : 'NOT met' });
    return out;
  }
  // A format this report does not know yet: show its numbers.
  const body = f.summary ?? f;
  out.push(table(['figure', 'value'], flatten(body).filter(([k]) => !/samples|trials\[|date|node$/.test(k)).slice(0, 40).map(([k, v]) => [k, v])), '');
  return out;
}

function writeChart(u: any): string | undefined {
  const rows: any[] = u.rows;
  const pts = (f: (r: any) => Stat | undefined) =>
    rows
      .map((r) => ({ x: r.n, s: f(r) }))
      .filter((p) => p.s && p.s.n)
      .map((p) => ({ x: p.x, y: p.s!.median / 1000, min: p.s!.min / 1000, max: p.s!.max / 1000 }));
  const own = (f: (r: any) => number | undefined) =>
    rows.filter((r) => f(r) !== undefined).map((r) => ({ x: r.n, y: f(r)! / 1000 }));
  const series: Series[] = [
    { name: 'VPM up (from empty)', color: '#1f77b4', points: pts((r) => r.vpm.up.wallMs) },
    { name: 'VPM no-change up --refresh', color: '#1f77b4', dashed: true, points: pts((r) => r.vpm.noChangeRefresh?.wallMs) },
    { name: "VPM's own share of up", color: '#9467bd', points: own((r) => r.ownShareMs?.up) },
    { name: 'engine fixed cost (empty up)', color: '#7f7f7f', dashed: true, points: pts((r) => r.engine?.up) },
    { name: 'careful plain ssh script', color: '#d62728', points: pts((r) => r.careful?.first.wallMs) },
    { name: 'careful plain ssh re-run', color: '#d62728', dashed: true, points: pts((r) => r.careful?.again.wallMs) },
    { name: 'naive plain ssh script (reference)', color: '#ff9896', points: pts((r) => r.plain?.first.wallMs) },
    { name: 'Ansible', color: '#2ca02c', points: pts((r) => r.ansible?.first.wallMs) },
    { name: 'Ansible re-run', color: '#2ca02c', dashed: true, points: pts((r) => r.ansible?.again.wallMs) },
  ].filter((s) => s.points.length);
  const svg = lineChart(series, {
    title: 'Converging a streaming tree: wall time against hypervisor count',
    xLabel: 'hypervisors in the tree',
    yLabel: 'seconds (median, whiskers min..max)',
    xTicks: rows.map((r) => r.n),
    note: `bench/run-all.ts, ${u.date.slice(0, 10)}; ${Object.entries(u.runs).map(([n, k]) => `N=${n}: ${k} runs`).join(', ')}`,
  });
  fs.writeFileSync(path.join(resultsDir(), 'up-scaling.svg'), svg);
  // bench/results/ is not committed; the report shows a copy beside it.
  fs.writeFileSync(path.join(repoRoot(), 'bench', 'REPORT-up-scaling.svg'), svg);
  return 'REPORT-up-scaling.svg';
}

export async function writeReport(outcomes: Outcome[], m: Machine, started: Date, totalSeconds: number | undefined, tree: TreeState): Promise<string> {
  const targets: Target[] = [];
  const sections: string[] = [];
  const notMeasured: string[] = [];
  const byName = new Map(outcomes.map((o) => [o.name, o]));
  /** A section's lines, with a note under its heading when its result is from an earlier run. */
  const mark = (name: string, section: string[]): string[] => {
    const e = byName.get(name)?.earlier;
    return e ? [section[0], '', `_Result of an earlier run (${e.replace('T', ' ').slice(0, 16)} UTC), not of this invocation._`, ...section.slice(1)] : section;
  };
  const reasonFor = (name: string) => byName.get(name)?.reason ?? 'not run in this invocation';
  const get = (name: string) => {
    const o = byName.get(name);
    return o?.ok ? (o.result ?? readResult(name)) : undefined;
  };

  const u = get('up-scaling');
  if (u) {
    const chart = writeChart(u);
    sections.push(...mark('up-scaling', upScalingSection(u, targets, chart)));
    for (const [what, why] of Object.entries((u.notMeasured ?? {}) as Record<string, string>)) notMeasured.push(`up-scaling ${what} baseline: ${why}`);
  } else {
    notMeasured.push(`up-scaling (pulumi up 2..64, baselines, the engine's fixed cost, resource use): ${reasonFor('up-scaling')}`);
    targets.push({ issue: '7.1', target: '`up` linear in hypervisors; one round trip per host per step; no-change up issues no mutating command', figure: '-', verdict: 'not measured' });
    for (const t of scaleTargets([])) targets.push({ ...t, figure: '-' });
  }
  const p = get('path-latency');
  if (p) sections.push(...mark('path-latency', pathLatencySection(p, targets)));
  else {
    notMeasured.push(`path-latency: ${reasonFor('path-latency')}`);
    targets.push({ ...PATH_SETUP_TARGET, figure: '-', verdict: 'not measured' });
  }
  const mg = get('migration');
  if (mg) sections.push(...mark('migration', migrationSection(mg, targets)));
  else {
    notMeasured.push(`migration: ${reasonFor('migration')}`);
    targets.push({ issue: '6', target: 'migration gap median ≤ 40 ms and max ≤ 80 ms, no longer than libvirt downtime', figure: '-', verdict: 'not measured' });
  }
  const t = get('topology');
  if (t) sections.push(...mark('topology', topologySection(t, targets)));
  else {
    notMeasured.push(`topology: ${reasonFor('topology')}`);
    targets.push({ issue: '3', target: 'computeTree on 10k nodes ≤ 100 ms', figure: '-', verdict: 'not measured' });
  }
  const f = get('failover');
  if (f) sections.push(...mark('failover', failoverSection(f, targets)));
  else {
    notMeasured.push(`failover: ${reasonFor('failover')}`);
    targets.push({ issue: '8', target: 'data-plane failover gap median ≤ 30 ms', figure: '-', verdict: 'not measured' });
  }

  const headline: string[] = [];
  if (u) {
    const big = u.rows[u.rows.length - 1];
    headline.push(
      `- \`pulumi up\` of a ${big.n}-hypervisor tree from empty: **${s2(big.vpm.up.wallMs.median)} s** against ${s2(big.careful?.first.wallMs.median)} s for a careful plain-ssh script (one session per host, hosts in parallel; VPM/careful ${r2(big.ratios.firstVsCareful)}) and ${s2(big.ansible?.first.wallMs.median)} s for Ansible (VPM/Ansible ${r2(big.ratios.firstVsAnsible)}); a naive one-ssh-per-change script took ${s2(big.plain?.first.wallMs.median)} s. VPM: ${big.vpm.up.sshConnections.median} SSH connections for ${big.vpm.up.commands.median} commands.`,
      ...(u.rows as any[]).filter((r: any) => r.n !== big.n).map((r: any) => `  At N=${r.n}: VPM ${s2(r.vpm.up.wallMs.median)} s, careful ${s2(r.careful?.first.wallMs.median)} s, Ansible ${s2(r.ansible?.first.wallMs.median)} s.`),
      `- No change at N=${big.n}: \`pulumi up --refresh\` **${s2(big.vpm.noChangeRefresh?.wallMs.median)} s** (${big.vpm.noChangeRefresh?.commands.median ?? 'n/a'} commands, ${big.vpm.noChangeRefresh?.mutating.max ?? 'n/a'} mutating) against the Ansible re-run ${s2(big.ansible?.again.wallMs.median)} s (${big.ansible?.again.changed.median ?? 'n/a'} tasks changed) and the careful script's re-run ${s2(big.careful?.again.wallMs.median)} s (re-sends everything); \`pulumi up\` without refresh, which reads no host: ${s2(big.vpm.noChange.wallMs.median)} s, ${big.vpm.noChange.commands.median} commands.`,
    );
  }
  if (f?.summary?.failoverGapMs?.n) headline.push(`- Relay failure: stream gap median ${f.summary.failoverGapMs.median.toFixed(0)} ms with fast-failover + BFD ${f.summary.failoverBfd ?? ''}${f.summary.reactiveGapMs?.n ? `, ${f.summary.reactiveGapMs.median.toFixed(0)} ms reacting with a real \`pulumi up\` (BFD off, relay marked failed)` : ''}.`);
  if (p) {
    const careful = new Map<number, any>((p.baseline?.careful ?? []).map((r: any) => [r.hops, r]));
    headline.push(
      `- Path setup (start of create → first packet): ${p.rows.map((r: any) => `${r.setup.medianMs.toFixed(0)} ms for ${r.hops} hops${careful.get(r.hops) ? ` (careful plain ssh ${careful.get(r.hops).setup.medianMs.toFixed(0)} ms)` : ''}`).join(', ')}; removal ${p.rows.map((r: any) => r.removal.medianMs.toFixed(0)).join(' / ')} ms.`,
    );
  }
  if (mg?.summary?.clone) {
    const c = mg.summary.clone;
    const n = mg.summary.noclone;
    headline.push(
      `- Live migration with the clone path: switch-over gap at the receiver median ${c.migrationGapMs.median.toFixed(0)} ms (max ${c.migrationGapMs.max.toFixed(0)} ms), duplicates median ${c.duplicates.median} over ${c.migrations} migrations` +
        (Number.isFinite(c.pauseMs?.median) ? `; the VM itself was paused ${c.pauseMs.median.toFixed(0)} ms (median)` : '') +
        (n ? `; without the clone path ${n.migrationGapMs.median.toFixed(0)} ms (max ${n.migrationGapMs.max.toFixed(0)} ms)` : '') +
        '.',
    );
  }
  if (t) {
    const row = t.rows.find((r: any) => r.nodes === t.budget.nodes);
    if (row) headline.push(`- computeTree on ${row.nodes} nodes / ${row.links} links: ${row.medianMs} ms (budget ${t.budget.ms} ms).`);
  }
  const lines: string[] = [];
  lines.push('# VPM benchmark report', '', ...provenanceLines(tree), '');
  lines.push(
    `Generated by \`npm run bench\` (bench/run-all.ts) on ${started.toISOString().replace('T', ' ').slice(0, 16)} UTC, commit ${tree.commit}` +
      (totalSeconds !== undefined ? `; the whole suite took ${(totalSeconds / 60).toFixed(1)} min.` : '.'),
    '',
    'Every figure is measured in this one run, side by side with its baseline, on the same lab; each is the median (min..max) of repeated runs. ' +
      'The machine is small and shared (other engineers\' labs and VMs run beside it: see the load average), so absolute times are noisy; ratios measured in the same run are the figures to compare. ' +
      'Raw results: bench/results/<name>.json (not committed), logs: bench/results/<name>.log.',
    '',
  );
  if (headline.length) lines.push('## Headline figures', '', ...headline, '');
  lines.push('## Machine', '', table(['', ''], Object.entries(m).map(([k, v]) => [k, v]), true), '');
  lines.push('## Targets from the issues', '', table(['issue', 'target', 'figure', 'verdict'], targets.map((x) => [x.issue, x.target, x.figure, x.verdict === 'met' ? '**met**' : x.verdict === 'NOT met' ? '**not met**' : 'not measured']), true), '');
  lines.push(...sections);
  lines.push('## Not measured', '');
  lines.push(...(notMeasured.length ? notMeasured.map((x) => `- ${x}`) : ['- nothing: every benchmark ran.']), '');
  lines.push('## Benchmarks run', '', table(['benchmark', 'result', 'seconds'], outcomes.map((o) => [o.name, o.earlier ? `not run now: result of ${o.earlier.replace('T', ' ').slice(0, 16)} UTC` : o.ok ? 'ok' : `not measured: ${o.reason}`, o.seconds]), true), '');
  lines.push(`Load average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}.`, '');
  const file = path.join(repoRoot(), 'bench', 'REPORT.md');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, 'report-only': { type: 'boolean' }, dirty: { type: 'boolean' } }, strict: true });
  const only = values.only ? values.only.split(',') : undefined;
  // Before anything runs: figures must come from a commit (the tree as it is now).
  const tree = await treeState(repoRoot());
  const refused = refusal(tree, values.dirty === true);
  if (refused) {
    console.error(`npm run bench: ${refused}`);
    process.exitCode = 2;
    return;
  }
  const started = new Date();
  const m = await machine();
  const outcomes: Outcome[] = [];
  const earlier = (name: string): Outcome => {
    const r = readResult(name);
    return r ? { name, ok: true, seconds: 0, earlier: String(r.date ?? 'unknown date'), result: r } : { name, ok: false, seconds: 0, reason: 'not run in this invocation, and no earlier result' };
  };
  if (values['report-only']) {
    for (const b of BENCHES) outcomes.push(earlier(b.name));
  } else {
    // lab/names.ts fixes the prefix when it first loads: if anything imported it before
    // lib/bench-env, this process would drive the developer's plain lab while its children use
    // the benchmarks' own. Refuse rather than touch someone else's lab.
    if (NS_PREFIX !== process.env.VPM_LAB_NS_PREFIX) {
      throw new Error(`the benchmarks' lab prefix ${process.env.VPM_LAB_NS_PREFIX} was set after lab/names.ts loaded (${NS_PREFIX}): import './lib/bench-env' first in bench/run-all.ts`);
    }
    log(`machine: ${m.cpus}, ${m.memory}, load ${m['load average at start']}; labs: namespaces ${NS_PREFIX}*, state ${LabPaths.default().dir}`);
    if (listLabNamespaces().length) {
      log(`a lab ${NS_PREFIX}* is already running: the benchmarks bring up their own; stop it (VPM_LAB_NS_PREFIX=${NS_PREFIX} VPM_LAB_DIR=${LabPaths.default().dir} npx vpm lab down) or choose another VPM_LAB_NS_PREFIX / VPM_LAB_DIR`);
      process.exitCode = 1;
      return;
    }
    for (const b of BENCHES) {
      if (only && !only.includes(b.name)) {
        outcomes.push(earlier(b.name));
        continue;
      }
      const o = await runBench(b);
      outcomes.push(o);
      log(`${b.name}: ${o.ok ? 'ok' : `NOT MEASURED (${o.reason})`} in ${o.seconds} s`);
    }
  }
  const total = values['report-only'] ? undefined : Math.round((Date.now() - started.getTime()) / 1000);
  const file = await writeReport(outcomes, m, started, total, tree);
  log(`wrote ${file}`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exit(1);
  });
}
