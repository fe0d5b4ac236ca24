/**
 * Turns the lab's inventory into ConnectionSpecs: each hypervisor's underlay IP, its pinned
 * host key, the lab's private key file, reached through the underlay namespace (the root
 * namespace has no address on the lab LAN).
 */
import type { ConnectionSpec } from '../providers/exec';
import { readInventory, type Inventory } from './inventory';
import { ProgramInputError } from '../components/streaming-tree/program-errors';

export function labConnection(inventory: Inventory, hypervisor: string): ConnectionSpec {
  const h = inventory.hypervisors.find((x) => x.name === hypervisor);
  if (!h) {
    throw new ProgramInputError(`hypervisor "${hypervisor}" is not in the lab inventory (it has ${inventory.hypervisors.map((x) => x.name).join(', ')}); run \`npx vpm lab up --hypervisors N\` with enough hypervisors`);
  }
  return {
    host: h.ip,
    port: h.sshPort,
    user: h.user,
    hostKey: h.hostKey,
    privateKeyPath: inventory.privateKeyPath,
    netns: inventory.underlay.netns,
  };
}

export function labConnections(inventoryPath?: string): { inventory: Inventory; connection: (name: string) => ConnectionSpec } {
  const inventory = readInventory(inventoryPath);
  return { inventory, connection: (name) => labConnection(inventory, name) };
}
