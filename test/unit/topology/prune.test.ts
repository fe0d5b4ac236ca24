/** pruneDanglingBranches: what is removed, in which order, and when it is an error. */
import { pruneDanglingBranches, TopologyError, type GraphNode, type Link } from '../../../components/topology';

const node = (id: string, role?: GraphNode['role'], failed = false): GraphNode => ({ id, role, failed });
const link = (a: string, b: string): Link => ({ a, b });

describe('pruneDanglingBranches', () => {
  it('peels a dangling relay chain from its tip inwards', () => {
    const nodes = [node('r', 'root'), node('a', 'relay'), node('b', 'relay'), node('c'), node('l', 'leaf')];
    const links = [link('r', 'l'), link('r', 'a'), link('a', 'b'), link('b', 'c')];
    const out = pruneDanglingBranches(nodes, links);
    expect(out.pruned).toEqual(['c', 'b', 'a']);
    expect(out.nodes.map((n) => n.id)).toEqual(['r', 'l']);
    expect(out.links).toEqual([links[0]]);
    expect(out.root).toBe('r');
  });

  it('never prunes roots and leaves, even with degree 1 or 0', () => {
    const nodes = [node('r', 'root'), node('l', 'leaf')];
    const out = pruneDanglingBranches(nodes, [link('r', 'l')]);
    expect(out.pruned).toEqual([]);
    expect(pruneDanglingBranches([node('r', 'root')], []).pruned).toEqual([]);
  });

  it('keeps a relay on a cycle and a relay between the root and a leaf', () => {
    const nodes = [node('r', 'root'), node('a', 'relay'), node('b', 'relay'), node('c', 'relay'), node('l', 'leaf')];
    const links = [link('r', 'a'), link('a', 'b'), link('b', 'r'), link('r', 'c'), link('c', 'l')];
    expect(pruneDanglingBranches(nodes, links).pruned).toEqual([]);
  });

  it('removes isolated relays and role-less nodes (degree 0)', () => {
    const nodes = [node('r', 'root'), node('a', 'relay'), node('b')];
    expect(pruneDanglingBranches(nodes, []).pruned).toEqual(['a', 'b']);
  });

  it('removes failed nodes first, with their links', () => {
    const nodes = [node('r', 'root'), node('x', 'relay', true), node('l', 'leaf'), node('y', 'relay')];
    const links = [link('r', 'x'), link('x', 'l'), link('r', 'y'), link('y', 'l')];
    const out = pruneDanglingBranches(nodes, links);
    expect(out.pruned).toEqual(['x']);
    expect(out.links).toEqual([links[2], links[3]]);
  });

  it('prunes a relay left dangling by a failed node', () => {
    const nodes = [node('r', 'root'), node('a', 'relay'), node('b', 'relay', true), node('l', 'leaf')];
    const links = [link('r', 'l'), link('r', 'a'), link('a', 'b')];
    expect(pruneDanglingBranches(nodes, links).pruned).toEqual(['b', 'a']);
  });

  it('drops a component without the root (input order) when it has no leaf', () => {
    // p-q-s is a cycle of relays: not dangling, but cut off from the root.
    const nodes = [node('r', 'root'), node('q', 'relay'), node('p', 'relay'), node('s'), node('l', 'leaf')];
    const links = [link('r', 'l'), link('p', 'q'), link('q', 's'), link('s', 'p')];
    const out = pruneDanglingBranches(nodes, links);
    expect(out.pruned).toEqual(['q', 'p', 's']);
    expect(out.links).toEqual([links[0]]);
  });

  it('reports every unreachable leaf in one error', () => {
    const nodes = [node('r', 'root'), node('l1', 'leaf'), node('l2', 'leaf'), node('l3', 'leaf')];
    const links = [link('r', 'l1'), link('l2', 'l3')];
    expect(() => pruneDanglingBranches(nodes, links)).toThrow(TopologyError);
    try {
      pruneDanglingBranches(nodes, links);
    } catch (e) {
      expect((e as TopologyError).problems.map((p) => p.path)).toEqual(['nodes[2]', 'nodes[3]']);
      expect((e as TopologyError).message).toMatch(/leaf "l2" cannot be reached from root "r"/);
    }
  });

  it('requires exactly one root that has not failed', () => {
    expect(() => pruneDanglingBranches([node('a', 'relay')], [])).toThrow(/no node has role "root"/);
    expect(() => pruneDanglingBranches([node('a', 'root'), node('b', 'root')], [])).toThrow(/2 nodes have role "root": "a" \(nodes\[0\]\), "b" \(nodes\[1\]\)/);
    expect(() => pruneDanglingBranches([node('a', 'root', true)], [])).toThrow(/nodes\[0\]\.failed: the root "a" is marked failed/);
  });

  it('rejects links to unknown nodes and duplicate ids (unvalidated input)', () => {
    expect(() => pruneDanglingBranches([node('r', 'root')], [link('r', 'q')])).toThrow(/links\[0\]\.b: unknown node "q"/);
    expect(() => pruneDanglingBranches([node('r', 'root'), node('r')], [])).toThrow(/nodes\[1\]\.id: duplicate node id "r"/);
  });

  // (Its speed is bench/topology.ts's to measure; a quadratic rescan would take minutes here.)
  it('prunes a 200,000-node dangling chain, from its far end', () => {
    const n = 200_000;
    const nodes = [node('root', 'root'), ...Array.from({ length: n }, (_, i) => node(`c${i}`, 'relay'))];
    const links = [link('root', 'c0'), ...Array.from({ length: n - 1 }, (_, i) => link(`c${i}`, `c${i + 1}`))];
    const out = pruneDanglingBranches(nodes, links);
    expect(out.pruned.length).toBe(n);
    expect(out.pruned[0]).toBe(`c${n - 1}`);
  });
});
