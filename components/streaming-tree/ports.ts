/**
 * Port numbering and naming on each node's overlay bridge, fixed so that every flow is known
 * at preview and a VM's port is addressable before the VM arrives on a host:
 *   1                   the patch port to the physical bridge ("patch-ovl")
 *   2                   the stream source at the root ("src0", an internal port)
 *   100..899            VM taps: 100 + fnv1a32(vm name) mod 800, probing upwards on a clash
 *   1000..30999         GRE ports to peer node P: 1000 + fnv1a32(P) mod 30000, probing on a clash
 * Names: "gre-<peer>" and "vt-<vm>" when they fit in 15 characters, else deterministicName.
 * Overlay addresses (inside the tree only, 10.99.0.0/16): the source 10.99.0.1; a VM with tap
 * port P gets 10.99.(1 + (P-100)/128).(2 + (P-100)%128). The overlay never routes: these only
 * let a VM's kernel accept the stream (FlowPath addresses it to the VM first).
 * The same numbers on every host: a VM keeps its port number wherever it migrates.
 * Readiness: a VM's guest answers its relay's counters on UDP QUERY_PORT; the provider's probe
 * speaks from PROBE_IP / PROBE_MAC (on the overlay subnet, never a VM's or the source's).
 */
import { fnv1a32 } from '../../contracts';
import { deterministicName } from '../../providers/ovs/values';
import { VM_TAP_PREFIX } from '../../providers/migrated-domain/tap';

export const PATCH_OFPORT = 1;
export const SOURCE_OFPORT = 2;
export const SOURCE_PORT_NAME = 'src0';

function probe(base: number, span: number, key: string, taken: Set<number>): number {
  let n = fnv1a32(key) % span;
  for (let i = 0; i < span; i++, n = (n + 1) % span) {
    if (!taken.has(base + n)) {
      taken.add(base + n);
      return base + n;
    }
  }
  throw new Error(`no free port number in ${base}..${base + span - 1}`);
}

/** GRE port numbers of one node toward its peers (sorted, so the result does not depend on order). */
export function tunnelOfports(peers: readonly string[]): Map<string, number> {
  const taken = new Set<number>();
  return new Map([...peers].sort().map((p) => [p, probe(1000, 30000, p, taken)]));
}

/** VM tap port numbers, the same on every host. */
export function vmOfports(vms: readonly string[]): Map<string, number> {
  const taken = new Set<number>();
  return new Map([...vms].sort().map((v) => [v, probe(100, 800, v, taken)]));
}

export function tunnelPortName(peer: string): string {
  const plain = `gre-${peer}`;
  return plain.length <= 15 ? plain : deterministicName('gre-', [peer]);
}

export function vmTapName(vm: string): string {
  const plain = `${VM_TAP_PREFIX}${vm}`;
  return plain.length <= 15 ? plain : deterministicName(VM_TAP_PREFIX, [vm]);
}

/** A stable locally administered MAC for a VM (52:54:00 is QEMU's prefix). */
export function vmMac(vm: string): string {
  const h = fnv1a32(`mac:${vm}`);
  const b = [(h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff].map((x) => x.toString(16).padStart(2, '0'));
  return `52:54:00:${b.join(':')}`;
}

export const OVERLAY_PREFIX = 16;
export const SOURCE_IP = '10.99.0.1';
/** Where a relay VM sends its output: a multicast group needs no ARP on a sink-or-swim overlay. */
export const RELAY_GROUP = '239.255.0.1';

export function vmIp(ofport: number): string {
  const i = ofport - 100;
  return `10.99.${1 + (i >> 7)}.${2 + (i & 127)}`;
}

/** The guest relay's query port (lab/guest/init `vpm.query`): it answers any datagram. */
export const QUERY_PORT = 7000;
/** The readiness probe's address on the overlay (10.99.255.255 is the broadcast). */
export const PROBE_IP = '10.99.255.254';
export const PROBE_MAC = '02:56:50:50:52:01';
