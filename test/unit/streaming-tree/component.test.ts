/**
 * The StreamingTree component in isolation: Pulumi's mock monitor (pulumi.runtime.setMocks,
 * set before the component is imported) records what the program registers, with the parent
 * and the dependencies the engine would see, and no host, lab or engine is involved.
 *   - children are named `<tree>-bridge-<node>`, `-tunnel-<a>-<b>`, `-path-<id>@<leaf>`,
 *     `-vm-<name>` (stable ids, never array positions) and parented to the component;
 *   - tunnels depend on the bridges of their two ends, paths on the bridges and tunnels of
 *     their nodes (and of their routes around relays);
 *   - the LIME order of a migration: the VM's MigratedDomain depends on the new FlowPath
 *     that reaches its new node (created first, packets cloned onto both leaves); the old
 *     path leaves the program, and the engine deletes what left the program after every
 *     create and update of the step, so the old path goes only after the domain moved.
 * The FlowPath arguments are the component's mapping (flowPathArgs) of the plan.
 */
import { join } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { loadTopologyFile } from '../../../components/topology';
import { flowPathArgs } from '../../../components/streaming-tree/flow-path-args';
import { planTree, type TreePlan } from '../../../components/streaming-tree/plan';
import type { StreamingTreeArgs, TreeHost } from '../../../components/streaming-tree/component';

const TOPOLOGIES = join(__dirname, '../../../stacks/topologies');
const T = 'pulumi-nodejs:dynamic/vpm';
const COMPONENT = 'vpm:index:StreamingTree';
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
/** Host hK: reached at 192.0.2.K (never contacted), migrations to it over qemu+ssh. */
const HOSTS: Record<string, TreeHost> = Object.fromEntries(
  [1, 2, 3, 4, 5, 6].map((k) => [
    `h${k}`,
    {
      underlayIp: `10.250.0.${10 + k}`,
      underlayMac: `02:56:50:00:00:0${k}`,
      connection: { host: `192.0.2.${k}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519' },
      migrationUri: `qemu+ssh://192.0.2.${k}/system`,
    },
  ]),
);
const GUEST = { kernel: '/images/vmlinuz', initrd: '/images/initrd.img' };

/** One registration as the engine receives it. */
interface Registered {
  type: string;
  name: string;
  urn: string;
  parent: string;
  dependsOn: string[];
  inputs: Record<string, unknown>;
}

let registered: Registered[] = [];
let StreamingTree: typeof import('../../../components/streaming-tree/component').StreamingTree;

/** Fresh mocks (a new program): every registration recorded with its parent and dependencies. */
async function freshProgram(): Promise<void> {
  registered = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        // The dynamic resources' outputs: their inputs, plus what the providers would add.
        state: { ...args.inputs, ...(args.type === `${T}:MigratedDomain` ? { state: 'running' } : {}), ...(args.type === `${T}:FlowPath` ? { flows: [] } : {}) },
      }),
      call: (args) => args.inputs,
    },
    'vpm',
    'unit',
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, cb: (err: unknown, res: any) => void): Promise<void> };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    register(req, (err, res) => {
      if (!err) {
        registered.push({
          type: req.getType(),
          name: req.getName(),
          urn: res.getUrn(),
          parent: req.getParent(),
          dependsOn: [...req.getDependenciesList()].sort(),
          inputs: pulumi.runtime.deserializeProperties(req.getObject()),
        });
      }
      cb(err, res);
    });
}

const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));

/** A tree of `topology` (a stacks/topologies file), every child registered. */
async function program(topology: string, extra: Partial<StreamingTreeArgs> = {}) {
  await freshProgram();
  const tree = new StreamingTree('tree', { topology: loadTopologyFile(join(TOPOLOGIES, topology)), hosts: HOSTS, guest: GUEST, ...extra });
  await Promise.all([value(tree.urn), value(tree.paths), value(tree.vms)]);
  const children = [...Object.values(tree.bridges), ...Object.values(tree.tunnels), ...Object.values(tree.flowPaths), ...Object.values(tree.domains)];
  await Promise.all(children.map((c) => value(c.urn)));
  const byName = (name: string) => {
    const r = registered.find((x) => x.name === name);
    if (!r) throw new Error(`${name} was not registered (registered: ${registered.map((x) => x.name).join(', ')})`);
    return r;
  };
  const urn = (name: string) => byName(name).urn;
  return { tree, byName, urn, treeUrn: await value(tree.urn) };
}

beforeAll(async () => {
  await freshProgram();
  // The component is imported only now, with the mocks in place.
  ({ StreamingTree } = await import('../../../components/streaming-tree/component'));
}, 30_000);

