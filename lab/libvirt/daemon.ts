/**
 * One libvirtd per emulated hypervisor, without systemd.
 *
 * Each daemon runs inside its hypervisor's network namespace (`ip netns exec`) and in a
 * private mount namespace (`unshare --mount --propagation private`) where per-hypervisor
 * directories are bind-mounted over libvirt's fixed system paths:
 *
 *   <dir>/etc  -> /etc/libvirt      libvirtd.conf (host_uuid, TCP listener), qemu.conf, domain XML
 *   <dir>/run  -> /run/libvirt      libvirt-sock (socketPath), qemu/<dom>.pid, status XML
 *   <dir>/lib  -> /var/lib/libvirt  per-domain state
 *   <dir>/log  -> /var/log/libvirt  libvirtd.log, qemu/<dom>.log, qemu/<dom>.console.log
 *   <cache>    -> /var/cache/libvirt  the QEMU capability cache, shared by every daemon and
 *                                     kept between runs (start: ~8 s cold, < 1 s warm)
 *
 * libvirtd runs as the child of vpm-subreaper (lab/libvirt/subreaper.c): QEMU is double-forked,
 * so its zombie would wait for this sandbox's PID 1, which reaps only every ~2 s, and libvirt
 * waits for that zombie on every migration and destroy.
 *
 * Bookworm's libvirt 9.0 ships only the monolithic libvirtd (no virtqemud/virtproxyd); without
 * systemd socket activation, `--listen` plus `listen_tcp = 1` in libvirtd.conf opens the TCP
 * listener (no TLS, no auth: lab only) that peer-to-peer migration uses.
 * The only trace in the root namespace is an empty /run/libvirt directory (a mount point).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { ToolMissingError, ValidationError } from '../../providers/exec';
import { sh } from '../sh';
import { guestCacheDir } from './guest';

export interface LibvirtdOptions {
  /** Label for messages, e.g. "h1". */
  readonly name: string;
  /** Network namespace the daemon (and its QEMUs) run in. */
  readonly netns: string;
  /** Per-hypervisor state directory (created if missing). */
  readonly dir: string;
  /** The hypervisor's underlay IP: TCP listener, migration_host and migration_address. */
  readonly ip: string;
  /** OVS_RUNDIR of this hypervisor's OVS (libvirt runs ovs-vsctl for openvswitch ports). */
  readonly ovsRunDir?: string;
  /** Distinct per daemon, else libvirt refuses: "Attempt to migrate guest to the same host". */
  readonly hostUuid: string;
  /** vpm-subreaper binary; default: the one build-guest.sh installed. */
  readonly subreaper?: string;
  /** Shared QEMU capability cache; default ${VPM_CACHE:-~/.cache/vpm}/libvirt-cache. */
  readonly capsCacheDir?: string;
  /** How long to wait for the daemon to answer; default 30 s (a cold capability probe takes ~8 s). */
  readonly readyTimeoutMs?: number;
  /** libvirt log level for libvirtd.log (1 debug .. 4 error); default 3. */
  readonly logLevel?: 1 | 2 | 3 | 4;
}

