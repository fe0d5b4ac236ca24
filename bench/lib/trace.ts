/**
 * Reads the providers' command trace (VPM_TRACE_FILE, providers/exec/trace.ts) of one
 * `pulumi up`: commands per host, SSH connections (one per host per provider process:
 * distinct (pid, host)), mutating commands, and the time of each phase.
 *
 * Phases come from the argv (the trace keeps its first 4 words) and the order on each host.
 * The engine creates a host's bridge before any tunnel or path on it (dependsOn), and an
 * OvsBridge create ends with `ovs-ofctl add-flow br0` (br0's rule), so on each host:
 *   bridges  every command up to and including the first `ovs-ofctl add-flow br0`
 *   paths    `ovs-ofctl -O OpenFlow15 ...` (dumps and bundles), and a `tnl/neigh/set` whose
 *            next command on that host is one of those (a hop seeds its neighbour first)
 *   tunnels  the rest: ovs-vsctl port transactions and reads, `get Interface`, neighbour seeds
 * A phase's window runs from its first command's start to its last command's end, over all
 * hosts (phases overlap where one host is still on bridges while another is on tunnels).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TraceLine } from '../../providers/exec';
import type { Inventory } from '../../lab/inventory';

export type Phase = 'bridges' | 'tunnels' | 'paths';
export const PHASES: Phase[] = ['bridges', 'tunnels', 'paths'];

/** The phase of each resource kind a provider names in its trace tag. */
const PHASE_OF_TAG: Record<string, Phase> = { bridge: 'bridges', tunnel: 'tunnels', path: 'paths' };

export function readTrace(file: string): TraceLine[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TraceLine)
    .sort((a, b) => a.t - b.t);
}

/** Does this trace line change the host? A batch does when one of its steps does. */
export function isMutatingLine(line: Pick<TraceLine, 'argv' | 'steps'>): boolean {
  return line.steps ? line.steps.some((s) => isMutating(s)) : isMutating(line.argv);
}

/** Does this command change the host (as opposed to reading it)? */
export function isMutating(argv: readonly string[]): boolean {
  const [tool, a1, a2, a3] = argv;
  if (tool === 'ovs-vsctl') {
    // Reads: --format=json queries, get/list/find/list-br/list-ports; a transaction starts with `--`.
    const words = [a1, a2, a3].filter((w) => w !== undefined && !/^--(timeout|format)/.test(w));
    return !(words[0] === undefined || ['get', 'list', 'find', 'list-br', 'list-ports', 'br-exists', 'show'].includes(words[0]) || (a2 ?? '').startsWith('--format'));
  }
  if (tool === 'ovs-ofctl') {
    // The trace keeps 4 words: `ovs-ofctl -O OpenFlow15 --no-names` is a dump (the flags only dumps take).
    return !argv.some((w) => w.startsWith('dump-') || w === '--no-names' || w === '--no-stats' || w === 'show');
  }
  if (tool === 'ovs-appctl') return /\/(set|flush|add|del)/.test(a1 ?? '');
  if (tool === 'virsh') return !['list', 'dominfo', 'domstate', 'domjobinfo', 'dumpxml', 'domifaddr'].includes(a1 ?? '');
  return true;
}

export interface PhaseStat {
  readonly commands: number;
  /** From the phase's first command start to its last command end, ms. */
  readonly windowMs: number;
  /** Start and end relative to the run's start, ms. */
  readonly startMs: number;
  readonly endMs: number;
  /** Sum of command durations (all hosts) / window: how many commands ran at once on average. */
  readonly parallelism: number;
  /** Commands of this phase on the busiest host (round trips on the critical host). */
  readonly maxCommandsPerHost: number;
  readonly medianCommandsPerHost: number;
}

export interface TraceSummary {
  readonly commands: number;
  readonly mutating: number;
  readonly commandsPerHost: Record<string, number>;
  readonly sshConnections: number;
  readonly providerPids: number[];
  /** First command start to last command end, ms. */
  readonly commandWindowMs: number;
  /** Run start to first command, and last command end to run end, ms (engine, program, state). */
  readonly beforeFirstMs: number;
  readonly afterLastMs: number;
  readonly phases: Partial<Record<Phase, PhaseStat>>;
  readonly byTool: Record<string, number>;
  /** Median duration of one command on a kept connection (a round trip plus the tool's run time), ms. */
  readonly medianCommandMs: number;
}

