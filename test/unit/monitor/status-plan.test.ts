/**
 * `vpm status` judges a hop by the path's own plan, as `pulumi refresh` does (issue #19), on
 * the paper's topology without hosts: the FlowPaths' state comes from the provider's own
 * check of the StreamingTree plan, and each switch holds exactly what the provider's install
 * bundles put there (providers/flow-path/plan.ts installOps applied to the pure switch model).
 *   - freshly applied: every hop ok, including l2, which holds l2-5004's backup join (a tagged
 *     flow at priority 1001 with a dl_src match: status called it "missing" before), and l1,
 *     a switch only the backup route around x visits;
 *   - one flow deleted by hand: exactly the hop(s) that needed it turn `missing`, with the
 *     same problems refresh reports (missingParts over planSwitches, the provider's read);
 *   - after leafvm2 moved onto l1: each path's hop at l1 names its own VM and counts what
 *     came back from that VM alone.
 */
import { flowPathArgs } from '../../../components/streaming-tree/flow-path-args';
import { join } from 'node:path';
import { loadTopologyFile } from '../../../components/topology';
import { planTree, type HostFacts, type PlannedPath, type TreePlan } from '../../../components/streaming-tree/plan';
import { buildModel, type StackModel } from '../../../monitor/model';
import type { StateResource } from '../../../monitor/pulumi';
import { StatusCollector, type HostProbe, type StatusReport } from '../../../monitor/status';
import { applyOps, installOps, missingParts, planSwitches, switchKey, type SwitchState } from '../../../providers/flow-path/plan';
import { provider } from '../../../providers/flow-path/provider';
import type { FlowPathInputs } from '../../../providers/flow-path/types';
import type { DumpedFlowStats } from '../../../providers/ovs/ofctl';

const paper = () => loadTopologyFile(join(__dirname, '../../../stacks/topologies/paper.yaml'));
const HOSTS: Record<string, HostFacts> = Object.fromEntries(
  [1, 2, 3, 4, 5].map((k) => [`h${k}`, { underlayIp: `10.250.0.${10 + k}`, underlayMac: `02:56:50:00:00:0${k}` }]),
);
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
const conn = (host: string) => ({ host: `10.250.0.${10 + Number(host.slice(1))}`, port: 22, netns: 'vpmnb-ul', hostKey: HOST_KEY, user: 'root', privateKeyPath: '/nonexistent/id' });
const hostOfAddress = (addr: string) => `h${Number(addr.split('.')[3]) - 10}`;
const T = 'pulumi-nodejs:dynamic/vpm';

async function flowPath(p: PlannedPath): Promise<FlowPathInputs> {
  const args = { ...flowPathArgs(p, conn, 'br1'), owner: `vpm/paper/tree-path-${p.name}` };
  const r = (await provider.check!({}, args)) as { inputs?: FlowPathInputs; failures?: unknown[] };
  if (r.failures?.length) throw new Error(JSON.stringify(r.failures));
  return r.inputs!;
}

interface Deployed {
  readonly plan: TreePlan;
  readonly inputs: FlowPathInputs[];
  readonly model: StackModel;
  /** Every switch as the provider's bundles left it, by switchKey. */
  readonly switches: Map<string, SwitchState>;
}

