/**
 * The lab's naming scheme, in one place. Everything the lab creates is derived from here.
 *
 * Two kinds of lab, each a `LabSite` (a namespace prefix and a state directory):
 * - the plain lab (`vpm lab up --hypervisors N`): prefix `vpmlab-`, directory `<repo>/.lab/`
 *   (repo = nearest ancestor of this file holding package.json); `$VPM_LAB_NS_PREFIX` and
 *   `$VPM_LAB_DIR` override both (the test suite uses this to get a lab of its own);
 * - a stack's lab (`vpm lab up --stack S`): prefix `s<name><hash>-` derived from S and the checkout
 *   (stackLabPrefix: up to 5 of its letters/digits, 4 hex digits of the SHA-256 of the checkout's
 *   path and the stack name, so two clones never share a lab, and `pr-42` is
 *   `spr42xxxx-`), directory `<repo>/.labs/S/`. Stack prefixes start with `s`, so they never
 *   equal the plain lab's or anyone's `vpm…-` prefix, and (one '-', at the end) no lab's
 *   namespaces ever start with another lab's prefix: `lab down` of one lab cannot see another's.
 * Per lab:
 *     .lab/inventory.json            what `lab up` built (the lab runs iff it exists + namespaces do)
 *     .lab/hosts.yaml                the hypervisors as a hosts file (what the stacks read: vpm:hosts)
 *     .lab/pids.json                 every daemon `lab up` started: {name, pid, startTime, comm}
 *     .lab/id_ed25519{,.pub}         the lab's client key (fresh per `lab up`)
 *     .lab/authorized_keys           that key, for every hypervisor's sshd
 *     .lab/known_hosts               "10.250.0.11 ssh-ed25519 AAAA..." per hypervisor
 *     .lab/hK/ovs/                   OVS_RUNDIR = OVS_DBDIR = OVS_LOGDIR = OVS_SYSCONFDIR of hK
 *     .lab/hK/ssh/                   hK's sshd: host key, sshd_config, sshd.pid, sshd.log
 * - Network namespaces: `<prefix>ul` (underlay LAN: Linux bridge `ul0`, 10.250.0.1),
 *   `<prefix>h1..hN` (hypervisors), `<prefix>r1..rM` (receivers). Every `<prefix>*`
 *   namespace belongs to that lab; its `lab down` deletes them all.
 * - Links: in `vpmlab-ul`, veth `hK` / `rK` (enslaved to ul0) whose peer is `eth0` inside
 *   the node's namespace. Hypervisors: OVS bridge `br0` (netdev) holds eth0 and the address.
 * - Underlay 10.250.0.0/24: ul0 = .1, hypervisor hK = .(10+K), receiver rK = .(200+K). The
 *   same addresses in every lab, on purpose: each lab's LAN lives in its own namespaces (no
 *   address is shared with the root namespace or another lab), and topologies name receivers
 *   by address (stacks/topologies/lab.yaml: r1 = 10.250.0.201), so one topology file deploys
 *   unchanged on any stack's lab — what a pull-request preview on `pr-N` needs.
 * - MACs (KK = K as two hex digits): hK br0 02:56:50:00:00:KK, hK eth0 02:56:51:00:00:KK,
 *   rK eth0 02:56:52:00:00:KK, ul side of hK 02:56:53:00:00:KK, of rK 02:56:54:00:00:KK,
 *   ul0 02:56:55:00:00:01. (0x56 0x50 = "VP".)
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from '../contracts/root';

/** A namespace prefix: 1..11 lower-case letters/digits (a letter first) and one trailing '-'. */
export const NS_PREFIX_RE = /^[a-z][a-z0-9]{0,10}-$/;

/**
 * The plain lab's prefix: VPM_LAB_NS_PREFIX (with VPM_LAB_DIR) selects another plain lab, e.g.
 * the test suite's own (jest.config.js).
 */
export const NS_PREFIX = labNsPrefix(process.env.VPM_LAB_NS_PREFIX);

function labNsPrefix(value: string | undefined): string {
  if (value === undefined || value === '') return 'vpmlab-';
  if (!NS_PREFIX_RE.test(value)) {
    throw new Error(`VPM_LAB_NS_PREFIX=${JSON.stringify(value)} is invalid: use 1..11 lower-case letters/digits and a trailing '-', e.g. "vpmdev-"`);
  }
  return value;
}

/** Stack names as Pulumi allows them (the same rule as monitor/pulumi.ts STACK_NAME_RE). */
const STACK_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * The namespace prefix of stack `stack`'s lab: `s` + up to 5 of its letters/digits (lower
 * case) + 4 hex digits of its SHA-256 + `-`. Readable (`lab` -> `slab…-`), stable, different
 * for stacks that share their first letters, and never one of the `vpm…-` prefixes.
 */
export function stackLabPrefix(stack: string, root: string = repoRoot()): string {
  if (!STACK_RE.test(stack)) {
    throw new Error(`stack name ${JSON.stringify(stack)} is invalid: use letters, digits, _ . - (starting with a letter or digit)`);
  }
  const readable = stack.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 5);
  // The checkout is part of the hash: two clones' `npm run lab` (both stack `lab`) get two labs.
  const hash = createHash('sha256').update(`${path.resolve(root)}\0${stack}`).digest('hex').slice(0, 4);
  return `s${readable}${hash}-`;
}

/**
 * Where one lab lives: its namespace prefix and its state directory. Every name of the lab
 * (namespaces, paths) comes from here; see the module header for both kinds of lab.
 */
