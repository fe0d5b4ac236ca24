/**
 * providers/libvirt/domain.ts is generic: the caller's kernel, initrd, command line, emulator
 * and NIC go into the XML as given; without an emulator there is no <emulator> element
 * (libvirt picks its default). The lab's guest (lab/libvirt/guest.ts) gives its wrapper.
 */
import { domainXml } from '../../../providers/libvirt/domain';
import { defaultEmulator } from '../../../lab/libvirt/guest';

const o = {
  name: 'v1',
  memoryMiB: 96,
  vcpus: 1,
  kernel: '/srv/vpm/vmlinux',
  initrd: '/srv/vpm/initrd.img',
  cmdline: 'console=ttyS0 quiet vpm.ip=10.99.0.5/16',
  interface: { type: 'ethernet' as const, tap: 'vpm-v1', mac: '52:54:00:56:50:02' },
};

test('the caller gives the emulator', () => {
  const xml = domainXml({ ...o, emulator: '/usr/bin/qemu-system-x86_64' });
  expect(xml).toContain('    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    <interface type=\'ethernet\'>');
  expect(xml).toContain('    <kernel>/srv/vpm/vmlinux</kernel>\n    <initrd>/srv/vpm/initrd.img</initrd>\n    <cmdline>console=ttyS0 quiet vpm.ip=10.99.0.5/16</cmdline>');
});

test('no emulator given: none in the XML, nothing of the lab', () => {
  const xml = domainXml(o);
  expect(xml).not.toContain('<emulator>');
  expect(xml).not.toContain('.cache/vpm');
  expect(xml).toContain("  <devices>\n    <interface type='ethernet'>");
});

test("the lab's wrapper lives in the lab", () => {
  expect(defaultEmulator({ VPM_CACHE: '/c' })).toBe('/c/guest/qemu-system-x86_64-vpm');
  expect(domainXml({ ...o, emulator: defaultEmulator({ VPM_CACHE: '/c' }) })).toContain('<emulator>/c/guest/qemu-system-x86_64-vpm</emulator>');
});
