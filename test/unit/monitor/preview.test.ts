/**
 * `vpm preview --markdown` without Pulumi: engine events recorded from `pulumi preview` of the
 * lab stack after its leaf VM's placement changed from h3 to h4 (FlowPath h3-5004@h4 created,
 * MigratedDomain leafvm updated, FlowPath h3-5004@h3 deleted), and the stack's state before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineEvent } from '@pulumi/pulumi/automation';
import { buildModel } from '../../../monitor/model';
import { stackOutputsOf, type StateResource } from '../../../monitor/pulumi';
import {
  flowChanges,
  hostNamesOf,
  migrationsOf,
  redundancyWarnings,
  renderPreviewMarkdown,
  stepsFromEvents,
  touchesOf,
  type PreviewData,
} from '../../../monitor/preview';

const FIX = path.join(__dirname, 'fixtures');
const events = JSON.parse(fs.readFileSync(path.join(FIX, 'preview-migrate-events.json'), 'utf8')) as EngineEvent[];
const resources = (JSON.parse(fs.readFileSync(path.join(FIX, 'lab-stack.json'), 'utf8')) as { resources: StateResource[] }).resources;

function data(overrides: Partial<PreviewData> = {}): PreviewData {
  const { steps, newOutputs, summary } = stepsFromEvents(events);
  const model = buildModel('mon-1', resources, stackOutputsOf(resources));
  return {
    stack: 'mon-1',
    takenAt: '2026-11-25T21:47:27.850Z',
    changeSummary: summary ?? {},
    steps,
    oldOutputs: stackOutputsOf(resources),
    newOutputs,
    hostNames: hostNamesOf(model),
    roles: Object.fromEntries(model.nodes.map((n) => [n.id, n.role])),
    ...overrides,
  };
}

describe('preview analysis', () => {
  test('steps and the new outputs come from the engine events (providers and the stack left out)', () => {
    const d = data();
    expect(d.changeSummary).toEqual({ create: 1, delete: 1, same: 9, update: 1 });
    expect(d.steps.filter((s) => s.op !== 'same').map((s) => `${s.op} ${s.name}`)).toEqual([
      'create tree-path-h3-5004@h4',
      'update tree-vm-leafvm',
      'delete tree-path-h3-5004@h3',
    ]);
    expect((d.newOutputs.paths as Array<{ name: string }>).map((p) => p.name)).toEqual(['h3-5004@h4']);
  });

  test('the migration: leafvm h3 -> h4 as an update, new path first, old path after', () => {
    expect(migrationsOf(data())).toEqual([{ vm: 'leafvm', from: 'h3', to: 'h4', pathsCreated: ['h3-5004@h4'], pathsDeleted: ['h3-5004@h3'], replace: false }]);
  });

  test('changes grouped by hypervisor: a path touches every hop, the VM its old and new host', () => {
    const t = touchesOf(data()).map((x) => `${x.host}: ${x.step.op} ${x.detail}`);
    expect(t).toEqual(
      expect.arrayContaining([
        'h1: create path h3-5004@h4 at h1',
        'h2: create path h3-5004@h4 at h2',
        'h4: create path h3-5004@h4 at h4',
        'h3: update VM leafvm migrates away to h4',
        'h4: update VM leafvm arrives from h3',
        'h1: delete path h3-5004@h3 at h1',
        'h3: delete path h3-5004@h3 at h3',
      ]),
    );
    expect(t).toHaveLength(8);
  });

  test('flows per hop: the root keeps its shared rule, the relay swaps its bucket, h3 loses and h4 gains the leaf rules', () => {
    const f = Object.fromEntries(flowChanges(data()).map((h) => [h.node, h]));
    expect(Object.keys(f)).toEqual(['h1', 'h2', 'h3', 'h4']);
    expect([f.h1!.added.size, f.h1!.removed.size, [...f.h1!.kept.values()]]).toEqual([0, 0, [['h3-5004@h3', 'h3-5004@h4']]]);
    expect([...f.h2!.added.keys()]).toEqual([expect.stringMatching(/^udp,in_port=30442,tp_dst=5004 -> group:\d+ bucket:\d+ output:7585$/)]);
    expect([...f.h2!.removed.keys()]).toEqual([expect.stringMatching(/output:15204$/)]);
    expect([f.h3!.added.size, f.h3!.removed.size]).toEqual([0, 2]);
    expect([f.h4!.added.size, f.h4!.removed.size]).toEqual([2, 0]);
    expect([...f.h4!.added.keys()][1]).toMatch(/set_field:10\.250\.0\.201->ip_dst,output:1$/);
  });

  test('redundancy warnings: the relay and the root link have no bypass; the h2-h4 link is backed up by h2-h3-h4', () => {
    const w = redundancyWarnings(data());
    expect(w.map((x) => x.kind)).toEqual(['single-node', 'single-link']);
    expect(w[0]!.text).toMatch(/node h2 is a single point of failure.*h3-5004@h4/);
    expect(w[1]!.text).toMatch(/tree link h1-h2 has no backup/);
    // Without redundancy links, every link is a risk and that is said first.
    const bare = redundancyWarnings(data({ newOutputs: { ...data().newOutputs, redundancy: [] } }));
    expect(bare[0]!.kind).toBe('no-redundancy');
    expect(bare.filter((x) => x.kind === 'single-link').map((x) => x.text.split(' ')[2])).toEqual(['h1-h2', 'h2-h4']);
    expect(bare.some((x) => x.kind === 'redundancy-removed' && /h3-h4/.test(x.text))).toBe(true);
  });

  test('a VM replaced instead of migrated is flagged', () => {
    const d = data();
    const steps = d.steps.map((s) => (s.name === 'tree-vm-leafvm' ? { ...s, op: 'replace' } : s));
    const w = redundancyWarnings({ ...d, steps });
    expect(w.some((x) => x.kind === 'replace' && /REPLACED/.test(x.text))).toBe(true);
    expect(migrationsOf({ ...d, steps })[0]!.replace).toBe(true);
    expect(renderPreviewMarkdown({ ...d, steps })).toMatch(/leafvm is replaced, not migrated/);
  });
});

describe('renderPreviewMarkdown', () => {
  const md = renderPreviewMarkdown(data());

  test('summary line, migrations table, redundancy warnings', () => {
    expect(md).toMatch(/^## VPM preview of stack `mon-1`\n/);
    expect(md).toContain('**1 to create, 1 to update, 1 to delete**, 9 unchanged');
    expect(md).toContain('| leafvm | h3 | h4 | `h3-5004@h4` | `h3-5004@h3` |');
    expect(md).toMatch(/live migration h3 → h4 as an update\. Order: create `h3-5004@h4` .*migrate, then delete `h3-5004@h3`/);
    expect(md).toContain('- ⚠️ node h2 is a single point of failure');
  });

  test('a section per hypervisor with its role, and the flow diff per hop', () => {
    for (const h of ['#### h1 (root)', '#### h2 (relay)', '#### h3 (leaf)', '#### h4 (leaf)']) expect(md).toContain(h);
    const h4 = md.slice(md.indexOf('#### h4'), md.indexOf('### Flows per hop'));
    expect(h4).toContain('| + create | FlowPath `tree-path-h3-5004@h4` | path h3-5004@h4 at h4 |');
    expect(h4).toContain('| ~ update | MigratedDomain `tree-vm-leafvm` | VM leafvm arrives from h3 |');
    expect(md).toMatch(/\*\*h1\*\*: no change on the switch: `udp,in_port=2,tp_dst=5004 -> .*` stays, shared by `h3-5004@h3`, `h3-5004@h4`\./);
    expect(md).toMatch(/```diff\n\+ udp,in_port=30442,tp_dst=5004 .*output:7585 {4}# h3-5004@h4\n- udp,in_port=30442.*output:15204 {4}# h3-5004@h3\n```/);
  });

  test('no changes: says so, no sections', () => {
    const d = data();
    const quiet = renderPreviewMarkdown({ ...d, changeSummary: { same: 11 }, steps: d.steps.map((s) => ({ ...s, op: 'same' })), newOutputs: d.oldOutputs });
    expect(quiet).toContain('**no changes**, 11 unchanged');
    expect(quiet).not.toContain('### Migrations');
    expect(quiet).not.toContain('### Changes by hypervisor');
  });
});
