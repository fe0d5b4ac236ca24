/**
 * virsh against a lab libvirtd (through its UNIX socket, from any namespace): define/start,
 * state, live migration and its job statistics, and the guest's console log. The argv and
 * the parsers are the product's one virsh layer (providers/libvirt/virsh.ts) with the
 * daemon's URI; this module adds what only the lab does (a define from a file in the
 * daemon's directory, bandwidth-capped or direct migration, console logs). Failures throw
 * RemoteCommandError with virsh's message.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValidationError } from '../../providers/exec';
import { sh, ShResult } from '../sh';
import { DOMAIN_NAME_RE } from '../../providers/libvirt/domain';
import { GUEST_TROUBLE_RE } from './guest';
import { parseDomainNames, parseDomStateLine, parseJobInfo, virshArgv, type JobInfo } from '../../providers/libvirt';
import type { LibvirtdHandle } from './daemon';
export { parseJobInfo, type JobInfo };

type Daemon = Pick<LibvirtdHandle, 'name' | 'uri'>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function checkName(name: string): void {
  if (!DOMAIN_NAME_RE.test(name)) throw new ValidationError([{ property: 'domain', reason: `bad domain name ${JSON.stringify(name)}` }]);
}

/** Runs `virsh -c <daemon's uri> ...args`. */
export function virsh(d: Daemon, args: readonly string[], opts: { timeoutMs?: number; okCodes?: number[]; input?: string } = {}): Promise<ShResult> {
  return sh(virshArgv(args, { uri: d.uri, quiet: true }), { timeoutMs: opts.timeoutMs ?? 30_000, okCodes: opts.okCodes, input: opts.input, where: `libvirtd ${d.name}` });
}

/** Defines (persistently) a domain from XML; returns its name. */
export async function defineDomain(d: Daemon & Pick<LibvirtdHandle, 'dir'>, xml: string): Promise<string> {
  const m = /<name>([^<]+)<\/name>/.exec(xml);
  if (!m || !m[1]) throw new ValidationError([{ property: 'xml', reason: 'has no <name>' }]);
  const file = path.join(d.dir, `define-${process.pid}-${Date.now()}.xml`);
  fs.writeFileSync(file, xml);
  try {
    await virsh(d, ['define', file]);
  } finally {
    fs.rmSync(file, { force: true });
  }
  return m[1];
}

export async function startDomain(d: Daemon, name: string): Promise<void> {
  checkName(name);
  await virsh(d, ['start', name], { timeoutMs: 60_000 });
}

/** `virsh domstate` ("running", "shut off", "paused", ...), or undefined when not defined there. */
export async function domainState(d: Daemon, name: string): Promise<string | undefined> {
  checkName(name);
  const r = await virsh(d, ['domstate', name], { okCodes: [0, 1] });
  if (r.code !== 0) {
    if (/failed to get domain|Domain not found/i.test(r.stderr)) return undefined;
    throw new Error(`virsh domstate ${name} on ${d.name} failed: ${r.stderr.trim()}`);
  }
  const state = parseDomStateLine(r.stdout);
  if (!state) throw new Error(`virsh domstate ${name} on ${d.name} printed nothing`);
  return state;
}

/** Names of the domains a daemon has (running only, or all defined). */
export async function listDomains(d: Daemon, opts: { all?: boolean } = {}): Promise<string[]> {
  const r = await virsh(d, ['list', '--name', ...(opts.all ? ['--all'] : [])]);
  return parseDomainNames(r.stdout);
}

/**
 * `virsh domjobinfo`. libvirt hands out a completed job's statistics once and then forgets
 * them, unless read with `keep` (--keep-completed), as migrate() does.
 */
export async function jobInfo(d: Daemon, name: string, opts: { completed?: boolean; keep?: boolean } = {}): Promise<JobInfo> {
  checkName(name);
  const r = await virsh(d, ['domjobinfo', name, ...(opts.completed ? ['--completed'] : []), ...(opts.completed && opts.keep ? ['--keep-completed'] : [])]);
  return parseJobInfo(r.stdout);
}

