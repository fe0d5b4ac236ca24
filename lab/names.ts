/**
 * The lab's naming scheme, in one place. Everything the lab creates is derived from here.
 *
 * - State directory: `<repo>/.lab/` (repo = nearest ancestor of this file holding
 *   package.json), or `$VPM_LAB_DIR` when set.
 *     .lab/inventory.json            what `lab up` built (the lab runs iff it exists + namespaces do)
 *     .lab/hosts.yaml                the hypervisors as a hosts file (what the stacks read: vpm:hosts)
 *     .lab/pids.json                 every daemon `lab up` started: {name, pid, startTime, comm}
 *     .lab/id_ed25519{,.pub}         the lab's client key (fresh per `lab up`)
 *     .lab/authorized_keys           that key, for every hypervisor's sshd
 *     .lab/known_hosts               "10.250.0.11 ssh-ed25519 AAAA..." per hypervisor
 *     .lab/hK/ovs/                   OVS_RUNDIR = OVS_DBDIR = OVS_LOGDIR = OVS_SYSCONFDIR of hK
 *     .lab/hK/ssh/                   hK's sshd: host key, sshd_config, sshd.pid, sshd.log
 * - Network namespaces: `vpmlab-ul` (underlay LAN: Linux bridge `ul0`, 10.250.0.1),
 *   `vpmlab-h1..hN` (hypervisors), `vpmlab-r1..rM` (receivers). Every `vpmlab-*`
 *   namespace belongs to the lab; `lab down` deletes them all.
 * - Links: in `vpmlab-ul`, veth `hK` / `rK` (enslaved to ul0) whose peer is `eth0` inside
 *   the node's namespace. Hypervisors: OVS bridge `br0` (netdev) holds eth0 and the address.
 * - Underlay 10.250.0.0/24: ul0 = .1, hypervisor hK = .(10+K), receiver rK = .(200+K).
 * - MACs (KK = K as two hex digits): hK br0 02:56:50:00:00:KK, hK eth0 02:56:51:00:00:KK,
 *   rK eth0 02:56:52:00:00:KK, ul side of hK 02:56:53:00:00:KK, of rK 02:56:54:00:00:KK,
 *   ul0 02:56:55:00:00:01. (0x56 0x50 = "VP".)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Override with VPM_LAB_NS_PREFIX (with VPM_LAB_DIR) to run a second, independent lab beside
 * the default one, e.g. for a developer's experiments while the test suite runs.
 */
export const NS_PREFIX = labNsPrefix(process.env.VPM_LAB_NS_PREFIX);

function labNsPrefix(value: string | undefined): string {
  if (value === undefined || value === '') return 'vpmlab-';
  if (!/^[a-z][a-z0-9]{0,10}-$/.test(value)) {
    throw new Error(`VPM_LAB_NS_PREFIX=${JSON.stringify(value)} is invalid: use 1..11 lower-case letters/digits and a trailing '-', e.g. "vpmdev-"`);
  }
  return value;
}
export const UNDERLAY_NS = `${NS_PREFIX}ul`;
export const UNDERLAY_BRIDGE = 'ul0';
export const UNDERLAY_CIDR = '10.250.0.0/24';
export const UNDERLAY_PREFIXLEN = 24;
export const UNDERLAY_IP = '10.250.0.1';
export const UNDERLAY_MAC = '02:56:55:00:00:01';
export const HYPERVISOR_BRIDGE = 'br0';
export const NODE_IFACE = 'eth0';

export const MAX_HYPERVISORS = 16;
export const MAX_RECEIVERS = 8;

function hex2(k: number): string {
  return k.toString(16).padStart(2, '0');
}

function checkIndex(kind: string, k: number, max: number): void {
  if (!Number.isInteger(k) || k < 1 || k > max) {
    throw new RangeError(`${kind} index ${k} is out of range: allowed 1..${max}`);
  }
}

