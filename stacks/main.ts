/**
 * The program of this repository's stacks (`lab`, `paper`, `failover`): a StreamingTree from
 * a topology file and a hosts file, exactly what a Pulumi project that installed the `vpm`
 * package writes. Stack config (declared with types in Pulumi.yaml):
 *   vpm:topology      the topology YAML, relative to the project (default stacks/topologies/<stack>.yaml)
 *   vpm:hosts         the hosts file; default: the hosts file of the lab the stack deploys on —
 *                     its own lab's `.labs/<stack>/hosts.yaml` when `vpm lab up --stack <stack>`
 *                     built one, else the plain lab's `.lab/hosts.yaml` (lab/names.ts
 *                     LabSite.deployedOn). So several stacks' labs run side by side, each
 *                     stack reaching only its own.
 *   vpm:placement     VM name -> node where it runs now (change it to live-migrate)
 *   vpm:bfd           false turns BFD on the tunnels (and so data-plane failover) off
 *   vpm:maxDowntimeMs libvirt's max downtime for migrations (default 20)
 * Paths are relative to the project folder (the one with Pulumi.yaml). A bad topology or hosts
 * file fails the program once, with the file, the field and the fix (no stack trace).
 */
import * as pulumi from '../providers/common/pulumi-sdk';
import * as path from 'path';
import { ProgramInputError, StreamingTree, withProgramErrors } from '../components/streaming-tree';
import { loadTopologyFile } from '../components/topology';
import { HostsFileError, loadHostsFile } from '../components/hosts';
import { LabSite } from '../lab/names';
import { pulumiProjectDir } from '../contracts';

/** A hosts file error is the user's to fix: reported as its message (withProgramErrors). */
function hostsFile(file: string): ReturnType<typeof loadHostsFile> {
  try {
    return loadHostsFile(file);
  } catch (e) {
    throw e instanceof HostsFileError ? new ProgramInputError(e.message) : e;
  }
}

async function main(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config('vpm');
  // The project folder: Pulumi runs the program in the folder of Pulumi.yaml's `main`.
  const dir = pulumiProjectDir();
  const topologyFile = path.resolve(dir, config.get('topology') || `stacks/topologies/${pulumi.getStack()}.yaml`);
  const configured = config.get('hosts');
  const { hosts, guest } = hostsFile(configured ? path.resolve(dir, configured) : LabSite.deployedOn(pulumi.getStack(), dir).paths.hostsFile);
  const topology = loadTopologyFile(topologyFile);
  const tree = new StreamingTree('tree', {
    topology,
    hosts,
    placement: config.getObject<Record<string, string>>('placement') ?? {},
    ...(guest ? { guest } : {}),
    migration: { maxDowntimeMs: config.getNumber('maxDowntimeMs') ?? 20 },
    // false: no BFD, so no data-plane failover (bench/failover.ts measures the reactive `up` so).
    ...(config.getBoolean('bfd') === false ? { bfd: false as const } : {}),
  });
  return {
    root: tree.plan.root,
    tree: tree.tree,
    redundancy: tree.redundancy,
    pruned: tree.pruned,
    singlePointsOfFailure: tree.singlePointsOfFailure,
    paths: tree.paths,
    vms: tree.vms,
    receivedAt: tree.plan.paths.map((p) => ({ path: p.name, receiver: p.receiver.ip, udpPort: p.udpDst })),
  };
}

/** The program; user errors (topology, hosts, inputs) are reported once, without a stack trace. */
export const program = withProgramErrors(main);
export default program;