export interface LibvirtdHandle {
  readonly name: string;
  readonly netns: string;
  readonly dir: string;
  readonly ip: string;
  /** libvirtd itself (from its --pid-file). */
  readonly pid: number;
  /** vpm-subreaper: libvirtd's parent, and the reaper of its QEMUs. 0 when unknown. */
  readonly reaperPid: number;
  /** libvirtd's read-write UNIX socket, usable from any network namespace. */
  readonly socketPath: string;
  /** `virsh -c <uri>` from anywhere on this machine. */
  readonly uri: string;
  /** The TCP URI other daemons use for peer-to-peer migration (reachable inside the lab only). */
  readonly tcpUri: string;
  readonly logFile: string;
  /** Where the domains' logs land as seen from outside (libvirtd sees /var/log/libvirt/qemu). */
  readonly qemuLogDir: string;
  /** Milliseconds from spawn to the first answer (0 when reused). */
  readonly startMs: number;
  /** True when a daemon for this dir was already running and answered. */
  readonly reused: boolean;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const SBIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The paths of a daemon's state directory. */
export function libvirtdPaths(dir: string) {
  return {
    etc: path.join(dir, 'etc'),
    run: path.join(dir, 'run'),
    lib: path.join(dir, 'lib'),
    log: path.join(dir, 'log'),
    qemuLog: path.join(dir, 'log', 'qemu'),
    socket: path.join(dir, 'run', 'libvirt-sock'),
    pidFile: path.join(dir, 'libvirtd.pid'),
    reaperPidFile: path.join(dir, 'reaper.pid'),
    stdout: path.join(dir, 'libvirtd.stdout'),
    logFile: path.join(dir, 'log', 'libvirtd.log'),
    identity: path.join(dir, 'daemon.json'),
  };
}

export function unixUri(socketPath: string): string {
  return `qemu+unix:///system?socket=${socketPath}`;
}

/** libvirtd.conf: lab-only plain TCP listener on the hypervisor IP, no polkit (no D-Bus here). */
export function libvirtdConf(o: { ip: string; hostUuid: string; logLevel?: number }): string {
  return [
    '# Written by lab/libvirt/daemon.ts (VPM lab). Lab only: TCP without TLS or authentication.',
    `host_uuid = "${o.hostUuid}"`,
    'listen_tls = 0',
    'listen_tcp = 1',
    `listen_addr = "${o.ip}"`,
    'auth_tcp = "none"',
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    'unix_sock_rw_perms = "0700"',
    `log_outputs = "${o.logLevel ?? 3}:file:/var/log/libvirt/libvirtd.log"`,
    '',
  ].join('\n');
}

/** qemu.conf: no cgroups, namespaces, security driver or virtlogd; migration on the hypervisor IP. */
export function qemuConf(o: { ip: string }): string {
  return [
    '# Written by lab/libvirt/daemon.ts (VPM lab).',
    'user = "root"',
    'group = "root"',
    'dynamic_ownership = 0',
    'remember_owner = 0',
    'security_driver = "none"',
    'cgroup_controllers = [ ]',
    'namespaces = [ ]',
    'stdio_handler = "file"',
    // Both daemons share the machine's hostname: without these, QEMU would dial itself.
    `migration_host = "${o.ip}"`,
    `migration_address = "${o.ip}"`,
    '',
  ].join('\n');
}

function validate(o: LibvirtdOptions): void {
  const p: Array<{ property: string; reason: string }> = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(o.name ?? '')) p.push({ property: 'name', reason: 'must be a short label' });
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(o.netns ?? '')) p.push({ property: 'netns', reason: 'must be a namespace name' });
  if (typeof o.dir !== 'string' || !path.isAbsolute(o.dir) || /[\0\n]/.test(o.dir)) {
    p.push({ property: 'dir', reason: 'must be an absolute path' });
  } else if (path.join(o.dir, 'run', 'libvirt-sock').length > 100) {
    p.push({ property: 'dir', reason: 'is too long: the UNIX socket path <dir>/run/libvirt-sock must stay under 108 bytes' });
  }
  if (!IPV4_RE.test(o.ip ?? '') || o.ip.startsWith('127.')) {
    p.push({ property: 'ip', reason: 'must be the hypervisor\'s IPv4 address (libvirt refuses a loopback migration_host)' });
  }
  if (!UUID_RE.test(o.hostUuid ?? '')) p.push({ property: 'hostUuid', reason: 'must be a UUID' });
  if (o.ovsRunDir !== undefined && !path.isAbsolute(o.ovsRunDir)) p.push({ property: 'ovsRunDir', reason: 'must be an absolute path' });
  if (p.length) throw new ValidationError(p);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** comm and state of a process; undefined when gone. A zombie (Z) is dead for our purposes. */
function proc(pid: number): { comm: string; state: string } | undefined {
  try {
    const t = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = t.lastIndexOf(')');
    return { comm: t.slice(t.indexOf('(') + 1, close), state: t.slice(close + 2, close + 3) };
  } catch {
    return undefined;
  }
}

function alive(pid: number, comm?: string | RegExp): boolean {
  const p = proc(pid);
  if (!p || p.state === 'Z' || p.state === 'X') return false;
  if (comm === undefined) return true;
  return typeof comm === 'string' ? p.comm === comm : comm.test(p.comm);
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function findTool(name: string): string {
  for (const d of SBIN_PATH.split(':')) {
    const f = path.join(d, name);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      /* next */
    }
  }
  const pkg: Record<string, string> = {
    libvirtd: 'libvirt-daemon-system',
    virsh: 'libvirt-clients',
    unshare: 'util-linux',
    ip: 'iproute2',
    'qemu-system-x86_64': 'qemu-system-x86',
  };
  throw new ToolMissingError(name, 'this machine', `run \`npm run setup\` (Debian package ${pkg[name] ?? name})`);
}

async function answers(uri: string): Promise<boolean> {
  try {
    const { stdout } = await sh([findTool('virsh'), '-c', uri, 'version'], { timeoutMs: 10_000 });
    return /Running hypervisor: QEMU/.test(stdout);
  } catch {
    return false;
  }
}

