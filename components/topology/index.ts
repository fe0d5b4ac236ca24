/**
 * The topology engine, pure: parse and check a drawn topology, prune it, compute the
 * role-weighted spanning tree and the hops of every path. No Pulumi, no processes; the only
 * I/O is loadTopologyFile reading a YAML file.
 *
 *   const topology = loadTopologyFile('stacks/topologies/lab.yaml');
 *   const result = computeTree(topology);      // tree, redundancy, pruned, root
 *   const paths = planPaths(topology, result); // hops of each declared path
 */
export * from './model';
export * from './errors';
export { parseTopology, asTopology, loadTopologyFile, formatPath } from './validate';
export { pruneDanglingBranches, type PruneResult } from './prune';
export { minimumSpanningTree, linkWeight, ROLE_WEIGHT } from './mst';
export { pathHops, backupPath, planPaths, describeTree, TreeRoutes, type PlannedPath } from './paths';
export { computeTree, type TreeResult } from './tree';
export { parseIpv4, ipv4Kind, receiverIpProblem, sourceIpProblem, type Ipv4Kind } from './ipv4';
export type { GraphNode } from './graph';
