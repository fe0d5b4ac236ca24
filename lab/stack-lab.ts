/**
 * A stack's own lab: what `vpm lab up|down|status|exec --stack S` work on. The lab's place
 * (namespace prefix, folder) comes from the stack's name (names.ts LabSite.forStack); its
 * size comes from the stack's topology, the same file the stack program deploys (config
 * `vpm:topology`, else stacks/topologies/<stack>.yaml): one hypervisor per `hK` host up to the
 * highest K, one receiver per lab receiver address 10.250.0.(200+K) up to the highest K (at
 * least one, so a broadcast or multicast path has a listener). No table of stack names, no
 * environment variables.
 */
import * as path from 'node:path';
import { loadTopologyFile, type Topology } from '../components/topology';
import { LabError, messageOf } from './errors';
import { LabSite, MAX_HYPERVISORS, hypervisorIndexOf, receiverIndexOf, repoRoot } from './names';
import { stackTopologyFile } from './stream';

export interface LabSize {
  readonly hypervisors: number;
  readonly receivers: number;
}

/**
 * The lab a topology needs (pure). Every node's host must be a lab hypervisor name `hK`;
 * anything else is refused naming the node and the field.
 */
export function labSizeOf(topology: Topology, source = 'the topology'): LabSize {
  const problems: string[] = [];
  let hypervisors = 0;
  topology.nodes.forEach((n, i) => {
    const k = hypervisorIndexOf(n.host);
    if (k === undefined) {
      problems.push(`nodes[${i}].host ${JSON.stringify(n.host)} (node ${n.id}) is not a lab hypervisor: use h1..h${MAX_HYPERVISORS}`);
    } else hypervisors = Math.max(hypervisors, k);
  });
  if (problems.length) {
    throw new LabError(`${source} cannot run on a lab:\n  ${problems.join('\n  ')}\n(or run \`vpm lab up --hypervisors N\` and point the stack's vpm:hosts at your own hosts file)`);
  }
  if (hypervisors === 0) throw new LabError(`${source} has no nodes: add nodes with host h1..h${MAX_HYPERVISORS}`);
  let receivers = 1;
  for (const p of topology.paths) receivers = Math.max(receivers, receiverIndexOf(p.receiver.ip) ?? 0);
  return { hypervisors, receivers };
}

/** The size of stack `stack`'s lab, from its topology file. */
export function stackLabSize(stack: string, projectDir: string = repoRoot()): LabSize {
  const file = stackTopologyFile(stack, projectDir);
  let topology: Topology;
  try {
    topology = loadTopologyFile(file);
  } catch (e) {
    throw new LabError(
      `stack ${stack}: cannot size its lab from its topology ${path.relative(projectDir, file) || file}: ${messageOf(e)}\n` +
        `(set the stack's topology with \`npm run pulumi -- config set vpm:topology FILE --stack ${stack}\`, or give --hypervisors)`,
    );
  }
  return labSizeOf(topology, `stack ${stack}'s topology ${path.relative(projectDir, file) || file}`);
}

