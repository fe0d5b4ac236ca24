/**
 * `lab up`: builds the whole lab (namespaces, underlay LAN, per hypervisor an OVS and an sshd,
 * receivers), then writes `.lab/inventory.json` last (its presence plus the namespaces is what
 * "a lab is running" means). Hypervisors are built in parallel. On any failure everything
 * built so far is torn down (labDown) and a LabError names the step that failed.
 */
import { hostsFileText } from './hosts-file';
import { buildGuest, type GuestArtifacts } from './libvirt/guest';
import { hostUuidFor, startLibvirtd, type LibvirtdHandle } from './libvirt/daemon';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LabError, messageOf } from './errors';
import { Inventory, readInventory, writeFileAtomic, writeInventory } from './inventory';
import {
  HYPERVISOR_BRIDGE,
  HypervisorNames,
  LabPaths,
  LabSite,
  MAX_HYPERVISORS,
  MAX_RECEIVERS,
  NODE_IFACE,
  ReceiverNames,
  UNDERLAY_BRIDGE,
  UNDERLAY_CIDR,
  UNDERLAY_IP,
  UNDERLAY_PREFIXLEN,
} from './names';
import { buildUnderlay, createNamespaces, listLabNamespaces } from './netns';
import { checkOvsDirLength, startHypervisorOvs } from './ovs';
import { PidRegistry } from './procs';
import { sh } from './sh';
import { fingerprint, generateKey, startHypervisorSshd } from './sshd';
import { ToolPaths, requireLabTools, requireRoot, which } from './tools';
import { labDown } from './down';

export interface LabUpOptions {
  /** Number of hypervisors, 1..MAX_HYPERVISORS (64); default 3. */
  readonly hypervisors?: number;
  /** Number of receivers, 0..8; default 1. */
  readonly receivers?: number;
  /** Progress lines (default: to stderr); pass `() => {}` for silence. */
  readonly log?: (line: string) => void;
  /** Aborting stops the build between steps and tears down what was built. */
  readonly signal?: AbortSignal;
  /** Hypervisors built at once; default 8. */
  readonly concurrency?: number;
  /** Also run one libvirtd per hypervisor (and build the tiny guest) for VMs; default false. */
  readonly libvirt?: boolean;
  /** Which lab (namespace prefix, state directory); default the plain lab. */
  readonly site?: LabSite;
}

/** A failure inside one named step of `lab up`. */
class StepFailure extends Error {
  constructor(readonly step: string, override readonly cause: unknown) {
    super(`${step}: ${messageOf(cause)}`);
  }
}

const defaultLog = (line: string) => process.stderr.write(`${line}\n`);

function checkCount(what: string, n: number, min: number, max: number): void {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new LabError(`${what} must be an integer in ${min}..${max}, got ${n}`);
  }
}

/** Refuses when a lab is running or half-built; clears a stale one (inventory, no namespaces). */
async function preflight(site: LabSite, log: (l: string) => void): Promise<void> {
  const paths = site.paths;
  const namespaces = listLabNamespaces(site);
  const hasInventory = fs.existsSync(paths.inventory);
  if (namespaces.length && hasInventory) {
    let n = '?';
    try {
      n = String(readInventory(paths.inventory).hypervisors.length);
    } catch {
      /* an unreadable inventory is still a running lab */
    }
    throw new LabError(`${site.describe()} is already running (${n} hypervisors); run \`vpm lab down${site.flag}\` first`);
  }
  if (namespaces.length) {
    throw new LabError(
      `lab namespaces exist without an inventory (${namespaces.join(', ')}): a crashed or concurrent \`vpm lab up${site.flag}\`; ` +
        `run \`vpm lab down${site.flag}\` first`,
    );
  }
  if (paths.runtimeEntries().some((p) => fs.existsSync(p))) {
    // A lab that crashed or whose namespaces vanished (reboot): clear its files and any daemon left.
    log('lab: clearing the state of a lab whose namespaces are gone');
    await labDown({ log: () => {}, site });
  }
}

/** Waits for every promise to settle, then throws the first failure. */
async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
        queue.length = 0; // start nothing new; let running builds finish before teardown
      }
    }
  });
  await Promise.all(workers);
  if (errors.length) throw errors[0];
}

