/**
 * The pure plan of a streaming tree: from a validated topology, the VMs' placement and the
 * hosts' facts, which bridges, tunnels, paths and VMs exist and with which ports. No Pulumi,
 * no processes: the component (component.ts) turns this data into resources, and tests check
 * it directly.
 *
 * Placement: a VM runs on its topology node unless `placement` moves it. A path is bound to
 * the VM it goes through at its leaf: the topology's `paths[].vm`, or the one VM declared on
 * its declared leaf (validate.ts refuses a leaf with several VMs and no `vm`). The path
 * follows that VM: its effective leaf is where the VM is placed, and its last hop goes
 * through that VM's port, never through another VM that happens to share the node (two VMs
 * on one leaf each keep their own path). At a transit node the stream goes through the VM
 * placed there (the paper's relay VM); where several are, the node's `relayVm` says which,
 * else the plan refuses (nodes[i].relayVm). A path's resource name and pathId carry the
 * effective leaf ("<path id>@<leaf>"), so moving the VM creates the new path and deletes the
 * old one (the clone-path order of DESIGN.md), never replaces a path in place.
 *
 * Failover. Tunnels exist for every link of the drawn topology that survives pruning with no
 * node failed: tree links (`tunnels`) and the rest (`redundancyTunnels`: redundancy links, and
 * links of failed nodes, kept so that marking a node failed changes only paths and un-failing
 * it rebuilds nothing; remove a node from the topology to tear its tunnels down). Port numbers
 * come from that same link set, so they do not move when a node fails or returns.
 * For every path and every node R strictly inside it (a relay: the root and the leaf cannot be
 * bypassed), the hop P before R gets a backup exit and the path gets the route around R:
 * backupPath (topology engine) from P, over the live tree + redundancy links, avoiding R and
 * the hops before P (P is where R's death is seen: its tunnel to R goes down), cut where it
 * first rejoins the path after R (the *join*). Paths of the same stream that share P's
 * segment and R share one backup exit (else their buckets would differ and the stream would be
 * sent twice): the first path that has a route picks the neighbour, the others route from it.
 * A relay with no route around it is a single point of failure: listed, never ignored.
 * A backup route passes straight through its transit nodes (a VM there relays its own paths,
 * not backups); at the join the stream is handled as on the primary hop (through its VM).
 */
import { backupPath, computeTree, TreeRoutes, type Link, type Topology, type TreeResult } from '../topology';
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
  /** Where the stream goes when the next hop (a relay) dies: the tunnel to the route around it. */
  readonly backup?: { outPort: number };
}

/** A hop of a pre-installed route around a relay (FlowPath backupHops). */
export interface PlannedBackupHop {
  /** Index of the hop where the route leaves the path (the one with `backup`). */
  readonly from: number;
  readonly node: string;
  readonly host: string;
  readonly inPort: number;
  /** Absent on the join (the route's last hop, on the path after the relay). */
  readonly outPort?: number;
  readonly neighbours: { ip: string; mac: string }[];
}

/** A relay that no route avoids (for one path). */
export interface SinglePointOfFailure {
  readonly path: string;
  readonly relay: string;
  readonly reason: string;
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
  /** Routes around relays: per relay, the nodes from the hop before it to the join. */
  readonly backups: { relay: string; route: string[] }[];
  readonly backupHops: PlannedBackupHop[];
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
  /** Paths that go through this VM (the domain depends on them: they exist before it moves). */
  readonly paths: string[];
}

export interface TreePlan {
  readonly root: string;
  readonly tree: Link[];
  readonly redundancy: Link[];
  readonly pruned: string[];
  readonly bridges: { node: string; host: string; internalPorts: { name: string; ofport: number }[] }[];
  /** Tunnels of the tree links. */
  readonly tunnels: PlannedTunnel[];
  /** Tunnels of every other surviving link (redundancy, and links of failed nodes). */
  readonly redundancyTunnels: PlannedTunnel[];
  readonly paths: PlannedPath[];
  readonly singlePointsOfFailure: SinglePointOfFailure[];
  readonly vms: PlannedVm[];
}

export interface PlannedTunnel {
  readonly name: string;
  readonly a: PlannedTunnelEnd;
  readonly b: PlannedTunnelEnd;
}

