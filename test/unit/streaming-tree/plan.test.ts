/**
 * planTree, the pure plan of a StreamingTree (components/streaming-tree/plan.ts), on the
 * shipped topologies (stacks/topologies/lab.yaml, paper.yaml): bridges, tunnels and their
 * port numbers, paths hop by hop (inPort/outPort/vmPort), VM placement (a move renames the
 * path "<id>@<new leaf>" and changes nothing else), and the errors (only leaf VMs move, the
 * error names placement.<vm>; a node on a host the inventory lacks).
 *
 * Port numbers are part of what lives on the hosts and in every stack's state: the pinned
 * literals below guard the numbering scheme (ports.ts) against silent changes.
 */
import { join } from 'node:path';
import { loadTopologyFile, parseTopology, type Topology } from '../../../components/topology';
import { planTree, type HostFacts, type TreePlan } from '../../../components/streaming-tree/plan';
import { PATCH_OFPORT, SOURCE_OFPORT, SOURCE_PORT_NAME, tunnelOfports, vmIp, vmMac, vmOfports } from '../../../components/streaming-tree/ports';
import { topologyErrorOf } from '../../support/expect';

const TOPOLOGIES = join(__dirname, '../../../stacks/topologies');
const lab = () => loadTopologyFile(join(TOPOLOGIES, 'lab.yaml'));
const paper = () => loadTopologyFile(join(TOPOLOGIES, 'paper.yaml'));

/** The lab's hypervisors h1..h5 as the inventory describes them. */
const HOSTS: Record<string, HostFacts> = Object.fromEntries(
  [1, 2, 3, 4, 5].map((k) => [`h${k}`, { underlayIp: `10.250.0.${10 + k}`, underlayMac: `02:56:50:00:00:0${k}` }]),
);
const ip = (h: string) => HOSTS[h].underlayIp;
const mac = (h: string) => HOSTS[h].underlayMac;

/** The tunnel port of `node` toward `peer` in a plan (from the tunnel ends). */
function tunnelPort(plan: TreePlan, node: string, peer: string): number {
  for (const t of plan.tunnels) {
    if (t.a.node === node && t.b.node === peer) return t.a.ofport;
    if (t.b.node === node && t.a.node === peer) return t.b.ofport;
  }
  throw new Error(`no tunnel ${node}-${peer} in the plan`);
}


