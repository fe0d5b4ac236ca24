/**
 * The lab guest image and host helpers built by lab/setup/build-guest.sh (cached; a second
 * run takes ~0.1 s), described by its manifest.json; where the cache is, and what the guest
 * prints on its console.
 *
 * The guest: the Debian kernel booted directly (uncompressed vmlinux, PVH entry) plus a
 * busybox initramfs whose /init (lab/guest/init) reads the `vpm.*` kernel parameters of
 * components/streaming-tree/guest.ts; TCG only (/dev/kvm here is KVM_PVM and cannot run a
 * stock kernel), through build-guest.sh's <emulator> wrapper. The lab hands these paths to
 * the product through its hosts file (`guest: {kernel, initrd, emulator}`), as any user does.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sh } from '../sh';

/** Where build-guest.sh puts its output (same rule as the script). */
export function guestCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.VPM_CACHE || path.join(env.HOME || os.homedir(), '.cache', 'vpm'), 'guest');
}

/** The <emulator> wrapper installed by build-guest.sh (+8 KiB RAM: QEMU 7.2 TCG migration fix). */
export function defaultEmulator(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(guestCacheDir(env), 'qemu-system-x86_64-vpm');
}

export interface GuestArtifacts {
  readonly dir: string;
  readonly kernelVersion: string;
  /** "vmlinux" (uncompressed, PVH entry: ~3 s boot under TCG) or "bzImage" (~5.5 s). */
  readonly kernelKind: 'vmlinux' | 'bzImage';
  readonly kernel: string;
  readonly initrd: string;
  /** Static UDP relay (also runs on hosts). */
  readonly udprelay: string;
  /** Child-subreaper wrapper that libvirtd runs under. */
  readonly subreaper: string;
  /** Timestamps the stream's datagrams on a tap (lab/stream/tapwatch.c), for the migration bench. */
  readonly tapwatch: string;
  /** <emulator> wrapper (+8 KiB RAM, QEMU 7.2 TCG migration fix). */
  readonly emulator: string;
  readonly qemu: string;
  readonly stamp: string;
}

/**
 * lab/setup/build-guest.sh of this checkout: searched upwards from this module, so it is found
 * both from the sources (lab/libvirt) and from the compiled output (dist/lab/libvirt).
 */
export function buildGuestScript(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'lab', 'setup', 'build-guest.sh');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`lab/setup/build-guest.sh not found above ${from}`);
  }
}

/** Reads the manifest of an existing build; undefined when there is none. */
export function readGuestManifest(dir: string = guestCacheDir()): GuestArtifacts | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const m = parsed as Record<string, unknown>;
  const keys = ['kernelVersion', 'kernelKind', 'kernel', 'initrd', 'udprelay', 'subreaper', 'tapwatch', 'emulator', 'qemu', 'stamp'];
  if (!keys.every((k) => typeof m[k] === 'string')) return undefined;
  return { dir, ...(m as Omit<GuestArtifacts, 'dir'>) };
}

/** Builds (or finds cached) the guest and helpers; returns their paths. */
export async function buildGuest(env: Readonly<Record<string, string>> = {}): Promise<GuestArtifacts> {
  const { stdout } = await sh(['bash', buildGuestScript()], { timeoutMs: 300_000, env, where: 'local (build-guest.sh)' });
  const dir = stdout.trim().split('\n').pop() ?? '';
  const m = readGuestManifest(dir);
  if (!m) throw new Error(`build-guest.sh printed ${JSON.stringify(dir)} but no valid manifest.json is there`);
  for (const f of [m.kernel, m.initrd, m.subreaper, m.tapwatch, m.emulator]) {
    if (!fs.existsSync(f)) throw new Error(`guest build is incomplete: ${f} is missing (re-run lab/setup/build-guest.sh)`);
  }
  return m;
}

/** Console markers printed by the guest's /init (lab/guest/init). */
export const GUEST_MARKERS = {
  init: 'VPM-GUEST-INIT',
  netUp: 'VPM-GUEST-NET-UP',
  ready: 'VPM-GUEST-READY',
  heartbeat: 'VPM-HB',
  error: 'VPM-GUEST-ERROR',
} as const;

/** Kernel messages that mean the guest is damaged (the QEMU 7.2 TCG migration bug shows as these). */
export const GUEST_TROUBLE_RE = /Oops|BUG:|Kernel panic|is not a head|general protection fault|Call Trace|soft lockup|rcu_sched self-detected|VPM-GUEST-ERROR/;
