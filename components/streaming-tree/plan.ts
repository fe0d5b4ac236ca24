/**
 * The pure plan of a streaming tree: from a validated topology, the VMs' placement and the
 * hosts' facts, which bridges, tunnels, paths and VMs exist and with which ports. No Pulumi,
 * no processes: the component (component.ts) turns this data into resources, and tests check
 * it directly.
 *
 * Placement: a VM runs on its topology node unless `placement` moves it. A path whose
 * declared leaf hosts a VM in the topology follows that VM: its effective leaf is where the
 * VM is placed. Its resource name and pathId carry the effective leaf ("<path id>@<leaf>"),
 * so moving the VM creates the new path and deletes the old one (the clone-path order of
 * DESIGN.md), never replaces a path in place.
 */
import { computeTree, TreeRoutes, type Link, type Topology } from '../topology';
import { TopologyError, topologyError } from '../topology/errors';
import { PATCH_OFPORT, SOURCE_OFPORT, SOURCE_PORT_NAME, tunnelOfports, tunnelPortName, vmIp, vmMac, vmOfports, vmTapName } from './ports';

export interface HostFacts {
  /** Underlay IP (GRE endpoint) and the physical bridge's MAC. */
  readonly underlayIp: string;
  readonly underlayMac: string;
}

export interface PlannedTunnelEnd {
  readonly node: string;
  readonly host: string;
  readonly portName: string;
  readonly ofport: number;
  readonly remoteIp: string;
}

export interface PlannedHop {
  readonly node: string;
  readonly host: string;
  readonly inPort: number;
  readonly outPort: number;
  readonly vmPort?: number;
  readonly vmMac?: string;
  readonly vmIp?: string;
  readonly neighbours: { ip: string; mac: string }[];
}

export interface PlannedPath {
  /** Resource name and FlowPath pathId: "<declared path id>@<effective leaf>". */
  readonly name: string;
  readonly declaredId: string;
  readonly leaf: string;
  readonly nodes: string[];
  readonly hops: PlannedHop[];
  readonly receiver: { ip: string; mac?: string };
  readonly udpDst: number;
  readonly srcIp?: string;
  /** The leaf's physical MAC (source MAC on the receiver's LAN). */
  readonly srcMac: string;
}

export interface PlannedVm {
  readonly name: string;
  readonly node: string;
  readonly host: string;
  readonly role: string;
  readonly tap: string;
  readonly ofport: number;
  readonly mac: string;
  readonly ip: string;
  /** The UDP port the VM relays (the first path through it). */
  readonly udpPort?: number;
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly image?: string;
  /** Paths that deliver to this VM's node (the domain depends on them). */
  readonly paths: string[];
}

export interface TreePlan {
  readonly root: string;
  readonly tree: Link[];
  readonly redundancy: Link[];
  readonly pruned: string[];
  readonly bridges: { node: string; host: string; internalPorts: { name: string; ofport: number }[] }[];
  readonly tunnels: { name: string; a: PlannedTunnelEnd; b: PlannedTunnelEnd }[];
  readonly paths: PlannedPath[];
  readonly vms: PlannedVm[];
}