async function deploy(placement: Record<string, string> = {}): Promise<Deployed> {
  const plan = planTree(paper(), HOSTS, placement);
  const inputs = await Promise.all(plan.paths.map(flowPath));
  const switches = new Map<string, SwitchState>();
  for (const p of inputs) {
    for (const sw of planSwitches(p)) {
      const before = switches.get(sw.key) ?? { flows: [], groups: [] };
      switches.set(sw.key, applyOps(before, installOps(sw, before, p.cookie)));
    }
  }
  const resources: StateResource[] = [
    ...inputs.map((p) => ({ urn: `urn:pulumi:paper::vpm::${T}:FlowPath::tree-path-${p.pathId}`, type: `${T}:FlowPath`, outputs: { ...p, missing: [], providerVersion: 'test' } as Record<string, unknown> })),
    ...plan.vms.map((v) => ({
      urn: `urn:pulumi:paper::vpm::${T}:MigratedDomain::tree-vm-${v.name}`,
      type: `${T}:MigratedDomain`,
      outputs: { name: v.name, host: v.host, connection: conn(v.host), network: { bridge: 'br1', tap: v.tap, ofport: v.ofport, mac: v.mac }, state: 'running' } as Record<string, unknown>,
    })),
  ];
  const outputs = { root: plan.root, tree: plan.tree, redundancy: plan.redundancy, pruned: plan.pruned, paths: plan.paths.map((p) => ({ name: p.name, nodes: p.nodes, receiver: p.receiver.ip })) };
  const model = buildModel('paper', resources, outputs, paper());
  return { plan, inputs, model, switches };
}

/** The hosts' answers: each switch's flows with a packet count per flow (`packets(flow)`). */
function probes(d: Deployed, packets: (f: { matchText: string; priority: number }) => number = () => 100): Map<string, HostProbe> {
  const out = new Map<string, HostProbe>();
  for (const [key, state] of d.switches) {
    const host = hostOfAddress(key.split('|')[0]!);
    const flows: DumpedFlowStats[] = state.flows.map((f) => ({ ...f, nPackets: f.table === 0 ? packets(f) : 0, nBytes: f.table === 0 ? packets(f) * 100 : 0, durationSec: 5 }));
    out.set(host, { online: true, cpuPercent: 5, flows: { br1: flows }, groups: { br1: state.groups }, jobs: {}, errors: [] });
  }
  return out;
}

const report = (d: Deployed, p = probes(d)): StatusReport => new StatusCollector(d.model, { warn: 50, crit: 80 }).report(d.model, p, Date.now());
const states = (r: StatusReport) =>
  Object.fromEntries(r.paths.map((p) => [p.name, [...p.hops.map((h) => `${h.node}:${h.state}`), ...p.backupHops.map((h) => `${h.node}(backup):${h.state}`)]]));

/** What refresh (the provider's read) reports missing for each path on these switches. */
function refreshMissing(d: Deployed): Record<string, string[]> {
  return Object.fromEntries(d.inputs.map((p) => [p.pathId, planSwitches(p).flatMap((sw) => missingParts(sw, d.switches.get(sw.key)!, p.cookie))]));
}
/** The same from the status report (problems carry no node prefix there). */
function statusMissing(r: StatusReport): Record<string, string[]> {
  return Object.fromEntries(r.paths.map((p) => [p.name, [...p.hops, ...p.backupHops].flatMap((h) => h.problems.map((x) => `${h.node}: ${x}`))]));
}

/** Deletes the table-0 flows `pick` selects from the switch of `node` (a hand-made drift). */
function deleteFlows(d: Deployed, node: string, pick: (f: { matchText: string; priority: number }) => boolean): number {
  const host = d.plan.bridges.find((b) => b.node === node)!.host;
  const key = switchKey({ connection: conn(host), bridge: 'br1' });
  const s = d.switches.get(key)!;
  const kept = s.flows.filter((f) => !(f.table === 0 && pick(f)));
  d.switches.set(key, { ...s, flows: kept });
  return s.flows.length - kept.length;
}

