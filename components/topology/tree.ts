/**
 * The whole tree computation of the paper in one call: drop failed nodes, prune dangling
 * branches and everything cut off from the root, then run the role-weighted Kruskal on what
 * is left. Tree links become GRE tunnels; redundancy links are kept for failover.
 */
import { TopologyError } from './errors';
import { buildGraph } from './graph';
import type { Link, Topology } from './model';
import { kruskalIndexed } from './mst';
import { pruneIndexed } from './prune';

export interface TreeResult {
  /** MST links, input objects (original a/b orientation), in the order Kruskal chose them. */
  readonly tree: Link[];
  /** Every surviving link not in the tree, input order. */
  readonly redundancy: Link[];
  /** Removed node ids in removal order: failed, then dangling, then cut off from the root. */
  readonly pruned: string[];
  readonly root: string;
}

/**
 * Compute the streaming tree of a parsed topology (see parseTopology). Throws a
 * TopologyError for a missing/repeated/failed root or an unreachable leaf.
 */
export function computeTree(topology: Pick<Topology, 'nodes' | 'links'>): TreeResult {
  const { nodes, links } = topology;
  const g = buildGraph(nodes, links);
  const p = pruneIndexed(g);
  if (p.problems.length > 0) throw new TopologyError(p.problems);
  const t = kruskalIndexed(g, p.linkAlive);

  const tree: Link[] = new Array(t.tree.length);
  for (let i = 0; i < t.tree.length; i++) tree[i] = links[t.tree[i]];
  const redundancy: Link[] = [];
  for (let l = 0; l < links.length; l++) if (p.linkAlive[l] && !t.inTree[l]) redundancy.push(links[l]);
  const pruned: string[] = new Array(p.pruned.length);
  for (let i = 0; i < p.pruned.length; i++) pruned[i] = g.ids[p.pruned[i]];

  return { tree, redundancy, pruned, root: g.ids[p.root] };
}
