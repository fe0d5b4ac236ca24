/**
 * What `pulumi up` shows while a VM live-migrates: a line when it starts, libvirt's own
 * progress (data processed and left, from `virsh domjobinfo` on the source) every interval
 * while it runs, and the figures at the end (downtime, total time, data moved). The first
 * poll waits one interval, so a sub-second migration costs no extra command during the
 * switch-over.
 */
import { mib, type ProgressSink } from '../common/progress';
import type { CommandRunner } from '../exec';
import { activeJob } from '../libvirt';
import type { MigrationReport } from './types';

export const PROGRESS_INTERVAL_MS = 1000;

export function startLine(domain: string, from: string, to: string): string {
  return `${domain}: live-migrating from ${from} to ${to}`;
}

export function endLine(domain: string, r: MigrationReport): string {
  const figures = [
    r.dataBytes !== undefined ? `${mib(r.dataBytes)} moved` : undefined,
    r.totalMs !== undefined ? `total ${r.totalMs} ms` : `wall ${r.wallMs} ms`,
    r.downtimeMs !== undefined ? `downtime ${r.downtimeMs} ms` : 'downtime not reported by libvirt',
  ].filter(Boolean);
  return `${domain}: migrated from ${r.from} to ${r.to}: ${figures.join(', ')}`;
}

/** Polls the source's job every interval and reports it; returns the function that stops it. */
export function watchMigration(source: CommandRunner, domain: string, from: string, to: string, sink: ProgressSink, intervalMs = PROGRESS_INTERVAL_MS): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    const job = await activeJob(source, domain).catch(() => undefined);
    if (stopped) return;
    if (job && job.dataRemainingBytes !== undefined) {
      const done = job.dataProcessedBytes !== undefined ? `${mib(job.dataProcessedBytes)} sent, ` : '';
      sink.info(`${domain}: migrating ${from} -> ${to}: ${done}${mib(job.dataRemainingBytes)} left (${job.timeElapsedMs ?? '?'} ms)`);
    }
    timer = setTimeout(() => void poll(), intervalMs);
    timer.unref();
  };
  timer = setTimeout(() => void poll(), intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
