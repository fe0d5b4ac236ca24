/**
 * Property tests of the engine on random connected topologies (fixtures.connectedGraphArb):
 * the tree spans the survivors and is minimal, pruning leaves nothing dangling and loses no
 * link, and path hops follow existing links.
 */
import fc from 'fast-check';
import {
  backupPath,
  computeTree,
  linkWeight,
  pathHops,
  TopologyError,
  type Link,
  type TopologyNode,
  type TreeResult,
} from '../../../components/topology';
import { connectedGraphArb, linkKey, type RandomGraph } from '../../support/topology-fixtures';

const RUNS = { numRuns: 200 };

/** A tiny independent union-find for the checks (not the one under test). */
function components(ids: readonly string[], links: readonly Link[]): { cycles: number; count: number } {
  const parent = new Map(ids.map((id) => [id, id]));
  const find = (v: string): string => {
    while (parent.get(v) !== v) v = parent.get(v)!;
    return v;
  };
  let cycles = 0;
  let count = ids.length;
  for (const { a, b } of links) {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) cycles++;
    else {
      parent.set(ra, rb);
      count--;
    }
  }
  return { cycles, count };
}

const roleOf = (nodes: readonly TopologyNode[]) => new Map(nodes.map((n) => [n.id, n.role]));
const weightOf = (links: readonly Link[], roles: Map<string, TopologyNode['role']>) =>
  links.reduce((sum, l) => sum + linkWeight(roles.get(l.a), roles.get(l.b)), 0);
const survivorsOf = (g: RandomGraph, r: TreeResult) => g.nodes.map((n) => n.id).filter((id) => !r.pruned.includes(id));

/** Minimum weight over all spanning trees, by enumerating every (k-1)-subset of links. */
function bruteForceMinimum(ids: readonly string[], links: readonly Link[], roles: Map<string, TopologyNode['role']>): number {
  let best = Infinity;
  const pick: Link[] = [];
  const choose = (from: number) => {
    if (pick.length === ids.length - 1) {
      const c = components(ids, pick);
      if (c.cycles === 0 && c.count === 1) best = Math.min(best, weightOf(pick, roles));
      return;
    }
    for (let i = from; i <= links.length - (ids.length - 1 - pick.length); i++) {
      pick.push(links[i]);
      choose(i + 1);
      pick.pop();
    }
  };
  if (ids.length <= 1) return 0;
  choose(0);
  return best;
}

describe('computeTree properties', () => {
  it('the tree spans exactly the surviving nodes with n-1 links and no cycle', () => {
    fc.assert(
      fc.property(connectedGraphArb(1, 40, 60), (g) => {
        const r = computeTree(g);
        const survivors = survivorsOf(g, r);
        const c = components(survivors, r.tree);
        expect(r.tree).toHaveLength(survivors.length - 1);
        expect(c).toEqual({ cycles: 0, count: 1 });
        const touched = new Set(r.tree.flatMap((l) => [l.a, l.b]));
        if (survivors.length > 1) expect([...touched].sort()).toEqual([...survivors].sort());
        expect(survivors).toContain(r.root);
      }),
      RUNS,
    );
  });

  it('the tree weight equals the brute-force minimum on small graphs', () => {
    fc.assert(
      fc.property(connectedGraphArb(1, 7, 8), (g) => {
        const r = computeTree(g);
        const roles = roleOf(g.nodes);
        const survivors = survivorsOf(g, r);
        const expected = bruteForceMinimum(survivors, [...r.tree, ...r.redundancy], roles);
        expect(weightOf(r.tree, roles)).toBe(expected);
      }),
      RUNS,
    );
  });

  it('after pruning no relay or role-less node has degree <= 1', () => {
    fc.assert(
      fc.property(connectedGraphArb(1, 40, 30), (g) => {
        const r = computeTree(g);
        const degree = new Map<string, number>();
        for (const l of [...r.tree, ...r.redundancy]) {
          degree.set(l.a, (degree.get(l.a) ?? 0) + 1);
          degree.set(l.b, (degree.get(l.b) ?? 0) + 1);
        }
        for (const n of g.nodes) {
          if (r.pruned.includes(n.id) || n.role === 'root' || n.role === 'leaf') continue;
          expect(degree.get(n.id) ?? 0).toBeGreaterThanOrEqual(2);
        }
      }),
      RUNS,
    );
  });

  it('tree + redundancy + links touching pruned nodes = the input links (as multisets)', () => {
    fc.assert(
      fc.property(connectedGraphArb(1, 40, 60), (g) => {
        const r = computeTree(g);
        const pruned = new Set(r.pruned);
        const dropped = g.links.filter((l) => pruned.has(l.a) || pruned.has(l.b));
        const sortKeys = (links: readonly Link[]) => links.map(linkKey).sort();
        expect(sortKeys([...r.tree, ...r.redundancy, ...dropped])).toEqual(sortKeys(g.links));
        // Kept links are the input objects themselves (orientation preserved), none twice.
        const kept = [...r.tree, ...r.redundancy];
        expect(new Set(kept).size).toBe(kept.length);
        for (const l of kept) expect(g.links).toContain(l);
      }),
      RUNS,
    );
  });

  it('with failed nodes: either every problem is an unreachable leaf, or the invariants hold', () => {
    const arb = connectedGraphArb(2, 30, 20).chain((g) =>
      fc.record({ g: fc.constant(g), failed: fc.array(fc.boolean(), { minLength: g.nodes.length, maxLength: g.nodes.length }) }),
    );
    fc.assert(
      fc.property(arb, ({ g, failed }) => {
        const nodes = g.nodes.map((n, i) => ({ ...n, failed: failed[i] && n.role !== 'root' }));
        const failedIds = nodes.filter((n) => n.failed).map((n) => n.id);
        let r: TreeResult;
        try {
          r = computeTree({ nodes, links: g.links });
        } catch (e) {
          expect(e).toBeInstanceOf(TopologyError);
          for (const p of (e as TopologyError).problems) expect(p.message).toMatch(/^leaf "[^"]+" cannot be reached/);
          return;
        }
        expect(r.pruned.slice(0, failedIds.length)).toEqual(failedIds);
        const survivors = nodes.map((n) => n.id).filter((id) => !r.pruned.includes(id));
        expect(components(survivors, r.tree)).toEqual({ cycles: 0, count: 1 });
        for (const l of [...r.tree, ...r.redundancy]) {
          expect(failedIds).not.toContain(l.a);
          expect(failedIds).not.toContain(l.b);
        }
      }),
      RUNS,
    );
  });
});