function handle(o: LibvirtdOptions, pid: number, reaperPid: number, startMs: number, reused: boolean): LibvirtdHandle {
  const p = libvirtdPaths(o.dir);
  return {
    name: o.name,
    netns: o.netns,
    dir: o.dir,
    ip: o.ip,
    pid,
    reaperPid,
    socketPath: p.socket,
    uri: unixUri(p.socket),
    tcpUri: `qemu+tcp://${o.ip}/system`,
    logFile: p.logFile,
    qemuLogDir: p.qemuLog,
    startMs,
    reused,
  };
}

/** The script run inside the private mount namespace; paths come in as arguments, never pasted. */
const MOUNT_AND_EXEC = [
  'set -e',
  // Mount points must exist; /run/libvirt is the only one a bare system may lack.
  'mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt',
  'mount --bind "$1/etc" /etc/libvirt',
  'mount --bind "$1/run" /run/libvirt',
  'mount --bind "$1/lib" /var/lib/libvirt',
  'mount --bind "$1/log" /var/log/libvirt',
  'mount --bind "$2" /var/cache/libvirt',
  'echo $$ > "$1/reaper.pid"',
  'exec "$3" "$4" --listen --pid-file="$1/libvirtd.pid"',
].join('\n');

/**
 * Starts (or finds running) the libvirtd of one hypervisor and waits until it answers.
 * Idempotent: a daemon already running for `dir` that answers is returned with reused=true.
 */
export async function startLibvirtd(o: LibvirtdOptions): Promise<LibvirtdHandle> {
  validate(o);
  const p = libvirtdPaths(o.dir);
  const caps = o.capsCacheDir ?? defaultCapsCacheDir();
  // What the running daemon was started with: reuse it only if nothing changed.
  const identity = JSON.stringify({ netns: o.netns, ip: o.ip, hostUuid: o.hostUuid, ovsRunDir: o.ovsRunDir ?? null, caps, logLevel: o.logLevel ?? 3 });
  const existing = readPid(p.pidFile);
  if (existing && alive(existing, 'libvirtd')) {
    let same = false;
    try {
      same = fs.readFileSync(p.identity, 'utf8') === identity;
    } catch {
      /* unknown: restart */
    }
    if (same && (await answers(unixUri(p.socket)))) return handle(o, existing, readPid(p.reaperPidFile) ?? 0, 0, true);
    // Different settings (or not answering): restart it; its running QEMUs are left alone and
    // the new daemon reconnects to them.
    await stopLibvirtd({ dir: o.dir, pid: existing }, { destroyDomains: false });
  }

  const ip = findTool('ip');
  const unshare = findTool('unshare');
  const libvirtd = findTool('libvirtd');
  findTool('virsh');
  const subreaper = o.subreaper ?? path.join(guestCacheDir(), 'vpm-subreaper');
  if (!fs.existsSync(subreaper)) {
    throw new ToolMissingError(subreaper, 'this machine', 'run `npm run setup` (or bash lab/setup/build-guest.sh)');
  }
  if (!fs.existsSync(`/run/netns/${o.netns}`)) throw new Error(`libvirtd ${o.name}: network namespace ${o.netns} does not exist`);

  for (const d of [p.etc, p.run, p.lib, p.log, p.qemuLog, caps]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(p.etc, 'libvirtd.conf'), libvirtdConf(o));
  fs.writeFileSync(path.join(p.etc, 'qemu.conf'), qemuConf(o));
  for (const f of [p.pidFile, p.reaperPidFile, p.socket, p.socket + '-ro', p.socket + '-admin']) fs.rmSync(f, { force: true });
  fs.writeFileSync(p.identity, identity);

  // Keep the previous run's log for post-mortems; start-up errors then come from this run only.
  if (fs.existsSync(p.logFile)) fs.renameSync(p.logFile, `${p.logFile}.1`);
  fs.writeFileSync(p.stdout, '');

  const env: Record<string, string> = { PATH: SBIN_PATH, LANG: 'C', HOME: process.env.HOME ?? '/root' };
  if (o.ovsRunDir) {
    for (const k of ['OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR', 'OVS_SYSCONFDIR']) env[k] = o.ovsRunDir;
  }
  const out = fs.openSync(p.stdout, 'a');
  const t0 = Date.now();
  const child = spawn(
    ip,
    ['netns', 'exec', o.netns, unshare, '--mount', '--propagation', 'private', '/bin/sh', '-c', MOUNT_AND_EXEC, 'sh', o.dir, caps, subreaper, libvirtd],
    { detached: true, stdio: ['ignore', out, out], env },
  );
  fs.closeSync(out);
  let exited: string | undefined;
  child.on('exit', (code, sig) => (exited = sig ? `signal ${sig}` : `exit ${code}`));
  child.on('error', (e) => (exited = e.message));
  child.unref();
  const reaperPid = child.pid ?? 0;

  const deadline = t0 + (o.readyTimeoutMs ?? 30_000);
  const uri = unixUri(p.socket);
  for (;;) {
    if (exited !== undefined) {
      throw new Error(
        `libvirtd ${o.name} (netns ${o.netns}) ended during start-up (${exited}).\n` +
          `--- ${p.stdout}\n${tail(p.stdout)}\n--- ${p.logFile}\n${tail(p.logFile)}`,
      );
    }
    const pid = readPid(p.pidFile);
    if (pid && fs.existsSync(p.socket) && (await answers(uri))) {
      return handle(o, pid, reaperPid, Date.now() - t0, false);
    }
    if (Date.now() > deadline) {
      await stopLibvirtd({ dir: o.dir, pid, reaperPid }, { destroyDomains: false });
      throw new Error(
        `libvirtd ${o.name} (netns ${o.netns}) did not answer within ${o.readyTimeoutMs ?? 30_000} ms.\n` +
          `--- ${p.stdout}\n${tail(p.stdout)}\n--- ${p.logFile}\n${tail(p.logFile)}`,
      );
    }
    await sleep(50);
  }
}

