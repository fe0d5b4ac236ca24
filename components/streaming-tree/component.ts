/**
 * StreamingTree: the paper's whole delivery tree as one ComponentResource. It validates the
 * topology, computes the tree (components/topology) and the plan (plan.ts), and creates, all
 * parented to it and named from stable ids:
 *   bridge-<node>        OvsBridge (br1 + patch; the root also gets the source port src0)
 *   tunnel-<a>-<b>       GreTunnel per tree link
 *   path-<id>@<leaf>     FlowPath per declared path (the leaf follows a VM placed elsewhere)
 *   vm-<name>            MigratedDomain per VM
 * Dependencies give one `pulumi up` after a VM's placement changes the LIME order: the new
 * path is created (packets cloned onto both leaves), the domain is updated (live-migrated,
 * it depends on the paths that reach its new node), and the old path, which left the
 * program, is deleted at the end of the update.
 */
import * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec } from '../../providers/exec/connection';
import { OvsBridge } from '../../providers/ovs-bridge/resource';
import { GreTunnel } from '../../providers/gre-tunnel/resource';
import { FlowPath } from '../../providers/flow-path/resource';
import { MigratedDomain } from '../../providers/migrated-domain/resource';
import type { MigrationSettings } from '../../providers/migrated-domain/types';
import { guestCmdline } from '../../providers/libvirt/domain';
import { parseTopology, type Topology } from '../topology';
import { planTree, type HostFacts, type TreePlan } from './plan';
import { OVERLAY_PREFIX, PATCH_OFPORT, RELAY_GROUP, SOURCE_IP } from './ports';

export interface TreeHost extends HostFacts {
  readonly connection: ConnectionSpec;
  /** The URI other hosts' libvirtd migrate to this one with (lab: qemu+tcp://<ip>/system). */
  readonly migrationUri?: string;
}

export interface GuestImage {
  /** Absolute paths on every hypervisor (the same on each). */
  readonly kernel: string;
  readonly initrd: string;
  readonly emulator?: string;
}

export interface StreamingTreeArgs {
  /** The drawn topology (object, validated here). */
  readonly topology: unknown;
  /** The hypervisors by name (a node's `host`). */
  readonly hosts: Readonly<Record<string, TreeHost>>;
  /** VM name -> node: where each VM runs now (default: its topology node). */
  readonly placement?: Readonly<Record<string, string>>;
  /** The overlay bridge's name on every node; default "br1". */
  readonly bridge?: string;
  /** Needed when the topology has VMs. */
  readonly guest?: GuestImage;
  readonly migration?: MigrationSettings;
}

export class StreamingTree extends pulumi.ComponentResource {
  public readonly plan: TreePlan;
  public readonly tree: pulumi.Output<{ a: string; b: string }[]>;
  public readonly redundancy: pulumi.Output<{ a: string; b: string }[]>;
  public readonly pruned: pulumi.Output<string[]>;
  public readonly paths: pulumi.Output<{ name: string; nodes: string[]; receiver: string; flows: unknown }[]>;
  public readonly vms: pulumi.Output<Record<string, { host: string; node: string; state: string; lastMigration?: unknown }>>;
  public readonly bridges: Record<string, OvsBridge> = {};
  public readonly tunnels: Record<string, GreTunnel> = {};
  public readonly flowPaths: Record<string, FlowPath> = {};
  public readonly domains: Record<string, MigratedDomain> = {};

