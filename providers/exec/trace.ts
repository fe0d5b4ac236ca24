/**
 * Optional command trace for benchmarks and audits: when VPM_TRACE_FILE is set, every
 * command a pooled runner sends is appended to it as one JSON line
 * {t, pid, host, argv (first words only, never stdin), ms, exit}. Appends are small and
 * synchronous so lines from parallel provider processes never interleave.
 */
import * as fs from 'fs';
import type { TraceNote } from './runner';

export interface TraceLine {
  t: number;
  pid: number;
  host: string;
  argv: string[];
  ms: number;
  exit: number | null;
  /** The resource kind the command worked for, when its caller said (RunOptions.trace.tag). */
  tag?: string;
  /** A batch's steps, first words of each (its own argv is `sh -c` and is not recorded). */
  steps?: string[][];
}

export function traceCommand(host: string, argv: readonly string[], startedAt: number, exit: number | null, note?: TraceNote): void {
  const file = process.env.VPM_TRACE_FILE;
  if (!file) return;
  const words = (a: readonly string[]) => a.slice(0, 4).map(String);
  const line: TraceLine = { t: startedAt, pid: process.pid, host, argv: note?.steps ? ['vpm-batch'] : words(argv), ms: Date.now() - startedAt, exit };
  if (note?.tag) line.tag = note.tag;
  if (note?.steps) line.steps = note.steps.map(words);
  try {
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
  } catch {
    // Tracing must never break a command.
  }
}
