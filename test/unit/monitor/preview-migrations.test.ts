/**
 * The Migrations section of `vpm preview --markdown` on the paper's topology, where node ids
 * (l1, l2) are not host names (h2, h4): moving leafvm2 onto l1 must list `l2-5004@l1` as
 * created first and `l2-5004@l2` as deleted after (issue #19: it said "-" for both, matching
 * path names against host names). The steps are built from the same pure plan the component
 * uses, shaped as the engine's preview events carry them (inputs with hops, connections, the
 * domain's host, connection and network port).
 */
import { join } from 'node:path';
import { loadTopologyFile } from '../../../components/topology';
import { flowPathArgs } from '../../../components/streaming-tree/flow-path-args';
import { planTree, type HostFacts, type TreePlan } from '../../../components/streaming-tree/plan';
import { migrationsOf, renderPreviewMarkdown, type PreviewData, type PreviewStep } from '../../../monitor/preview';

const paper = () => loadTopologyFile(join(__dirname, '../../../stacks/topologies/paper.yaml'));
const HOSTS: Record<string, HostFacts> = Object.fromEntries(
  [1, 2, 3, 4, 5].map((k) => [`h${k}`, { underlayIp: `10.250.0.${10 + k}`, underlayMac: `02:56:50:00:00:0${k}` }]),
);
const conn = (host: string) => ({ host: `10.250.0.${10 + Number(host.slice(1))}`, port: 22, netns: 'vpmnb-ul', hostKey: 'ssh-ed25519 AAAA', user: 'root' });
const T = 'pulumi-nodejs:dynamic/vpm';

/** A path's inputs as the component gives them (flowPathArgs). */
function pathInputs(plan: TreePlan, name: string): Record<string, unknown> {
  return flowPathArgs(plan.paths.find((x) => x.name === name)!, conn, 'br1');
}

function vmInputs(plan: TreePlan, name: string): Record<string, unknown> {
  const v = plan.vms.find((x) => x.name === name)!;
  return { name: v.name, host: v.host, connection: conn(v.host), network: { bridge: 'br1', tap: v.tap, ofport: v.ofport, mac: v.mac } };
}

/** The preview steps of going from `before` to `after`, as the engine orders them. */
function steps(before: TreePlan, after: TreePlan): PreviewStep[] {
  const out: PreviewStep[] = [];
  const oldNames = new Set(before.paths.map((p) => p.name));
  const newNames = new Set(after.paths.map((p) => p.name));
  for (const p of after.paths) {
    const step = { urn: `urn:pulumi:s::vpm::${T}:FlowPath::tree-path-${p.name}`, type: `${T}:FlowPath`, name: `tree-path-${p.name}`, newInputs: pathInputs(after, p.name) };
    out.push(oldNames.has(p.name) ? { ...step, op: 'same', oldInputs: pathInputs(before, p.name) } : { ...step, op: 'create' });
  }
  for (const v of after.vms) {
    const moved = before.vms.find((x) => x.name === v.name)!.host !== v.host;
    out.push({ op: moved ? 'update' : 'same', urn: `urn:x::tree-vm-${v.name}`, type: `${T}:MigratedDomain`, name: `tree-vm-${v.name}`, oldInputs: vmInputs(before, v.name), newInputs: vmInputs(after, v.name) });
  }
  for (const p of before.paths.filter((x) => !newNames.has(x.name))) {
    out.push({ op: 'delete', urn: `urn:x::tree-path-${p.name}`, type: `${T}:FlowPath`, name: `tree-path-${p.name}`, oldInputs: pathInputs(before, p.name) });
  }
  return out;
}

function preview(before: TreePlan, after: TreePlan): PreviewData {
  const s = steps(before, after);
  const count = (op: string) => s.filter((x) => x.op === op).length;
  return {
    stack: 'paper',
    takenAt: '2026-12-04T00:00:00.000Z',
    changeSummary: { create: count('create'), update: count('update'), delete: count('delete'), same: count('same') },
    steps: s,
    oldOutputs: {},
    newOutputs: {},
    hostNames: Object.fromEntries(Object.keys(HOSTS).map((h) => [`${conn(h).host}:22|vpmnb-ul`, h])),
    roles: {},
  };
}

describe('preview Migrations on paper.yaml', () => {
  const home = planTree(paper(), HOSTS);
  const moved = planTree(paper(), HOSTS, { leafvm2: 'l1' });

  test('leafvm2 onto l1: l2-5004@l1 created first, l2-5004@l2 deleted after; leafvm1 and its path untouched', () => {
    expect(migrationsOf(preview(home, moved))).toEqual([{ vm: 'leafvm2', from: 'h4', to: 'h2', pathsCreated: ['l2-5004@l1'], pathsDeleted: ['l2-5004@l2'], replace: false }]);
  });

  test('and back: l2-5004@l2 created first, l2-5004@l1 deleted after (l1-5004@l1 on the same host is not leafvm2\'s)', () => {
    expect(migrationsOf(preview(moved, home))).toEqual([{ vm: 'leafvm2', from: 'h2', to: 'h4', pathsCreated: ['l2-5004@l2'], pathsDeleted: ['l2-5004@l1'], replace: false }]);
  });

  test('the markdown names the paths in the table and the order', () => {
    const md = renderPreviewMarkdown(preview(home, moved));
    expect(md).toContain('| leafvm2 | h4 | h2 | `l2-5004@l1` | `l2-5004@l2` |');
    expect(md).toContain('leafvm2: live migration h4 → h2 as an update. Order: create `l2-5004@l1` (the stream is cloned to both leaves), migrate, then delete `l2-5004@l2`.');
    expect(md).not.toMatch(/no new path|no path to delete/);
  });

  test('both VMs moving at once: each gets its own paths', () => {
    const swapped = planTree(paper(), HOSTS, { leafvm1: 'l2', leafvm2: 'l1' });
    expect(migrationsOf(preview(home, swapped)).map((m) => [m.vm, m.pathsCreated, m.pathsDeleted])).toEqual([
      ['leafvm1', ['l1-5004@l2'], ['l1-5004@l1']],
      ['leafvm2', ['l2-5004@l1'], ['l2-5004@l2']],
    ]);
  });
});
