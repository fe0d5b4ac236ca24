/**
 * StreamingTree: the paper's whole delivery tree as one ComponentResource. It validates the
 * topology, computes the tree (components/topology) and the plan (plan.ts), and creates, all
 * parented to it and named from stable ids:
 *   bridge-<node>        OvsBridge (br1 + patch; the root also gets the source port src0)
 *   tunnel-<a>-<b>       GreTunnel per link of the drawn topology (tree and redundancy), BFD on
 *                        both ends, so a dead neighbour takes its port down within ~3 intervals
 *   path-<id>@<leaf>     FlowPath per declared path (the leaf follows a VM placed elsewhere)
 *   vm-<name>            MigratedDomain per VM
 * Dependencies give one `pulumi up` after a VM's placement changes the LIME order: the new
 * path is created (packets cloned onto both leaves), the domain is updated (live-migrated,
 * it depends on the paths that reach its new node), and the old path, which left the
 * program, is deleted at the end of the update.
 * Failover: each path forwards through a fast-failover group where a relay can be bypassed and
 * carries its pre-installed routes around relays (plan.ts); a relay no route avoids is a single
 * point of failure: warned at preview and up, and in the `singlePointsOfFailure` output.
 * Marking a node `failed` re-plans the paths around it and keeps its bridge and tunnels.
 */
import * as pulumi from '../../providers/common/pulumi-sdk';
import type { ConnectionSpec } from '../../providers/exec/connection';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import { FlowPath } from '../../providers/flow-path/resource';
import { MigratedDomain } from '../../providers/migrated-domain/resource';
import type { MigrationSettings } from '../../providers/migrated-domain/types';
import { guestCmdline } from './guest';
import { asTopology, type Topology, type TopologyInput } from '../topology';
import { flowPathArgs } from './flow-path-args';
import { planTree, type HostFacts, type TreePlan } from './plan';
import { OVERLAY_PREFIX, PATCH_OFPORT, PROBE_IP, PROBE_MAC, QUERY_PORT, RELAY_GROUP, SOURCE_IP } from './ports';
import { asProgramError } from './program-errors';
import { childName } from '../../contracts/names';

export interface TreeHost extends HostFacts {
  /** How to reach it; an inline key or passphrase may be a secret Output (see loadHosts). */
  readonly connection: pulumi.Input<ConnectionSpec>;
  /** The URI other hosts' libvirtd migrate to this one with (qemu+ssh://<host>/system). */
  readonly migrationUri?: string;
  /** qemu+tcp:// (unauthenticated, unencrypted) is refused unless this is true (the lab). */
  readonly allowUnencryptedMigration?: boolean;
}

/**
 * The VMs' image; it must read the kernel parameters of guest.ts (the lab's guest does). The
 * lab's values reach here through its hosts file, like any user's.
 */
export interface GuestImage {
  /** Absolute paths on every hypervisor (the same on each). */
  readonly kernel: string;
  readonly initrd: string;
  /** QEMU binary or wrapper; default: libvirt's choice (the lab gives build-guest.sh's wrapper). */
  readonly emulator?: string;
  /** The guest's UDP query port (vpm.query), also where readiness probes it; default QUERY_PORT (7000). */
  readonly queryPort?: number;
  /** The guest's console heartbeat period in seconds (vpm.hb); default 5. */
  readonly heartbeatSec?: number;
}

export interface StreamingTreeArgs {
  /**
   * The drawn topology: a Topology from loadTopologyFile or parseTopology, used as it is (parsed
   * once, by the program). A raw object (a stack config value, an object literal) is accepted
   * too, as before, and parsed and checked here (asTopology).
   */
  readonly topology: Topology | TopologyInput;
  /** The hypervisors by name (a node's `host`). */
  readonly hosts: Readonly<Record<string, TreeHost>>;
  /** VM name -> node: where each VM runs now (default: its topology node). */
  readonly placement?: Readonly<Record<string, string>>;
  /** The overlay bridge's name on every node; default "br1". */
  readonly bridge?: string;
  /** Needed when the topology has VMs. */
  readonly guest?: GuestImage;
  readonly migration?: MigrationSettings;
  /**
   * BFD on every tunnel (ms; OVS's detection time is about 3 x the interval). Default
   * DEFAULT_BFD; false turns BFD (and so data-plane failover) off.
   */
  readonly bfd?: { minTxMs?: number; minRxMs?: number } | false;
}

