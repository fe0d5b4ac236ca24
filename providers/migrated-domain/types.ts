/**
 * MigratedDomain: one VM (libvirt domain). Its `host` is an input; changing it is an UPDATE
 * that live-migrates the running domain (never a replace). Its network port is a tap with a
 * fixed name and OpenFlow number, pre-created on a host before the domain arrives there, so
 * a path installed beforehand already delivers to it when the VM resumes.
 */
import type * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec } from '../exec';
import type { ConnectionWithoutKey } from '../common/connection-input';

export interface DomainNetwork {
  /** The overlay bridge, e.g. "br1". */
  bridge: string;
  /** The tap's name (<= 15 chars) and fixed OpenFlow port number, the same on every host. */
  tap: string;
  ofport: number;
  mac: string;
  /**
   * When set, the domain counts as created (and as migrated) only once its guest answers on
   * this UDP port through the VM's port (readiness.ts); else once libvirt says "running".
   * Changing it is an update, never a replacement.
   */
  readiness?: DomainReadiness;
}

/** See readiness.ts. timeoutMs defaults to 60000. */
export interface DomainReadiness {
  /** The guest's UDP port that answers any datagram (the lab guest: its relay's query port). */
  port: number;
  /** The guest's address. */
  ip: string;
  /** An unused address on the guest's subnet, and a MAC, that the probe speaks from. */
  probeIp: string;
  probeMac: string;
  timeoutMs?: number;
}

export interface MigrationSettings {
  /** Live migration (the only kind supported). Default true. */
  live?: boolean;
  /** virsh migrate-setmaxdowntime before migrating (ms). */
  maxDowntimeMs?: number;
  /** Cap on the migration's bandwidth, MiB/s (`virsh migrate --bandwidth`); default: libvirt's (none). */
  bandwidthMiBs?: number;
  /** Post-copy after one pre-copy pass (`--postcopy --postcopy-after-precopy`; needs userfaultfd). Default false. */
  postcopy?: boolean;
  /**
   * Frames the destination tap holds while the VM is on its way (default 8, DEFAULT_DESTINATION_QUEUE):
   * what arrives there before the VM resumes is stale when it is read (the source VM already
   * relayed it), so a short queue keeps the replay, and the duplicates, to a few frames. The
   * kernel's usual 1000 is restored once the VM runs there.
   */
  destinationQueueFrames?: number;
  /** The migration is aborted after this long and the domain stays on the source. Default 120000. */
  timeoutMs?: number;
}

export interface MigratedDomainArgs {
  readonly name: pulumi.Input<string>;
  /** The hypervisor's label (inventory name); what changes when the VM moves. */
  readonly host: pulumi.Input<string>;
  readonly connection: pulumi.Input<ConnectionSpec>;
  /** The URI peers migrate TO this host with (qemu+ssh://HOST/system; qemu+tcp only with allowUnencryptedMigration). */
  readonly migrationUri: pulumi.Input<string>;
  /** Accept qemu+tcp:// (no authentication, no encryption): closed networks only (the lab). */
  readonly allowUnencryptedMigration?: pulumi.Input<boolean>;
  /** The node's role; only leaf VMs may migrate (the paper's rule). */
  readonly role: pulumi.Input<string>;
  readonly memoryMiB?: pulumi.Input<number>;
  readonly vcpus?: pulumi.Input<number>;
  /** Paths on the hypervisors (the same on each) of the guest kernel, initramfs, emulator. */
  readonly kernel: pulumi.Input<string>;
  readonly initrd: pulumi.Input<string>;
  readonly emulator?: pulumi.Input<string>;
  readonly cmdline: pulumi.Input<string>;
  readonly network: pulumi.Input<DomainNetwork>;
  readonly migration?: pulumi.Input<MigrationSettings>;
  /** Other hosts where refresh looks for the domain when it is not where the state says. */
  readonly peers?: pulumi.Input<pulumi.Input<{ host: string; connection: pulumi.Input<ConnectionSpec> }>[]>;
}

export interface MigratedDomainInputs {
  name: string;
  host: string;
  connection: ConnectionWithoutKey;
  privateKey?: string;
  passphrase?: string;
  migrationUri: string;
  allowUnencryptedMigration?: boolean;
  role: string;
  memoryMiB: number;
  vcpus: number;
  kernel: string;
  initrd: string;
  emulator?: string;
  cmdline: string;
  network: DomainNetwork;
  migration: { live: boolean; maxDowntimeMs?: number; bandwidthMiBs?: number; postcopy?: boolean; destinationQueueFrames?: number; timeoutMs: number };
  peers: { host: string; connection: ConnectionWithoutKey }[];
  /** Per peer: its inline key and passphrase (secrets), or null. */
  peerPrivateKeys?: (string | null)[];
  peerPassphrases?: (string | null)[];
  owner: string;
}

export interface MigrationReport {
  from: string;
  to: string;
  /** libvirt's own figures (domjobinfo on the destination). */
  downtimeMs?: number;
  totalMs?: number;
  dataBytes?: number;
  /** Wall time of the virsh migrate command. */
  wallMs: number;
}

export interface MigratedDomainOutputs extends MigratedDomainInputs {
  state: string;
  lastMigration?: MigrationReport;
  providerVersion: string;
}