/** The tree computed as if every failed node whose host is known were back (the infrastructure). */
function infrastructure(topology: Topology, hosts: Readonly<Record<string, HostFacts>>, live: TreeResult): TreeResult {
  if (!topology.nodes.some((n) => n.failed && hosts[n.host])) return live;
  try {
    return computeTree({ ...topology, nodes: topology.nodes.map((n) => (n.failed && hosts[n.host] ? { ...n, failed: false } : n)) });
  } catch {
    return live;
  }
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
  const infra = infrastructure(topology, hosts, result);
  const infraLinks = [...infra.tree, ...infra.redundancy];
  const routes = new TreeRoutes(result.tree, result.root);
  const hostOf = (node: string) => nodes.get(node)!.host;
  const facts = (node: string) => hosts[hostOf(node)];

  // Tunnel port numbers per node: toward every neighbour over tree and redundancy links.
  const peers = new Map<string, string[]>();
  for (const l of infraLinks) {
    peers.set(l.a, [...(peers.get(l.a) ?? []), l.b]);
    peers.set(l.b, [...(peers.get(l.b) ?? []), l.a]);
  }
  const ofportsOf = new Map([...peers].map(([n, ps]) => [n, tunnelOfports(ps)]));
  const tunnelPort = (node: string, peer: string) => ofportsOf.get(node)!.get(peer)!;

  const vmPorts = vmOfports(topology.vms.map((v) => v.name));
  const placed = topology.vms.map((v) => ({ ...v, at: placement[v.name] ?? v.node }));
  const binding = bindVms(topology, placed);

  const paths: PlannedPath[] = topology.paths.map((p, i) => {
    const follows = binding.leafVm(i);
    const leaf = follows ? follows.at : p.leaf;
    const nodeList = routes.hopsTo(leaf, `paths[${i}].leaf`);
    const last = nodeList.length - 1;
    const hops = nodeList.map((node, k) => {
      const vm = k === 0 ? undefined : k === last ? follows : binding.relayOn(node, p.id);
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
      backups: [],
      backupHops: [],
    };
  });
  binding.check();
  const singlePointsOfFailure = planBackups(paths, result, tunnelPort, hostOf, (n) => ({ ip: facts(n).underlayIp, mac: facts(n).underlayMac }));

  const surviving = new Set([result.root, ...result.tree.flatMap((l) => [l.a, l.b])]);
  const infraNodes = new Set([infra.root, ...infra.tree.flatMap((l) => [l.a, l.b])]);
  const bridges = [...infraNodes].map((node) => ({
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
  const tunnel = (l: Link): PlannedTunnel => ({ name: `${l.a}-${l.b}`, a: end(l.a, l.b), b: end(l.b, l.a) });
  const tunnels = result.tree.map(tunnel);
  const inTree = new Set(tunnels.map((t) => t.name));
  const redundancyTunnels = infraLinks.map(tunnel).filter((t) => !inTree.has(t.name));

  const vms: PlannedVm[] = placed.map((v) => {
    if (!surviving.has(v.at)) throw topologyError(`vms.${v.name}`, `VM "${v.name}" is placed on ${v.at}, which is not on the tree (pruned or failed); place it on a tree node`);
    // The paths this VM relays: bound to it at their leaf, or passing its node when it relays there.
    const through = paths.filter((p) => p.hops.some((h) => h.node === v.at && h.vmPort === vmPorts.get(v.name)));
    return {
      name: v.name,
      node: v.at,
      host: hostOf(v.at),
      role: nodes.get(v.at)!.role ?? 'none',
      tap: vmTapName(v.name),
      ofport: vmPorts.get(v.name)!,
      mac: vmMac(v.name),
      ip: vmIp(vmPorts.get(v.name)!),
      ...(through.length ? { udpPort: through[0].udpDst } : {}),
      memoryMiB: v.memoryMiB,
      vcpus: v.vcpus,
      ...(v.image ? { image: v.image } : {}),
      paths: through.map((p) => p.name),
    };
  });

  return { root: result.root, tree: result.tree, redundancy: result.redundancy, pruned: result.pruned, bridges, tunnels, redundancyTunnels, paths, vms, singlePointsOfFailure };
}

type PlacedVm = Topology['vms'][number] & { readonly at: string };

/**
 * Which VM each path goes through (see the header): at its leaf, the VM bound to it (its
 * `vm`, or the one VM declared on its declared leaf), wherever that VM is placed; at a transit
 * node, the VM placed there, or the node's `relayVm` when several are. A transit node with
 * several VMs and no relayVm among them is refused by check(), naming nodes[i].relayVm.
 */
function bindVms(topology: Topology, placed: readonly PlacedVm[]) {
  const problems: { path: string; message: string }[] = [];
  const ambiguous = new Map<string, { vms: string[]; paths: Set<string> }>();
  const leafVm = (i: number): PlacedVm | undefined => {
    const p = topology.paths[i];
    const candidates = p.vm !== undefined ? placed.filter((v) => v.name === p.vm) : placed.filter((v) => v.node === p.leaf);
    if (candidates.length > 1) {
      problems.push({ path: `paths[${i}].vm`, message: `is missing: the leaf "${p.leaf}" hosts ${candidates.length} VMs (${candidates.map((v) => v.name).join(', ')}); set vm: to the one this path goes through` });
    } else if (p.vm !== undefined && candidates[0]?.node !== p.leaf) {
      problems.push({ path: `paths[${i}].vm`, message: `VM "${p.vm}" is not declared on the path's leaf "${p.leaf}"; name a VM declared there` });
      return undefined;
    }
    return candidates[0];
  };
  const relayOn = (node: string, pathId: string): PlacedVm | undefined => {
    const here = placed.filter((v) => v.at === node);
    if (here.length <= 1) return here[0];
    const chosen = topology.nodes.find((n) => n.id === node)?.relayVm;
    const vm = here.find((v) => v.name === chosen);
    if (vm) return vm;
    const entry = ambiguous.get(node) ?? { vms: here.map((v) => v.name), paths: new Set<string>() };
    entry.paths.add(pathId);
    ambiguous.set(node, entry);
    return undefined;
  };
  const check = () => {
    for (const [node, { vms, paths }] of ambiguous) {
      const i = topology.nodes.findIndex((n) => n.id === node);
      problems.push({
        path: `nodes[${i}].relayVm`,
        message: `node "${node}" hosts ${vms.length} VMs here (${vms.join(', ')}) and path(s) ${[...paths].join(', ')} pass through it; set relayVm: to the one that relays them`,
      });
    }
    if (problems.length) throw new TopologyError(problems);
  };
  return { leafVm, relayOn, check };
}

/**
 * Fills in each path's backup exits and routes (see the header); returns the relays no route
 * avoids. Mutates the freshly built paths (their hops and backup lists).
 */
function planBackups(
  paths: PlannedPath[],
  live: TreeResult,
  tunnelPort: (node: string, peer: string) => number,
  hostOf: (node: string) => string,
  underlay: (node: string) => { ip: string; mac: string },
): SinglePointOfFailure[] {
  const spof: SinglePointOfFailure[] = [];
  /** The route around nodes[i] from nodes[i-1] (or from its neighbour `via`), cut at the join; or why there is none. */
  const routeAround = (nodes: string[], i: number, via?: string): string[] | string => {
    const relay = nodes[i];
    const from = nodes[i - 1];
    const avoid = new Set(nodes.slice(0, i - 1));
    if (via) avoid.add(from);
    const keep = (l: Link) => !avoid.has(l.a) && !avoid.has(l.b);
    let route: string[];
    try {
      route = backupPath(live.tree.filter(keep), live.redundancy.filter(keep), via ?? from, nodes[nodes.length - 1], relay);
    } catch (e) {
      if (!(e instanceof TopologyError)) throw e;
      const before = nodes.slice(0, i - 1);
      return `no route from ${via ?? from} to the leaf ${nodes[nodes.length - 1]} avoids ${relay}${before.length ? ` (nor ${before.join(', ')}, the hops before ${from})` : ''}; add a redundancy link around ${relay}`;
    }
    const full = via ? [from, ...route] : route;
    const after = new Set(nodes.slice(i + 1));
    const join = full.findIndex((n, k) => k > 0 && after.has(n));
    return full.slice(0, join + 1);
  };
  const keyOf = (p: PlannedPath, i: number) => {
    const h = p.hops[i - 1];
    return `${h.node}|${h.vmPort ?? h.inPort}|${p.udpDst}|${p.srcIp ?? ''}|${p.nodes[i]}`;
  };
  // Pass 1: the backup neighbour of each shared exit, picked by the first path with a route.
  const chosen = new Map<string, string>();
  for (const p of paths) {
    for (let i = 1; i < p.nodes.length - 1; i++) {
      const r = routeAround(p.nodes, i);
      if (typeof r !== 'string' && !chosen.has(keyOf(p, i))) chosen.set(keyOf(p, i), r[1]);
    }
  }
  // Pass 2: every path's exits and routes, through the chosen neighbour.
  for (const p of paths) {
    const hops = p.hops as PlannedHop[];
    for (let i = 1; i < p.nodes.length - 1; i++) {
      const relay = p.nodes[i];
      const from = p.nodes[i - 1];
      const via = chosen.get(keyOf(p, i));
      let r = routeAround(p.nodes, i);
      if (via && (typeof r === 'string' || r[1] !== via)) {
        const again = routeAround(p.nodes, i, via);
        r = typeof again === 'string' ? `the backup exit of ${from} toward ${via} (shared with another path of this stream) does not reach ${p.leaf} around ${relay}: ${again}` : again;
      }
      if (via) {
        const h = hops[i - 1];
        const n = underlay(via);
        hops[i - 1] = { ...h, backup: { outPort: tunnelPort(from, via) }, neighbours: h.neighbours.some((x) => x.ip === n.ip) ? h.neighbours : [...h.neighbours, n] };
      }
      if (typeof r === 'string') {
        spof.push({ path: p.name, relay, reason: r });
        continue;
      }
      p.backups.push({ relay, route: r });
      for (let k = 1; k < r.length; k++) {
        const isJoin = k === r.length - 1;
        p.backupHops.push({
          from: i - 1,
          node: r[k],
          host: hostOf(r[k]),
          inPort: tunnelPort(r[k], r[k - 1]),
          ...(isJoin ? {} : { outPort: tunnelPort(r[k], r[k + 1]) }),
          neighbours: isJoin ? [] : [underlay(r[k + 1])],
        });
      }
    }
  }
  return spof;
}