/**
 * Measured on the lab's userspace datapath (bench/failover.ts, 10 relay kills each): the
 * receiver's gap at a relay's death has a median of 27 ms at 10/10 ms (max 33), 23 ms at 8/8,
 * 18 ms at 6/6, 57 ms at 20/20, 125 ms at 50/50 (about 3 intervals: OVS's detect multiplier).
 * On a loaded 2-core machine sessions of 10 ms or less sometimes flap; a flap costs no packet
 * here (the backup route is pre-installed; with no session up the stream goes both ways), only
 * CPU, so 10 ms is the default and 6-8 ms an option where the hosts are not overloaded.
 */
export const DEFAULT_BFD = { minTxMs: 10, minRxMs: 10 } as const;

export class StreamingTree extends pulumi.ComponentResource {
  public readonly plan: TreePlan;
  public readonly tree: pulumi.Output<{ a: string; b: string }[]>;
  public readonly redundancy: pulumi.Output<{ a: string; b: string }[]>;
  public readonly pruned: pulumi.Output<string[]>;
  public readonly paths: pulumi.Output<{ name: string; nodes: string[]; receiver: string; flows: unknown }[]>;
  public readonly vms: pulumi.Output<Record<string, { host: string; node: string; state: string; lastMigration?: unknown }>>;
  /** Relays that no route avoids, per path (with why). */
  public readonly singlePointsOfFailure: pulumi.Output<{ path: string; relay: string; reason: string }[]>;
  public readonly bridges: Record<string, OvsBridge> = {};
  public readonly tunnels: Record<string, GreTunnel> = {};
  public readonly flowPaths: Record<string, FlowPath> = {};
  public readonly domains: Record<string, MigratedDomain> = {};

