/**
 * A StatusReport for the dashboard page built from a topology file alone (the pure tree engine,
 * no hosts, no Pulumi), with the widest labels the page can be asked to draw: nine-digit packet
 * counters with a rate and a hop state, a VM counter on every hop, every VM running on its node.
 * The dashboard's browser test draws it and checks that every label stays inside its panel.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { computeTree, loadTopologyFile, planPaths } from '../../components/topology';
import { STATUS_VERSION, type StatusReport } from '../../monitor/status';
import { PROJECT_ROOT } from './serialised-provider';

/** The example stacks' topologies (stacks/topologies/*.yaml). */
export function exampleTopologies(): string[] {
  const dir = path.join(PROJECT_ROOT, 'stacks', 'topologies');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(dir, f));
}

export function widestReport(topologyFile: string): StatusReport {
  const topology = loadTopologyFile(topologyFile);
  const tree = computeTree(topology);
  const planned = planPaths(topology, tree);
  const roleOf = (id: string) => topology.nodes.find((n) => n.id === id)?.role ?? 'switch';
  const hosts = [...new Set(topology.nodes.map((n) => n.host))];
  const big = 987_654_321;
  const paths = planned.map((p, i) => ({
    name: `${p.id}@${p.leaf}`,
    cookie: `0x${(0x57000000 + i).toString(16)}`,
    receiver: p.receiver.ip,
    udpPort: p.stream.udpPort,
    nodes: p.hops,
    hops: p.hops.map((node) => ({
      node,
      host: topology.nodes.find((n) => n.id === node)!.host,
      state: 'unreachable' as const,
      packets: big,
      bytes: big * 200,
      pps: 123_456,
      vmPackets: big,
      segments: [],
      problems: [],
    })),
    backupHops: [],
    delivered: big,
    ok: false,
  }));
  return {
    version: STATUS_VERSION,
    stack: path.basename(topologyFile, '.yaml'),
    takenAt: new Date().toISOString(),
    durationMs: 1,
    thresholds: { warn: 50, crit: 80 },
    root: tree.root,
    nodes: topology.nodes.map((n) => ({ id: n.id, role: roleOf(n.id), host: n.host })),
    tree: tree.tree.map((l) => ({ a: l.a, b: l.b })),
    redundancy: tree.redundancy.map((l) => ({ a: l.a, b: l.b })),
    pruned: tree.pruned,
    hosts: hosts.map((h) => {
      const nodes = topology.nodes.filter((n) => n.host === h);
      return {
        name: h,
        address: `${h}.example.net:22`,
        nodes: nodes.map((n) => n.id),
        roles: nodes.map((n) => roleOf(n.id)),
        online: true,
        cpu: { percent: 99.9, level: 'crit' as const },
        vms: topology.vms.filter((v) => nodes.some((n) => n.id === v.node)).map((v) => ({ name: v.name, state: 'running', managed: true })),
        tunnels: [],
        errors: [],
      };
    }),
    paths,
    vms: topology.vms.map((v) => ({ name: v.name, node: v.node, host: topology.nodes.find((n) => n.id === v.node)!.host, liveHost: null, state: 'running' })),
    migrations: [],
    summary: { hosts: hosts.length, online: hosts.length, offline: 0, warn: 0, crit: hosts.length, paths: paths.length, pathsOk: 0 },
  } as StatusReport;
}
