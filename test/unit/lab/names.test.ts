/**
 * The lab's limits (issue #18: up to 64 hypervisors): every name, address and MAC of h1..h64
 * and r1..r8 is valid and distinct under the longest prefix a lab can have, and the indexes
 * outside the limits are refused with the allowed range.
 */
import {
  LabSite,
  LabPaths,
  MAX_HYPERVISORS,
  MAX_IFACE_NAME,
  MAX_RECEIVERS,
  NODE_IFACE,
  HYPERVISOR_BRIDGE,
  UNDERLAY_BRIDGE,
  hypervisorIndexOf,
  hypervisorNames,
  receiverIndexOf,
  receiverNames,
} from '../../../lab/names';

/** The longest prefixes in use: 11 characters + '-' (NS_PREFIX_RE), the test suite's `vpmt<6 hex>-`, a stack's `s<5><4 hex>-`. */
const PREFIXES = ['vpmabcdefgh-', 'vpmt0a1b2c-', 'sprxyz1a2b-', 'vpmx64-'];
const hyps = Array.from({ length: MAX_HYPERVISORS }, (_, i) => i + 1);
const rcvs = Array.from({ length: MAX_RECEIVERS }, (_, i) => i + 1);

describe('lab limits', () => {
  test('64 hypervisors and 8 receivers', () => {
    expect(MAX_HYPERVISORS).toBe(64);
    expect(MAX_RECEIVERS).toBe(8);
  });

  test('h64 is the last hypervisor: 10.250.0.74, MAC ...:40; h65 and h0 are refused with the range', () => {
    expect(hypervisorNames(64, 'vpmx64-')).toEqual({
      index: 64,
      name: 'h64',
      netns: 'vpmx64-h64',
      ip: '10.250.0.74',
      mac: '02:56:50:00:00:40',
      eth0Mac: '02:56:51:00:00:40',
      ulIface: 'h64',
      ulMac: '02:56:53:00:00:40',
    });
    expect(() => hypervisorNames(65)).toThrow('hypervisor index 65 is out of range: allowed 1..64');
    expect(() => hypervisorNames(0)).toThrow('allowed 1..64');
    expect(hypervisorIndexOf('h64')).toBe(64);
    expect(hypervisorIndexOf('h17')).toBe(17);
    expect(hypervisorIndexOf('h65')).toBeUndefined();
    expect(hypervisorIndexOf('h0')).toBeUndefined();
    expect(hypervisorIndexOf('h064')).toBeUndefined();
  });

  test.each(PREFIXES)('prefix %s: interface names fit in 15 characters, namespaces, IPs and MACs are distinct', (prefix) => {
    const site = new LabSite(prefix, new LabPaths('/tmp/x'));
    const all = [...hyps.map((k) => site.hypervisor(k)), ...rcvs.map((k) => site.receiver(k))];
    for (const n of all) {
      for (const iface of [n.ulIface, NODE_IFACE, HYPERVISOR_BRIDGE, UNDERLAY_BRIDGE]) {
        expect(iface.length).toBeLessThanOrEqual(MAX_IFACE_NAME);
        expect(iface).toMatch(/^[a-z0-9]+$/);
      }
      expect(site.ownsNamespace(n.netns)).toBe(true);
      expect(n.netns).not.toBe(site.underlayNs);
    }
    const distinct = (xs: string[]) => expect(new Set(xs).size).toBe(xs.length);
    distinct(all.map((n) => n.netns));
    distinct(all.map((n) => n.ulIface));
    distinct(all.map((n) => n.ip));
    distinct([...hyps.flatMap((k) => [site.hypervisor(k).mac, site.hypervisor(k).eth0Mac, site.hypervisor(k).ulMac]), ...rcvs.flatMap((k) => [site.receiver(k).mac, site.receiver(k).ulMac])]);
  });

  test('hypervisor and receiver addresses never meet inside 10.250.0.0/24 (ul0 is .1)', () => {
    const last = Number(hypervisorNames(MAX_HYPERVISORS).ip.split('.')[3]);
    const first = Number(receiverNames(1).ip.split('.')[3]);
    expect(Number(hypervisorNames(1).ip.split('.')[3])).toBeGreaterThan(1);
    expect(last).toBeLessThan(first);
    expect(Number(receiverNames(MAX_RECEIVERS).ip.split('.')[3])).toBeLessThan(255);
    for (const k of rcvs) expect(receiverIndexOf(receiverNames(k).ip)).toBe(k);
    for (const k of hyps) expect(receiverIndexOf(hypervisorNames(k).ip)).toBeUndefined();
  });
});
