/**
 * The lab's hypervisors as a hosts file (components/hosts/schema.ts), the same format an
 * operator writes for real machines: the stacks read it through `loadHosts`, so nothing in the
 * product knows the lab. Lab-only settings it uses: `netns` (reach sshd from inside the
 * underlay namespace) and `migration.allowUnencrypted` (qemu+tcp between the lab's libvirtds,
 * on a LAN that exists only inside this machine).
 */
import * as path from 'node:path';
import { stringify } from 'yaml';
import { HostsFileSchema, type HostsFileInput } from '../components/hosts/schema';
import type { Inventory } from './inventory';

export function hostsFileOf(inventory: Inventory, labDir: string): HostsFileInput {
  const keyPath = path.relative(labDir, inventory.privateKeyPath) || inventory.privateKeyPath;
  const hosts: HostsFileInput['hosts'] = {};
  for (const h of inventory.hypervisors) {
    hosts[h.name] = {
      ssh: { host: h.ip, port: h.sshPort, user: h.user, hostKey: h.hostKey, privateKeyPath: keyPath, netns: inventory.underlay.netns },
      underlay: { ip: h.ip, mac: h.mac },
      ...(h.migrationUri ? { migration: { uri: h.migrationUri, allowUnencrypted: true } } : {}),
    };
  }
  const file: HostsFileInput = { version: 1, hosts, ...(inventory.guest ? { guest: inventory.guest } : {}) };
  HostsFileSchema.parse(file); // the writer never writes what the reader refuses
  return file;
}

export function hostsFileText(inventory: Inventory, labDir: string): string {
  return (
    `# Written by \`vpm lab up\` at ${inventory.createdAt}: the lab's hypervisors in VPM's hosts file format.\n` +
    '# Stacks read it with loadHosts (stack config vpm:hosts). It changes with every `lab up` (new host keys).\n' +
    stringify(hostsFileOf(inventory, labDir), { lineWidth: 0 })
  );
}
