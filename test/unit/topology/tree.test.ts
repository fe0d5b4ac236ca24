/**
 * computeTree and planPaths end to end: the paper's example with exact results, failover
 * recomputation, and the example topologies shipped in stacks/topologies.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backupPath,
  computeTree,
  loadTopologyFile,
  parseTopology,
  planPaths,
  TopologyError,
} from '../../../components/topology';
import { paperTopology } from '../../support/topology-fixtures';

const TOPOLOGIES = join(__dirname, '../../../stacks/topologies');

describe('computeTree on the paper example', () => {
  const topology = parseTopology(paperTopology());
  const result = computeTree(topology);

  it('prunes the dangling branch, builds the tree, keeps the spare links as redundancy', () => {
    expect(result).toEqual({
      root: 'r',
      // Kruskal's order: r-x (1), r-l1 (2), x-l2 (3); l1-x (3) would close a cycle.
      tree: [
        { a: 'r', b: 'x' },
        { a: 'r', b: 'l1' },
        { a: 'x', b: 'l2' },
      ],
      redundancy: [
        { a: 'l1', b: 'x' },
        { a: 'l1', b: 'l2' },
      ],
      // z (no role) dangles first; then y (relay) is left with one link.
      pruned: ['z', 'y'],
    });
  });

  it('plans each path along the tree', () => {
    expect(planPaths(topology, result).map((p) => [p.id, p.hops])).toEqual([
      ['l1-5004', ['r', 'l1']],
      ['l2-5004', ['r', 'x', 'l2']],
    ]);
  });

  it('has a backup path around the relay over a redundancy link', () => {
    expect(backupPath(result.tree, result.redundancy, 'r', 'l2', 'x')).toEqual(['r', 'l1', 'l2']);
  });

  it('recomputes around a failed relay, the failed node first in pruned', () => {
    const failed = structuredClone(paperTopology());
    failed.nodes[2].failed = true;
    const r = computeTree(parseTopology(failed));
    expect(r.pruned).toEqual(['x', 'y', 'z']);
    expect(r.tree).toEqual([
      { a: 'r', b: 'l1' },
      { a: 'l1', b: 'l2' },
    ]);
    expect(r.redundancy).toEqual([]);
  });

  it('refuses a topology whose leaf becomes unreachable', () => {
    const t = structuredClone(paperTopology());
    t.nodes[2].failed = true;
    t.links.splice(4, 1); // no l1-l2
    t.paths = [];
    expect(() => computeTree({ nodes: t.nodes.map((n) => ({ failed: false, ...n })), links: t.links })).toThrow(
      /nodes\[3\]: leaf "l2" cannot be reached from root "r" once failed node\(s\) x are removed/,
    );
  });
});

describe('example topologies in stacks/topologies', () => {
  it('paper.yaml: spare pruned, spare links become redundancy', () => {
    const topology = loadTopologyFile(join(TOPOLOGIES, 'paper.yaml'));
    const result = computeTree(topology);
    expect(result).toEqual({
      root: 'root',
      tree: [
        { a: 'root', b: 'x' },
        { a: 'root', b: 'l1' },
        { a: 'x', b: 'l2' },
      ],
      redundancy: [
        { a: 'l1', b: 'x' },
        { a: 'l1', b: 'l2' },
      ],
      pruned: ['spare'],
    });
    expect(planPaths(topology, result).map((p) => p.hops)).toEqual([
      ['root', 'l1'],
      ['root', 'x', 'l2'],
    ]);
  });

  it('lab.yaml: four hypervisors, one VM, one path', () => {
    const topology = loadTopologyFile(join(TOPOLOGIES, 'lab.yaml'));
    expect(topology.nodes.map((n) => [n.id, n.host, n.role])).toEqual([
      ['h1', 'h1', 'root'],
      ['h2', 'h2', 'relay'],
      ['h3', 'h3', 'leaf'],
      ['h4', 'h4', 'leaf'],
    ]);
    expect(topology.vms).toEqual([{ name: 'leafvm', node: 'h3', memoryMiB: 96, vcpus: 1 }]);
    const result = computeTree(topology);
    // h3-h4 (leaf+leaf = 4) is the heaviest link, so it is the redundancy link.
    expect(result).toEqual({
      root: 'h1',
      tree: [
        { a: 'h1', b: 'h2' },
        { a: 'h2', b: 'h3' },
        { a: 'h2', b: 'h4' },
      ],
      redundancy: [{ a: 'h3', b: 'h4' }],
      pruned: [],
    });
    expect(planPaths(topology, result)).toEqual([
      { id: 'h3-5004', leaf: 'h3', hops: ['h1', 'h2', 'h3'], receiver: { ip: '10.250.0.201', mac: '02:56:52:00:00:01' }, stream: { udpPort: 5004 } },
    ]);
  });
});

describe('loadTopologyFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-topology-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('names the file in validation errors', () => {
    const file = write('bad.yaml', 'nodes:\n  - { id: r, role: rooot, host: h1 }\nlinks: []\n');
    expect(() => loadTopologyFile(file)).toThrow(`invalid topology in ${file}: nodes[0].role: "rooot" is not a role`);
  });

  it('reports YAML syntax errors with their position', () => {
    const file = write('syntax.yaml', 'nodes: [\nlinks: []\n');
    try {
      loadTopologyFile(file);
      throw new Error('expected a TopologyError');
    } catch (e) {
      expect(e).toBeInstanceOf(TopologyError);
      expect((e as TopologyError).source).toBe(file);
      expect((e as TopologyError).problems[0].path).toBe('(yaml)');
      expect((e as TopologyError).message).toMatch(/line \d+, column \d+/);
    }
  });

  it('rejects duplicate YAML keys', () => {
    const file = write('dup.yaml', 'nodes: []\nnodes: []\nlinks: []\n');
    expect(() => loadTopologyFile(file)).toThrow(/\(yaml\): .*[Uu]nique/);
  });

  it('reports a missing file', () => {
    const file = join(dir, 'missing.yaml');
    expect(() => loadTopologyFile(file)).toThrow(`invalid topology in ${file}: (file): cannot read it`);
  });

  it('reports an empty file as a missing topology', () => {
    const file = write('empty.yaml', '');
    expect(() => loadTopologyFile(file)).toThrow(/topology: is missing|topology: is null/);
  });
});