  constructor(name: string, args: StreamingTreeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('vpm:index:StreamingTree', name, {}, opts);
    let topology: Topology;
    let plan: TreePlan;
    try {
      topology = asTopology(args.topology);
      plan = planTree(topology, args.hosts, args.placement ?? {});
    } catch (e) {
      throw asProgramError(e); // the user's topology or hosts: reported once, with the field and the fix
    }
    this.plan = plan;
    const bridgeName = args.bridge ?? 'br1';
    const host = (h: string) => args.hosts[h];
    const child = { parent: this };

    for (const b of plan.bridges) {
      this.bridges[b.node] = new OvsBridge(
        childName(name, 'bridge', b.node),
        { connection: host(b.host).connection, name: bridgeName, patch: { overlayOfport: PATCH_OFPORT }, internalPorts: b.internalPorts },
        child,
      );
    }
    const bfd = args.bfd === false ? undefined : { ...DEFAULT_BFD, ...(args.bfd ?? {}) };
    const allTunnels = [...plan.tunnels, ...plan.redundancyTunnels];
    for (const t of allTunnels) {
      const end = (e: typeof t.a) => ({ connection: host(e.host).connection, bridge: bridgeName, remoteIp: e.remoteIp, portName: e.portName, ofport: e.ofport });
      this.tunnels[t.name] = new GreTunnel(
        childName(name, 'tunnel', t.name),
        { a: end(t.a), b: end(t.b), ...(bfd ? { bfd } : {}) },
        { ...child, dependsOn: [this.bridges[t.a.node], this.bridges[t.b.node]] },
      );
    }
    const tunnelsOn = (nodes: string[]) => allTunnels.filter((t) => nodes.includes(t.a.node) && nodes.includes(t.b.node)).map((t) => this.tunnels[t.name]);
    const failed = topology.nodes.filter((n) => n.failed).map((n) => n.id);
    // A path needs the bridges and tunnels of its nodes and of its routes around relays.
    const pathDependencies = (p: (typeof plan.paths)[number]) => {
      const nodes = [...new Set([...p.nodes, ...p.backupHops.map((b) => b.node)])];
      return [...nodes.map((n) => this.bridges[n]), ...tunnelsOn(nodes)];
    };
    for (const s of plan.singlePointsOfFailure) {
      pulumi.log.warn(`path ${s.path}: ${s.relay} is a single point of failure: ${s.reason}`, this);
    }
    for (const p of plan.paths) {
      this.flowPaths[p.name] = new FlowPath(
        childName(name, 'path', p.name),
        // Failed nodes: an update does not try to clean the old route off them.
        flowPathArgs(p, (h) => host(h).connection, bridgeName, failed),
        { ...child, dependsOn: pathDependencies(p) },
      );
    }
    if (plan.vms.length && !args.guest) {
      throw new Error('the topology has VMs: give StreamingTree a guest image (guest.kernel, guest.initrd) present on every hypervisor');
    }
    // Where refresh looks for a VM that is not where the state says: every host that can run
    // VMs, not the topology's leaves, so that growing or shrinking the tree leaves the domain
    // untouched (a new leaf elsewhere is not a change of the VM).
    const vmHosts = Object.keys(args.hosts).filter((h) => args.hosts[h].migrationUri).sort();
    for (const v of plan.vms) {
      const h = host(v.host);
      if (!h.migrationUri) throw new Error(`hosts.${v.host}.migrationUri is missing: VMs need it (hosts file: migration.uri, e.g. qemu+ssh://<host>/system)`);
      this.domains[v.name] = new MigratedDomain(
        childName(name, 'vm', v.name),
        {
          name: v.name,
          host: v.host,
          connection: h.connection,
          migrationUri: h.migrationUri,
          ...(h.allowUnencryptedMigration ? { allowUnencryptedMigration: true } : {}),
          role: v.role,
          memoryMiB: v.memoryMiB,
          vcpus: v.vcpus,
          kernel: args.guest!.kernel,
          initrd: args.guest!.initrd,
          ...(args.guest!.emulator ? { emulator: args.guest!.emulator } : {}),
          cmdline: guestCmdline({
            ip: `${v.ip}/${OVERLAY_PREFIX}`,
            gw: SOURCE_IP,
            ...(v.udpPort ? { relay: { listenPort: v.udpPort, toIp: RELAY_GROUP, toPort: v.udpPort } } : {}),
            queryPort: args.guest!.queryPort ?? QUERY_PORT,
            heartbeatSec: args.guest!.heartbeatSec ?? 5,
            hostname: v.name,
          }),
          // Created / migrated = the guest's relay answers (not merely "running"): no stream is lost after up returns.
          network: { bridge: bridgeName, tap: v.tap, ofport: v.ofport, mac: v.mac, readiness: { port: args.guest!.queryPort ?? QUERY_PORT, ip: v.ip, probeIp: PROBE_IP, probeMac: PROBE_MAC } },
          ...(args.migration ? { migration: args.migration } : {}),
          peers: vmHosts.filter((p) => p !== v.host).map((p) => ({ host: p, connection: host(p).connection })),
        },
        // The paths that reach the VM's node exist (clone) before the VM moves there.
        { ...child, dependsOn: [this.bridges[v.node], ...v.paths.map((p) => this.flowPaths[p])] },
      );
    }

    this.tree = pulumi.output(plan.tree.map((l) => ({ a: l.a, b: l.b })));
    this.redundancy = pulumi.output(plan.redundancy.map((l) => ({ a: l.a, b: l.b })));
    this.pruned = pulumi.output(plan.pruned);
    this.singlePointsOfFailure = pulumi.output(plan.singlePointsOfFailure.map((s) => ({ ...s })));
    this.paths = pulumi.all(
      plan.paths.map((p) => this.flowPaths[p.name].flows.apply((flows) => ({ name: p.name, nodes: p.nodes, receiver: p.receiver.ip, flows }))),
    );
    this.vms = pulumi
      .all(plan.vms.map((v) => pulumi.all([this.domains[v.name].host, this.domains[v.name].state, this.domains[v.name].lastMigration]).apply(([h, state, lm]) => [v.name, { host: h, node: v.node, state, ...(lm ? { lastMigration: lm } : {}) }] as const)))
      .apply((entries) => Object.fromEntries(entries));
    this.registerOutputs({ tree: this.tree, redundancy: this.redundancy, pruned: this.pruned, paths: this.paths, vms: this.vms, singlePointsOfFailure: this.singlePointsOfFailure });
  }
}
