/**
 * CPU the lab's processes use while nothing runs: utime + stime of each process from
 * /proc/<pid>/stat (the whole process, all its threads), read twice some seconds apart.
 * cores = Δ(utime + stime) / clock ticks per second / elapsed seconds (1 = one core busy).
 * The arithmetic is pure (parseProcStatTicks, coresUsed, summariseCpu); sampleCpu reads /proc.
 */
import * as fs from 'node:fs';
import { run, sleep, type Stat } from './common';

/** utime + stime (clock ticks) from the text of /proc/<pid>/stat; the command name may hold spaces and ')'. */
export function parseProcStatTicks(text: string): number {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error(`not a /proc/<pid>/stat line: ${JSON.stringify(text.slice(0, 80))}`);
  // After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
  const fields = text.slice(end + 2).trim().split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime)) throw new Error(`no utime/stime in /proc/<pid>/stat: ${JSON.stringify(text.slice(0, 200))}`);
  return utime + stime;
}

/** Cores used between two tick readings `elapsedMs` apart (ticks of `clkTck` per second). */
export function coresUsed(ticksBefore: number, ticksAfter: number, elapsedMs: number, clkTck: number): number {
  if (!(elapsedMs > 0) || !(clkTck > 0)) throw new Error(`cannot compute CPU over ${elapsedMs} ms at ${clkTck} ticks/s`);
  return Math.max(0, ticksAfter - ticksBefore) / clkTck / (elapsedMs / 1000);
}

/** Cores per process kind on one hypervisor, and their sum. */
export type HostCpu = Record<string, number> & { total: number };

export interface CpuSummary {
  readonly windowMs: number;
  readonly clkTck: number;
  /** Sum over every hypervisor and process: cores used. */
  readonly allCores: number;
  /** Per hypervisor (its processes summed): median, min, max over the hypervisors. */
  readonly perHypervisor: Stat;
  /** The root h1 and the relay (or leaf, N = 2) h2 apart: they end the most tunnels. */
  readonly root?: number;
  readonly relay?: number;
  /** Median over the hypervisors of each process kind. */
  readonly medianByProcess: Record<string, number>;
  readonly perHost: Record<string, HostCpu>;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Median, min, max to 3 decimals (common.ts's stat rounds to 2: too coarse for a hypervisor's ~0.02 cores). */
export function stat3(values: readonly number[]): Stat {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const m = v.length >> 1;
  return { median: r3(v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2), min: r3(v[0]), max: r3(v[v.length - 1]), n: v.length };
}

/**
 * The summary of two readings. `before`/`after`: host -> process kind -> ticks (a process
 * missing from either reading, one that died or was not found, counts 0).
 */
export function summariseCpu(before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>, elapsedMs: number, clkTck: number): CpuSummary {
  const perHost: Record<string, HostCpu> = {};
  let all = 0;
  for (const host of Object.keys(before)) {
    const h: Record<string, number> = {};
    let total = 0;
    for (const [kind, t0] of Object.entries(before[host])) {
      const t1 = after[host]?.[kind];
      const c = t1 === undefined ? 0 : coresUsed(t0, t1, elapsedMs, clkTck);
      h[kind] = r3(c);
      total += c;
    }
    perHost[host] = { ...h, total: r3(total) } as HostCpu;
    all += total;
  }
  const totals = Object.values(perHost).map((h) => h.total);
  const kinds = [...new Set(Object.values(perHost).flatMap((h) => Object.keys(h).filter((k) => k !== 'total')))];
  return {
    windowMs: Math.round(elapsedMs),
    clkTck,
    allCores: r3(all),
    perHypervisor: stat3(totals),
    ...(perHost.h1 ? { root: perHost.h1.total } : {}),
    ...(perHost.h2 ? { relay: perHost.h2.total } : {}),
    medianByProcess: Object.fromEntries(kinds.map((k) => [k, stat3(Object.values(perHost).map((h) => h[k] ?? 0)).median])),
    perHost,
  };
}

function ticksOf(pid: number): number | undefined {
  try {
    return parseProcStatTicks(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Clock ticks per second (getconf CLK_TCK; 100 on Linux when it cannot be asked). */
export async function clockTicks(): Promise<number> {
  const r = await run(['getconf', 'CLK_TCK']).catch(() => undefined);
  const v = Number(r?.stdout.trim());
  return r?.code === 0 && Number.isInteger(v) && v > 0 ? v : 100;
}

/**
 * Samples the CPU of these processes (host -> process kind -> pid) over `windowMs`: one
 * reading of every process, a sleep, a second reading.
 */
export async function sampleCpu(pids: Record<string, Record<string, number>>, windowMs = 5000): Promise<CpuSummary> {
  const clkTck = await clockTicks();
  const read = () => {
    const out: Record<string, Record<string, number>> = {};
    for (const [host, kinds] of Object.entries(pids)) {
      out[host] = {};
      for (const [kind, pid] of Object.entries(kinds)) {
        const t = ticksOf(pid);
        if (t !== undefined) out[host][kind] = t;
      }
    }
    return out;
  };
  const t0 = process.hrtime.bigint();
  const before = read();
  await sleep(windowMs);
  const after = read();
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
  return summariseCpu(before, after, elapsedMs, clkTck);
}

/** The idle-CPU rows of REPORT.md's resource table, from the result's resources.labIdleCpu (none when the result predates the figure). */
export function idleCpuRows(idle: Readonly<Record<string, CpuSummary>> | undefined, n: number): string[][] {
  if (!idle?.vpm) return [];
  const c = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(2) : 'n/a');
  const c3 = (x: number | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  const name: Record<string, string> = { vpm: 'VPM', careful: 'careful script', plain: 'naive script', ansible: 'Ansible' };
  const rows = [
    [
      `lab CPU while idle, tree of ${n} converged by VPM (ovs-vswitchd + ovsdb-server + sshd of every hypervisor, ${Math.round((idle.vpm.windowMs ?? 0) / 1000)} s)`,
      `${c(idle.vpm.allCores)} cores in all; per hypervisor ${c3(idle.vpm.perHypervisor?.median)} median, ${c3(idle.vpm.perHypervisor?.max)} max; h1 (root) ${c3(idle.vpm.root)}, h2 (relay) ${c3(idle.vpm.relay)}`,
    ],
  ];
  const others = Object.keys(idle).filter((k) => k !== 'vpm');
  if (others.length) rows.push(['  the same with a baseline\'s overlay converged', others.map((k) => `${name[k] ?? k} ${c(idle[k].allCores)} cores (h2 ${c3(idle[k].relay)})`).join('; ')]);
  return rows;
}
