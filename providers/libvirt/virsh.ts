/**
 * Typed `virsh` commands over a CommandRunner (the hypervisor's own libvirtd: on the lab,
 * sshd sets LIBVIRT_DEFAULT_URI). Output is parsed strictly; a domain that does not exist
 * is `undefined`, never an error string to match by the caller.
 */
import type { CommandRunner } from '../exec/runner';
import { RemoteCommandError } from '../exec/errors';
import { DOMAIN_NAME_RE } from './domain';
import { parseJobInfo, type JobInfo } from './jobinfo';

export type DomainState = 'running' | 'paused' | 'shut off' | 'crashed' | 'in shutdown' | 'pmsuspended' | 'blocked' | 'idle' | 'dying';
const STATES: ReadonlySet<string> = new Set(['running', 'paused', 'shut off', 'crashed', 'in shutdown', 'pmsuspended', 'blocked', 'idle', 'dying']);

function name(n: string): string {
  if (!DOMAIN_NAME_RE.test(n)) throw new Error(`invalid domain name ${JSON.stringify(n)}`);
  return n;
}

/** The domain's state, or undefined when this libvirtd has no such domain. */
export async function domainState(runner: CommandRunner, domain: string): Promise<DomainState | undefined> {
  const listed = await runner.run(['virsh', 'list', '--all', '--name'], { timeoutMs: 30_000 });
  if (!listed.stdout.split('\n').map((s) => s.trim()).includes(name(domain))) return undefined;
  const r = await runner.run(['virsh', 'domstate', domain], { timeoutMs: 30_000 });
  const state = r.stdout.trim().split('\n')[0].trim();
  if (!STATES.has(state)) throw new Error(`virsh domstate ${domain} on ${runner.host}: unexpected state ${JSON.stringify(state)}`);
  return state as DomainState;
}

export async function defineDomain(runner: CommandRunner, xml: string): Promise<void> {
  await runner.run(['virsh', 'define', '/dev/stdin'], { stdin: xml, timeoutMs: 30_000 });
}

export async function startDomain(runner: CommandRunner, domain: string): Promise<void> {
  await runner.run(['virsh', 'start', name(domain)], { timeoutMs: 60_000 });
}

/** Stops and forgets the domain; absent or already stopped is fine. */
export async function destroyAndUndefine(runner: CommandRunner, domain: string): Promise<void> {
  const state = await domainState(runner, domain);
  if (state === undefined) return;
  if (state !== 'shut off') await runner.run(['virsh', 'destroy', name(domain)], { timeoutMs: 60_000 });
  await runner.run(['virsh', 'undefine', name(domain)], { timeoutMs: 30_000 });
}

/** A migration destination: transport, optional user@, host (never starting with '-'), optional :port, /system. */
export const MIGRATION_URI = /^qemu\+(tcp|ssh|tls):\/\/([a-z_][a-z0-9_-]{0,31}@)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}(:[0-9]{1,5})?\/system$/;

export interface MigrateOptions {
  readonly destinationUri: string;
  /** qemu+tcp:// (VM memory unauthenticated, in the clear) only when the hosts file allows it. */
  readonly allowUnencrypted?: boolean;
  readonly maxDowntimeMs?: number;
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
  if (o.maxDowntimeMs !== undefined) {
    await runner.run(['virsh', 'migrate-setmaxdowntime', name(domain), String(o.maxDowntimeMs)], { timeoutMs: 30_000 });
  }
  try {
    await runner.run(['virsh', 'migrate', '--live', '--p2p', '--persistent', '--undefinesource', domain, o.destinationUri], { timeoutMs: o.timeoutMs });
  } catch (err) {
    if (err instanceof RemoteCommandError && err.exitCode === null) {
      await runner.run(['virsh', 'domjobabort', domain], { timeoutMs: 30_000, okExitCodes: [0, 1] }).catch(() => undefined);
    }
    throw err;
  }
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
  const r = await runner.run(['virsh', 'domjobinfo', name(domain), ...flags], { timeoutMs, okExitCodes: [0, 1] });
  if (r.exitCode !== 0) return undefined;
  try {
    const job = parseJobInfo(r.stdout);
    return job.jobType === 'None' ? undefined : job;
  } catch {
    return undefined;
  }
}