  constructor(name: string, args: StreamingTreeArgs, opts?: pulumi.ComponentResourceOptions) {
    super('vpm:index:StreamingTree', name, {}, opts);
    const topology: Topology = parseTopology(args.topology);
    const plan = planTree(topology, args.hosts, args.placement ?? {});
    this.plan = plan;
    const bridgeName = args.bridge ?? 'br1';
    const host = (h: string) => args.hosts[h];
    const child = { parent: this };

    for (const b of plan.bridges) {
      this.bridges[b.node] = new OvsBridge(
        `${name}-bridge-${b.node}`,
        { connection: host(b.host).connection, name: bridgeName, patch: { overlayOfport: PATCH_OFPORT }, internalPorts: b.internalPorts },
        child,
      );
    }
    for (const t of plan.tunnels) {
      const end = (e: typeof t.a) => ({ connection: host(e.host).connection, bridge: bridgeName, remoteIp: e.remoteIp, portName: e.portName, ofport: e.ofport });
      this.tunnels[t.name] = new GreTunnel(`${name}-tunnel-${t.name}`, { a: end(t.a), b: end(t.b) }, { ...child, dependsOn: [this.bridges[t.a.node], this.bridges[t.b.node]] });
    }
    const tunnelsOn = (nodes: string[]) => plan.tunnels.filter((t) => nodes.includes(t.a.node) && nodes.includes(t.b.node)).map((t) => this.tunnels[t.name]);
    for (const p of plan.paths) {
      this.flowPaths[p.name] = new FlowPath(
        `${name}-path-${p.name}`,
        {
          pathId: p.name,
          stream: { udpDst: p.udpDst, ...(p.srcIp ? { srcIp: p.srcIp } : {}) },
          hops: p.hops.map((h) => ({
            node: h.node,
            connection: host(h.host).connection,
            bridge: bridgeName,
            inPort: h.inPort,
            outPort: h.outPort,
            ...(h.vmPort !== undefined ? { vmPort: h.vmPort, vmMac: h.vmMac, vmIp: h.vmIp } : {}),
            neighbours: h.neighbours,
          })),
          egress: { receiverIp: p.receiver.ip, ...(p.receiver.mac ? { receiverMac: p.receiver.mac } : {}), srcMac: p.srcMac },
        },
        { ...child, dependsOn: [...p.nodes.map((n) => this.bridges[n]), ...tunnelsOn(p.nodes)] },
      );
    }
    if (plan.vms.length && !args.guest) {
      throw new Error('the topology has VMs: give StreamingTree a guest image (guest.kernel, guest.initrd) present on every hypervisor');
    }
    for (const v of plan.vms) {
      const h = host(v.host);
      if (!h.migrationUri) throw new Error(`hosts.${v.host}.migrationUri is missing: VMs need it (lab: qemu+tcp://<ip>/system)`);
      const leafHosts = topology.nodes.filter((n) => n.role === 'leaf' && !n.failed && n.host !== v.host);
      this.domains[v.name] = new MigratedDomain(
        `${name}-vm-${v.name}`,
        {
          name: v.name,
          host: v.host,
          connection: h.connection,
          migrationUri: h.migrationUri,
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
            queryPort: 7000,
            heartbeatSec: 5,
            hostname: v.name,
          }),
          network: { bridge: bridgeName, tap: v.tap, ofport: v.ofport, mac: v.mac },
          ...(args.migration ? { migration: args.migration } : {}),
          peers: leafHosts.map((n) => ({ host: n.host, connection: host(n.host).connection })),
        },
        // The paths that reach the VM's node exist (clone) before the VM moves there.
        { ...child, dependsOn: [this.bridges[v.node], ...v.paths.map((p) => this.flowPaths[p])] },
      );
    }

    this.tree = pulumi.output(plan.tree.map((l) => ({ a: l.a, b: l.b })));
    this.redundancy = pulumi.output(plan.redundancy.map((l) => ({ a: l.a, b: l.b })));
    this.pruned = pulumi.output(plan.pruned);
    this.paths = pulumi.all(
      plan.paths.map((p) => this.flowPaths[p.name].flows.apply((flows) => ({ name: p.name, nodes: p.nodes, receiver: p.receiver.ip, flows }))),
    );
    this.vms = pulumi
      .all(plan.vms.map((v) => pulumi.all([this.domains[v.name].host, this.domains[v.name].state, this.domains[v.name].lastMigration]).apply(([h, state, lm]) => [v.name, { host: h, node: v.node, state, ...(lm ? { lastMigration: lm } : {}) }] as const)))
      .apply((entries) => Object.fromEntries(entries));
    this.registerOutputs({ tree: this.tree, redundancy: this.redundancy, pruned: this.pruned, paths: this.paths, vms: this.vms });
  }
}
