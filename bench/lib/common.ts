/**
 * Small helpers shared by the benchmarks written for issue 7 (up-scaling, baselines, run-all):
 * statistics over repeated runs, result files, child processes with wall time, /proc reads.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../lab/names';

export { repoRoot };

export interface Stat {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Median (mean of the two middle values for an even count), min, max; NaN when empty. */
export function stat(values: readonly number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const m = v.length >> 1;
  const median = v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
  return { median: round2(median), min: round2(v[0]), max: round2(v[v.length - 1]), n: v.length };
}

/** "1.23 s (1.10..1.40)" style text for a Stat in milliseconds. */
export function fmtMs(s: Stat | undefined, unit: 's' | 'ms' = 's'): string {
  if (!s || !s.n) return 'n/a';
  const f = (x: number) => (unit === 's' ? (x / 1000).toFixed(2) : x.toFixed(x < 10 ? 2 : 0));
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}..${f(s.max)})` : f(s.median);
}

export function resultsDir(): string {
  const dir = path.join(repoRoot(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeResult(name: string, value: unknown): string {
  const file = path.join(resultsDir(), `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
  return file;
}

export function readResult<T = any>(name: string): T | undefined {
  const file = path.join(resultsDir(), `${name}.json`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly pid: number;
  readonly timedOut: boolean;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly stdin?: string;
  /** Called with the child's pid right after spawn (e.g. to sample its memory). */
  readonly onSpawn?: (pid: number) => void;
  /** Also copy the child's output to this process's stdout/stderr. */
  readonly echo?: boolean;
}

/** Runs argv (no shell), collecting output; never rejects for a non-zero exit. */
export function run(argv: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // detached: the child leads its own process group, so a timeout can end all it started.
    const child = spawn(argv[0], argv.slice(1), { cwd: o.cwd ?? repoRoot(), env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (o.echo) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      if (o.echo) process.stderr.write(d);
    });
    child.on('error', reject);
    if (child.pid && o.onSpawn) o.onSpawn(child.pid);
    const timer = o.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }, o.timeoutMs)
      : undefined;
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6, pid: child.pid ?? -1, timedOut });
    });
    child.stdin.on('error', () => undefined); // a child that exits without reading its input
    child.stdin.end(o.stdin ?? '');
  });
}

/** Like run, but throws with the output's tail when the exit code is not 0. */
export async function mustRun(argv: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await run(argv, o);
  if (r.code !== 0) {
    throw new Error(`${argv.slice(0, 6).join(' ')} exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  }
  return r;
}

/** VmRSS of a process in KiB (undefined when it is gone). */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return undefined;
  }
}

/** parent pid -> children, from /proc (one snapshot). */
export function processTree(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      /* raced with an exit */
    }
  }
  return children;
}

export function descendants(root: number, tree: Map<number, number[]> = processTree()): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    for (const c of tree.get(p) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/**
 * Samples, every `everyMs`, the RSS of the descendants of `root` whose command line matches
 * each pattern; keeps the maximum per pattern (sum over matching processes at one instant).
 */
export class RssSampler {
  private timer?: NodeJS.Timeout;
  readonly maxKiB: Record<string, number> = {};
  readonly pids: Record<string, Set<number>> = {};
  samples = 0;

  constructor(
    private readonly root: number,
    private readonly patterns: Record<string, RegExp>,
    private readonly everyMs = 100,
  ) {
    for (const k of Object.keys(patterns)) {
      this.maxKiB[k] = 0;
      this.pids[k] = new Set();
    }
  }

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    return this;
  }

  sample(): void {
    const procs = [this.root, ...descendants(this.root)];
    const sums: Record<string, number> = {};
    for (const pid of procs) {
      const cmd = cmdline(pid);
      for (const [k, re] of Object.entries(this.patterns)) {
        if (!re.test(cmd)) continue;
        const rss = rssKiB(pid);
        if (rss === undefined) continue;
        sums[k] = (sums[k] ?? 0) + rss;
        this.pids[k].add(pid);
      }
    }
    for (const [k, v] of Object.entries(sums)) this.maxKiB[k] = Math.max(this.maxKiB[k], v);
    this.samples++;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The lab env vars this process runs with, for messages. */
export function labEnvText(): string {
  return `VPM_LAB_NS_PREFIX=${process.env.VPM_LAB_NS_PREFIX ?? '(default vpmlab-)'} VPM_LAB_DIR=${process.env.VPM_LAB_DIR ?? '(default .lab)'}`;
}

/** Integers from a comma list in an env var, else the default. */
export function envList(name: string, fallback: number[]): number[] {
  const v = process.env[name];
  if (!v) return fallback;
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${name}=${v}: give a comma-separated list of positive integers`);
  return xs;
}

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (!v) return fallback;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) throw new Error(`${name}=${v}: give a non-negative integer`);
  return x;
}
