/**
 * Domain XML for the lab's tiny guests, and their kernel command line.
 *
 * The guest: the Debian kernel booted directly (uncompressed vmlinux, PVH entry) plus a
 * busybox initramfs (lab/setup/build-guest.sh), TCG (`type='qemu'`: /dev/kvm here is
 * KVM_PVM and cannot run a stock kernel), q35, no disk, virtio-net, serial console on a pty
 * whose output is also logged to a file. Every value is validated and XML-escaped.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { ValidationError } from '../exec/errors';

/** Where build-guest.sh puts its output (same rule as the script). */
export function guestCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.VPM_CACHE || path.join(env.HOME || os.homedir(), '.cache', 'vpm'), 'guest');
}

/** The <emulator> wrapper installed by build-guest.sh (+8 KiB RAM: QEMU 7.2 TCG migration fix). */
export function defaultEmulator(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(guestCacheDir(env), 'qemu-system-x86_64-vpm');
}

/**
 * An unmanaged tap the caller created beforehand (`ip tuntap add TAP mode tap`, attached to
 * OVS br1 with a fixed `ofport_request`): the port exists, and flows can aim at it, before
 * the VM arrives. For migration a tap with the same name must exist on the destination.
 */
export interface EthernetInterface {
  readonly type: 'ethernet';
  readonly tap: string;
  readonly mac: string;
}

/** A tap libvirt creates and plugs into an OVS bridge (`<virtualport type='openvswitch'/>`). */
export interface OvsBridgeInterface {
  readonly type: 'bridge-ovs';
  readonly bridge: string;
  readonly mac: string;
  /** Name of the tap libvirt creates (default: libvirt picks vnetN). */
  readonly tap?: string;
  /** OVS interface id (external_ids:iface-id); default: libvirt generates one. */
  readonly interfaceId?: string;
}

export type DomainInterface = EthernetInterface | OvsBridgeInterface;

export interface DomainXmlOptions {
  readonly name: string;
  /** Guest RAM. 96 MiB works for the lab guest; 80 MiB runs out of memory, 64 MiB does not boot. */
  readonly memoryMiB: number;
  readonly vcpus: number;
  /** Absolute paths (on the hypervisor) of the kernel and the initramfs. */
  readonly kernel: string;
  readonly initrd: string;
  /** Kernel command line (see guestCmdline). */
  readonly cmdline: string;
  readonly interface: DomainInterface;
  /** QEMU binary or wrapper; default: build-guest.sh's wrapper in the cache dir. */
  readonly emulator?: string;
  /** Serial console log as libvirtd sees it; default /var/log/libvirt/qemu/<name>.console.log. */
  readonly consoleLog?: string;
  /** TCG translation cache in MiB (QEMU's default is 1 GiB); default 32. */
  readonly tbCacheMiB?: number;
  readonly uuid?: string;
  readonly title?: string;
}

export const DOMAIN_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Linux interface names: at most 15 bytes, no '/', ':' or whitespace. */
export const IFNAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Escapes text for XML element content and attribute values (either quote). */
export function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

type Problem = { property: string; reason: string };

function checkPath(problems: Problem[], property: string, value: unknown): void {
  if (typeof value !== 'string' || !path.isAbsolute(value) || /[\0\n\r]/.test(value)) {
    problems.push({ property, reason: `must be an absolute path without control characters, got ${JSON.stringify(value)}` });
  }
}

function checkInt(problems: Problem[], property: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push({ property, reason: `must be an integer in ${min}..${max}, got ${JSON.stringify(value)}` });
  }
}

export function isValidMac(mac: string): boolean {
  // libvirt refuses multicast MACs (lowest bit of the first octet set).
  return MAC_RE.test(mac) && (Number.parseInt(mac.slice(0, 2), 16) & 1) === 0;
}

export function isValidIfName(name: string): boolean {
  return IFNAME_RE.test(name) && name !== '.' && name !== '..';
}