/** Builds the lab and returns its inventory (also written to `.lab/inventory.json`). */
export async function labUp(options: LabUpOptions = {}): Promise<Inventory> {
  const nHyp = options.hypervisors ?? 3;
  const nRcv = options.receivers ?? 1;
  const log = options.log ?? defaultLog;
  const signal = options.signal;
  checkCount('hypervisors', nHyp, 1, MAX_HYPERVISORS);
  checkCount('receivers', nRcv, 0, MAX_RECEIVERS);
  requireRoot();
  const tools = requireLabTools();
  const sysctl = which('sysctl');
  if (nRcv > 0 && !sysctl) {
    throw new LabError("'sysctl' is not available (receivers need rp_filter relaxed): run `npm run setup` (Debian package procps)");
  }
  // Required: every veth end that sends into OVS needs tx checksum offload off (see ovs.ts).
  const ethtool = which('ethtool');
  if (!ethtool) throw new LabError("'ethtool' is not available (the lab turns checksum offload off on its veths): run `npm run setup` (Debian package ethtool)");
  const site = options.site ?? LabSite.plain();
  const paths = site.paths;
  const UNDERLAY_NS = site.underlayNs;
  for (let k = 1; k <= nHyp; k++) checkOvsDirLength(paths.ovsDir(site.hypervisor(k).name));
  await preflight(site, log);

  const started = Date.now();
  const hyps = Array.from({ length: nHyp }, (_, i) => site.hypervisor(i + 1));
  const rcvs = Array.from({ length: nRcv }, (_, i) => site.receiver(i + 1));
  fs.mkdirSync(paths.dir, { recursive: true });
  const pids = new PidRegistry(paths.pids);
  writeFileAtomic(paths.pids, '[]\n');

  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    try {
      signal?.throwIfAborted();
      return await fn();
    } catch (e) {
      throw e instanceof StepFailure ? e : new StepFailure(name, e);
    }
  };

  try {
    const clientKey = generateKey(tools, paths.privateKey, 'vpmlab-client');
    clientKey.catch(() => {}); // awaited below; this only keeps an early rejection from being "unhandled"
    await step('create namespaces', () => createNamespaces(tools.ip, [UNDERLAY_NS, ...hyps.map((h) => h.netns), ...rcvs.map((r) => r.netns)]));
    await step('build underlay LAN', () => buildUnderlay(tools.ip, UNDERLAY_NS, hyps, rcvs));
    await step('underlay: checksum offload off', () =>
      Promise.all(
        [UNDERLAY_BRIDGE, ...hyps.map((h) => h.ulIface), ...rcvs.map((r) => r.ulIface)].map((iface) =>
          sh([tools.ip, 'netns', 'exec', UNDERLAY_NS, ethtool, '-K', iface, 'tx', 'off'], { where: UNDERLAY_NS }),
        ),
      ),
    );
    const clientPub = await step('generate lab client key', () => clientKey);
    writeFileAtomic(paths.authorizedKeys, `${clientPub} vpmlab-client\n`);

    const hostKeys = new Map<string, string>();
    const libvirts = new Map<string, LibvirtdHandle>();
    const guest = options.libvirt ? await step('build the guest image', () => buildGuest()) : undefined;
    // Receivers are built alongside the hypervisors; every build settles before a teardown.
    await settleAll([
      pool(hyps, options.concurrency ?? 8, async (h) => {
        const t0 = Date.now();
        const hstep = <T>(name: string, fn: () => Promise<T>) => step(`${h.name}: ${name}`, fn);
        const { hostKey, libvirt } = await buildHypervisor(tools, h, paths, pids, hstep, guest);
        hostKeys.set(h.name, hostKey);
        if (libvirt) libvirts.set(h.name, libvirt);
        log(`lab: ${h.name} up (${h.netns}, ${h.ip}) in ${Date.now() - t0} ms`);
      }),
      ...rcvs.map(async (r) => {
        const t0 = Date.now();
        await buildReceiver(tools, r, sysctl!, ethtool, (name, fn) => step(`${r.name}: ${name}`, fn));
        log(`lab: ${r.name} up (${r.netns}, ${r.ip}) in ${Date.now() - t0} ms`);
      }),
    ]);

    let inventory: Inventory | undefined;
    const built: Inventory = {
      version: 1,
      createdAt: new Date().toISOString(),
      underlay: { netns: UNDERLAY_NS, cidr: UNDERLAY_CIDR, bridge: UNDERLAY_BRIDGE, ip: UNDERLAY_IP },
      privateKeyPath: paths.privateKey,
      knownHostsPath: paths.knownHosts,
      hypervisors: hyps.map((h) => {
        const hostKey = hostKeys.get(h.name)!;
        return {
          name: h.name,
          netns: h.netns,
          ip: h.ip,
          mac: h.mac,
          sshPort: 22,
          user: 'root',
          hostKey,
          hostKeyFingerprint: fingerprint(hostKey),
          ovsRunDir: paths.ovsDir(h.name),
          ...(libvirts.has(h.name) ? { libvirtUri: libvirts.get(h.name)!.uri, migrationUri: libvirts.get(h.name)!.tcpUri } : {}),
        };
      }),
      ...(guest ? { guest: { kernel: guest.kernel, initrd: guest.initrd, emulator: guest.emulator } } : {}),
      receivers: rcvs.map((r) => ({ name: r.name, netns: r.netns, ip: r.ip, mac: r.mac })),
    };
    await step('write inventory', async () => {
      writeFileAtomic(paths.knownHosts, built.hypervisors.map((h) => `${h.ip} ${h.hostKey}\n`).join(''));
      // What is written (with its generation) is what callers get back.
      inventory = writeInventory(paths.inventory, built);
      writeFileAtomic(paths.hostsFile, hostsFileText(inventory, paths.dir), 0o600);
    });
    const ms = Date.now() - started;
    log(
      `lab: ${nHyp} hypervisor(s), ${nRcv} receiver(s) up in ${(ms / 1000).toFixed(2)} s ` +
        `(${Math.round(ms / nHyp)} ms per hypervisor); inventory ${path.relative(process.cwd(), paths.inventory) || paths.inventory}`,
    );
    return inventory!;
  } catch (e) {
    const failedStep = e instanceof StepFailure ? e.step : 'lab up';
    const cause = e instanceof StepFailure ? e.cause : e;
    let teardown = 'everything it had built was torn down';
    try {
      await labDown({ log: () => {}, site });
    } catch (downError) {
      teardown = `teardown failed too (${messageOf(downError)}); run \`vpm lab down${site.flag}\``;
    }
    throw new LabError(`lab up failed at step "${failedStep}": ${messageOf(cause)}\n(${teardown})`, {
      step: failedStep,
      cause,
    });
  }
}

