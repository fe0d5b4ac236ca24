/**
 * The `vpm` package: what a Pulumi program imports.
 *
 *   import { StreamingTree, loadHosts, loadTopologyFile } from 'vpm';
 *   new StreamingTree('tree', { topology: loadTopologyFile('topology.yaml'), hosts: loadHosts('hosts.yaml') });
 *
 * The resources can also be used one by one (OvsBridge, GreTunnel, FlowPath, MigratedDomain);
 * the pure topology engine (computeTree, parseTopology, ...) needs no Pulumi at all.
 */
export { StreamingTree, DEFAULT_BFD, type StreamingTreeArgs, type TreeHost, type GuestImage } from './components/streaming-tree/component';
export { guestCmdline, type GuestCmdlineOptions } from './components/streaming-tree/guest';
export { planTree, type TreePlan, type HostFacts } from './components/streaming-tree/plan';
export { loadHosts, loadHostsFile, readHostsFile, HostsFileError, type LoadedHosts, type HostsFile } from './components/hosts';
export {
  loadTopologyFile,
  parseTopology,
  asTopology,
  computeTree,
  planPaths,
  pruneDanglingBranches,
  minimumSpanningTree,
  TopologyError,
  type Topology,
  type TopologyInput,
  type TreeResult,
} from './components/topology';
export { OvsBridge } from './providers/ovs-bridge/resource';
export type { OvsBridgeArgs } from './providers/ovs-bridge/types';
export { GreTunnel } from './providers/gre-tunnel/resource';
export type { GreTunnelArgs, TunnelEndArgs } from './providers/gre-tunnel/types';
export { FlowPath } from './providers/flow-path/resource';
export type { FlowPathArgs, HopArgs, BackupHopArgs } from './providers/flow-path/types';
export { MigratedDomain } from './providers/migrated-domain/resource';
export type { MigratedDomainArgs, MigrationSettings, MigrationReport } from './providers/migrated-domain/types';
export type { ConnectionSpec, JumpHostSpec } from './providers/exec';
