/**
 * Libvirt domain XML for a directly booted guest: the caller gives the kernel, initramfs,
 * kernel command line, emulator and devices (one network interface, the serial console log);
 * nothing here knows a particular guest image (the lab's guest, its cache dir and emulator
 * wrapper, and its command line live in lab/libvirt/guest.ts and
 * components/streaming-tree/guest.ts).
 *
 * The machine: TCG (`type='qemu'`), q35, a qemu64 CPU, no disk, virtio-net without checksum
 * offload, serial console on a pty whose output is also logged to a file. Every value is
 * validated and XML-escaped. Without `emulator` the XML has no <emulator> element and
 * libvirt picks the host's default QEMU for the machine type.
 */
import * as path from 'node:path';
import { ValidationError } from '../exec/errors';

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
  /** Guest RAM (the lab's guest needs 96 MiB: 80 runs out of memory, 64 does not boot). */
  readonly memoryMiB: number;
  readonly vcpus: number;
  /** Absolute paths (on the hypervisor) of the kernel and the initramfs. */
  readonly kernel: string;
  readonly initrd: string;
  /** Kernel command line, one line (the guest image defines its keys). */
  readonly cmdline: string;
  readonly interface: DomainInterface;
  /** QEMU binary or wrapper on the hypervisor; default: none given, libvirt's own choice. */
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

/** Escapes text for XML element content and attribute values (either quote). */
export function xmlEscape(value: string): string {
  return value.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;',
  );
}

export type Problem = { property: string; reason: string };

function checkPath(problems: Problem[], property: string, value: unknown): void {
  if (typeof value !== 'string' || !path.isAbsolute(value) || /[\0\n\r]/.test(value)) {
    problems.push({ property, reason: `must be an absolute path without control characters, got ${JSON.stringify(value)}` });
  }
}

/** Adds a problem unless value is an integer in min..max. */
export function checkInt(problems: Problem[], property: string, value: unknown, min: number, max: number): void {
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

/** The libvirt domain XML for a directly booted guest. */
export function domainXml(o: DomainXmlOptions): string {
  validateDomainOptions(o);
  const e = xmlEscape;
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
    ...(o.emulator !== undefined ? [`    <emulator>${e(o.emulator)}</emulator>`] : []),
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