describe('StreamingTree under mocks: children, parents, dependencies', () => {
  it('failover.yaml: every child named from stable ids, parented to the tree', async () => {
    const { byName, treeUrn } = await program('failover.yaml');
    const plan = planTree(loadTopologyFile(join(TOPOLOGIES, 'failover.yaml')), HOSTS);
    expect(registered.filter((r) => r.type === COMPONENT).map((r) => r.name)).toEqual(['tree']);
    const children = registered.filter((r) => r.type !== COMPONENT);
    expect(children.map((r) => `${r.type.replace(`${T}:`, '')} ${r.name}`).sort()).toEqual(
      [
        ...plan.bridges.map((b) => `OvsBridge tree-bridge-${b.node}`),
        ...[...plan.tunnels, ...plan.redundancyTunnels].map((t) => `GreTunnel tree-tunnel-${t.name}`),
        ...plan.paths.map((p) => `FlowPath tree-path-${p.name}`),
      ].sort(),
    );
    expect(children.map((r) => r.name)).toEqual(expect.arrayContaining(['tree-bridge-h1', 'tree-tunnel-h1-h2', 'tree-tunnel-h3-h4', 'tree-path-h4-5004@h4']));
    for (const c of children) expect([c.name, c.parent]).toEqual([c.name, treeUrn]);
    expect(byName('tree').parent).not.toBe(treeUrn);
  });

  it('a tunnel depends on the bridges of its two ends', async () => {
    const { byName, urn } = await program('failover.yaml');
    expect(byName('tree-tunnel-h1-h2').dependsOn).toEqual([urn('tree-bridge-h1'), urn('tree-bridge-h2')].sort());
    expect(byName('tree-tunnel-h3-h4').dependsOn).toEqual([urn('tree-bridge-h3'), urn('tree-bridge-h4')].sort());
  });

  it("a path depends on the bridges and tunnels of its nodes and of its route around the relay", async () => {
    const { byName, urn } = await program('failover.yaml');
    // h1 -> h2 -> h4, around h2 by h1 -> h3 -> h4: every node and every tunnel among them.
    expect(byName('tree-path-h4-5004@h4').dependsOn).toEqual(
      [
        ...['h1', 'h2', 'h3', 'h4'].map((n) => urn(`tree-bridge-${n}`)),
        ...['h1-h2', 'h1-h3', 'h2-h4', 'h3-h4'].map((t) => urn(`tree-tunnel-${t}`)),
      ].sort(),
    );
  });

  it("the FlowPath inputs are flowPathArgs of the plan (the component's one mapping)", async () => {
    const { byName } = await program('failover.yaml');
    const plan = planTree(loadTopologyFile(join(TOPOLOGIES, 'failover.yaml')), HOSTS);
    for (const p of plan.paths) {
      const args = flowPathArgs(p, (h) => HOSTS[h].connection, 'br1');
      const inputs = byName(`tree-path-${p.name}`).inputs;
      expect({ pathId: inputs.pathId, stream: inputs.stream, egress: inputs.egress, owner: inputs.owner }).toEqual({
        pathId: args.pathId,
        stream: args.stream,
        egress: args.egress,
        owner: `vpm/unit/tree-path-${p.name}`,
      });
      expect(inputs.hops).toEqual(args.hops);
      expect(inputs.backupHops).toEqual(args.backupHops);
    }
  });

  it('a node marked failed: its bridge and tunnels stay, paths route around it and name it down', async () => {
    const failed = loadTopologyFile(join(TOPOLOGIES, 'failover.yaml'));
    const t = { ...failed, nodes: failed.nodes.map((n) => (n.id === 'h2' ? { ...n, failed: true } : n)) };
    await freshProgram();
    const tree = new StreamingTree('tree', { topology: t, hosts: HOSTS });
    await Promise.all(Object.values(tree.flowPaths).map((p) => value(p.urn)));
    expect(registered.map((r) => r.name)).toEqual(expect.arrayContaining(['tree-bridge-h2', 'tree-tunnel-h1-h2']));
    const path = registered.find((r) => r.type === `${T}:FlowPath`)!;
    expect(path.inputs.down).toEqual(['h2']);
    expect((path.inputs.hops as { node: string }[]).map((h) => h.node)).toEqual(['h1', 'h3', 'h4']);
  });
});

describe('StreamingTree under mocks: the LIME order of a migration (paper.yaml, leafvm2 from l2 to l1)', () => {
  const paths = (plan: TreePlan) => plan.paths.map((p) => p.name);

  it('before: each domain depends on its node bridge and its own path', async () => {
    const { byName, urn } = await program('paper.yaml');
    expect(byName('tree-vm-leafvm2').dependsOn).toEqual([urn('tree-bridge-l2'), urn('tree-path-l2-5004@l2')].sort());
    expect(byName('tree-vm-leafvm1').dependsOn).toEqual([urn('tree-bridge-l1'), urn('tree-path-l1-5004@l1')].sort());
    expect(byName('tree-vm-leafvm2').inputs).toMatchObject({ name: 'leafvm2', host: 'h4' });
  });

  it('after: the domain depends on the new path to its new node; the old path left the program (deleted last)', async () => {
    const topology = loadTopologyFile(join(TOPOLOGIES, 'paper.yaml'));
    expect(paths(planTree(topology, HOSTS))).toEqual(['l1-5004@l1', 'l2-5004@l2']);
    expect(paths(planTree(topology, HOSTS, { leafvm2: 'l1' }))).toEqual(['l1-5004@l1', 'l2-5004@l1']);

    const { byName, urn } = await program('paper.yaml', { placement: { leafvm2: 'l1' } });
    const vm = byName('tree-vm-leafvm2');
    // The update of the domain (a live migration to h2) waits for the new path (the clone).
    expect(vm.inputs).toMatchObject({ name: 'leafvm2', host: 'h2' });
    expect(vm.dependsOn).toEqual([urn('tree-bridge-l1'), urn('tree-path-l2-5004@l1')].sort());
    // The old path is not in the program: the engine deletes it after the domain's update.
    expect(registered.map((r) => r.name)).not.toContain('tree-path-l2-5004@l2');
    // The new path is registered before the domain (its URN is one of the domain's dependencies).
    const order = registered.map((r) => r.name);
    expect(order.indexOf('tree-path-l2-5004@l1')).toBeLessThan(order.indexOf('tree-vm-leafvm2'));
    // The VM that stays depends on its own path only.
    expect(byName('tree-vm-leafvm1').dependsOn).toEqual([urn('tree-bridge-l1'), urn('tree-path-l1-5004@l1')].sort());
  });

  it('a tree with VMs and no guest image is refused', async () => {
    await freshProgram();
    expect(() => new StreamingTree('tree', { topology: loadTopologyFile(join(TOPOLOGIES, 'paper.yaml')), hosts: HOSTS })).toThrow(/guest image/);
  });
});