/** Validates options; throws ValidationError listing every problem. */
export function validateDomainOptions(o: DomainXmlOptions): void {
  const p: Problem[] = [];
  if (typeof o.name !== 'string' || !DOMAIN_NAME_RE.test(o.name)) {
    p.push({ property: 'name', reason: `must match ${DOMAIN_NAME_RE}, got ${JSON.stringify(o.name)}` });
  }
  checkInt(p, 'memoryMiB', o.memoryMiB, 16, 1 << 20);
  checkInt(p, 'vcpus', o.vcpus, 1, 64);
  checkPath(p, 'kernel', o.kernel);
  checkPath(p, 'initrd', o.initrd);
  if (typeof o.cmdline !== 'string' || /[\0\n\r]/.test(o.cmdline) || o.cmdline.length > 2000) {
    p.push({ property: 'cmdline', reason: 'must be one line of at most 2000 characters' });
  }
  if (o.emulator !== undefined) checkPath(p, 'emulator', o.emulator);
  if (o.consoleLog !== undefined) checkPath(p, 'consoleLog', o.consoleLog);
  if (o.tbCacheMiB !== undefined) checkInt(p, 'tbCacheMiB', o.tbCacheMiB, 1, 4096);
  if (o.uuid !== undefined && !UUID_RE.test(o.uuid)) p.push({ property: 'uuid', reason: 'must be a UUID' });
  if (o.title !== undefined && (typeof o.title !== 'string' || /[\0\n\r]/.test(o.title))) {
    p.push({ property: 'title', reason: 'must be one line' });
  }
  const i = o.interface as DomainInterface | undefined;
  if (!i || (i.type !== 'ethernet' && i.type !== 'bridge-ovs')) {
    p.push({ property: 'interface.type', reason: "must be 'ethernet' or 'bridge-ovs'" });
  } else {
    if (typeof i.mac !== 'string' || !isValidMac(i.mac)) {
      p.push({ property: 'interface.mac', reason: `must be a unicast MAC like 52:54:00:12:34:56, got ${JSON.stringify(i.mac)}` });
    }
    if (i.type === 'ethernet') {
      if (typeof i.tap !== 'string' || !isValidIfName(i.tap)) {
        p.push({ property: 'interface.tap', reason: `must be an interface name (${IFNAME_RE}), got ${JSON.stringify(i.tap)}` });
      }
    } else {
      if (typeof i.bridge !== 'string' || !isValidIfName(i.bridge)) {
        p.push({ property: 'interface.bridge', reason: `must be a bridge name (${IFNAME_RE}), got ${JSON.stringify(i.bridge)}` });
      }
      if (i.tap !== undefined && (!isValidIfName(i.tap) || /^(vnet|macvtap|macvlan)/.test(i.tap))) {
        p.push({ property: 'interface.tap', reason: 'must be an interface name not starting with vnet/macvtap (libvirt reserves them)' });
      }
      if (i.interfaceId !== undefined && !UUID_RE.test(i.interfaceId)) {
        p.push({ property: 'interface.interfaceId', reason: 'must be a UUID' });
      }
    }
  }
  if (p.length) throw new ValidationError(p);
}

