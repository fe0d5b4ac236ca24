/**
 * An overlay on the lab for FlowPath tests and benches, built with the providers themselves
 * (check + create, as the engine calls them): br1 + patch pair on each hypervisor, GRE
 * tunnels, the stream source (an internal port on the root's br1 with an overlay address),
 * and a VM stand-in (a namespace joined to br1 by a veth, running a relay process).
 *
 * Port numbers on br1 (fixed, so every flow is known before anything exists):
 *   1          patch port to br0 (the leaf's exit)
 *   2          src0, the stream source at the root (components/streaming-tree/ports.ts)
 *   20         the VM stand-in's port
 *   100 + K    the GRE port toward hypervisor hK ("gre-hK")
 * Overlay addresses: 10.99.0.0/24, source .1, VM stand-in .20; the stream goes to the
 * overlay broadcast 10.99.0.255 (sink or swim: only a path's flows carry it anywhere).
 */
import type { Inventory } from '../inventory';
import { NS_PREFIX } from '../names';
import { sh } from '../sh';
import type { ConnectionSpec } from '../../providers/exec/connection';
import { provider as bridgeProvider } from '../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../providers/gre-tunnel/provider';
import { provider as pathProvider } from '../../providers/flow-path/provider';
import type { FlowPathOutputs } from '../../providers/flow-path/types';
import { labConnection } from '../connections';
import { LabHosts } from './lab-hosts';
import { UdpRelay } from '../stream/measure';

export const PATCH_OFPORT = 1;
export const SOURCE_OFPORT = 2;
export const SOURCE_PORT = 'src0';
export const VM_OFPORT = 20;
export const OVERLAY_NET = '10.99.0';
export const SOURCE_IP = `${OVERLAY_NET}.1`;
export const VM_IP = `${OVERLAY_NET}.20`;
export const OVERLAY_BROADCAST = `${OVERLAY_NET}.255`;
/** The VM stand-in relays to this unicast address (permanent neighbour entry): sending to the
 *  broadcast address would loop back to its own socket. */
export const VM_NEXT_IP = `${OVERLAY_NET}.254`;
export const VM_NEXT_MAC = '02:56:99:00:00:fe';
export const STREAM_PORT = 5004;

export const greOfport = (peer: string): number => 100 + hvIndex(peer);
export const greName = (peer: string): string => `gre-${peer}`;

function hvIndex(name: string): number {
  const m = /^h([0-9]+)$/.exec(name);
  if (!m) throw new Error(`not a lab hypervisor name: ${name}`);
  return Number(m[1]);
}

type Provider = typeof pathProvider;
interface Created {
  id: string;
  outs: any;
}

async function checked(p: Provider, news: Record<string, unknown>, olds: Record<string, unknown> = {}): Promise<any> {
  const c = (await p.check!(olds, news)) as { inputs?: any; failures?: Array<{ property: string; reason: string }> };
  if (c.failures?.length) throw new Error(`check failed: ${c.failures.map((f) => `${f.property}: ${f.reason}`).join('; ')}`);
  return c.inputs;
}

/** A VM stand-in: namespace + veth into a hypervisor's br1 + relay process. */
export interface VmStandIn {
  readonly hypervisor: string;
  readonly netns: string;
  readonly hvIface: string;
  readonly ofport: number;
  relay?: UdpRelay;
}

export class FlowLab {
  readonly hosts: LabHosts;
  private readonly bridges = new Map<string, Created>();
  private readonly tunnels: Created[] = [];
  private readonly vms: VmStandIn[] = [];

  constructor(readonly inventory: Inventory, readonly stack = 'flowlab') {
    this.hosts = new LabHosts(inventory);
  }

  conn(name: string): ConnectionSpec {
    return labConnection(this.inventory, name);
  }

  hv(name: string): Inventory['hypervisors'][number] {
    const h = this.inventory.hypervisors.find((x) => x.name === name);
    if (!h) throw new Error(`no hypervisor ${name} in the lab`);
    return h;
  }

  receiver(name: string): Inventory['receivers'][number] {
    const r = this.inventory.receivers.find((x) => x.name === name);
    if (!r) throw new Error(`no receiver ${name} in the lab`);
    return r;
  }

  /** br1 + patch pair (patch = port 1); `source` adds src0 (port 2) with the overlay source address. */
  async bridge(name: string, { source = false } = {}): Promise<void> {
    const inputs = await checked(bridgeProvider as Provider, {
      connection: this.conn(name),
      owner: `vpm/${this.stack}/br1-${name}`,
      name: 'br1',
      patch: { overlayOfport: PATCH_OFPORT },
      ...(source ? { internalPorts: [{ name: SOURCE_PORT, ofport: SOURCE_OFPORT }] } : {}),
    });
    const r = (await bridgeProvider.create!(inputs)) as Created;
    this.bridges.set(name, r);
    if (source) {
      await this.hosts.must(name, ['ip', 'addr', 'replace', `${SOURCE_IP}/24`, 'dev', SOURCE_PORT]);
      await this.hosts.must(name, ['ip', 'link', 'set', SOURCE_PORT, 'up']);
      // The source's kernel sends into OVS: no partial checksums (LAB-NOTES, checksum offload).
      await this.hosts.must(name, ['ethtool', '-K', SOURCE_PORT, 'tx', 'off']);
    }
  }

  /** A GRE tunnel between two hypervisors' br1 (ports gre-<peer>, 100 + peer index). */
  async tunnel(x: string, y: string): Promise<void> {
    const end = (a: string, b: string) => ({ connection: this.conn(a), bridge: 'br1', remoteIp: this.hv(b).ip, portName: greName(b), ofport: greOfport(b) });
    const inputs = await checked(tunnelProvider as Provider, { owner: `vpm/${this.stack}/gre-${x}-${y}`, a: end(x, y), b: end(y, x) });
    this.tunnels.push((await tunnelProvider.create!(inputs)) as Created);
  }

