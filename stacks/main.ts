/**
 * The program of the `lab` and `paper` stacks (stacks/Pulumi.<stack>.yaml): a StreamingTree
 * on the lab's hypervisors. Stack config:
 *   vpm:topology      the topology YAML, relative to the project
 *                     (default stacks/topologies/<stack>.yaml: the `lab` and `paper` stacks need no config)
 *   vpm:inventory     the lab inventory (default .lab/inventory.json)
 *   vpm:placement     VM name -> node where it runs now (change it to live-migrate)
 *   vpm:maxDowntimeMs libvirt's max downtime for migrations (default 20)
 * Receiver MACs missing from the topology are taken from the inventory.
 */
import * as pulumi from '@pulumi/pulumi';
import * as path from 'path';
import { ProgramInputError, StreamingTree, withProgramErrors, type TreeHost } from '../components/streaming-tree';
import { parseTopology, loadTopologyFile } from '../components/topology';
import { projectRoot } from '../providers/common/lazy-provider';
import { labConnections } from './lab-connections';

async function program(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  const topologyFile = path.resolve(projectRoot(), config.get('topology') ?? `stacks/topologies/${pulumi.getStack()}.yaml`);
  const { inventory, connection } = labConnections(config.get('inventory'));
  const topology = loadTopologyFile(topologyFile);

  const macByIp = new Map(inventory.receivers.map((r) => [r.ip, r.mac]));
  const withMacs = parseTopology({
    ...topology,
    paths: topology.paths.map((p) => ({ ...p, receiver: { ...p.receiver, ...(p.receiver.mac || !macByIp.has(p.receiver.ip) ? {} : { mac: macByIp.get(p.receiver.ip) }) } })),
  });

  const hosts: Record<string, TreeHost> = Object.fromEntries(
    inventory.hypervisors.map((h) => [
      h.name,
      { connection: connection(h.name), underlayIp: h.ip, underlayMac: h.mac, ...(h.migrationUri ? { migrationUri: h.migrationUri } : {}) },
    ]),
  );
  const needsVms = withMacs.vms.length > 0;
  if (needsVms && !inventory.guest) {
    throw new ProgramInputError('this topology has VMs but the lab runs no libvirt: rebuild it with `npx vpm lab up --stack <name>` (or --libvirt)');
  }
  const tree = new StreamingTree('tree', {
    topology: withMacs,
    hosts,
    placement: config.getObject<Record<string, string>>('placement') ?? {},
    ...(inventory.guest ? { guest: inventory.guest } : {}),
    migration: { maxDowntimeMs: config.getNumber('maxDowntimeMs') ?? 20 },
  });
  const receivers = new Map(inventory.receivers.map((r) => [r.ip, r.name]));
  return {
    root: tree.plan.root,
    tree: tree.tree,
    redundancy: tree.redundancy,
    pruned: tree.pruned,
    singlePointsOfFailure: tree.singlePointsOfFailure,
    paths: tree.paths,
    vms: tree.vms,
    receivedAt: tree.plan.paths.map((p) => ({
      path: p.name,
      receiver: p.receiver.ip,
      namespace: receivers.has(p.receiver.ip) ? `${inventory.receivers.find((r) => r.ip === p.receiver.ip)!.netns}` : 'the leaf LAN',
      udpPort: p.udpDst,
    })),
  };
}

// A bad topology or inventory is reported once, as the error it is (components/streaming-tree/program-errors.ts).
export default withProgramErrors(program);
