/**
 * Network namespaces and links of the lab (names from names.ts): creating every namespace
 * and the underlay LAN in two `ip -batch` calls, listing and deleting one lab's `<prefix>*` namespaces.
 * Each veth is created directly between two lab namespaces, so nothing appears in the root
 * namespace.
 */
import * as fs from 'node:fs';
import { sh } from './sh';
import {
  HypervisorNames,
  LabSite,
  NODE_IFACE,
  ReceiverNames,
  UNDERLAY_BRIDGE,
  UNDERLAY_IP,
  UNDERLAY_MAC,
  UNDERLAY_PREFIXLEN,
} from './names';

const NETNS_DIR = '/run/netns';

/** The namespaces of one lab (default: the plain lab) that exist now (sorted). */
export function listLabNamespaces(site: LabSite = LabSite.plain()): string[] {
  try {
    return fs
      .readdirSync(NETNS_DIR)
      .filter((n) => site.ownsNamespace(n))
      .sort();
  } catch {
    return [];
  }
}

export function namespaceExists(ns: string): boolean {
  return fs.existsSync(`${NETNS_DIR}/${ns}`);
}

/** Creates the namespaces (all of them in one `ip -batch`). */
export async function createNamespaces(ip: string, names: readonly string[]): Promise<void> {
  await sh([ip, '-batch', '-'], { input: names.map((n) => `netns add ${n}\n`).join('') });
}

/**
 * The underlay LAN in the lab's `<prefix>ul`: bridge ul0 with its address, and one veth per node whose
 * peer becomes `eth0` (fixed MAC; brought up from inside) in that node's namespace. Hypervisors' eth0 gets
 * `arp off`: it is an OVS port, and the kernel must not answer ARP for br0's address from it.
 */
export async function buildUnderlay(
  ip: string,
  underlayNs: string,
  hypervisors: readonly HypervisorNames[],
  receivers: readonly ReceiverNames[],
): Promise<void> {
  const lines = [
    'link set lo up',
    `link add ${UNDERLAY_BRIDGE} address ${UNDERLAY_MAC} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
    `addr add ${UNDERLAY_IP}/${UNDERLAY_PREFIXLEN} dev ${UNDERLAY_BRIDGE}`,
    `link set ${UNDERLAY_BRIDGE} up`,
  ];
  for (const h of hypervisors) {
    lines.push(
      `link add ${h.ulIface} address ${h.ulMac} type veth peer name ${NODE_IFACE} address ${h.eth0Mac} arp off netns ${h.netns}`,
      `link set ${h.ulIface} master ${UNDERLAY_BRIDGE} up`,
    );
  }
  for (const r of receivers) {
    lines.push(
      `link add ${r.ulIface} address ${r.ulMac} type veth peer name ${NODE_IFACE} address ${r.mac} netns ${r.netns}`,
      `link set ${r.ulIface} master ${UNDERLAY_BRIDGE} up`,
    );
  }
  await sh([ip, '-n', underlayNs, '-batch', '-'], { input: lines.join('\n') + '\n', where: underlayNs });
}

/** PIDs of every process whose network namespace is `ns`. */
export async function namespacePids(ip: string, ns: string): Promise<number[]> {
  const { stdout } = await sh([ip, 'netns', 'pids', ns], { okCodes: 'any', where: ns });
  return stdout
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 1);
}

/** Deletes namespaces; carries on past errors and returns the ones still present. */
export async function deleteNamespaces(ip: string, names: readonly string[]): Promise<string[]> {
  if (!names.length) return [];
  await sh([ip, '-force', '-batch', '-'], { input: names.map((n) => `netns del ${n}\n`).join(''), okCodes: 'any' });
  return names.filter(namespaceExists);
}
