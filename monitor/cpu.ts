/**
 * CPU use of a host from two samples of the aggregate `cpu` line of /proc/stat, classified
 * by the two thresholds of the paper's dashboard (stack config `vpm:cpuWarn`, `vpm:cpuCrit`;
 * defaults 50 and 80 per cent).
 *
 * /proc/stat's first line: `cpu  user nice system idle iowait irq softirq steal guest guest_nice`
 * in USER_HZ ticks since boot. guest and guest_nice are already counted in user and nice, so
 * they are left out of the total; idle time is idle + iowait. Busy % over an interval =
 * 100 * (Δtotal - Δidle) / Δtotal.
 */

export interface CpuSample {
  /** All ticks (without guest time, counted twice otherwise). */
  readonly total: number;
  /** idle + iowait ticks. */
  readonly idle: number;
  /** When it was taken (ms, this process's clock), for rates and staleness. */
  readonly at: number;
}

export type CpuLevel = 'ok' | 'warn' | 'crit' | 'unknown';

export interface CpuThresholds {
  /** Per cent at and above which a host is "warn" (amber). */
  readonly warn: number;
  /** Per cent at and above which a host is "crit" (red). */
  readonly crit: number;
}

export const DEFAULT_THRESHOLDS: CpuThresholds = { warn: 50, crit: 80 };

/** Parses /proc/stat (whole file or just its first line); throws on anything unexpected. */
export function parseProcStat(text: string, at: number = Date.now()): CpuSample {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error(`no aggregate "cpu" line in /proc/stat output ${JSON.stringify(text.slice(0, 80))}`);
  const fields = line.trim().split(/\s+/).slice(1);
  if (fields.length < 4 || !fields.every((f) => /^\d+$/.test(f))) {
    throw new Error(`unexpected /proc/stat cpu line ${JSON.stringify(line)}`);
  }
  const n = fields.map(Number);
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = n;
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, at };
}

/** Busy per cent between two samples (0..100, one decimal), or null when no time passed. */
export function cpuPercent(before: CpuSample, after: CpuSample): number | null {
  const dTotal = after.total - before.total;
  const dIdle = after.idle - before.idle;
  // A counter that went backwards means a reboot between the samples: no figure.
  if (dTotal <= 0 || dIdle < 0 || dIdle > dTotal) return null;
  return Math.round((1000 * (dTotal - dIdle)) / dTotal) / 10;
}

/** ok below warn, warn from warn, crit from crit; unknown without a figure. */
export function classifyCpu(percent: number | null | undefined, t: CpuThresholds = DEFAULT_THRESHOLDS): CpuLevel {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return 'unknown';
  if (percent >= t.crit) return 'crit';
  if (percent >= t.warn) return 'warn';
  return 'ok';
}

function thresholdValue(raw: string | number | undefined, key: string, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = typeof raw === 'number' ? raw : Number(String(raw).trim().replace(/%$/, ''));
  if (!Number.isFinite(n) || n < 0 || n > 100) {
    throw new Error(`vpm:${key} is ${JSON.stringify(raw)}: use a number of per cent from 0 to 100 (npm run -s pulumi -- config set vpm:${key} 60 --stack S)`);
  }
  return n;
}

/** The thresholds from stack config values (strings as `pulumi config` gives them); validated. */
export function thresholdsFromConfig(config: Readonly<Record<string, string | number | undefined>>): CpuThresholds {
  const warn = thresholdValue(config.cpuWarn, 'cpuWarn', DEFAULT_THRESHOLDS.warn);
  const crit = thresholdValue(config.cpuCrit, 'cpuCrit', DEFAULT_THRESHOLDS.crit);
  if (warn > crit) throw new Error(`vpm:cpuWarn (${warn}) is above vpm:cpuCrit (${crit}): the warning threshold must not exceed the critical one`);
  return { warn, crit };
}
