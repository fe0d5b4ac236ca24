/**
 * The processes the lab starts: a registry persisted to `.lab/pids.json` as they start, and
 * liveness / termination by PID only (never by name). A PID is trusted only if its start time
 * still matches (PIDs get reused). A zombie counts as dead: PID 1 on these machines reaps
 * orphans only every ~2 s, so `kill -0` would report a dead daemon as alive.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from './inventory';

export interface PidEntry {
  /** What it is, e.g. "h1/ovsdb-server". */
  readonly name: string;
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat when registered (clock ticks since boot). */
  readonly startTime: string;
  /** The kernel's process name when registered. */
  readonly comm: string;
}

export interface ProcInfo {
  readonly pid: number;
  readonly comm: string;
  /** R, S, D, Z, T, X, ... */
  readonly state: string;
  readonly startTime: string;
}

/** Reads /proc/<pid>/stat; undefined when the process is gone. */
export function procInfo(pid: number): ProcInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { pid, comm: text.slice(open + 1, close), state: rest[0] ?? '?', startTime: rest[19] ?? '' };
}

/** Alive = exists and is neither a zombie nor dead; with `entry`, also the same process. */
export function isAlive(pid: number, entry?: Pick<PidEntry, 'startTime'>): boolean {
  const info = procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  return entry ? info.startTime === entry.startTime : true;
}

/** Reads a pidfile; undefined if missing or malformed. */
export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The registry of started processes, written through to `file` on every change. */
export class PidRegistry {
  private readonly list: PidEntry[] = [];

  constructor(readonly file: string) {}

  /** Loads a registry file; a missing or unreadable file gives an empty list. */
  static load(file: string): PidEntry[] {
    try {
      const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (!Array.isArray(parsed)) return [];
      return parsed.filter(
        (e): e is PidEntry =>
          typeof e === 'object' && e !== null && Number.isInteger((e as PidEntry).pid) && (e as PidEntry).pid > 1,
      );
    } catch {
      return [];
    }
  }

  get entries(): readonly PidEntry[] {
    return this.list;
  }

  /** Registers a running process (identified by its current start time) and persists. */
  add(name: string, pid: number): PidEntry {
    const info = procInfo(pid);
    const entry: PidEntry = { name, pid, startTime: info?.startTime ?? '', comm: info?.comm ?? '' };
    this.list.push(entry);
    writeFileAtomic(this.file, JSON.stringify(this.list, null, 2) + '\n');
    return entry;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

/**
 * SIGTERM to every live target, wait up to graceMs for all to die (zombie = dead), SIGKILL the
 * rest, wait up to killWaitMs. Targets carry a start time when known, so a reused PID is never hit.
 * Returns the PIDs still alive at the end (normally none).
 */
export async function terminate(
  targets: ReadonlyArray<{ pid: number; startTime?: string }>,
  { graceMs = 3000, killWaitMs = 2000, pollMs = 20 } = {},
): Promise<number[]> {
  const alive = () =>
    targets.filter((t) => isAlive(t.pid, t.startTime ? { startTime: t.startTime } : undefined)).map((t) => t.pid);
  let remaining = alive();
  for (const pid of remaining) signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (remaining.length && Date.now() < deadline) {
    await sleep(pollMs);
    remaining = alive();
  }
  if (!remaining.length) return [];
  for (const pid of remaining) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + killWaitMs;
  while (remaining.length && Date.now() < killDeadline) {
    await sleep(pollMs);
    remaining = alive();
  }
  return remaining;
}
