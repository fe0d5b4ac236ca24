/**
 * What a stack is made of, for monitoring: nodes with their roles, the tree and redundancy
 * links, the hosts with the connection to reach each, the paths with their cookies and hops,
 * the VMs and the tunnels. Built (pure) from the stack's state (`pulumi stack export`: the
 * VPM resources' outputs carry every connection) and its outputs (root, tree, redundancy...),
 * optionally with the topology file for the roles the user drew.
 *
 * Hosts are named by what the state says: a MigratedDomain's `host` and its peers' `host`,
 * else the topology's `host` of the node on that connection, else the node id. Two specs
 * that reach the same sshd (same address, port and namespace) are one host.
 */
import type { ConnectionSpec } from '../providers/exec';
import { planSwitches, type SwitchPlan } from '../providers/flow-path/plan';
import type { FlowPathInputs } from '../providers/flow-path/types';
import { revealSecret, type StateResource } from './pulumi';
import { childIdOf, readBridge, readDomain, readFlowPath, readTunnel, type TunnelEndView } from '../contracts';

export type NodeRole = 'root' | 'relay' | 'leaf' | 'switch';

export interface Link {
  readonly a: string;
  readonly b: string;
}

export interface ModelNode {
  readonly id: string;
  readonly role: NodeRole;
  /** The host (hypervisor) the node runs on. */
  readonly host: string;
}

export interface ModelHost {
  readonly name: string;
  /** "address:port" (plus " via <netns>" on the lab): for display only. */
  readonly address: string;
  readonly connection: ConnectionSpec;
  readonly nodes: readonly string[];
  /** OVS bridges VPM manages there (br1). */
  readonly bridges: readonly string[];
}

export interface ModelHop {
  readonly node: string;
  readonly host: string;
  readonly bridge: string;
  readonly inPort?: number;
  readonly outPort?: number;
  /** The port of the VM the hop relays through, if any. */
  readonly vmPort?: number;
  /** That VM's name (the domain whose network port is vmPort). */
  readonly vm?: string;
  /** As FlowPath's `flows` output shows them ("udp,in_port=2,tp_dst=5004 -> group:G bucket:B ..."). */
  readonly rules: readonly string[];
}

export interface ModelPath {
  readonly name: string;
  readonly cookie: string;
  readonly receiver?: string;
  readonly udpPort?: number;
  readonly nodes: readonly string[];
  readonly hops: readonly ModelHop[];
  /**
   * What the path must have on each switch, from the same plan its FlowPath installs and
   * refresh checks (providers/flow-path/plan.ts planSwitches on the resource's state): the
   * primary hops in path order, then the switches only its routes around relays visit.
   * Absent when the state cannot be planned (then status says so instead of guessing).
   */
  readonly switches?: readonly ModelSwitch[];
  readonly planError?: string;
}

/** One switch of a path and the segments the path must own there (primary and backup). */
export interface ModelSwitch {
  readonly node: string;
  readonly host: string;
  readonly bridge: string;
  /** A switch only backup routes visit (no primary hop of the path there). */
  readonly backupOnly: boolean;
  readonly plan: SwitchPlan;
}

export interface ModelVm {
  readonly name: string;
  readonly host: string;
  readonly node?: string;
  readonly role?: string;
  /** As the state last saw it (refresh/up); live state comes from the host. */
  readonly state?: string;
  readonly lastMigration?: Readonly<Record<string, unknown>>;
}

export interface ModelTunnelEnd {
  readonly host: string;
  readonly port: string;
  readonly ofport?: number;
  readonly remoteIp?: string;
}

export interface ModelTunnel {
  readonly name: string;
  readonly a: ModelTunnelEnd;
  readonly b: ModelTunnelEnd;
}

export interface StackModel {
  readonly stack: string;
  readonly root?: string;
  readonly nodes: readonly ModelNode[];
  readonly tree: readonly Link[];
  readonly redundancy: readonly Link[];
  readonly pruned: readonly string[];
  readonly hosts: readonly ModelHost[];
  readonly paths: readonly ModelPath[];
  readonly vms: readonly ModelVm[];
  readonly tunnels: readonly ModelTunnel[];
}