function classify(lines: TraceLine[]): Map<TraceLine, Phase> {
  const out = new Map<TraceLine, Phase>();
  const byHost = new Map<string, TraceLine[]>();
  for (const l of lines) byHost.set(l.host, [...(byHost.get(l.host) ?? []), l]);
  for (const hostLines of byHost.values()) {
    const bridgeEnd = hostLines.findIndex((l) => l.argv[0] === 'ovs-ofctl' && l.argv[1] === 'add-flow' && l.argv[2] === 'br0');
    hostLines.forEach((l, i) => {
      // Providers tag their commands with the resource kind (RunOptions.trace.tag); the
      // guesses from the command words below are for traces of older versions.
      const tagged = PHASE_OF_TAG[l.tag ?? ''];
      if (tagged) return void out.set(l, tagged);
      const isPathCmd = (x?: TraceLine) => !!x && x.argv[0] === 'ovs-ofctl' && x.argv[1] === '-O';
      let phase: Phase;
      if (i <= bridgeEnd) phase = 'bridges';
      else if (isPathCmd(l)) phase = 'paths';
      else if (l.argv[0] === 'ovs-appctl' && l.argv[1] === 'tnl/neigh/set' && isPathCmd(hostLines[i + 1])) phase = 'paths';
      else phase = 'tunnels';
      out.set(l, phase);
    });
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return 0;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * @param runStart epoch ms when `pulumi up` was started; runEnd when it returned.
 * @param inventory maps "root@10.250.0.1K:22 (netns ...)" to hK.
 */
export function summarise(lines: TraceLine[], runStart: number, runEnd: number, inventory?: Inventory): TraceSummary {
  const nameOf = (host: string) => {
    const ip = /@([0-9.]+):/.exec(host)?.[1];
    return inventory?.hypervisors.find((h) => h.ip === ip)?.name ?? host;
  };
  const perHost: Record<string, number> = {};
  const byTool: Record<string, number> = {};
  for (const l of lines) {
    perHost[nameOf(l.host)] = (perHost[nameOf(l.host)] ?? 0) + 1;
    byTool[l.argv[0]] = (byTool[l.argv[0]] ?? 0) + 1;
  }
  const first = lines.length ? Math.min(...lines.map((l) => l.t)) : runStart;
  const last = lines.length ? Math.max(...lines.map((l) => l.t + l.ms)) : runStart;
  const phaseOf = classify(lines);
  const phases: Partial<Record<Phase, PhaseStat>> = {};
  for (const p of PHASES) {
    const ls = lines.filter((l) => phaseOf.get(l) === p);
    if (!ls.length) continue;
    const s = Math.min(...ls.map((l) => l.t));
    const e = Math.max(...ls.map((l) => l.t + l.ms));
    const counts: Record<string, number> = {};
    for (const l of ls) counts[l.host] = (counts[l.host] ?? 0) + 1;
    phases[p] = {
      commands: ls.length,
      windowMs: e - s,
      startMs: s - runStart,
      endMs: e - runStart,
      parallelism: Math.round((ls.reduce((a, l) => a + l.ms, 0) / Math.max(1, e - s)) * 100) / 100,
      maxCommandsPerHost: Math.max(...Object.values(counts)),
      medianCommandsPerHost: median(Object.values(counts)),
    };
  }
  return {
    commands: lines.length,
    mutating: lines.filter((l) => isMutatingLine(l)).length,
    commandsPerHost: perHost,
    sshConnections: new Set(lines.map((l) => `${l.pid}|${l.host}`)).size,
    providerPids: [...new Set(lines.map((l) => l.pid))],
    commandWindowMs: lines.length ? last - first : 0,
    beforeFirstMs: lines.length ? first - runStart : runEnd - runStart,
    afterLastMs: lines.length ? runEnd - last : 0,
    phases,
    byTool,
    medianCommandMs: median(lines.map((l) => l.ms)),
  };
}

/**
 * How many round trips one after the other the commands took: the longest chain of commands
 * each started after the one before it ended (the trace's ms clock), among those started by
 * `until` (e.g. the first datagram at the receiver: the round trips that came before it).
 */
export function commandWaves(lines: readonly Pick<TraceLine, 't' | 'ms'>[], until: number): number {
  const started = lines.filter((l) => l.t <= until).sort((a, b) => a.t - b.t);
  const depth: number[] = [];
  started.forEach((l, i) => {
    depth.push(1 + Math.max(0, ...started.slice(0, i).map((d, j) => (d.t + d.ms <= l.t ? depth[j] : 0))));
  });
  return Math.max(0, ...depth);
}

/**
 * Runs `work` with the command trace on (VPM_TRACE_FILE, a file of its own, removed after) and
 * hands back the commands this process sent meanwhile (providers called in-process).
 */
export async function withCommandTrace<T>(work: () => Promise<T>): Promise<{ result: T; lines: TraceLine[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-trace-'));
  const file = path.join(dir, 'trace.jsonl');
  process.env.VPM_TRACE_FILE = file;
  try {
    const result = await work();
    return { result, lines: readTrace(file) };
  } finally {
    delete process.env.VPM_TRACE_FILE;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
