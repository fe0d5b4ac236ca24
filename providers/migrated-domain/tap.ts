/**
 * The VM's port on a host: a persistent tap with a fixed name, on the overlay bridge with a
 * fixed OpenFlow number (ofport_request) and VPM's owner mark. libvirt uses it as an
 * unmanaged `ethernet` interface, so the port exists before the VM arrives and survives
 * migrations (measured: libvirt never deletes a pre-created tap).
 *
 * Naming: every VM tap is `vt-<vm>` (VM_TAP_PREFIX; components/streaming-tree/ports.ts names
 * them). `check` refuses any other name, and on the host a link of that name that is not a
 * tap device is refused before anything happens: `network.tap: eth0` once put the host's NIC
 * into br1 (fail_mode secure) and a later delete ran `ip tuntap del` on it.
 */
import type { CommandRunner } from '../exec';
import { OWNER_KEY } from '../common/owner';
import { VsctlTxn, portInfo, parseBridgeName, parseInterfaceName, parseOfPortNumber } from '../ovs';
import type { DomainNetwork } from './types';

/** The prefix every VM tap name carries, so a VM can never be given a host's own interface. */
export const VM_TAP_PREFIX = 'vt-';

/** The kernel's own queue length of a tap (what a tap has outside a migration). */
export const TAP_QUEUE_FRAMES = 1000;
/** The destination tap's queue while the VM is on its way (MigrationSettings.destinationQueueFrames). */
export const DEFAULT_DESTINATION_QUEUE = 8;

/** What `ip -details link show` says the link is: absent, a tap device, or something else. */
async function linkKind(runner: CommandRunner, tap: string): Promise<'absent' | 'tap' | 'other'> {
  const r = await runner.run(['ip', '-details', 'link', 'show', 'dev', tap], { okExitCodes: [0, 1] });
  if (r.exitCode !== 0) return 'absent';
  return /\btun type tap\b/.test(r.stdout) ? 'tap' : 'other';
}

function notATap(runner: CommandRunner, tap: string): Error {
  return new Error(
    `${runner.host}: "${tap}" exists and is not a tap device (a host interface?); VPM only uses taps it makes: ` +
      `pick another network.tap (names start with "${VM_TAP_PREFIX}")`,
  );
}

/** Makes the tap and its port; true when this call made the port (what a rollback undoes). */
export async function ensureTap(runner: CommandRunner, net: DomainNetwork, owner: string): Promise<boolean> {
  const tap = parseInterfaceName(net.tap, 'network.tap');
  const existing = await portInfo(runner, tap);
  if (existing && existing.externalIds[OWNER_KEY] !== owner) {
    throw new Error(`${runner.host}: port "${net.tap}" exists and is not owned by this domain (vpm-owner=${existing.externalIds[OWNER_KEY] ?? 'none'})`);
  }
  if (!tap.startsWith(VM_TAP_PREFIX)) throw new Error(`network.tap "${tap}" does not start with "${VM_TAP_PREFIX}": VPM makes and removes only its own taps`);
  const kind = await linkKind(runner, tap);
  if (kind === 'other') throw notATap(runner, tap);
  if (kind === 'absent') await runner.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  // The usual queue length too: a migration that failed after shortening it (see
  // setTapQueueLength) must not leave a running VM a queue of a few frames.
  await runner.run(['ip', 'link', 'set', 'dev', tap, 'txqueuelen', String(TAP_QUEUE_FRAMES), 'up']);
  await new VsctlTxn()
    .addPort(parseBridgeName(net.bridge, 'network.bridge'), tap, { type: 'system' }, { mayExist: true, externalIds: { [OWNER_KEY]: owner }, ofportRequest: parseOfPortNumber(net.ofport, 'network.ofport') })
    .run(runner);
  return !existing;
}

export async function removeTap(runner: CommandRunner, net: DomainNetwork, owner: string): Promise<void> {
  const tap = parseInterfaceName(net.tap, 'network.tap');
  const existing = await portInfo(runner, tap);
  if (existing && existing.externalIds[OWNER_KEY] !== owner) return; // not ours: never touch
  // A state written before the prefix rule may name a host interface: never remove that.
  if (!tap.startsWith(VM_TAP_PREFIX)) return;
  if (existing) await new VsctlTxn().delPort(tap, { ifExists: true }).run(runner);
  if ((await linkKind(runner, tap)) === 'tap') await runner.run(['ip', 'tuntap', 'del', 'dev', tap, 'mode', 'tap']);
}

/**
 * Sets how many frames the tap holds for its reader (the kernel's tun ring; `txqueuelen`).
 * Frames that reach the tap while the reader does not read (a migration's destination QEMU
 * waiting for the VM's memory) queue there and are delivered when the VM resumes: stale
 * datagrams that delay the live stream and reach the receiver twice. A short queue during a
 * migration keeps that backlog to a few frames.
 */
export async function setTapQueueLength(runner: CommandRunner, tapName: string, frames: number): Promise<void> {
  const tap = parseInterfaceName(tapName, 'network.tap');
  if (!Number.isInteger(frames) || frames < 1 || frames > 100_000) throw new Error(`tap queue length must be 1..100000 frames, got ${frames}`);
  await runner.run(['ip', 'link', 'set', 'dev', tap, 'txqueuelen', String(frames)]);
}
