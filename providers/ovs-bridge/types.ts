/**
 * OvsBridge: the isolated overlay bridge (br1) of one hypervisor, plus the patch pair that
 * joins it to the physical bridge (br0), plus br0's static rule that sends what comes from
 * the patch straight out of the NIC (LAB-NOTES: otherwise br0's MAC learning breaks GRE when
 * the leaf rewrites eth_src to br0's own MAC).
 */
import type * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec } from '../exec';
import type { ConnectionWithoutKey } from '../common/connection-input';

export interface PatchArgs {
  /** The physical bridge that holds the NIC; must already exist on the host. Default "br0". */
  physicalBridge?: string;
  /** The NIC on the physical bridge (the static rule outputs to it). Default "eth0". */
  uplink?: string;
  /** Patch port on the overlay bridge. Default "patch-ovl". */
  overlayPort?: string;
  /** Patch port on the physical bridge. Default "patch-phy". */
  physicalPort?: string;
  /** Fixed OpenFlow port number of the overlay patch port (so flows are known at preview). */
  overlayOfport?: number;
}

export interface OvsBridgeArgs {
  /** How to reach the hypervisor; an inline privateKey is kept as a secret. */
  readonly connection: pulumi.Input<ConnectionSpec>;
  /** The overlay bridge, e.g. "br1". */
  readonly name: pulumi.Input<string>;
  /** Default "netdev" (userspace datapath). */
  readonly datapathType?: pulumi.Input<'netdev' | 'system'>;
  /** Default "secure": without a flow, nothing moves ("sink or swim"). */
  readonly failMode?: pulumi.Input<'secure' | 'standalone'>;
  /** Default OpenFlow10,13,14,15 (bundles need 1.4, bucket commands 1.5). */
  readonly protocols?: pulumi.Input<pulumi.Input<string>[]>;
  readonly patch?: pulumi.Input<PatchArgs>;
  /** Internal ports on the overlay bridge with fixed numbers (e.g. the root's stream source). */
  readonly internalPorts?: pulumi.Input<pulumi.Input<{ name: string; ofport: number }>[]>;
}

/** What the provider receives after check (defaults applied). */
export interface OvsBridgeInputs {
  connection: ConnectionWithoutKey;
  privateKey?: string;
  passphrase?: string;
  owner: string;
  name: string;
  datapathType: 'netdev' | 'system';
  failMode: 'secure' | 'standalone';
  protocols: string[];
  patch: Required<Omit<PatchArgs, 'overlayOfport'>> & { overlayOfport?: number };
  internalPorts: { name: string; ofport: number }[];
}

export interface OvsBridgeOutputs extends OvsBridgeInputs {
  bridgeUuid: string;
  datapathId: string;
  /** OpenFlow port of the patch port on the overlay bridge (where leaf flows output). */
  patchOfport: number;
  /** OpenFlow port of the patch port on the physical bridge. */
  physicalPatchOfport: number;
  /** False when refresh found the patch pair missing or rewired (the next up repairs it). */
  patchPresent: boolean;
  /** The cookie of br0's static rule. */
  cookie: string;
  providerVersion: string;
}