export interface HypervisorNames {
  readonly index: number;
  readonly name: string; // "h3"
  readonly netns: string; // "vpmlab-h3"
  readonly ip: string; // "10.250.0.13"
  readonly mac: string; // br0
  readonly eth0Mac: string;
  readonly ulIface: string; // veth end in vpmlab-ul
  readonly ulMac: string;
}

export function hypervisorNames(k: number): HypervisorNames {
  checkIndex('hypervisor', k, MAX_HYPERVISORS);
  return {
    index: k,
    name: `h${k}`,
    netns: `${NS_PREFIX}h${k}`,
    ip: `10.250.0.${10 + k}`,
    mac: `02:56:50:00:00:${hex2(k)}`,
    eth0Mac: `02:56:51:00:00:${hex2(k)}`,
    ulIface: `h${k}`,
    ulMac: `02:56:53:00:00:${hex2(k)}`,
  };
}

export interface ReceiverNames {
  readonly index: number;
  readonly name: string; // "r1"
  readonly netns: string;
  readonly ip: string;
  readonly mac: string; // eth0
  readonly ulIface: string;
  readonly ulMac: string;
}

export function receiverNames(k: number): ReceiverNames {
  checkIndex('receiver', k, MAX_RECEIVERS);
  return {
    index: k,
    name: `r${k}`,
    netns: `${NS_PREFIX}r${k}`,
    ip: `10.250.0.${200 + k}`,
    mac: `02:56:52:00:00:${hex2(k)}`,
    ulIface: `r${k}`,
    ulMac: `02:56:54:00:00:${hex2(k)}`,
  };
}

/** The repository root: the nearest ancestor of this module's directory with a package.json. */
export function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root (no package.json above ${from})`);
    dir = up;
  }
}

/** All the paths of one lab state directory. */
export class LabPaths {
  constructor(readonly dir: string) {}

  /** `$VPM_LAB_DIR` if set, else `<repo>/.lab`. */
  static default(): LabPaths {
    const override = process.env.VPM_LAB_DIR;
    return new LabPaths(path.resolve(override && override.trim() ? override : path.join(repoRoot(), '.lab')));
  }

  get inventory(): string {
    return path.join(this.dir, 'inventory.json');
  }
  /** The lab's hypervisors in the hosts file format (components/hosts) that stacks read. */
  get hostsFile(): string {
    return path.join(this.dir, 'hosts.yaml');
  }
  get pids(): string {
    return path.join(this.dir, 'pids.json');
  }
  get privateKey(): string {
    return path.join(this.dir, 'id_ed25519');
  }
  get authorizedKeys(): string {
    return path.join(this.dir, 'authorized_keys');
  }
  get knownHosts(): string {
    return path.join(this.dir, 'known_hosts');
  }
  nodeDir(name: string): string {
    return path.join(this.dir, name);
  }
  ovsDir(name: string): string {
    return path.join(this.dir, name, 'ovs');
  }
  sshDir(name: string): string {
    return path.join(this.dir, name, 'ssh');
  }
  /** Files and directories `lab down` removes; anything else under dir (caches) is kept. */
  runtimeEntries(): string[] {
    const fixed = ['inventory.json', 'hosts.yaml', 'pids.json', 'id_ed25519', 'id_ed25519.pub', 'authorized_keys', 'known_hosts'];
    let nodeDirs: string[] = [];
    try {
      nodeDirs = fs.readdirSync(this.dir).filter((n) => /^[hr]\d+$/.test(n) || /\.tmp-\d+$/.test(n));
    } catch {
      /* no dir: nothing to remove */
    }
    return [...fixed, ...nodeDirs].map((n) => path.join(this.dir, n));
  }
}

/** The environment that points OVS tools at one hypervisor's OVS. */
export function ovsEnv(ovsRunDir: string): Record<string, string> {
  return { OVS_RUNDIR: ovsRunDir, OVS_DBDIR: ovsRunDir, OVS_LOGDIR: ovsRunDir, OVS_SYSCONFDIR: ovsRunDir };
}