describe('planTree on lab.yaml', () => {
  const plan = planTree(lab(), HOSTS);

  it('tree, redundancy and one bridge per tree node; only the root has the source port', () => {
    expect(plan.root).toBe('h1');
    expect(plan.tree).toEqual([
      { a: 'h1', b: 'h2' },
      { a: 'h2', b: 'h3' },
      { a: 'h2', b: 'h4' },
    ]);
    expect(plan.redundancy).toEqual([{ a: 'h3', b: 'h4' }]);
    expect(plan.pruned).toEqual([]);
    expect(plan.bridges).toEqual([
      { node: 'h1', host: 'h1', internalPorts: [{ name: SOURCE_PORT_NAME, ofport: SOURCE_OFPORT }] },
      { node: 'h2', host: 'h2', internalPorts: [] },
      { node: 'h3', host: 'h3', internalPorts: [] },
      { node: 'h4', host: 'h4', internalPorts: [] },
    ]);
  });

  it('one tunnel per tree link: gre-<peer> ports toward the peer underlay IP, numbers pinned and per node', () => {
    expect(plan.tunnels).toEqual([
      {
        name: 'h1-h2',
        a: { node: 'h1', host: 'h1', portName: 'gre-h2', ofport: 22823, remoteIp: ip('h2') },
        b: { node: 'h2', host: 'h2', portName: 'gre-h1', ofport: 30442, remoteIp: ip('h1') },
      },
      {
        name: 'h2-h3',
        a: { node: 'h2', host: 'h2', portName: 'gre-h3', ofport: 15204, remoteIp: ip('h3') },
        b: { node: 'h3', host: 'h3', portName: 'gre-h2', ofport: 22823, remoteIp: ip('h2') },
      },
      {
        name: 'h2-h4',
        a: { node: 'h2', host: 'h2', portName: 'gre-h4', ofport: 7585, remoteIp: ip('h4') },
        b: { node: 'h4', host: 'h4', portName: 'gre-h2', ofport: 22823, remoteIp: ip('h2') },
      },
    ]);
    // The numbers are the port scheme's: per node, over its tree neighbours.
    const h2 = tunnelOfports(['h1', 'h3', 'h4']);
    expect([tunnelPort(plan, 'h2', 'h1'), tunnelPort(plan, 'h2', 'h3'), tunnelPort(plan, 'h2', 'h4')]).toEqual([h2.get('h1'), h2.get('h3'), h2.get('h4')]);
    // No port number on a node is used twice, and none collides with the patch, source or VM range.
    for (const node of ['h1', 'h2', 'h3', 'h4']) {
      const ports = plan.tunnels.flatMap((t) => [t.a, t.b]).filter((e) => e.node === node).map((e) => e.ofport);
      expect(new Set(ports).size).toBe(ports.length);
      for (const p of ports) expect(p).toBeGreaterThanOrEqual(1000);
    }
  });

  it('the path h1 -> h2 -> h3: source port in at the root, tunnels between, the VM then the patch port at the leaf', () => {
    expect(plan.paths).toHaveLength(1);
    const p = plan.paths[0];
    expect(p).toMatchObject({ name: 'h3-5004@h3', declaredId: 'h3-5004', leaf: 'h3', nodes: ['h1', 'h2', 'h3'], udpDst: 5004, receiver: { ip: '10.250.0.201' }, srcMac: mac('h3') });
    const vmPort = vmOfports(['leafvm']).get('leafvm')!;
    expect(vmPort).toBe(416);
    expect(p.hops).toEqual([
      { node: 'h1', host: 'h1', inPort: SOURCE_OFPORT, outPort: tunnelPort(plan, 'h1', 'h2'), neighbours: [{ ip: ip('h2'), mac: mac('h2') }] },
      { node: 'h2', host: 'h2', inPort: tunnelPort(plan, 'h2', 'h1'), outPort: tunnelPort(plan, 'h2', 'h3'), neighbours: [{ ip: ip('h3'), mac: mac('h3') }] },
      {
        node: 'h3',
        host: 'h3',
        inPort: tunnelPort(plan, 'h3', 'h2'),
        outPort: PATCH_OFPORT,
        vmPort,
        vmMac: vmMac('leafvm'),
        vmIp: vmIp(vmPort),
        neighbours: [],
      },
    ]);
    expect(p.hops[2]).toMatchObject({ vmMac: '52:54:00:bc:2b:03', vmIp: '10.99.3.62' });
  });

  it('the VM: on h3 with its fixed tap, port, MAC and overlay IP; it relays the path that reaches it', () => {
    expect(plan.vms).toEqual([
      {
        name: 'leafvm',
        node: 'h3',
        host: 'h3',
        role: 'leaf',
        tap: 'vt-leafvm',
        ofport: 416,
        mac: '52:54:00:bc:2b:03',
        ip: '10.99.3.62',
        udpPort: 5004,
        memoryMiB: 96,
        vcpus: 1,
        paths: ['h3-5004@h3'],
      },
    ]);
  });

  it('placing the VM on its own node is the same plan as no placement', () => {
    expect(planTree(lab(), HOSTS, { leafvm: 'h3' })).toEqual(plan);
  });

  it('the plan does not depend on the order of links and nodes in the file', () => {
    const t = lab();
    const shuffled = parseTopology({ ...t, nodes: [...t.nodes].reverse(), links: [...t.links].reverse().map((l) => ({ a: l.b, b: l.a })) });
    const again = planTree(shuffled, HOSTS);
    expect(again.paths).toEqual(plan.paths);
    expect(again.vms).toEqual(plan.vms);
    const ends = (p: TreePlan) => p.tunnels.flatMap((x) => [x.a, x.b]).sort((x, y) => `${x.node}${x.portName}`.localeCompare(`${y.node}${y.portName}`));
    expect(ends(again)).toEqual(ends(plan));
  });
});