describe('status on a freshly applied paper stack', () => {
  test('every hop ok, the backup join at l2 (tagged, priority 1001) and the backup-only switch l1 included', async () => {
    const d = await deploy();
    const r = report(d);
    expect(states(r)).toEqual({
      'l1-5004@l1': ['root:ok', 'l1:ok'],
      'l2-5004@l2': ['root:ok', 'x:ok', 'l2:ok', 'l1(backup):ok'],
    });
    expect(r.summary).toMatchObject({ paths: 2, pathsOk: 2 });
    const l2 = r.paths[1]!.hops[2]!;
    expect(l2.segments.map((s) => s.backupFor ?? 'primary')).toEqual(['primary', 'primary', 'x']);
    expect(l2).toMatchObject({ vm: 'leafvm2', problems: [] });
    expect(refreshMissing(d)).toEqual({ 'l1-5004@l1': [], 'l2-5004@l2': [] });
  });

  test("the leaf VM's return flow deleted: exactly l2 of l2-5004@l2 is missing, in status and in refresh alike", async () => {
    const d = await deploy();
    const vmPort = d.plan.vms.find((v) => v.name === 'leafvm2')!.ofport;
    expect(deleteFlows(d, 'l2', (f) => f.matchText.includes(`in_port=${vmPort},`))).toBe(1);
    const r = report(d);
    expect(states(r)).toEqual({
      'l1-5004@l1': ['root:ok', 'l1:ok'],
      'l2-5004@l2': ['root:ok', 'x:ok', 'l2:missing', 'l1(backup):ok'],
    });
    expect(r.paths[1]!.hops[2]!.problems).toEqual([expect.stringMatching(new RegExp(`^in_port=${vmPort}: flow to group \\d+ missing$`))]);
    expect(statusMissing(r)).toEqual(refreshMissing(d));
  });

  test('the backup join flow deleted: l2 is missing for l2-5004@l2 (what the plan needs), nothing else', async () => {
    const d = await deploy();
    expect(deleteFlows(d, 'l2', (f) => f.priority === 1001)).toBe(1);
    const r = report(d);
    expect(states(r)['l2-5004@l2']).toEqual(['root:ok', 'x:ok', 'l2:missing', 'l1(backup):ok']);
    expect(r.paths[1]!.hops[2]!.problems[0]).toMatch(/\(backup around x\): flow to group \d+ missing$/);
    expect(statusMissing(r)).toEqual(refreshMissing(d));
  });

  test("the root's shared source flow deleted: the root hop of both paths (both need it), and only that", async () => {
    const d = await deploy();
    expect(deleteFlows(d, 'root', (f) => f.matchText.includes('in_port=2,'))).toBe(1);
    const r = report(d);
    expect(states(r)).toEqual({
      'l1-5004@l1': ['root:missing', 'l1:ok'],
      'l2-5004@l2': ['root:missing', 'x:ok', 'l2:ok', 'l1(backup):ok'],
    });
    expect(statusMissing(r)).toEqual(refreshMissing(d));
  });

  test('a group bucket gone (not a flow) is missing too: status checks what refresh checks', async () => {
    const d = await deploy();
    const key = switchKey({ connection: conn('h3'), bridge: 'br1' });
    const s = d.switches.get(key)!;
    d.switches.set(key, { ...s, groups: s.groups.map((g) => ({ ...g, buckets: [] })) });
    const r = report(d);
    expect(states(r)['l2-5004@l2']).toEqual(['root:ok', 'x:missing', 'l2:ok', 'l1(backup):ok']);
    expect(statusMissing(r)).toEqual(refreshMissing(d));
  });
});

describe('status after leafvm2 moved onto l1', () => {
  test("each path's hop at l1 goes through its own VM, with that VM's own counter", async () => {
    const d = await deploy({ leafvm2: 'l1' });
    const port = (vm: string) => d.plan.vms.find((v) => v.name === vm)!.ofport;
    // Distinct counts per VM return flow, so a mix-up would show.
    const r = report(d, probes(d, (f) => (f.matchText.includes(`in_port=${port('leafvm1')},`) ? 111 : f.matchText.includes(`in_port=${port('leafvm2')},`) ? 222 : 500)));
    expect(states(r)).toEqual({ 'l1-5004@l1': ['root:ok', 'l1:ok'], 'l2-5004@l1': ['root:ok', 'l1:ok'] });
    expect(r.paths.map((p) => [p.name, p.hops[1]!.vm, p.hops[1]!.packets, p.hops[1]!.vmPackets, p.delivered])).toEqual([
      ['l1-5004@l1', 'leafvm1', 500, 111, 111],
      ['l2-5004@l1', 'leafvm2', 500, 222, 222],
    ]);
  });
});
