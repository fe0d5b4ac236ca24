/**
 * GreTunnel: one tree (or redundancy) link = one GRE port on each end's overlay bridge, both
 * in one resource. Port names: `portName` when given (StreamingTree uses "gre-<peer node>"),
 * otherwise ovs/values deterministicName("gre-", [remote IP, key]) — stable, <= 15 chars.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec } from '../exec';
import type { ConnectionWithoutKey } from '../common/connection-input';

export interface TunnelEndArgs {
  readonly connection: pulumi.Input<ConnectionSpec>;
  /** The overlay bridge (an OvsBridge's name), e.g. "br1". */
  readonly bridge: pulumi.Input<string>;
  /** The other end's underlay IP. */
  readonly remoteIp: pulumi.Input<string>;
  /** This end's underlay bridge, where OVS's tunnel neighbour cache is seeded. Default "br0". */
  readonly underlayBridge?: pulumi.Input<string>;
  /** The GRE port's name on this end. */
  readonly portName?: pulumi.Input<string>;
  /** Fixed OpenFlow port number (so flows are known at preview). */
  readonly ofport?: pulumi.Input<number>;
}

export interface GreTunnelArgs {
  readonly a: pulumi.Input<TunnelEndArgs>;
  readonly b: pulumi.Input<TunnelEndArgs>;
  /** GRE key (both ends). */
  readonly key?: pulumi.Input<number>;
  /** BFD on both ends, for data-plane failover (intervals in ms). */
  readonly bfd?: pulumi.Input<{ minTxMs?: number; minRxMs?: number }>;
}

export interface TunnelEnd {
  connection: ConnectionWithoutKey;
  bridge: string;
  remoteIp: string;
  underlayBridge: string;
  portName: string;
  ofport?: number;
}

export interface GreTunnelInputs {
  a: TunnelEnd;
  b: TunnelEnd;
  aPrivateKey?: string;
  bPrivateKey?: string;
  aPassphrase?: string;
  bPassphrase?: string;
  owner: string;
  key?: number;
  bfd?: { minTxMs?: number; minRxMs?: number };
}

export interface GreTunnelOutputs extends GreTunnelInputs {
  aOfport: number;
  bOfport: number;
  /** False when refresh found that end's port missing or changed (the next up repairs it). */
  aPresent: boolean;
  bPresent: boolean;
  providerVersion: string;
}
