/**
 * `lab status`: the inventory plus what is actually alive: per hypervisor whether its
 * namespace exists and whether its ovsdb-server, ovs-vswitchd and sshd (by pidfile) run.
 * Reads only; never changes anything.
 */
import * as path from 'node:path';
import { messageOf } from './errors';
import { Inventory, readInventory } from './inventory';
import { LabSite } from './names';
import { listLabNamespaces, namespaceExists } from './netns';
import { ovsPidFiles } from './ovs';
import { isAlive, readPidFile } from './procs';

export interface DaemonStatus {
  readonly pid: number | null;
  readonly alive: boolean;
}

export interface HypervisorStatus {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly namespacePresent: boolean;
  readonly ovsdbServer: DaemonStatus;
  readonly ovsVswitchd: DaemonStatus;
  readonly sshd: DaemonStatus;
}

export interface ReceiverStatus {
  readonly name: string;
  readonly netns: string;
  readonly ip: string;
  readonly namespacePresent: boolean;
}

export interface LabStatus {
  readonly labDir: string;
  /** The stack whose lab this is (`vpm lab status --stack S`); absent for the plain lab. */
  readonly stack?: string;
  /** Inventory present, every namespace present, every daemon alive. */
  readonly healthy: boolean;
  /** Inventory present and at least one lab namespace exists (what `lab up` refuses on). */
  readonly running: boolean;
  readonly inventory: Inventory | null;
  /** Why the inventory could not be read (missing, invalid), when it could not. */
  readonly inventoryError?: string;
  /** Every namespace of this lab (`<prefix>*`) that exists now. */
  readonly namespaces: string[];
  readonly hypervisors: HypervisorStatus[];
  readonly receivers: ReceiverStatus[];
}

function daemon(pidFile: string): DaemonStatus {
  const pid = readPidFile(pidFile) ?? null;
  return { pid, alive: pid !== null && isAlive(pid) };
}

export async function labStatus(site: LabSite = LabSite.plain()): Promise<LabStatus> {
  const paths = site.paths;
  const namespaces = listLabNamespaces(site);
  let inventory: Inventory | null = null;
  let inventoryError: string | undefined;
  try {
    inventory = readInventory(paths.inventory);
  } catch (e) {
    inventoryError = messageOf(e);
  }
  const hypervisors: HypervisorStatus[] = (inventory?.hypervisors ?? []).map((h) => {
    const ovs = ovsPidFiles(h.ovsRunDir);
    return {
      name: h.name,
      netns: h.netns,
      ip: h.ip,
      namespacePresent: namespaceExists(h.netns),
      ovsdbServer: daemon(ovs.ovsdbServer),
      ovsVswitchd: daemon(ovs.ovsVswitchd),
      sshd: daemon(path.join(paths.sshDir(h.name), 'sshd.pid')),
    };
  });
  const receivers: ReceiverStatus[] = (inventory?.receivers ?? []).map((r) => ({
    name: r.name,
    netns: r.netns,
    ip: r.ip,
    namespacePresent: namespaceExists(r.netns),
  }));
  const running = inventory !== null && namespaces.length > 0;
  const healthy =
    running &&
    namespaceExists(inventory!.underlay.netns) &&
    hypervisors.every((h) => h.namespacePresent && h.ovsdbServer.alive && h.ovsVswitchd.alive && h.sshd.alive) &&
    receivers.every((r) => r.namespacePresent);
  return {
    labDir: paths.dir,
    ...(site.stack ? { stack: site.stack } : {}),
    healthy,
    running,
    inventory,
    ...(inventoryError !== undefined ? { inventoryError } : {}),
    namespaces,
    hypervisors,
    receivers,
  };
}

/** A readable table of a status. */
export function formatStatus(s: LabStatus): string {
  const lines: string[] = [];
  const flag = s.stack ? ` --stack ${s.stack}` : '';
  if (!s.inventory) {
    lines.push(`no lab is running (${s.inventoryError ?? 'no inventory'})`);
    if (s.namespaces.length) lines.push(`leftover namespaces: ${s.namespaces.join(', ')} (run \`vpm lab down${flag}\`)`);
    return lines.join('\n');
  }
  const inv = s.inventory;
  lines.push(
    `${s.stack ? `stack ${s.stack}'s lab` : 'lab'} ${s.healthy ? 'healthy' : s.running ? 'DEGRADED' : `NOT RUNNING (namespaces gone; run \`vpm lab down${flag}\`)`}: ` +
      `${inv.hypervisors.length} hypervisor(s), ${inv.receivers.length} receiver(s), created ${inv.createdAt}`,
  );
  lines.push(`underlay ${inv.underlay.cidr} in ${inv.underlay.netns} (${inv.underlay.bridge} ${inv.underlay.ip}); dir ${s.labDir}`);
  const d = (x: DaemonStatus) => (x.alive ? `up ${x.pid}` : x.pid === null ? 'none' : `DEAD ${x.pid}`);
  const rows: string[][] = [['NODE', 'NETNS', 'IP', 'NS', 'OVSDB-SERVER', 'OVS-VSWITCHD', 'SSHD']];
  for (const h of s.hypervisors) {
    rows.push([h.name, h.netns, h.ip, h.namespacePresent ? 'yes' : 'NO', d(h.ovsdbServer), d(h.ovsVswitchd), d(h.sshd)]);
  }
  for (const r of s.receivers) rows.push([r.name, r.netns, r.ip, r.namespacePresent ? 'yes' : 'NO', '-', '-', '-']);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) lines.push(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  return lines.join('\n');
}
