/**
 * A path is bound to its own VM (issue #19), in the plan and down to the switch:
 *   - paper.yaml with leafvm2 placed on l1 (where leafvm1 runs): l2-5004 follows leafvm2 and
 *     its hop at l1 goes through leafvm2's port, l1-5004 keeps going through leafvm1's; at the
 *     FlowPath level the two share l1's entry group with two distinct buckets (one copy to
 *     each VM), where the old "first VM on the node" rule gave one identical bucket;
 *   - the domain of each VM depends on exactly its own paths (the clone path before it moves);
 *   - the topology names the VM (paths[].vm, nodes[].relayVm); every ambiguity or mistake is
 *     refused with an error naming the field and the fix.
 */
import { join } from 'node:path';
import { loadTopologyFile, parseTopology, type TopologyInput } from '../../../components/topology';
import { flowPathArgs } from '../../../components/streaming-tree/flow-path-args';
import { planTree, type HostFacts, type PlannedPath } from '../../../components/streaming-tree/plan';
import { vmOfports } from '../../../components/streaming-tree/ports';
import { planPath } from '../../../providers/flow-path/plan';
import { provider } from '../../../providers/flow-path/provider';
import type { FlowPathInputs } from '../../../providers/flow-path/types';
import { topologyErrorOf } from '../../support/expect';

const TOPOLOGIES = join(__dirname, '../../../stacks/topologies');
const paper = () => loadTopologyFile(join(TOPOLOGIES, 'paper.yaml'));
const HOSTS: Record<string, HostFacts> = Object.fromEntries(
  [1, 2, 3, 4, 5].map((k) => [`h${k}`, { underlayIp: `10.250.0.${10 + k}`, underlayMac: `02:56:50:00:00:0${k}` }]),
);
const PORT = vmOfports(['leafvm1', 'leafvm2']);
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  return topologyErrorOf(fn).problems.map((p) => ({ path: p.path, message: p.message }));
}