describe('planTree: moving the leaf VM (placement)', () => {
  const before = planTree(lab(), HOSTS);
  const after = planTree(lab(), HOSTS, { leafvm: 'h4' });

  it('the path follows the VM: a new name "@h4", hops to h4, the same VM port number there', () => {
    expect(after.paths).toHaveLength(1);
    const p = after.paths[0];
    expect(p).toMatchObject({ name: 'h3-5004@h4', declaredId: 'h3-5004', leaf: 'h4', nodes: ['h1', 'h2', 'h4'], srcMac: mac('h4'), receiver: { ip: '10.250.0.201' } });
    expect(p.hops[1]).toMatchObject({ node: 'h2', outPort: tunnelPort(after, 'h2', 'h4'), neighbours: [{ ip: ip('h4'), mac: mac('h4') }] });
    expect(p.hops[2]).toEqual({
      node: 'h4',
      host: 'h4',
      inPort: tunnelPort(after, 'h4', 'h2'),
      outPort: PATCH_OFPORT,
      vmPort: 416,
      vmMac: '52:54:00:bc:2b:03',
      vmIp: '10.99.3.62',
      neighbours: [],
    });
    // The root hop is the same: the new path shares it (one group bucket) with the old one.
    expect(p.hops[0]).toEqual(before.paths[0].hops[0]);
  });

  it('the VM moves to h4 with the same tap, port and addresses; it depends on the new path', () => {
    expect(after.vms).toEqual([{ ...before.vms[0], node: 'h4', host: 'h4', paths: ['h3-5004@h4'] }]);
  });

  it('bridges, tunnels, tree and redundancy do not change (a move is: new path, domain update, old path gone)', () => {
    expect(after.bridges).toEqual(before.bridges);
    expect(after.tunnels).toEqual(before.tunnels);
    expect(after.tree).toEqual(before.tree);
    expect(after.redundancy).toEqual(before.redundancy);
  });

  it('only leaf VMs move, only onto leaves: the error names placement.<vm>', () => {
    // A leaf VM onto the relay.
    const toRelay = topologyErrorOf(() => planTree(lab(), HOSTS, { leafvm: 'h2' }));
    expect(toRelay.problems).toEqual([{ path: 'placement.leafvm', message: expect.stringMatching(/only leaf VMs move between leaves.*h2 is relay/) }]);
    expect(toRelay.message).toMatch(/placement\.leafvm/);
    // A relay VM onto a leaf.
    const t = lab();
    const withRelayVm = parseTopology({ ...t, vms: [...t.vms, { name: 'relayvm', node: 'h2' }] });
    const fromRelay = topologyErrorOf(() => planTree(withRelayVm, HOSTS, { relayvm: 'h4' }));
    expect(fromRelay.problems).toEqual([{ path: 'placement.relayvm', message: expect.stringMatching(/only leaf VMs move.*"relayvm" is on h2 \(relay\)/) }]);
    // A relay VM that stays where it is is fine.
    expect(planTree(withRelayVm, HOSTS, { relayvm: 'h2' }).vms.map((v) => [v.name, v.host])).toEqual([
      ['leafvm', 'h3'],
      ['relayvm', 'h2'],
    ]);
  });

  it('placement of an unknown VM or onto an unknown node is refused, all problems at once', () => {
    const e = topologyErrorOf(() => planTree(lab(), HOSTS, { nope: 'h4', leafvm: 'h9' }));
    expect(e.problems.map((p) => p.path).sort()).toEqual(['placement.leafvm', 'placement.nope']);
    expect(e.problems.find((p) => p.path === 'placement.nope')!.message).toMatch(/no VM "nope" in the topology; use one of leafvm/);
    expect(e.problems.find((p) => p.path === 'placement.leafvm')!.message).toMatch(/unknown node "h9"/);
  });
});

describe('planTree: hosts', () => {
  it('a node on a host the inventory lacks is an error naming the node, the host and the known hosts', () => {
    const { h4: _gone, ...fewer } = HOSTS;
    const e = topologyErrorOf(() => planTree(lab(), fewer));
    expect(e.problems).toEqual([{ path: 'nodes[3].host', message: expect.stringMatching(/host "h4" is not in the inventory.*known: h1, h2, h3, h5/) }]);
  });

  it('a failed node needs no host', () => {
    const t = lab();
    const failed: Topology = parseTopology({ ...t, nodes: t.nodes.map((n) => (n.id === 'h4' ? { ...n, failed: true } : n)) });
    const { h4: _gone, ...fewer } = HOSTS;
    const plan = planTree(failed, fewer);
    expect(plan.bridges.map((b) => b.node)).toEqual(['h1', 'h2', 'h3']);
    expect(plan.tunnels.map((x) => x.name)).toEqual(['h1-h2', 'h2-h3']);
  });
});