export interface MigrateOptions {
  readonly from: Pick<LibvirtdHandle, 'name' | 'uri'>;
  readonly to: Pick<LibvirtdHandle, 'name' | 'uri' | 'tcpUri'>;
  readonly name: string;
  /**
   * 'p2p' (default): the source libvirtd connects to the destination's TCP URI itself (works
   * when virsh runs anywhere, e.g. over SSH on the source). 'direct': this process talks to
   * both daemons through their UNIX sockets.
   */
  readonly mode?: 'p2p' | 'direct';
  /** Set QEMU's max downtime on the source first (`virsh migrate-setmaxdowntime`). */
  readonly maxDowntimeMs?: number;
  /** Bandwidth cap in MiB/s (`--bandwidth`). */
  readonly bandwidthMiBs?: number;
  readonly timeoutMs?: number;
}

export interface MigrationResult {
  /** Wall-clock time of the `virsh migrate` command. */
  readonly wallMs: number;
  /** The destination's completed-job statistics (incoming migration). */
  readonly job: JobInfo;
}

/** Live-migrates a persistent domain (`--live --persistent --undefinesource`). */
export async function migrate(o: MigrateOptions): Promise<MigrationResult> {
  checkName(o.name);
  const mode = o.mode ?? 'p2p';
  if (o.maxDowntimeMs !== undefined) {
    if (!Number.isInteger(o.maxDowntimeMs) || o.maxDowntimeMs < 1) {
      throw new ValidationError([{ property: 'maxDowntimeMs', reason: 'must be a positive integer' }]);
    }
    await virsh(o.from, ['migrate-setmaxdowntime', o.name, String(o.maxDowntimeMs)]);
  }
  const args = ['migrate', '--live', '--persistent', '--undefinesource'];
  if (mode === 'p2p') args.push('--p2p');
  if (o.bandwidthMiBs !== undefined) {
    if (!Number.isInteger(o.bandwidthMiBs) || o.bandwidthMiBs < 1) {
      throw new ValidationError([{ property: 'bandwidthMiBs', reason: 'must be a positive integer' }]);
    }
    args.push('--bandwidth', String(o.bandwidthMiBs));
  }
  args.push(o.name, mode === 'p2p' ? o.to.tcpUri : o.to.uri);
  const t0 = Date.now();
  await virsh(o.from, args, { timeoutMs: o.timeoutMs ?? 120_000 });
  const wallMs = Date.now() - t0;
  const job = await jobInfo(o.to, o.name, { completed: true, keep: true });
  return { wallMs, job };
}

/** Console log of a domain as seen from outside the daemon's mount namespace. */
export function consoleLogPath(d: Pick<LibvirtdHandle, 'qemuLogDir'>, name: string): string {
  checkName(name);
  return path.join(d.qemuLogDir, `${name}.console.log`);
}

export function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Waits until `file` contains a line matching `re`; returns that line and when it appeared. */
export async function waitForLine(
  file: string,
  re: RegExp,
  opts: { timeoutMs?: number; pollMs?: number; from?: number } = {},
): Promise<{ line: string; atMs: number }> {
  const t0 = Date.now();
  const deadline = t0 + (opts.timeoutMs ?? 60_000);
  for (;;) {
    const text = readText(file).slice(opts.from ?? 0);
    const line = text.split('\n').find((l) => re.test(l));
    if (line !== undefined) return { line, atMs: Date.now() - t0 };
    if (Date.now() > deadline) {
      throw new Error(`no line matching ${re} in ${file} after ${opts.timeoutMs ?? 60_000} ms; last lines:\n${text.trimEnd().split('\n').slice(-10).join('\n')}`);
    }
    await sleep(opts.pollMs ?? 50);
  }
}

/** Lines of the console logs that show guest damage (oops, virtio "is not a head", panic...). */
export function guestTrouble(...files: string[]): string[] {
  return files.flatMap((f) => readText(f).split('\n').filter((l) => GUEST_TROUBLE_RE.test(l)));
}

/** Highest heartbeat number ("VPM-HB n") found in the given console logs (0 if none). */
export function lastHeartbeat(...files: string[]): number {
  let max = 0;
  for (const f of files) {
    for (const m of readText(f).matchAll(/VPM-HB (\d+)/g)) max = Math.max(max, Number(m[1]));
  }
  return max;
}