/** The libvirt domain XML for a lab guest. */
export function domainXml(o: DomainXmlOptions): string {
  validateDomainOptions(o);
  const e = xmlEscape;
  const emulator = o.emulator ?? defaultEmulator();
  const consoleLog = o.consoleLog ?? `/var/log/libvirt/qemu/${o.name}.console.log`;
  const tb = o.tbCacheMiB ?? 32;
  const i = o.interface;
  const nic: string[] =
    i.type === 'ethernet'
      ? [
          `    <interface type='ethernet'>`,
          `      <mac address='${e(i.mac.toLowerCase())}'/>`,
          `      <target dev='${e(i.tap)}' managed='no'/>`,
          `      <model type='virtio'/>`,
          // No checksum offload between guest and tap: OVS's userspace datapath forwards a
          // partial checksum unfixed (receivers count InCsumErrors), so the guest must compute it.
          `      <driver name='qemu'><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/><guest csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>`,
          `      <rom enabled='no'/>`,
          `    </interface>`,
        ]
      : [
          `    <interface type='bridge'>`,
          `      <mac address='${e(i.mac.toLowerCase())}'/>`,
          `      <source bridge='${e(i.bridge)}'/>`,
          i.interfaceId
            ? `      <virtualport type='openvswitch'><parameters interfaceid='${e(i.interfaceId)}'/></virtualport>`
            : `      <virtualport type='openvswitch'/>`,
          ...(i.tap ? [`      <target dev='${e(i.tap)}'/>`] : []),
          `      <model type='virtio'/>`,
          // No checksum offload between guest and tap: OVS's userspace datapath forwards a
          // partial checksum unfixed (receivers count InCsumErrors), so the guest must compute it.
          `      <driver name='qemu'><host csum='off' gso='off' tso4='off' tso6='off' ecn='off' ufo='off'/><guest csum='off' tso4='off' tso6='off' ecn='off' ufo='off'/></driver>`,
          `      <rom enabled='no'/>`,
          `    </interface>`,
        ];
  return [
    `<domain type='qemu'>`,
    `  <name>${e(o.name)}</name>`,
    ...(o.uuid ? [`  <uuid>${e(o.uuid)}</uuid>`] : []),
    ...(o.title ? [`  <title>${e(o.title)}</title>`] : []),
    `  <memory unit='MiB'>${o.memoryMiB}</memory>`,
    `  <currentMemory unit='MiB'>${o.memoryMiB}</currentMemory>`,
    `  <vcpu placement='static'>${o.vcpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='q35'>hvm</type>`,
    `    <kernel>${e(o.kernel)}</kernel>`,
    `    <initrd>${e(o.initrd)}</initrd>`,
    `    <cmdline>${e(o.cmdline)}</cmdline>`,
    `  </os>`,
    `  <features>`,
    `    <acpi/>`,
    `    <tcg><tb-cache unit='MiB'>${tb}</tb-cache></tcg>`,
    `  </features>`,
    `  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>`,
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    `    <emulator>${e(emulator)}</emulator>`,
    ...nic,
    `    <serial type='pty'>`,
    `      <log file='${e(consoleLog)}' append='on'/>`,
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='pty'><target type='serial' port='0'/></console>`,
    `    <controller type='usb' model='none'/>`,
    `    <memballoon model='none'/>`,
    `  </devices>`,
    `</domain>`,
    '',
  ].join('\n');
}

/** What the guest's /init reads from the kernel command line (lab/guest/init). */
export interface GuestCmdlineOptions {
  /** eth0 address with prefix, e.g. "10.99.0.2/24". */
  readonly ip?: string;
  readonly gw?: string;
  /** eth0 MTU; default 1450 (GRE adds 38 bytes and the userspace datapath does not fragment). */
  readonly mtu?: number;
  /** Run the relay: UDP received on listenPort is sent on to toIp:toPort. */
  readonly relay?: { readonly listenPort: number; readonly toIp: string; readonly toPort: number };
  /** The relay answers counter queries ("rx=N tx=N err=N bytes=N") on this UDP port. */
  readonly queryPort?: number;
  /** A "VPM-HB n up=... rx=..." line on the console every this many seconds. */
  readonly heartbeatSec?: number;
  readonly hostname?: string;
  /** Extra kernel parameters, each validated as one word. */
  readonly extra?: readonly string[];
}

/** The kernel command line for the lab guest: serial console, quiet, then the vpm.* keys. */
export function guestCmdline(o: GuestCmdlineOptions = {}): string {
  const p: Problem[] = [];
  const words = ['console=ttyS0', 'quiet'];
  const port = (prop: string, v: number) => checkInt(p, prop, v, 1, 65535);
  if (o.ip !== undefined) {
    const [addr, prefix, more] = o.ip.split('/');
    const n = Number(prefix);
    if (!addr || !IPV4_RE.test(addr) || more !== undefined || !/^\d{1,2}$/.test(prefix ?? '') || n > 32) {
      p.push({ property: 'ip', reason: `must be IPv4/prefix like 10.99.0.2/24, got ${JSON.stringify(o.ip)}` });
    }
    words.push(`vpm.ip=${o.ip}`);
  }
  if (o.gw !== undefined) {
    if (!IPV4_RE.test(o.gw)) p.push({ property: 'gw', reason: `must be an IPv4 address, got ${JSON.stringify(o.gw)}` });
    words.push(`vpm.gw=${o.gw}`);
  }
  if (o.mtu !== undefined) {
    checkInt(p, 'mtu', o.mtu, 576, 65535);
    words.push(`vpm.mtu=${o.mtu}`);
  }
  if (o.relay !== undefined) {
    port('relay.listenPort', o.relay.listenPort);
    port('relay.toPort', o.relay.toPort);
    if (!IPV4_RE.test(o.relay.toIp)) p.push({ property: 'relay.toIp', reason: 'must be an IPv4 address' });
    words.push(`vpm.relay=${o.relay.listenPort}:${o.relay.toIp}:${o.relay.toPort}`);
  }
  if (o.queryPort !== undefined) {
    port('queryPort', o.queryPort);
    words.push(`vpm.query=${o.queryPort}`);
  }
  if (o.heartbeatSec !== undefined) {
    checkInt(p, 'heartbeatSec', o.heartbeatSec, 1, 3600);
    words.push(`vpm.hb=${o.heartbeatSec}`);
  }
  if (o.hostname !== undefined) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(o.hostname)) p.push({ property: 'hostname', reason: 'must be a host name' });
    words.push(`vpm.name=${o.hostname}`);
  }
  for (const [k, w] of (o.extra ?? []).entries()) {
    if (!/^[A-Za-z0-9_.,:=/+-]+$/.test(w)) p.push({ property: `extra[${k}]`, reason: `must be one plain word, got ${JSON.stringify(w)}` });
    words.push(w);
  }
  if (p.length) throw new ValidationError(p);
  return words.join(' ');
}

/** Console markers printed by the guest's /init. */
export const GUEST_MARKERS = {
  init: 'VPM-GUEST-INIT',
  netUp: 'VPM-GUEST-NET-UP',
  ready: 'VPM-GUEST-READY',
  heartbeat: 'VPM-HB',
  error: 'VPM-GUEST-ERROR',
} as const;

/** Kernel messages that mean the guest is damaged (the QEMU 7.2 TCG migration bug shows as these). */
export const GUEST_TROUBLE_RE = /Oops|BUG:|Kernel panic|is not a head|general protection fault|Call Trace|soft lockup|rcu_sched self-detected|VPM-GUEST-ERROR/;