  /**
   * The FlowPath inputs of a path along `chain` (root first, leaf last) to `receiver`.
   * `vm` puts the VM stand-in's port on that hop (vmPort).
   */
  pathArgs(pathId: string, chain: readonly string[], receiver: string, opts: { vm?: { node: string; port: number }; udpDst?: number } = {}): Record<string, unknown> {
    const r = this.receiver(receiver);
    const leaf = this.hv(chain[chain.length - 1]);
    return {
      pathId,
      stream: { udpDst: opts.udpDst ?? STREAM_PORT },
      hops: chain.map((node, i) => ({
        node,
        connection: this.conn(node),
        bridge: 'br1',
        inPort: i === 0 ? SOURCE_OFPORT : greOfport(chain[i - 1]),
        outPort: i === chain.length - 1 ? PATCH_OFPORT : greOfport(chain[i + 1]),
        ...(opts.vm && opts.vm.node === node ? { vmPort: opts.vm.port } : {}),
      })),
      egress: { receiverIp: r.ip, receiverMac: r.mac, srcMac: leaf.mac },
    };
  }

  /** check + create of a FlowPath (as the engine calls them). */
  async createPath(args: Record<string, unknown>): Promise<{ id: string; outs: FlowPathOutputs }> {
    const inputs = await checked(pathProvider, args);
    return (await pathProvider.create!(inputs)) as { id: string; outs: FlowPathOutputs };
  }

  async checkPath(args: Record<string, unknown>): Promise<any> {
    return checked(pathProvider, args);
  }

  async deletePath(p: { id: string; outs: FlowPathOutputs }): Promise<void> {
    await pathProvider.delete!(p.id, p.outs);
  }

  /**
   * A VM stand-in on `hypervisor`: namespace <prefix>vm-<hv> with eth0 (VM_IP), its veth peer
   * "vm0" on br1 as port `ofport`; tx offload off on the end that sends into OVS; a permanent
   * neighbour for VM_NEXT_IP; a relay from STREAM_PORT to VM_NEXT_IP:STREAM_PORT.
   */
  async vmStandIn(hypervisor: string, ofport = VM_OFPORT): Promise<VmStandIn> {
    const netns = `${NS_PREFIX}vm-${hypervisor}`;
    const hvNs = this.hv(hypervisor).netns;
    const hvIface = 'vm0';
    const vm: VmStandIn = { hypervisor, netns, hvIface, ofport };
    this.vms.push(vm);
    const ip = (...args: string[]) => sh(['ip', ...args], { where: 'root namespace' });
    await ip('netns', 'add', netns);
    await ip('-n', hvNs, 'link', 'add', hvIface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns);
    await ip('-n', hvNs, 'link', 'set', hvIface, 'up');
    await ip('-n', netns, 'link', 'set', 'lo', 'up');
    await ip('-n', netns, 'addr', 'add', `${VM_IP}/24`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'eth0', 'up');
    await ip('-n', netns, 'neigh', 'replace', VM_NEXT_IP, 'lladdr', VM_NEXT_MAC, 'dev', 'eth0', 'nud', 'permanent');
    await sh(['ip', 'netns', 'exec', netns, 'ethtool', '-K', 'eth0', 'tx', 'off'], { where: netns });
    await this.hosts.must(hypervisor, ['ovs-vsctl', 'add-port', 'br1', hvIface, '--', 'set', 'Interface', hvIface, `ofport_request=${ofport}`]);
    const got = (await this.hosts.get(hypervisor, 'Interface', hvIface, 'ofport'))[0];
    if (Number(got) !== ofport) throw new Error(`${hypervisor}: ${hvIface} got ofport ${got}, wanted ${ofport}`);
    vm.relay = await UdpRelay.start(netns, { port: STREAM_PORT, toIp: VM_NEXT_IP, toPort: STREAM_PORT, selfIp: VM_IP });
    return vm;
  }

  async removeVmStandIn(vm: VmStandIn): Promise<void> {
    vm.relay?.kill();
    await this.hosts.exec(vm.hypervisor, ['ovs-vsctl', '--if-exists', 'del-port', 'br1', vm.hvIface]);
    await sh(['ip', 'netns', 'del', vm.netns], { okCodes: 'any' });
    const i = this.vms.indexOf(vm);
    if (i >= 0) this.vms.splice(i, 1);
  }

  /** VPM flows (cookie 0x56.. / 0x57..) and groups left on a hypervisor's bridges. */
  async vpmOpenFlowLeftovers(name: string): Promise<string[]> {
    const left: string[] = [];
    for (const br of await this.hosts.bridges(name)) {
      for (const f of await this.hosts.flows(name, br)) if (/cookie=0x5[67]/.test(f)) left.push(`${name} ${br} flow ${f}`);
      const groups = await this.hosts.must(name, ['ovs-ofctl', '-O', 'OpenFlow15', 'dump-groups', br]);
      for (const g of groups.split('\n').map((l) => l.trim())) if (/^group_id=/.test(g)) left.push(`${name} ${br} group ${g}`);
    }
    return left;
  }

  /** Takes down everything this overlay created (VM stand-ins, tunnels, bridges). */
  async teardown(): Promise<void> {
    for (const vm of [...this.vms]) await this.removeVmStandIn(vm).catch(() => undefined);
    for (const t of this.tunnels.splice(0).reverse()) await tunnelProvider.delete!(t.id, t.outs).catch(() => undefined);
    for (const [, b] of [...this.bridges]) await bridgeProvider.delete!(b.id, b.outs).catch(() => undefined);
    this.bridges.clear();
  }
}