/** The drawn topology's nodes, when the topology file could be read. */
export interface TopologyHint {
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly role?: string; readonly host?: string }>;
}

/** The resource name at the end of a URN. */
export function urnName(urn: string): string {
  const i = urn.lastIndexOf('::');
  return i < 0 ? urn : urn.slice(i + 2);
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** host:port|netns: one sshd. */
export function connectionKey(c: Pick<ConnectionSpec, 'host' | 'port' | 'netns'>): string {
  return `${c.host}:${c.port ?? 22}|${c.netns ?? ''}`;
}

/** A ConnectionSpec from state (secret envelopes opened: the private key may be a secret). */
export function connectionFromState(v: unknown): ConnectionSpec | undefined {
  const c = revealSecret(v);
  if (!isObj(c) || typeof c.host !== 'string' || typeof c.hostKey !== 'string') return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(c)) {
    const value = revealSecret(x);
    if (value !== undefined) out[k] = value;
  }
  return out as unknown as ConnectionSpec;
}

function linksOf(v: unknown): Link[] {
  return Array.isArray(v) ? v.filter(isObj).flatMap((l) => (typeof l.a === 'string' && typeof l.b === 'string' ? [{ a: l.a, b: l.b }] : [])) : [];
}

function outputsOf(r: StateResource): Record<string, unknown> {
  return (r.outputs ?? r.inputs ?? {}) as Record<string, unknown>;
}

const typeIs = (r: StateResource, name: string) => r.type.endsWith(`:${name}`) || r.type.endsWith(`/${name}`);