export function planTree(topology: Topology, hosts: Readonly<Record<string, HostFacts>>, placement: Readonly<Record<string, string>> = {}): TreePlan {
  const nodes = new Map(topology.nodes.map((n) => [n.id, n]));
  const problems: { path: string; message: string }[] = [];
  topology.nodes.forEach((n, i) => {
    if (!n.failed && !hosts[n.host]) {
      problems.push({ path: `nodes[${i}].host`, message: `host "${n.host}" is not in the inventory; add it to the stack's hosts (known: ${Object.keys(hosts).join(', ') || 'none'})` });
    }
  });
  for (const [vm, node] of Object.entries(placement)) {
    const declared = topology.vms.find((v) => v.name === vm);
    const target = nodes.get(node);
    if (!declared) problems.push({ path: `placement.${vm}`, message: `no VM "${vm}" in the topology; use one of ${topology.vms.map((v) => v.name).join(', ') || '(none)'}` });
    else if (!target) problems.push({ path: `placement.${vm}`, message: `unknown node "${node}"; use a node id of the topology` });
    else if (node !== declared.node && (nodes.get(declared.node)?.role !== 'leaf' || target.role !== 'leaf')) {
      problems.push({ path: `placement.${vm}`, message: `only leaf VMs move between leaves (the paper's rule): "${vm}" is on ${declared.node} (${nodes.get(declared.node)?.role ?? 'no role'}), target ${node} is ${target.role ?? 'no role'}` });
    }
  }
  if (problems.length) throw new TopologyError(problems);

  const result = computeTree(topology);
  const routes = new TreeRoutes(result.tree, result.root);
  const hostOf = (node: string) => nodes.get(node)!.host;
  const facts = (node: string) => hosts[hostOf(node)];

  // Tunnel port numbers per node: toward every tree neighbour (redundancy links: failover issue).
  const peers = new Map<string, string[]>();
  for (const l of result.tree) {
    peers.set(l.a, [...(peers.get(l.a) ?? []), l.b]);
    peers.set(l.b, [...(peers.get(l.b) ?? []), l.a]);
  }
  const ofportsOf = new Map([...peers].map(([n, ps]) => [n, tunnelOfports(ps)]));
  const tunnelPort = (node: string, peer: string) => ofportsOf.get(node)!.get(peer)!;

  const vmPorts = vmOfports(topology.vms.map((v) => v.name));
  const placed = topology.vms.map((v) => ({ ...v, at: placement[v.name] ?? v.node }));
  const vmOn = (node: string) => placed.find((v) => v.at === node);

  const paths: PlannedPath[] = topology.paths.map((p, i) => {
    const follows = placed.find((v) => v.node === p.leaf);
    const leaf = follows ? follows.at : p.leaf;
    const nodeList = routes.hopsTo(leaf, `paths[${i}].leaf`);
    const last = nodeList.length - 1;
    const hops = nodeList.map((node, k) => {
      const vm = k > 0 ? vmOn(node) : undefined;
      return {
        node,
        host: hostOf(node),
        inPort: k === 0 ? SOURCE_OFPORT : tunnelPort(node, nodeList[k - 1]),
        outPort: k === last ? PATCH_OFPORT : tunnelPort(node, nodeList[k + 1]),
        ...(vm ? { vmPort: vmPorts.get(vm.name)!, vmMac: vmMac(vm.name), vmIp: vmIp(vmPorts.get(vm.name)!) } : {}),
        neighbours: k === last ? [] : [{ ip: facts(nodeList[k + 1]).underlayIp, mac: facts(nodeList[k + 1]).underlayMac }],
      };
    });
    return {
      name: `${p.id}@${leaf}`,
      declaredId: p.id,
      leaf,
      nodes: nodeList,
      hops,
      receiver: p.receiver,
      udpDst: p.stream.udpPort,
      ...(p.stream.srcIp ? { srcIp: p.stream.srcIp } : {}),
      srcMac: facts(leaf).underlayMac,
    };
  });

  const surviving = new Set([result.root, ...result.tree.flatMap((l) => [l.a, l.b])]);
  const bridges = [...surviving].map((node) => ({
    node,
    host: hostOf(node),
    internalPorts: node === result.root ? [{ name: SOURCE_PORT_NAME, ofport: SOURCE_OFPORT }] : [],
  }));

  const end = (node: string, peer: string): PlannedTunnelEnd => ({
    node,
    host: hostOf(node),
    portName: tunnelPortName(peer),
    ofport: tunnelPort(node, peer),
    remoteIp: facts(peer).underlayIp,
  });
  const tunnels = result.tree.map((l) => ({ name: `${l.a}-${l.b}`, a: end(l.a, l.b), b: end(l.b, l.a) }));

  const vms: PlannedVm[] = placed.map((v) => {
    if (!surviving.has(v.at)) throw topologyError(`vms.${v.name}`, `VM "${v.name}" is placed on ${v.at}, which is not on the tree (pruned or failed); place it on a tree node`);
    return {
      name: v.name,
      node: v.at,
      host: hostOf(v.at),
      role: nodes.get(v.at)!.role ?? 'none',
      tap: vmTapName(v.name),
      ofport: vmPorts.get(v.name)!,
      mac: vmMac(v.name),
      ip: vmIp(vmPorts.get(v.name)!),
      ...(paths.find((p) => p.nodes.includes(v.at)) ? { udpPort: paths.find((p) => p.nodes.includes(v.at))!.udpDst } : {}),
      memoryMiB: v.memoryMiB,
      vcpus: v.vcpus,
      ...(v.image ? { image: v.image } : {}),
      paths: paths.filter((p) => p.nodes.includes(v.at)).map((p) => p.name),
    };
  });

  return { root: result.root, tree: result.tree, redundancy: result.redundancy, pruned: result.pruned, bridges, tunnels, paths, vms };
}