/** The FlowPath inputs the provider's check computes for a planned path (no host contacted). */
async function flowPathInputs(p: PlannedPath): Promise<FlowPathInputs> {
  const conn = (host: string) => ({ host: `192.0.2.${host.slice(1)}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id' });
  const args = { ...flowPathArgs(p, conn, 'br1'), owner: `vpm/test/path-${p.name}` };
  const r = (await provider.check!({}, args)) as { inputs?: FlowPathInputs; failures?: unknown[] };
  if (r.failures?.length) throw new Error(JSON.stringify(r.failures));
  return r.inputs!;
}

describe('paper.yaml: two VMs on one leaf each keep their own path', () => {
  const before = planTree(paper(), HOSTS);
  const after = planTree(paper(), HOSTS, { leafvm2: 'l1' });

  it('before the move: each path ends through its own VM on its own leaf', () => {
    expect(before.paths.map((p) => [p.name, p.hops.at(-1)!.node, p.hops.at(-1)!.vmPort])).toEqual([
      ['l1-5004@l1', 'l1', PORT.get('leafvm1')],
      ['l2-5004@l2', 'l2', PORT.get('leafvm2')],
    ]);
  });

  it('leafvm2 on l1: l2-5004 follows it and goes through leafvm2, not leafvm1', () => {
    const [p1, p2] = after.paths;
    expect(p1.name).toBe('l1-5004@l1');
    expect(p2.name).toBe('l2-5004@l1');
    expect(p2.nodes).toEqual(['root', 'l1']);
    expect(p1.hops[1]).toMatchObject({ node: 'l1', vmPort: PORT.get('leafvm1'), vmMac: after.vms[0].mac, vmIp: after.vms[0].ip });
    expect(p2.hops[1]).toMatchObject({ node: 'l1', vmPort: PORT.get('leafvm2'), vmMac: after.vms[1].mac, vmIp: after.vms[1].ip });
    // The path l1-5004 itself is untouched by the move (no update of it in the engine).
    expect(p1).toEqual(before.paths[0]);
  });

  it("each domain depends on its own path only (the clone path exists before it moves), and relays that path's port", () => {
    expect(after.vms.map((v) => [v.name, v.node, v.paths, v.udpPort])).toEqual([
      ['leafvm1', 'l1', ['l1-5004@l1'], 5004],
      ['leafvm2', 'l1', ['l2-5004@l1'], 5004],
    ]);
  });

  it('on the switch at l1: one entry group, two buckets (a copy to each VM), and each VM output leaves by its own segment', async () => {
    const [a, b] = await Promise.all(after.paths.map(flowPathInputs));
    const atL1 = (p: FlowPathInputs) => planPath(p)[1].segments;
    const [entryA, backA] = atL1(a);
    const [entryB, backB] = atL1(b);
    expect(entryA.groupId).toBe(entryB.groupId); // same in_port and stream match: one shared flow
    expect(entryA.bucketId).not.toBe(entryB.bucketId); // but not the same bucket: both VMs get the stream
    expect([backA.inPort, backB.inPort]).toEqual([PORT.get('leafvm1'), PORT.get('leafvm2')]);
    expect(backA.groupId).not.toBe(backB.groupId);
    // At the root both paths leave by the same tunnel: one bucket, so l1 gets each datagram once.
    expect(planPath(a)[0].segments[0].bucketId).toBe(planPath(b)[0].segments[0].bucketId);
  });

  it('moving back restores exactly the original plan', () => {
    expect(planTree(paper(), HOSTS, { leafvm2: 'l2' })).toEqual(before);
  });
});

/** root - x (relay) - l (leaf); `extra` merged into the topology. */
function chain(extra: Partial<TopologyInput> & { vms?: TopologyInput['vms']; nodes?: TopologyInput['nodes'] }): TopologyInput {
  return {
    nodes: extra.nodes ?? [
      { id: 'root', role: 'root', host: 'h1' },
      { id: 'x', role: 'relay', host: 'h2' },
      { id: 'l', role: 'leaf', host: 'h3' },
    ],
    links: [
      { a: 'root', b: 'x' },
      { a: 'x', b: 'l' },
    ],
    vms: extra.vms ?? [],
    paths: extra.paths ?? [{ leaf: 'l', receiver: { ip: '10.250.0.255' }, stream: { udpPort: 5004 } }],
  };
}

describe('the topology names the VM; ambiguity is refused, naming the field', () => {
  it('a leaf with two VMs and a path without vm: paths[0].vm is required', () => {
    const problems = problemsOf(() => parseTopology(chain({ vms: [{ name: 'a', node: 'l' }, { name: 'b', node: 'l' }] })));
    expect(problems).toEqual([{ path: 'paths[0].vm', message: 'is missing: the leaf "l" hosts 2 VMs (a, b); set vm: to the one this path goes through' }]);
  });

  it('paths[].vm naming an unknown VM, or a VM of another node, is refused with the VMs to choose from', () => {
    const unknown = problemsOf(() => parseTopology(chain({ vms: [{ name: 'a', node: 'l' }], paths: [{ leaf: 'l', vm: 'zz', receiver: { ip: '10.250.0.255' }, stream: { udpPort: 5004 } }] })));
    expect(unknown).toEqual([{ path: 'paths[0].vm', message: 'no VM "zz" is declared; name a VM declared on the leaf "l" (a)' }]);
    const elsewhere = problemsOf(() =>
      parseTopology(chain({ vms: [{ name: 'a', node: 'l' }, { name: 'r', node: 'x' }], paths: [{ leaf: 'l', vm: 'r', receiver: { ip: '10.250.0.255' }, stream: { udpPort: 5004 } }] })),
    );
    expect(elsewhere).toEqual([{ path: 'paths[0].vm', message: 'VM "r" is declared on node "x", not on the path\'s leaf "l"; name a VM declared on "l" (a) or set leaf: x' }]);
  });

  it('nodes[].relayVm must be a VM declared on that node', () => {
    const nodes = [
      { id: 'root', role: 'root' as const, host: 'h1' },
      { id: 'x', role: 'relay' as const, host: 'h2', relayVm: 'a' },
      { id: 'l', role: 'leaf' as const, host: 'h3' },
    ];
    const problems = problemsOf(() => parseTopology(chain({ nodes, vms: [{ name: 'a', node: 'l' }, { name: 'r', node: 'x' }] })));
    expect(problems).toEqual([{ path: 'nodes[1].relayVm', message: 'VM "a" is declared on node "l", not on "x"; name one of the VMs declared on it (r)' }]);
  });

  it('a relay with two VMs and no relayVm: planTree refuses, naming nodes[1].relayVm and the paths through it', () => {
    const t = parseTopology(chain({ vms: [{ name: 'r1', node: 'x' }, { name: 'r2', node: 'x' }] }));
    expect(problemsOf(() => planTree(t, HOSTS))).toEqual([
      { path: 'nodes[1].relayVm', message: 'node "x" hosts 2 VMs here (r1, r2) and path(s) l-5004 pass through it; set relayVm: to the one that relays them' },
    ]);
  });

  it('with relayVm the named VM relays; a single VM relays without being named; the leaf path needs no VM', () => {
    const nodes = [
      { id: 'root', role: 'root' as const, host: 'h1' },
      { id: 'x', role: 'relay' as const, host: 'h2', relayVm: 'r2' },
      { id: 'l', role: 'leaf' as const, host: 'h3' },
    ];
    const ports = vmOfports(['r1', 'r2']);
    const named = planTree(parseTopology(chain({ nodes, vms: [{ name: 'r1', node: 'x' }, { name: 'r2', node: 'x' }] })), HOSTS);
    expect(named.paths[0].hops.map((h) => h.vmPort)).toEqual([undefined, ports.get('r2'), undefined]);
    expect(named.vms.map((v) => [v.name, v.paths])).toEqual([
      ['r1', []],
      ['r2', ['l-5004@l']],
    ]);
    const single = planTree(parseTopology(chain({ vms: [{ name: 'r1', node: 'x' }] })), HOSTS);
    expect(single.paths[0].hops.map((h) => h.vmPort)).toEqual([undefined, vmOfports(['r1']).get('r1'), undefined]);
  });

  it('a path whose leaf has no VM is not captured by a VM that migrates onto that leaf', () => {
    // Two leaves l1 (with VM a) and l2 (no VM); a placed on l2 must not take over l2's path.
    const t = parseTopology({
      nodes: [
        { id: 'root', role: 'root', host: 'h1' },
        { id: 'l1', role: 'leaf', host: 'h2' },
        { id: 'l2', role: 'leaf', host: 'h3' },
      ],
      links: [
        { a: 'root', b: 'l1' },
        { a: 'root', b: 'l2' },
      ],
      vms: [{ name: 'a', node: 'l1' }],
      paths: [
        { leaf: 'l1', receiver: { ip: '10.250.0.255' }, stream: { udpPort: 5004 } },
        { leaf: 'l2', receiver: { ip: '10.250.0.255' }, stream: { udpPort: 5006 } },
      ],
    });
    const plan = planTree(t, HOSTS, { a: 'l2' });
    expect(plan.paths.map((p) => [p.name, p.hops.at(-1)!.vmPort])).toEqual([
      ['l1-5004@l2', vmOfports(['a']).get('a')],
      ['l2-5006@l2', undefined],
    ]);
  });
});