/** Builds the model from a stack's resources and outputs (pure). */
export function buildModel(
  stack: string,
  resources: readonly StateResource[],
  outputs: Record<string, unknown>,
  topology?: TopologyHint,
): StackModel {
  // 1. Connections seen per node, and explicit host names (domains, peers).
  const connByNode = new Map<string, ConnectionSpec>();
  const bridgesByNode = new Map<string, Set<string>>();
  const hostNameByKey = new Map<string, string>();
  const connByKey = new Map<string, ConnectionSpec>();
  const see = (c: ConnectionSpec | undefined): string | undefined => {
    if (!c) return undefined;
    const k = connectionKey(c);
    if (!connByKey.has(k)) connByKey.set(k, c);
    return k;
  };
  const addBridge = (node: string, bridge: string | undefined) => {
    if (!bridge) return;
    if (!bridgesByNode.has(node)) bridgesByNode.set(node, new Set());
    bridgesByNode.get(node)!.add(bridge);
  };

  for (const r of resources) {
    const o = outputsOf(r);
    if (typeIs(r, 'OvsBridge')) {
      const bridge = readBridge(o);
      const name = urnName(r.urn);
      const node = childIdOf(name, 'bridge') ?? name;
      const c = connectionFromState(bridge.connection);
      if (c) {
        see(c);
        if (!connByNode.has(node)) connByNode.set(node, c);
      }
      addBridge(node, bridge.name);
    } else if (typeIs(r, 'FlowPath')) {
      for (const h of readFlowPath(o).hops) {
        const node = h.node;
        const c = connectionFromState(h.connection);
        if (!node || !c) continue;
        see(c);
        if (!connByNode.has(node)) connByNode.set(node, c);
        addBridge(node, h.bridge);
      }
    } else if (typeIs(r, 'MigratedDomain')) {
      const domain = readDomain(o);
      const k = see(connectionFromState(domain.connection));
      const host = domain.host;
      if (k && host) hostNameByKey.set(k, host);
      for (const p of domain.peers) {
        const pk = see(connectionFromState(p.connection));
        const ph = p.host;
        if (pk && ph && !hostNameByKey.has(pk)) hostNameByKey.set(pk, ph);
      }
    } else if (typeIs(r, 'GreTunnel')) {
      const tunnel = readTunnel(o);
      for (const end of [tunnel.a, tunnel.b]) if (end) see(connectionFromState(end.connection));
    }
  }

  // 2. Host names: explicit, else the topology's host of a node there, else the node id.
  const topoNode = new Map((topology?.nodes ?? []).map((n) => [n.id, n]));
  for (const [node, c] of connByNode) {
    const k = connectionKey(c);
    if (hostNameByKey.has(k)) continue;
    hostNameByKey.set(k, topoNode.get(node)?.host ?? node);
  }
  for (const [k, c] of connByKey) if (!hostNameByKey.has(k)) hostNameByKey.set(k, c.host);
  const hostOf = (c: ConnectionSpec | undefined): string | undefined => (c ? hostNameByKey.get(connectionKey(c)) : undefined);
  const hostOfNode = (node: string): string => hostOf(connByNode.get(node)) ?? topoNode.get(node)?.host ?? node;

  // 3. Tree, nodes and roles.
  const root = str(outputs.root);
  const tree = linksOf(outputs.tree);
  const redundancy = linksOf(outputs.redundancy);
  const pruned = Array.isArray(outputs.pruned) ? outputs.pruned.filter((x): x is string => typeof x === 'string') : [];
  const outPaths = Array.isArray(outputs.paths) ? outputs.paths.filter(isObj) : [];
  const ids: string[] = [];
  const addId = (id: string | undefined) => {
    if (id && !ids.includes(id)) ids.push(id);
  };
  addId(root);
  for (const l of [...tree, ...redundancy]) {
    addId(l.a);
    addId(l.b);
  }
  for (const n of connByNode.keys()) addId(n);
  for (const p of outPaths) for (const n of Array.isArray(p.nodes) ? p.nodes : []) addId(str(n));
  const degree = new Map<string, number>();
  for (const l of tree) for (const n of [l.a, l.b]) degree.set(n, (degree.get(n) ?? 0) + 1);
  const pathLeaves = new Set(outPaths.map((p) => (Array.isArray(p.nodes) ? str(p.nodes[p.nodes.length - 1]) : undefined)).filter(Boolean));
  const roleOf = (id: string): NodeRole => {
    const drawn = topoNode.get(id)?.role;
    if (drawn === 'root' || drawn === 'relay' || drawn === 'leaf') return drawn;
    if (topoNode.has(id)) return id === root ? 'root' : 'switch';
    if (id === root) return 'root';
    if (pathLeaves.has(id) || (degree.get(id) ?? 0) === 1) return 'leaf';
    return 'relay';
  };
  const nodes: ModelNode[] = ids.map((id) => ({ id, role: roleOf(id), host: hostOfNode(id) }));

  // 4. Hosts.
  const hosts: ModelHost[] = [];
  for (const [k, c] of connByKey) {
    const name = hostNameByKey.get(k)!;
    if (hosts.some((h) => h.name === name)) continue;
    const hostNodes = nodes.filter((n) => n.host === name).map((n) => n.id);
    const bridges = [...new Set(hostNodes.flatMap((n) => [...(bridgesByNode.get(n) ?? [])]))];
    hosts.push({ name, address: `${c.host}:${c.port ?? 22}${c.netns ? ` via ${c.netns}` : ''}`, connection: c, nodes: hostNodes, bridges });
  }
  hosts.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));

  // 5. Paths (cookie and hops from the FlowPath resources; nodes/receiver from the outputs).
  const vmByPort = new Map<number, string>();
  for (const r of resources.filter((x) => typeIs(x, 'MigratedDomain'))) {
    const domain = readDomain(outputsOf(r));
    if (domain.ofport !== undefined) vmByPort.set(domain.ofport, domain.name ?? urnName(r.urn));
  }
  const paths: ModelPath[] = [];
  for (const r of resources.filter((x) => typeIs(x, 'FlowPath'))) {
    const o = outputsOf(r);
    const fp = readFlowPath(o);
    const name = fp.pathId ?? urnName(r.urn);
    const cookie = fp.cookie;
    if (!cookie) continue;
    const flows = new Map(fp.flows.map((f) => [f.node, f]));
    const hops: ModelHop[] = fp.hops.map((h) => {
      const node = h.node ?? '?';
      const f = flows.get(node);
      return {
        node,
        host: hostOf(connectionFromState(h.connection)) ?? hostOfNode(node),
        bridge: h.bridge ?? 'br1',
        ...(h.inPort !== undefined ? { inPort: h.inPort } : {}),
        ...(h.outPort !== undefined ? { outPort: h.outPort } : {}),
        ...(h.vmPort !== undefined ? { vmPort: h.vmPort } : {}),
        ...(vmByPort.has(h.vmPort ?? -1) ? { vm: vmByPort.get(h.vmPort!) } : {}),
        rules: f ? [...f.rules] : [],
      };
    });
    const out = outPaths.find((p) => p.name === name);
    paths.push({
      name,
      cookie,
      ...(fp.receiverIp ?? str(out?.receiver) ? { receiver: fp.receiverIp ?? str(out?.receiver) } : {}),
      ...(fp.udpDst !== undefined ? { udpPort: fp.udpDst } : {}),
      nodes: hops.map((h) => h.node),
      hops,
      ...expectedSwitches(o, hops, (c) => hostOf(connectionFromState(c))),
    });
  }
  paths.sort((a, b) => a.name.localeCompare(b.name));

  // 6. VMs: the MigratedDomain resources, with the node from the stack outputs.
  const outVms = isObj(outputs.vms) ? outputs.vms : {};
  const vms: ModelVm[] = resources
    .filter((r) => typeIs(r, 'MigratedDomain'))
    .map((r) => {
      const d = readDomain(outputsOf(r));
      const name = d.name ?? urnName(r.urn);
      const ov = isObj(outVms[name]) ? (outVms[name] as Record<string, unknown>) : {};
      const host = d.host ?? hostOf(connectionFromState(d.connection)) ?? '?';
      const lm = d.lastMigration ?? (isObj(ov.lastMigration) ? ov.lastMigration : undefined);
      return {
        name,
        host,
        ...(str(ov.node) ? { node: str(ov.node) } : {}),
        ...(d.role ? { role: d.role } : {}),
        ...(d.state ? { state: d.state } : {}),
        ...(lm ? { lastMigration: lm } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));

  // 7. Tunnels.
  const tunnels: ModelTunnel[] = resources
    .filter((r) => typeIs(r, 'GreTunnel'))
    .flatMap((r) => {
      const t = readTunnel(outputsOf(r));
      const end = (e: TunnelEndView | undefined, ofport: number | undefined): ModelTunnelEnd | undefined => {
        if (!e) return undefined;
        const host = hostOf(connectionFromState(e.connection));
        const port = e.portName;
        if (!host || !port) return undefined;
        const of = ofport ?? e.ofport;
        return { host, port, ...(of ? { ofport: of } : {}), ...(e.remoteIp ? { remoteIp: e.remoteIp } : {}) };
      };
      const a = end(t.a, t.aOfport);
      const b = end(t.b, t.bOfport);
      const name = childIdOf(urnName(r.urn), 'tunnel') ?? urnName(r.urn);
      return a && b ? [{ name, a, b }] : [];
    })
    .sort((x, y) => x.name.localeCompare(y.name));

  return { stack, ...(root ? { root } : {}), nodes, tree, redundancy, pruned, hosts, paths, vms, tunnels };
}

/**
 * The switch plans of a FlowPath from its state (its outputs are its checked inputs), with the
 * host of each switch; or why they cannot be computed.
 */
function expectedSwitches(
  o: Record<string, unknown>,
  hops: readonly ModelHop[],
  hostOf: (connection: unknown) => string | undefined,
): { switches: ModelSwitch[] } | { planError: string } {
  try {
    const open = (h: unknown) => (isObj(h) ? { ...h, connection: connectionFromState(h.connection) ?? h.connection } : h);
    const spec = {
      ...o,
      hops: Array.isArray(o.hops) ? o.hops.map(open) : [],
      ...(Array.isArray(o.backupHops) ? { backupHops: o.backupHops.map(open) } : {}),
    } as unknown as FlowPathInputs;
    const switches = planSwitches(spec).map((plan) => {
      const primary = plan.index >= 0 ? hops[plan.index] : undefined;
      return {
        node: plan.hop.node,
        host: primary?.host ?? hostOf(plan.hop.connection) ?? plan.hop.node,
        bridge: plan.hop.bridge,
        backupOnly: plan.index < 0,
        plan,
      };
    });
    return { switches };
  } catch (e) {
    return { planError: (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300) };
  }
}
