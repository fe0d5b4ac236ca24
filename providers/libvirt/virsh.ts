/**
 * The one virsh layer: typed `virsh` commands over a CommandRunner, the argv they send, and
 * strict parsers of what virsh prints. Providers (MigratedDomain), `vpm status` (monitor) and
 * the lab (lab/libvirt/virsh.ts, which talks to its daemons by URI) all go through here.
 *
 * Without a `connect`, virsh talks to the host's own libvirtd (on the lab, sshd sets
 * LIBVIRT_DEFAULT_URI) and the argv is `virsh <args>`; with one it is
 * `virsh [-q] -c <uri> <args>`. A domain that does not exist is `undefined`, never an error
 * string to match by the caller.
 */
import { RemoteCommandError, type CommandRunner } from '../exec';
import { DOMAIN_NAME_RE } from './domain';
import { parseJobInfo, type JobInfo } from './jobinfo';

export type DomainState = 'running' | 'paused' | 'shut off' | 'crashed' | 'in shutdown' | 'pmsuspended' | 'blocked' | 'idle' | 'dying';
const STATES: ReadonlySet<string> = new Set(['running', 'paused', 'shut off', 'crashed', 'in shutdown', 'pmsuspended', 'blocked', 'idle', 'dying']);

/** Which libvirtd virsh talks to, when not the host's default. */
export interface VirshConnect {
  /** libvirt URI (`-c`), e.g. the lab daemon's `qemu+unix:///system?socket=...`. */
  readonly uri?: string;
  /** `-q`: no informational messages (the lab's scripts read virsh's output). */
  readonly quiet?: boolean;
}

/** The argv of `virsh <args>` against `connect` (the host's default libvirtd when omitted). */
export function virshArgv(args: readonly string[], connect: VirshConnect = {}): string[] {
  return ['virsh', ...(connect.quiet ? ['-q'] : []), ...(connect.uri !== undefined ? ['-c', connect.uri] : []), ...args];
}

/** Domain names from `virsh list --name [--all]` (one per line, blank lines ignored). */
export function parseDomainNames(text: string): string[] {
  return text
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The state line of `virsh domstate`, or undefined when it printed none. */
export function parseDomStateLine(text: string): string | undefined {
  return text.trim().split('\n')[0]?.trim() || undefined;
}

export interface ListedDomain {
  /** libvirt's id while running, else null. */
  readonly id: number | null;
  readonly name: string;
  /** running, paused, shut off, ... */
  readonly state: string;
}

/** Parses `virsh list --all` (header, dashes, ` Id   Name   State` rows). */
export function parseVirshList(text: string): ListedDomain[] {
  const out: ListedDomain[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || /^\s*Id\s+Name\s+State\s*$/.test(line) || /^-+$/.test(line.trim())) continue;
    const m = /^\s*(\d+|-)\s+(\S+)\s+(\S.*?)\s*$/.exec(line);
    if (!m) throw new Error(`unexpected virsh list line ${JSON.stringify(line)}`);
    out.push({ id: m[1] === '-' ? null : Number(m[1]), name: m[2], state: m[3] });
  }
  return out;
}

/** Every domain of the host's libvirtd with its state (`virsh list --all`). */
export async function listAllDomains(runner: CommandRunner, timeoutMs: number): Promise<ListedDomain[]> {
  const r = await runner.run(virshArgv(['list', '--all']), { timeoutMs });
  return parseVirshList(r.stdout);
}

/**
 * `virsh domjobinfo <domain>` as printed, or undefined when virsh exits 1 (no such domain,
 * e.g. one that migrated away meanwhile). The name comes from virsh itself (listAllDomains),
 * so it is passed as is.
 */
export async function domJobInfoText(runner: CommandRunner, domain: string, timeoutMs: number): Promise<string | undefined> {
  const r = await runner.run(virshArgv(['domjobinfo', domain]), { timeoutMs, okExitCodes: [0, 1] });
  return r.exitCode === 0 ? r.stdout : undefined;
}

function name(n: string): string {
  if (!DOMAIN_NAME_RE.test(n)) throw new Error(`invalid domain name ${JSON.stringify(n)}`);
  return n;
}

/** The domain's state, or undefined when this libvirtd has no such domain. */
export async function domainState(runner: CommandRunner, domain: string): Promise<DomainState | undefined> {
  const listed = await runner.run(virshArgv(['list', '--all', '--name']), { timeoutMs: 30_000 });
  if (!parseDomainNames(listed.stdout).includes(name(domain))) return undefined;
  const r = await runner.run(virshArgv(['domstate', domain]), { timeoutMs: 30_000 });
  const state = parseDomStateLine(r.stdout) ?? '';
  if (!STATES.has(state)) throw new Error(`virsh domstate ${domain} on ${runner.host}: unexpected state ${JSON.stringify(state)}`);
  return state as DomainState;
}

export async function defineDomain(runner: CommandRunner, xml: string): Promise<void> {
  await runner.run(virshArgv(['define', '/dev/stdin']), { stdin: xml, timeoutMs: 30_000 });
}