describe('path properties', () => {
  const treeKeys = (r: TreeResult) => new Set(r.tree.map(linkKey));

  it('pathHops is a simple path from the root to the leaf along tree links', () => {
    fc.assert(
      fc.property(connectedGraphArb(2, 40, 40), (g) => {
        const r = computeTree(g);
        const keys = treeKeys(r);
        for (const n of g.nodes) {
          if (n.role !== 'leaf' || r.pruned.includes(n.id)) continue;
          const hops = pathHops(r.tree, r.root, n.id);
          expect(hops[0]).toBe(r.root);
          expect(hops[hops.length - 1]).toBe(n.id);
          expect(new Set(hops).size).toBe(hops.length);
          for (let i = 1; i < hops.length; i++) expect(keys.has(linkKey({ a: hops[i - 1], b: hops[i] }))).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('backupPath avoids the failed node, follows existing links, and fails only when it must', () => {
    const arb = connectedGraphArb(3, 25, 30).chain((g) => fc.record({ g: fc.constant(g), pickLeaf: fc.nat(), pickFailed: fc.nat() }));
    fc.assert(
      fc.property(arb, ({ g, pickLeaf, pickFailed }) => {
        const r = computeTree(g);
        const survivors = survivorsOf(g, r);
        const leaves = g.nodes.filter((n) => n.role === 'leaf' && survivors.includes(n.id)).map((n) => n.id);
        const others = survivors.filter((id) => id !== r.root);
        if (leaves.length === 0 || others.length < 2) return;
        const leaf = leaves[pickLeaf % leaves.length];
        const candidates = others.filter((id) => id !== leaf);
        const failedNode = candidates[pickFailed % candidates.length];
        const all = [...r.tree, ...r.redundancy];
        const usable = new Set(all.map(linkKey));

        let hops: string[];
        try {
          hops = backupPath(r.tree, r.redundancy, r.root, leaf, failedNode);
        } catch (e) {
          expect((e as Error).message).toMatch(/no alternative path/);
          // Independent check: without the failed node, root and leaf are disconnected.
          const rest = survivors.filter((id) => id !== failedNode);
          const links = all.filter((l) => l.a !== failedNode && l.b !== failedNode);
          const parent = new Map(rest.map((id) => [id, id]));
          const find = (v: string): string => (parent.get(v) === v ? v : find(parent.get(v)!));
          for (const l of links) parent.set(find(l.a), find(l.b));
          expect(find(r.root)).not.toBe(find(leaf));
          return;
        }
        expect(hops[0]).toBe(r.root);
        expect(hops[hops.length - 1]).toBe(leaf);
        expect(hops).not.toContain(failedNode);
        expect(new Set(hops).size).toBe(hops.length);
        for (let i = 1; i < hops.length; i++) expect(usable.has(linkKey({ a: hops[i - 1], b: hops[i] }))).toBe(true);
      }),
      RUNS,
    );
  });
});