export interface StopResult {
  /** Domains destroyed through libvirt. */
  readonly destroyed: string[];
  /** QEMU PIDs killed directly (libvirtd did not answer). */
  readonly killedQemu: number[];
  /** True when libvirtd is gone (or was not running). */
  readonly stopped: boolean;
}

/**
 * Stops the libvirtd of `dir`, by PID only. With destroyDomains (default), first destroys its
 * running domains through libvirt, then SIGKILLs any QEMU still listed in <dir>/run/qemu/*.pid
 * (its comm must be qemu-system-*). SIGTERM, then SIGKILL after timeoutMs. Already stopped: no-op.
 */
export async function stopLibvirtd(
  h: { readonly dir: string; readonly pid?: number; readonly reaperPid?: number },
  opts: { destroyDomains?: boolean; timeoutMs?: number } = {},
): Promise<StopResult> {
  const p = libvirtdPaths(h.dir);
  const destroyDomains = opts.destroyDomains ?? true;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const pid = h.pid ?? readPid(p.pidFile);
  const reaperPid = h.reaperPid || readPid(p.reaperPidFile);
  const destroyed: string[] = [];
  const killedQemu: number[] = [];

  const daemonUp = pid !== undefined && alive(pid, 'libvirtd');
  if (destroyDomains && daemonUp) {
    const virsh = findTool('virsh');
    const uri = unixUri(p.socket);
    try {
      const { stdout } = await sh([virsh, '-c', uri, 'list', '--name'], { timeoutMs: 10_000 });
      for (const name of stdout.split('\n').map((s) => s.trim()).filter(Boolean)) {
        await sh([virsh, '-c', uri, 'destroy', name], { timeoutMs: 20_000, okCodes: [0, 1] });
        destroyed.push(name);
      }
    } catch {
      /* fall through to killing QEMU by its pidfile */
    }
  }
  if (destroyDomains) {
    let files: string[] = [];
    try {
      files = fs.readdirSync(path.join(p.run, 'qemu')).filter((f) => f.endsWith('.pid'));
    } catch {
      /* none */
    }
    for (const f of files) {
      const q = readPid(path.join(p.run, 'qemu', f));
      if (q && alive(q, /^qemu-system/)) {
        try {
          process.kill(q, 'SIGKILL');
          killedQemu.push(q);
        } catch {
          /* gone */
        }
      }
    }
  }

  if (pid !== undefined && alive(pid, 'libvirtd')) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const deadline = Date.now() + timeoutMs;
    while (alive(pid) && Date.now() < deadline) await sleep(20);
    if (alive(pid, 'libvirtd')) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      const killDeadline = Date.now() + 3000;
      while (alive(pid) && Date.now() < killDeadline) await sleep(20);
    }
  }
  // The reaper leaves when libvirtd does; wait briefly so callers can delete the namespace.
  if (reaperPid) {
    const deadline = Date.now() + 3000;
    while (alive(reaperPid, 'vpm-subreaper') && Date.now() < deadline) await sleep(20);
  }
  const stopped = pid === undefined || !alive(pid, 'libvirtd');
  for (const q of killedQemu) {
    const deadline = Date.now() + 3000;
    while (alive(q) && Date.now() < deadline) await sleep(20);
  }
  return { destroyed, killedQemu, stopped };
}

/** A stable host UUID derived from a label (e.g. the hypervisor name), distinct per label. */
export function hostUuidFor(label: string): string {
  const h = createHash('sha256').update(`vpm-lab-host:${label}`).digest('hex');
  // Version 4-style layout (variant bits set) so libvirt's UUID parser is happy.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** For messages: where this machine keeps the lab's shared libvirt capability cache. */
export function defaultCapsCacheDir(): string {
  return path.join(path.dirname(guestCacheDir()), 'libvirt-cache');
}