describe('planTree on paper.yaml', () => {
  const plan = planTree(paper(), HOSTS);

  it('prunes the spare switch: no bridge on h5; the spare links are redundancy', () => {
    expect(plan.root).toBe('root');
    expect(plan.pruned).toEqual(['spare']);
    expect(plan.bridges.map((b) => [b.node, b.host])).toEqual([
      ['root', 'h1'],
      ['x', 'h3'],
      ['l1', 'h2'],
      ['l2', 'h4'],
    ]);
    expect(plan.bridges.find((b) => b.node === 'root')!.internalPorts).toEqual([{ name: SOURCE_PORT_NAME, ofport: SOURCE_OFPORT }]);
    expect(plan.tunnels.map((t) => t.name)).toEqual(['root-x', 'root-l1', 'x-l2']);
    expect(plan.redundancy).toEqual([
      { a: 'l1', b: 'x' },
      { a: 'l1', b: 'l2' },
    ]);
    expect(plan.tunnels.find((t) => t.name === 'x-l2')).toEqual({
      name: 'x-l2',
      a: { node: 'x', host: 'h3', portName: 'gre-l2', ofport: tunnelOfports(['l2', 'root']).get('l2'), remoteIp: ip('h4') },
      b: { node: 'l2', host: 'h4', portName: 'gre-x', ofport: tunnelOfports(['x']).get('x'), remoteIp: ip('h3') },
    });
  });

  it('two paths, each through its leaf VM; the relay x without a VM passes the stream straight on', () => {
    const [p1, p2] = plan.paths;
    const ports = vmOfports(['leafvm1', 'leafvm2']);
    expect(p1).toMatchObject({ name: 'l1-5004@l1', nodes: ['root', 'l1'], receiver: { ip: '10.250.0.255' }, srcMac: mac('h2') });
    expect(p1.hops).toEqual([
      { node: 'root', host: 'h1', inPort: SOURCE_OFPORT, outPort: tunnelPort(plan, 'root', 'l1'), neighbours: [{ ip: ip('h2'), mac: mac('h2') }] },
      { node: 'l1', host: 'h2', inPort: tunnelPort(plan, 'l1', 'root'), outPort: PATCH_OFPORT, vmPort: ports.get('leafvm1'), vmMac: vmMac('leafvm1'), vmIp: vmIp(ports.get('leafvm1')!), neighbours: [] },
    ]);
    expect(p2).toMatchObject({ name: 'l2-5004@l2', nodes: ['root', 'x', 'l2'], srcMac: mac('h4') });
    expect(p2.hops[1]).toEqual({ node: 'x', host: 'h3', inPort: tunnelPort(plan, 'x', 'root'), outPort: tunnelPort(plan, 'x', 'l2'), neighbours: [{ ip: ip('h4'), mac: mac('h4') }] });
    expect(p2.hops[2]).toMatchObject({ node: 'l2', outPort: PATCH_OFPORT, vmPort: ports.get('leafvm2') });
    // Distinct VMs get distinct ports, MACs and overlay addresses.
    expect(plan.vms.map((v) => [v.name, v.host, v.ofport, v.paths])).toEqual([
      ['leafvm1', 'h2', ports.get('leafvm1'), ['l1-5004@l1']],
      ['leafvm2', 'h4', ports.get('leafvm2'), ['l2-5004@l2']],
    ]);
    expect(new Set(plan.vms.map((v) => v.mac)).size).toBe(2);
    expect(new Set(plan.vms.map((v) => v.ip)).size).toBe(2);
  });

  it('a VM placed on the pruned switch is refused', () => {
    const e = topologyErrorOf(() => planTree(paper(), HOSTS, { leafvm1: 'spare' }));
    expect(e.problems.map((p) => p.path)).toEqual(['placement.leafvm1']);
  });
});