async function buildHypervisor(
  tools: ToolPaths,
  h: HypervisorNames,
  paths: LabPaths,
  pids: PidRegistry,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
  guest?: GuestArtifacts,
): Promise<{ hostKey: string; libvirt?: LibvirtdHandle }> {
  const ovsDir = paths.ovsDir(h.name);
  await startHypervisorOvs(tools, h, ovsDir, pids, step);
  // br0 exists now (ovs-vswitchd --detach returns after applying the initial configuration).
  await step('configure underlay address', () =>
    sh([tools.ip, '-n', h.netns, '-batch', '-'], {
      where: h.netns,
      input: [
        'link set lo up',
        `link set ${NODE_IFACE} up`,
        `addr add ${h.ip}/${UNDERLAY_PREFIXLEN} dev ${HYPERVISOR_BRIDGE}`,
        `link set ${HYPERVISOR_BRIDGE} up`,
        `route add default dev ${HYPERVISOR_BRIDGE}`,
        '',
      ].join('\n'),
    }),
  );
  // libvirtd listens on the underlay IP, so it starts after br0 has it (LAB-NOTES).
  let libvirt: LibvirtdHandle | undefined;
  if (guest) {
    libvirt = await step('start libvirtd', () =>
      startLibvirtd({ name: h.name, netns: h.netns, dir: path.join(paths.nodeDir(h.name), 'libvirt'), ip: h.ip, ovsRunDir: ovsDir, hostUuid: hostUuidFor(h.name), subreaper: guest.subreaper }),
    );
    for (const pid of [libvirt.pid, libvirt.reaperPid]) if (pid > 0) pids.add(`${h.name} libvirtd`, pid);
  }
  // virsh over SSH must reach this hypervisor's libvirtd (its sockets live in a private mount namespace).
  const extraEnv: Record<string, string> = libvirt ? { LIBVIRT_DEFAULT_URI: libvirt.uri } : {};
  const sshd = await startHypervisorSshd(tools, h, paths.sshDir(h.name), ovsDir, paths.authorizedKeys, pids, step, extraEnv);
  return { ...sshd, ...(libvirt ? { libvirt } : {}) };
}

async function buildReceiver(
  tools: ToolPaths,
  r: ReceiverNames,
  sysctl: string,
  ethtool: string | undefined,
  step: <T>(name: string, fn: () => Promise<T>) => Promise<T>,
): Promise<void> {
  await step('configure address', () =>
    sh([tools.ip, '-n', r.netns, '-batch', '-'], {
      where: r.netns,
      input: [
        'link set lo up',
        `link set ${NODE_IFACE} up`,
        `addr add ${r.ip}/${UNDERLAY_PREFIXLEN} dev ${NODE_IFACE}`,
        `route add default dev ${NODE_IFACE}`,
        '',
      ].join('\n'),
    }),
  );
  // Receivers get packets from overlay source addresses: no reverse-path filtering.
  await step('relax rp_filter', () =>
    sh(
      [
        tools.ip, 'netns', 'exec', r.netns, sysctl, '-q', '-w',
        'net.ipv4.conf.all.rp_filter=0',
        'net.ipv4.conf.default.rp_filter=0',
        `net.ipv4.conf.${NODE_IFACE}.rp_filter=0`,
      ],
      { where: r.netns },
    ),
  );
  if (ethtool) {
    await step('checksum offload off', () =>
      sh([tools.ip, 'netns', 'exec', r.netns, ethtool, '-K', NODE_IFACE, 'tx', 'off'], { where: r.netns }),
    );
  }
}