export class LabSite {
  constructor(
    readonly prefix: string,
    readonly paths: LabPaths,
    /** The stack this lab belongs to (`vpm lab up --stack S`); absent for the plain lab. */
    readonly stack?: string,
  ) {
    if (!NS_PREFIX_RE.test(prefix)) throw new Error(`lab namespace prefix ${JSON.stringify(prefix)} is invalid: 1..11 lower-case letters/digits and a trailing '-'`);
  }

  /** The plain lab: `vpmlab-` and `<repo>/.lab`, or VPM_LAB_NS_PREFIX / VPM_LAB_DIR. */
  static plain(): LabSite {
    return new LabSite(NS_PREFIX, LabPaths.default());
  }

  /** Stack `stack`'s own lab: a prefix derived from its name, state in `<repo>/.labs/<stack>`. */
  static forStack(stack: string, root: string = repoRoot()): LabSite {
    return new LabSite(stackLabPrefix(stack, root), new LabPaths(path.join(root, '.labs', stack)), stack);
  }

  /**
   * The lab stack `stack` deploys on when nothing says otherwise: its own lab when it has one
   * (`vpm lab up --stack S` wrote `.labs/S/inventory.json`), else the plain lab. The stack
   * program's default `vpm:hosts` and `vpm stream --stack S` follow this one rule.
   */
  static deployedOn(stack: string, root: string = repoRoot()): LabSite {
    const own = LabSite.forStack(stack, root);
    return fs.existsSync(own.paths.inventory) ? own : LabSite.plain();
  }

  /** `--stack S` selects S's lab; no stack, the plain lab. */
  static of(stack?: string): LabSite {
    return stack ? LabSite.forStack(stack) : LabSite.plain();
  }

  get underlayNs(): string {
    return `${this.prefix}ul`;
  }

  /** True for this lab's namespaces only (see the module header for why prefixes never overlap). */
  ownsNamespace(ns: string): boolean {
    return ns.startsWith(this.prefix);
  }

  hypervisor(k: number): HypervisorNames {
    return hypervisorNames(k, this.prefix);
  }

  receiver(k: number): ReceiverNames {
    return receiverNames(k, this.prefix);
  }

  /** For messages: "stack S's lab (prefix, dir)" or "the lab (prefix, dir)". */
  describe(): string {
    return `${this.stack ? `stack ${this.stack}'s lab` : 'the lab'} (namespaces ${this.prefix}*, ${this.paths.dir})`;
  }

  /** The `vpm lab` flag that selects this lab again, for messages: " --stack S" or "". */
  get flag(): string {
    return this.stack ? ` --stack ${this.stack}` : '';
  }
}

export const UNDERLAY_NS = `${NS_PREFIX}ul`;
export const UNDERLAY_BRIDGE = 'ul0';
export const UNDERLAY_CIDR = '10.250.0.0/24';
export const UNDERLAY_PREFIXLEN = 24;
export const UNDERLAY_IP = '10.250.0.1';
export const UNDERLAY_MAC = '02:56:55:00:00:01';
export const HYPERVISOR_BRIDGE = 'br0';
export const NODE_IFACE = 'eth0';

/**
 * Hypervisors h1..h64 at 10.250.0.11..74 (below the receivers' .201..208); the names stay
 * short whatever the prefix (issue #18): interfaces are `hK`/`rK`/`eth0`/`br0` inside the
 * lab's own namespaces (at most 3 characters of the 15 Linux allows), only namespace names
 * carry the prefix, and MACs take K as two hex digits (0x40 at 64).
 */
export const MAX_HYPERVISORS = 64;
export const MAX_RECEIVERS = 8;
/** Linux's longest interface name (IFNAMSIZ - 1). */
export const MAX_IFACE_NAME = 15;

function hex2(k: number): string {
  return k.toString(16).padStart(2, '0');
}

/** K of a lab hypervisor name `hK`, or undefined for any other name. */
export function hypervisorIndexOf(name: string): number | undefined {
  const m = /^h([1-9]\d?)$/.exec(name);
  return m && Number(m[1]) <= MAX_HYPERVISORS ? Number(m[1]) : undefined;
}

/** K of a lab receiver address 10.250.0.(200+K), or undefined for any other address. */
export function receiverIndexOf(ip: string): number | undefined {
  const m = /^10\.250\.0\.(\d{3})$/.exec(ip);
  const k = m ? Number(m[1]) - 200 : NaN;
  return Number.isInteger(k) && k >= 1 && k <= MAX_RECEIVERS ? k : undefined;
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

export function hypervisorNames(k: number, prefix: string = NS_PREFIX): HypervisorNames {
  checkIndex('hypervisor', k, MAX_HYPERVISORS);
  return {
    index: k,
    name: `h${k}`,
    netns: `${prefix}h${k}`,
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

export function receiverNames(k: number, prefix: string = NS_PREFIX): ReceiverNames {
  checkIndex('receiver', k, MAX_RECEIVERS);
  return {
    index: k,
    name: `r${k}`,
    netns: `${prefix}r${k}`,
    ip: `10.250.0.${200 + k}`,
    mac: `02:56:52:00:00:${hex2(k)}`,
    ulIface: `r${k}`,
    ulMac: `02:56:54:00:00:${hex2(k)}`,
  };
}

/** The repository root: the nearest ancestor of `from` (default: contracts/) with a package.json. */
export const repoRoot: (from?: string) => string = projectRoot;

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
