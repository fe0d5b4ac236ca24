/** The role-weighted Kruskal: weights, tie-breaking by input order, orientation kept. */
import { linkWeight, minimumSpanningTree, ROLE_WEIGHT, type GraphNode } from '../../../components/topology';

const node = (id: string, role?: GraphNode['role']): GraphNode => ({ id, role });

describe('role weights', () => {
  it('follows the paper: root 0, relay 1, leaf 2; no role counts as a relay', () => {
    expect(ROLE_WEIGHT).toEqual({ root: 0, relay: 1, leaf: 2, none: 1 });
    expect(linkWeight('root', 'leaf')).toBe(2);
    expect(linkWeight('relay', 'leaf')).toBe(3);
    expect(linkWeight('leaf', 'leaf')).toBe(4);
    expect(linkWeight(undefined, 'root')).toBe(1);
  });
});

describe('minimumSpanningTree', () => {
  it('prefers links near the root and keeps leaves out of transit', () => {
    // r-l (2) beats x-l (3); l-m (4) loses to x-m (3).
    const nodes = [node('r', 'root'), node('x', 'relay'), node('l', 'leaf'), node('m', 'leaf')];
    const links = [
      { a: 'l', b: 'm' },
      { a: 'x', b: 'l' },
      { a: 'm', b: 'x' },
      { a: 'l', b: 'r' },
      { a: 'r', b: 'x' },
    ];
    const { tree, redundancy } = minimumSpanningTree(nodes, links);
    expect(tree).toEqual([links[4], links[3], links[2]]); // selection order: weights 1, 2, 3
    expect(redundancy).toEqual([links[0], links[1]]); // input order
    expect(tree[1]).toBe(links[3]); // the input object itself: orientation l->r kept
  });

  it('breaks ties by input order', () => {
    const nodes = [node('r', 'root'), node('a', 'relay'), node('b', 'relay')];
    const first = minimumSpanningTree(nodes, [
      { a: 'a', b: 'b' },
      { a: 'r', b: 'a' },
      { a: 'r', b: 'b' },
    ]);
    expect(first.tree).toEqual([{ a: 'r', b: 'a' }, { a: 'r', b: 'b' }]);
    const ties = minimumSpanningTree([node('p', 'relay'), node('q', 'relay'), node('s', 'relay')], [
      { a: 's', b: 'p' },
      { a: 'p', b: 'q' },
      { a: 'q', b: 's' },
    ]);
    expect(ties.tree).toEqual([{ a: 's', b: 'p' }, { a: 'p', b: 'q' }]);
    expect(ties.redundancy).toEqual([{ a: 'q', b: 's' }]);
  });

  it('gives a spanning forest on a disconnected graph and handles no links', () => {
    const nodes = [node('a', 'root'), node('b'), node('c'), node('d')];
    expect(minimumSpanningTree(nodes, [{ a: 'a', b: 'b' }, { a: 'c', b: 'd' }]).tree).toHaveLength(2);
    expect(minimumSpanningTree([node('a', 'root')], [])).toEqual({ tree: [], redundancy: [] });
  });
});