export async function startDomain(runner: CommandRunner, domain: string): Promise<void> {
  await runner.run(virshArgv(['start', name(domain)]), { timeoutMs: 60_000 });
}

/** Stops and forgets the domain; absent or already stopped is fine. */
export async function destroyAndUndefine(runner: CommandRunner, domain: string): Promise<void> {
  const state = await domainState(runner, domain);
  if (state === undefined) return;
  if (state !== 'shut off') await runner.run(virshArgv(['destroy', name(domain)]), { timeoutMs: 60_000 });
  await runner.run(virshArgv(['undefine', name(domain)]), { timeoutMs: 30_000 });
}

/** A migration destination: transport, optional user@, host (never starting with '-'), optional :port, /system. */
export const MIGRATION_URI = /^qemu\+(tcp|ssh|tls):\/\/([a-z_][a-z0-9_-]{0,31}@)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:[0-9]{1,5})?\/system$/;

export interface MigrateOptions {
  readonly destinationUri: string;
  /** qemu+tcp:// (VM memory unauthenticated, in the clear) only when the hosts file allows it. */
  readonly allowUnencrypted?: boolean;
  readonly maxDowntimeMs?: number;
  /**
   * libvirt's migration bandwidth cap, MiB/s (`virsh migrate --bandwidth`). Capping it keeps
   * the guest's dirty rate below the copy rate so the last round is small enough to fit the
   * max downtime; uncapped, a TCG guest's last round under a stream overshoots it.
   */
  readonly bandwidthMiBs?: number;
  /**
   * Post-copy: after one pre-copy pass the VM runs on the destination and pulls the pages it
   * still needs (`--postcopy --postcopy-after-precopy`; QEMU needs userfaultfd on the destination).
   */
  readonly postcopy?: boolean;
  readonly timeoutMs: number;
}

/**
 * Live-migrates from the runner's host (peer to peer: the source libvirtd dials the
 * destination). On a timeout the job is aborted, so the domain keeps running on the source.
 */
export async function migrateLive(runner: CommandRunner, domain: string, o: MigrateOptions): Promise<void> {
  // The same rule as MigratedDomain's check: no `?query` (libvirt reads `?command=`,
  // `?socket=`, `?keyfile=`... from it), and the host never starts with '-' (an option).
  if (!MIGRATION_URI.test(o.destinationUri)) {
    throw new Error(`invalid migration URI ${JSON.stringify(o.destinationUri)}: use qemu+ssh://HOST/system or qemu+tls://HOST/system, without a ?query`);
  }
  if (o.destinationUri.startsWith('qemu+tcp:') && o.allowUnencrypted !== true) {
    throw new Error(`refusing ${o.destinationUri}: qemu+tcp:// migrates VM memory unauthenticated and unencrypted; use qemu+ssh:// or qemu+tls://, or allow it (hosts file migration.allowUnencrypted) on a closed network`);
  }
  const tuning = [
    ...(o.bandwidthMiBs !== undefined ? ['--bandwidth', String(positiveInt(o.bandwidthMiBs, 'bandwidthMiBs'))] : []),
    ...(o.postcopy ? ['--postcopy', '--postcopy-after-precopy'] : []),
  ];
  if (o.maxDowntimeMs !== undefined) {
    await runner.run(virshArgv(['migrate-setmaxdowntime', name(domain), String(positiveInt(o.maxDowntimeMs, 'maxDowntimeMs'))]), { timeoutMs: 30_000 });
  }
  try {
    await runner.run(virshArgv(['migrate', '--live', '--p2p', '--persistent', '--undefinesource', ...tuning, name(domain), o.destinationUri]), { timeoutMs: o.timeoutMs });
  } catch (err) {
    if (err instanceof RemoteCommandError && err.exitCode === null) {
      await runner.run(virshArgv(['domjobabort', domain]), { timeoutMs: 30_000, okExitCodes: [0, 1] }).catch(() => undefined);
    }
    throw err;
  }
}

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
  return v;
}

/** The job running now (a migration, read on the source while it runs); undefined when none. */
export function activeJob(runner: CommandRunner, domain: string): Promise<JobInfo | undefined> {
  return jobInfo(runner, domain, [], 10_000);
}

/** libvirt's own figures of the last completed job (read on the destination after a migration). */
export function completedJob(runner: CommandRunner, domain: string): Promise<JobInfo | undefined> {
  return jobInfo(runner, domain, ['--completed', '--keep-completed'], 30_000);
}

/** `virsh domjobinfo` parsed; undefined when there is no such job or libvirt says nothing readable. */
async function jobInfo(runner: CommandRunner, domain: string, flags: readonly string[], timeoutMs: number): Promise<JobInfo | undefined> {
  const r = await runner.run(virshArgv(['domjobinfo', name(domain), ...flags]), { timeoutMs, okExitCodes: [0, 1] });
  if (r.exitCode !== 0) return undefined;
  try {
    const job = parseJobInfo(r.stdout);
    return job.jobType === 'None' ? undefined : job;
  } catch {
    return undefined;
  }
}
