/**
 * The tree as a picture (issue #16): `vpm draw` and the preview comment's before/after show
 * roles, tree links solid, redundancy links dashed, pruned nodes greyed, changing paths thick
 * and a moving VM marked at both ends; the SVG has the same nodes and link styles.
 */
import * as path from 'node:path';
import { loadTopologyFile } from '../../../components/topology';
import { mermaidOf } from '../../../monitor/picture/mermaid';
import { pictureOfOutputs, pictureOfTopology } from '../../../monitor/picture/model';
import { svgOf } from '../../../monitor/picture/svg';
import { treeSection, type PreviewData } from '../../../monitor/preview';

const TOPOLOGIES = path.join(__dirname, '../../../stacks/topologies');

describe('vpm draw: a topology file', () => {
  const pic = pictureOfTopology(loadTopologyFile(path.join(TOPOLOGIES, 'paper.yaml')));
  const text = mermaidOf(pic);
  const id = (node: string) => /^ {2}(n\d+)\["(.*?)"\]/gm.exec(text) && [...text.matchAll(/^ {2}(n\d+)\["([^"]*)"\]/gm)].find((m) => m[2]!.split('<br/>')[0] === node)![1];

  test('roles as classes, VMs in their node, the pruned node greyed', () => {
    expect(text.startsWith('flowchart TD\n')).toBe(true);
    expect(text).toMatch(/\["root<br\/>root"\]:::root/);
    expect(text).toMatch(/\["x<br\/>relay"\]:::relay/);
    expect(text).toMatch(/\["l2<br\/>leaf<br\/>VM leafvm2"\]:::leaf/);
    expect(text).toMatch(/\["spare<br\/>pruned"\]:::pruned/);
  });

  test('tree links solid, redundancy links dashed (exactly the engine\'s)', () => {
    expect(text).toContain(`  ${id('root')} --- ${id('x')}`);
    expect(text).toContain(`  ${id('x')} --- ${id('l2')}`);
    expect(text).toContain(`  ${id('l1')} -.- ${id('l2')}`);
    expect((text.match(/ --- /g) ?? []).length).toBe(pic.tree.length);
    expect((text.match(/ -\.- /g) ?? []).length).toBe(pic.redundancy.length);
  });

  test('labels are escaped: a quote cannot end a Mermaid label', () => {
    const t = mermaidOf({ nodes: [{ id: 'a"]:::x' }], tree: [], redundancy: [], pruned: [], paths: [], vms: [] });
    expect(t).toContain('["a#quot;]:::x<br/>switch"]');
  });

  test('SVG: every node, solid and dashed lines, escaped text', () => {
    const svg = svgOf(pic);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    for (const n of ['root', 'l1', 'x', 'l2', 'spare']) expect(svg).toContain(`>${n}</text>`);
    expect((svg.match(/<line [^>]*stroke-dasharray/g) ?? []).length).toBe(pic.redundancy.length);
    expect((svg.match(/<line /g) ?? []).length).toBe(pic.tree.length + pic.redundancy.length);
    expect(svgOf({ root: 'a', nodes: [{ id: '<a>' }], tree: [], redundancy: [], pruned: [], paths: [], vms: [] })).toContain('&lt;a&gt;');
  });
});

describe('the preview comment: before and after', () => {
  const outputs = (vmNode: string, path: string, nodes: string[]) => ({
    root: 'h1',
    tree: [{ a: 'h1', b: 'h2' }, { a: 'h2', b: 'h3' }, { a: 'h2', b: 'h4' }],
    redundancy: [{ a: 'h3', b: 'h4' }],
    pruned: [],
    paths: [{ name: path, nodes }],
    vms: { leafvm: { node: vmNode, host: vmNode, state: 'running' } },
  });
  const data: PreviewData = {
    stack: 'pr-7',
    takenAt: '2025-01-01T00:00:00Z',
    changeSummary: { create: 1, update: 1, delete: 1, same: 8 },
    steps: [
      { op: 'create', urn: 'u1', type: 'pulumi-nodejs:dynamic/vpm:FlowPath', name: 'tree-path-h3-5004@h4' },
      { op: 'update', urn: 'u2', type: 'pulumi-nodejs:dynamic/vpm:MigratedDomain', name: 'tree-vm-leafvm', oldInputs: { host: 'h3', name: 'leafvm' }, newInputs: { host: 'h4', name: 'leafvm' } },
      { op: 'delete', urn: 'u3', type: 'pulumi-nodejs:dynamic/vpm:FlowPath', name: 'tree-path-h3-5004@h3' },
    ],
    oldOutputs: outputs('h3', 'h3-5004@h3', ['h1', 'h2', 'h3']),
    newOutputs: outputs('h4', 'h3-5004@h4', ['h1', 'h2', 'h4']),
    hostNames: {},
    roles: { h1: 'root', h2: 'relay', h3: 'leaf', h4: 'leaf' },
  };
  const md = treeSection(data).join('\n');
  const [before, after] = md.split('**After**');

  test('two Mermaid pictures with a legend', () => {
    expect((md.match(/```mermaid/g) ?? []).length).toBe(2);
    expect(md).toMatch(/Legend: .*solid line = tree link.*dashed = redundancy link.*thick orange = a path that changes.*orange box = a VM that moves/);
  });

  test('the deleted path is thick before, the created one after; the VM is marked at both ends', () => {
    // Tree links h1-h2, h2-h3, h2-h4 are links 0, 1, 2: before the old path uses 0 and 1, after the new one 0 and 2.
    expect(before).toContain('linkStyle 0,1 stroke:#fb8500');
    expect(after).toContain('linkStyle 0,2 stroke:#fb8500');
    expect(before).toMatch(/"h3<br\/>leaf<br\/>VM leafvm ⇢ h4"/);
    expect(after).toMatch(/"h4<br\/>leaf<br\/>VM leafvm ⇠ h3"/);
    expect(before).toMatch(/class n\d+ moving/);
    expect(after).toMatch(/class n\d+ moving/);
  });

  test('outputs the preview leaves unknown fall back to before, with the moving VM at its new node', () => {
    const md2 = treeSection({ ...data, newOutputs: {} }).join('\n').split('**After**')[1]!;
    expect(md2).toMatch(/"h4<br\/>leaf<br\/>VM leafvm ⇠ h3"/);
    expect(md2).toContain(' -.- ');
  });

  test('a stack with no tree yet has no picture section', () => {
    expect(treeSection({ ...data, oldOutputs: {}, newOutputs: {}, steps: [] })).toEqual([]);
  });

  test('pictureOfOutputs ignores malformed outputs instead of failing', () => {
    expect(pictureOfOutputs({ tree: 'x', paths: [1], vms: [] }, {})).toMatchObject({ tree: [], vms: [] });
  });
});
