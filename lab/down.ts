/**
 * `lab down`: ends the lab's processes by PID only (the registry in pids.json, checked
 * against start times; the daemons' pidfiles; every process inside one of its `<prefix>*` namespaces),
 * waits for them (zombies count as dead), SIGKILLs stragglers, deletes every `<prefix>*`
 * namespace of that lab (never another lab's: names.ts) and removes the runtime files (inventory, pids, keys, per-node dirs). Anything
 * else under the lab dir (caches) is kept. Safe to run twice and after a crash.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabError } from './errors';
import { LabSite } from './names';
import { deleteNamespaces, listLabNamespaces, namespacePids } from './netns';
import { PidRegistry, isAlive, procInfo, readPidFile, terminate } from './procs';
import { requireRoot, which } from './tools';
import { ToolMissingError } from '../providers/exec';

export interface LabDownOptions {
  readonly log?: (line: string) => void;
  /** Which lab; default the plain lab. Only this lab's PIDs, namespaces and files are touched. */
  readonly site?: LabSite;
}

export interface LabDownReport {
  /** PIDs signalled (they were alive). */
  readonly stopped: number[];
  /** Namespaces deleted. */
  readonly namespaces: string[];
  /** Runtime files and directories removed. */
  readonly removed: string[];
}

/** Daemon names a pidfile under the lab dir may legitimately point at. */
const PIDFILE_COMMS = new Set(['ovsdb-server', 'ovs-vswitchd', 'sshd']);

function pidFilesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (e.isFile() && e.name.endsWith('.pid')) out.push(p);
    }
  };
  for (const name of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (/^[hr]\d+$/.test(name)) walk(path.join(dir, name), 1);
  }
  return out;
}

export async function labDown(options: LabDownOptions = {}): Promise<LabDownReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  requireRoot();
  const ip = which('ip');
  if (!ip) throw new ToolMissingError('ip', 'this machine', 'run `npm run setup` (Debian package iproute2)');
  const site = options.site ?? LabSite.plain();
  const paths = site.paths;

  const targets = new Map<number, { pid: number; startTime?: string }>();
  for (const e of PidRegistry.load(paths.pids)) {
    if (e.startTime) targets.set(e.pid, { pid: e.pid, startTime: e.startTime });
  }
  for (const file of pidFilesUnder(paths.dir)) {
    const pid = readPidFile(file);
    const info = pid === undefined ? undefined : procInfo(pid);
    if (pid !== undefined && info && PIDFILE_COMMS.has(info.comm) && !targets.has(pid)) {
      targets.set(pid, { pid, startTime: info.startTime });
    }
  }
  const namespaces = listLabNamespaces(site);
  for (const ns of namespaces) {
    for (const pid of await namespacePids(ip, ns)) {
      const info = procInfo(pid);
      if (info && !targets.has(pid)) targets.set(pid, { pid, startTime: info.startTime });
    }
  }
  targets.delete(process.pid);
  targets.delete(1);

  const alive = [...targets.values()].filter((t) => isAlive(t.pid, t.startTime ? { startTime: t.startTime } : undefined));
  const stuck = await terminate(alive);
  const leftNs = await deleteNamespaces(ip, namespaces);

  const removed: string[] = [];
  for (const entry of paths.runtimeEntries()) {
    if (fs.existsSync(entry)) {
      fs.rmSync(entry, { recursive: true, force: true });
      removed.push(entry);
    }
  }
  if (stuck.length || leftNs.length) {
    throw new LabError(
      'lab down: ' +
      (stuck.length ? `processes ${stuck.join(', ')} did not exit after SIGKILL; ` : '') +
        (leftNs.length ? `namespaces ${leftNs.join(', ')} could not be deleted; ` : '') +
        'check them by hand (`ps -o pid,stat,cmd -p PID`, `ip netns list`)',
    );
  }
  log(
    namespaces.length || alive.length
      ? `lab: down: stopped ${alive.length} process(es), deleted ${namespaces.length} namespace(s)`
      : 'lab: down: no lab was running',
  );
  return { stopped: alive.map((t) => t.pid), namespaces, removed };
}
