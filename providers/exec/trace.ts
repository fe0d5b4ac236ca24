/**
 * Optional command trace for benchmarks and audits: when VPM_TRACE_FILE is set, every
 * command a pooled runner sends is appended to it as one JSON line
 * {t, pid, host, argv (first words only, never stdin), ms, exit}. Appends are small and
 * synchronous so lines from parallel provider processes never interleave.
 */
import * as fs from 'fs';

export interface TraceLine {
  t: number;
  pid: number;
  host: string;
  argv: string[];
  ms: number;
  exit: number | null;
}

export function traceCommand(host: string, argv: readonly string[], startedAt: number, exit: number | null): void {
  const file = process.env.VPM_TRACE_FILE;
  if (!file) return;
  const line: TraceLine = { t: startedAt, pid: process.pid, host, argv: argv.slice(0, 4).map(String), ms: Date.now() - startedAt, exit };
  try {
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
  } catch {
    // Tracing must never break a command.
  }
}
