/**
 * Parses `virsh domjobinfo` (libvirt's own figures of a migration: downtime, total time,
 * data moved). Strict: a value in an unexpected unit is an error, not a guess.
 */
/** The figures of `virsh domjobinfo`, in base units; `raw` keeps every line as printed. */
export interface JobInfo {
  readonly jobType: string;
  readonly operation?: string;
  readonly timeElapsedMs?: number;
  readonly downtimeMs?: number;
  readonly setupTimeMs?: number;
  readonly dataProcessedBytes?: number;
  readonly dataTotalBytes?: number;
  readonly dataRemainingBytes?: number;
  readonly memoryBandwidthBytesPerSec?: number;
  readonly iterations?: number;
  readonly raw: Readonly<Record<string, string>>;
}

const UNIT: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };

function bytes(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^([\d.]+)\s*(B|KiB|MiB|GiB|TiB)(\/s)?$/.exec(v);
  if (!m) throw new Error(`domjobinfo: cannot read a size from ${JSON.stringify(v)}`);
  return Math.round(Number(m[1]) * (UNIT[m[2] as string] as number));
}

function ms(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\s*ms$/.exec(v);
  if (!m) throw new Error(`domjobinfo: cannot read milliseconds from ${JSON.stringify(v)}`);
  return Number(m[1]);
}

/** Parses `virsh domjobinfo` output ("Key:   value unit" lines). */
export function parseJobInfo(text: string): JobInfo {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    raw[line.slice(0, i).trim()] = line.slice(i + 1).trim().replace(/\s+/g, ' ');
  }
  const jobType = raw['Job type'];
  if (!jobType) throw new Error(`domjobinfo: no "Job type" line in ${JSON.stringify(text.slice(0, 200))}`);
  const iterations = raw['Iteration'] !== undefined ? Number(raw['Iteration']) : undefined;
  return {
    jobType,
    operation: raw['Operation'],
    timeElapsedMs: ms(raw['Time elapsed']),
    downtimeMs: ms(raw['Total downtime']),
    setupTimeMs: ms(raw['Setup time']),
    dataProcessedBytes: bytes(raw['Data processed']),
    dataTotalBytes: bytes(raw['Data total']),
    dataRemainingBytes: bytes(raw['Data remaining']),
    memoryBandwidthBytesPerSec: bytes(raw['Memory bandwidth']),
    iterations: Number.isFinite(iterations) ? iterations : undefined,
    raw,
  };
}

