/**
 * The VM's port on a host: a persistent tap with a fixed name, on the overlay bridge with a
 * fixed OpenFlow number (ofport_request) and VPM's owner mark. libvirt uses it as an
 * unmanaged `ethernet` interface, so the port exists before the VM arrives and survives
 * migrations (measured: libvirt never deletes a pre-created tap).
 */
import type { CommandRunner } from '../exec/runner';
import { OWNER_KEY } from '../common/owner';
import { VsctlTxn, portInfo } from '../ovs/vsctl';
import { parseBridgeName, parseInterfaceName, parseOfPortNumber } from '../ovs/values';
import type { DomainNetwork } from './types';

async function tapExists(runner: CommandRunner, tap: string): Promise<boolean> {
  const r = await runner.run(['ip', 'link', 'show', 'dev', tap], { okExitCodes: [0, 1] });
  return r.exitCode === 0;
}

export async function ensureTap(runner: CommandRunner, net: DomainNetwork, owner: string): Promise<void> {
  const tap = parseInterfaceName(net.tap, 'network.tap');
  const existing = await portInfo(runner, tap);
  if (existing && existing.externalIds[OWNER_KEY] !== owner) {
    throw new Error(`${runner.host}: port "${net.tap}" exists and is not owned by this domain (vpm-owner=${existing.externalIds[OWNER_KEY] ?? 'none'})`);
  }
  if (!(await tapExists(runner, tap))) {
    await runner.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  }
  await runner.run(['ip', 'link', 'set', 'dev', tap, 'up']);
  await new VsctlTxn()
    .addPort(parseBridgeName(net.bridge, 'network.bridge'), tap, { type: 'system' }, { mayExist: true, externalIds: { [OWNER_KEY]: owner }, ofportRequest: parseOfPortNumber(net.ofport, 'network.ofport') })
    .run(runner);
}

export async function removeTap(runner: CommandRunner, net: DomainNetwork, owner: string): Promise<void> {
  const tap = parseInterfaceName(net.tap, 'network.tap');
  const existing = await portInfo(runner, tap);
  if (existing && existing.externalIds[OWNER_KEY] !== owner) return; // not ours: never touch
  if (existing) await new VsctlTxn().delPort(tap, { ifExists: true }).run(runner);
  if (await tapExists(runner, tap)) await runner.run(['ip', 'tuntap', 'del', 'dev', tap, 'mode', 'tap']);
}
