/**
 * FlowPath: one stream delivered from the root, hop by hop over the overlay, to one leaf and
 * out of its patch port to one external receiver. Inputs are plain values so that, when the
 * port numbers are fixed (StreamingTree fixes them), preview shows the exact flows.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec } from '../exec';
import type { ConnectionWithoutKey } from '../common/connection-input';

export interface HopArgs {
  /** The node's id in the topology (for messages and outputs). */
  readonly node: pulumi.Input<string>;
  readonly connection: pulumi.Input<ConnectionSpec>;
  /** The overlay bridge, e.g. "br1". */
  readonly bridge: pulumi.Input<string>;
  /** Where the stream enters this hop: the source's port at the root, the tunnel from the previous hop elsewhere. */
  readonly inPort: pulumi.Input<number>;
  /** Where it leaves: the tunnel to the next hop; at the leaf, the patch port to the physical bridge. */
  readonly outPort: pulumi.Input<number>;
  /** The port of the VM on this node (not at the root): the stream goes through the VM first. */
  readonly vmPort?: pulumi.Input<number>;
  /** The VM's MAC and IP: the stream is addressed to the VM before it is handed over, so the
   *  VM's kernel accepts it whatever the source sent it to. */
  readonly vmMac?: pulumi.Input<string>;
  readonly vmIp?: pulumi.Input<string>;
  /** Tunnel neighbours to seed before installing ({underlay IP, MAC} of the next hop). */
  readonly neighbours?: pulumi.Input<pulumi.Input<{ ip: string; mac: string }>[]>;
  /**
   * Failover: when the next hop (a relay) dies, send the stream out of this port instead
   * (the tunnel to the first node of the route around it, see backupHops). The exit becomes
   * an OpenFlow fast-failover group watching outPort, then backup.outPort (BFD on both
   * tunnels takes a dead neighbour's port down). Not on the leaf.
   */
  readonly backup?: pulumi.Input<{ outPort: number }>;
}

/** One hop of a pre-installed route around a relay (see FlowPathArgs.backupHops). */
export interface BackupHopArgs {
  /** Index in `hops` of the hop where the route leaves the path (that hop has `backup`). */
  readonly from: pulumi.Input<number>;
  readonly node: pulumi.Input<string>;
  readonly connection: pulumi.Input<ConnectionSpec>;
  readonly bridge: pulumi.Input<string>;
  /** The tunnel from the previous node of the backup route. */
  readonly inPort: pulumi.Input<number>;
  /** The tunnel to the next node of the route; absent on the last backup hop, the *join*:
   *  a switch of the path after the relay, which then treats the stream as its hop does. */
  readonly outPort?: pulumi.Input<number>;
  readonly neighbours?: pulumi.Input<pulumi.Input<{ ip: string; mac: string }>[]>;
}

export interface FlowPathArgs {
  /** Stable id of what is delivered to where (e.g. "h3-5004"); the cookie derives from it. */
  readonly pathId: pulumi.Input<string>;
  readonly stream: pulumi.Input<{ udpDst: number; srcIp?: string }>;
  /** Root first, leaf last. */
  readonly hops: pulumi.Input<pulumi.Input<HopArgs>[]>;
  /**
   * Routes around relays, pre-installed and owned by this path (delete removes them): per
   * hop with `backup`, its route's hops in order (transit hops, then the join). Backup
   * traffic carries a tag in eth_src, so it never mixes with the stream other paths carry.
   */
  readonly backupHops?: pulumi.Input<pulumi.Input<BackupHopArgs>[]>;
  /**
   * Nodes known to be down (the topology marks them failed): an update or delete does not try
   * to remove this path's old part from them (a dead switch lost its flows; one that was only
   * cut off keeps them until the path next includes it again, when they are collected). Not
   * a change by itself (diff ignores it). No hop may be on a down node.
   */
  readonly down?: pulumi.Input<pulumi.Input<string>[]>;
  readonly egress: pulumi.Input<{
    receiverIp: string;
    /** Required for a unicast receiver; derived for multicast (01:00:5e:...) and broadcast. */
    receiverMac?: string;
    /** Source MAC on the physical LAN (the leaf's br0 MAC). */
    srcMac: string;
  }>;
}

export interface Hop {
  node: string;
  connection: ConnectionWithoutKey;
  bridge: string;
  inPort: number;
  outPort: number;
  vmPort?: number;
  vmMac?: string;
  vmIp?: string;
  neighbours?: { ip: string; mac: string }[];
  backup?: { outPort: number };
}

export interface BackupHop {
  from: number;
  node: string;
  connection: ConnectionWithoutKey;
  bridge: string;
  inPort: number;
  outPort?: number;
  neighbours?: { ip: string; mac: string }[];
}

import type { TouchedProps } from './touched';

export interface FlowPathInputs {
  pathId: string;
  /** project/stack/resource name; the cookie derives from it. */
  owner?: string;
  cookie: string;
  stream: { udpDst: number; srcIp?: string };
  hops: Hop[];
  /** Private keys of the hops, by index (secret). */
  privateKeys?: (string | null)[];
  /** Passphrases of the hops' keys, by index (secret). */
  passphrases?: (string | null)[];
  backupHops?: BackupHop[];
  /** Private keys of the backup hops, by index (secret). */
  backupPrivateKeys?: (string | null)[];
  backupPassphrases?: (string | null)[];
  down?: string[];
  egress: { receiverIp: string; receiverMac: string; srcMac: string };
  /** The flows this path installs, per hop (computed by check, so preview shows them). */
  flows: { node: string; bridge: string; rules: string[] }[];
}

export interface FlowPathOutputs extends FlowPathInputs, TouchedProps {
  /** Hops whose part was found missing or altered by refresh ("node: rule"); empty when intact. */
  missing: string[];
  providerVersion: string;
}
