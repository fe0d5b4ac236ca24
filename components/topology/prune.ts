/**
 * Dangling-branch removal, the step the paper runs before Kruskal ("we first remove any
 * dangling branches, which are branches ending with a relay or a node whose role was not
 * set"). Without it the MST would happily keep a relay that leads nowhere and build GRE
 * tunnels to it.
 *
 * Order of removal, which is also the order of `pruned`:
 *   1. failed nodes (input order) with all their links: failover recomputes the tree as if
 *      they were gone;
 *   2. dangling nodes: a relay or role-less node with at most one live link is removed,
 *      which may leave its neighbour dangling in turn (a queue, so O(V+E), not rescans);
 *   3. every node outside the root's connected component (input order). If one of them is a
 *      leaf, the topology cannot serve it: that is an error ("unreachable leaf").
 * Roots and leaves are never pruned as dangling: they are where streams start and end.
 */
import { TopologyError, type TopologyProblem } from './errors';
import { buildGraph, otherEnd, LEAF, NONE, RELAY, ROOT, type GraphNode, type IndexedGraph } from './graph';
import type { Link } from './model';

/** Result of pruning on the indexed graph; alive flags are 1 for what survives. */
export interface IndexedPrune {
  readonly nodeAlive: Uint8Array;
  readonly linkAlive: Uint8Array;
  /** Node indices in removal order. */
  readonly pruned: readonly number[];
  /** Index of the root, or -1 when there is not exactly one (then `problems` says so). */
  readonly root: number;
  readonly problems: readonly TopologyProblem[];
}

/** Prune the indexed graph; reports problems instead of throwing so validate.ts can merge them. */
export function pruneIndexed(g: IndexedGraph): IndexedPrune {
  const n = g.ids.length;
  const m = g.linkA.length;
  const { role, failed, adjStart, adjLinks } = g;
  const nodeAlive = new Uint8Array(n).fill(1);
  const linkAlive = new Uint8Array(m).fill(1);
  const pruned: number[] = [];
  const problems: TopologyProblem[] = [];

  const roots: number[] = [];
  for (let v = 0; v < n; v++) if (role[v] === ROOT) roots.push(v);
  if (roots.length !== 1) {
    problems.push(rootProblem(g, roots));
    return { nodeAlive, linkAlive, pruned, root: -1, problems };
  }
  const root = roots[0];
  if (failed[root]) {
    problems.push({
      path: `nodes[${root}].failed`,
      message: `the root "${g.ids[root]}" is marked failed and a tree cannot be built without its root; clear failed or make another node the root`,
    });
    return { nodeAlive, linkAlive, pruned, root: -1, problems };
  }

  // 1. Failed nodes go first, with their links.
  const failedIds: string[] = [];
  for (let v = 0; v < n; v++) {
    if (!failed[v]) continue;
    nodeAlive[v] = 0;
    pruned.push(v);
    failedIds.push(g.ids[v]);
    for (let i = adjStart[v]; i < adjStart[v + 1]; i++) linkAlive[adjLinks[i]] = 0;
  }

  // 2. Dangling branches, peeled from the tips inwards.
  const degree = new Int32Array(n);
  for (let l = 0; l < m; l++) {
    if (!linkAlive[l]) continue;
    degree[g.linkA[l]]++;
    degree[g.linkB[l]]++;
  }
  const prunable = (v: number) => role[v] === RELAY || role[v] === NONE;
  const queue = new Int32Array(n);
  const queued = new Uint8Array(n);
  let head = 0;
  let tail = 0;
  for (let v = 0; v < n; v++) {
    if (nodeAlive[v] && prunable(v) && degree[v] <= 1) {
      queue[tail++] = v;
      queued[v] = 1;
    }
  }
  while (head < tail) {
    const v = queue[head++];
    nodeAlive[v] = 0;
    pruned.push(v);
    for (let i = adjStart[v]; i < adjStart[v + 1]; i++) {
      const l = adjLinks[i];
      if (!linkAlive[l]) continue;
      linkAlive[l] = 0;
      const u = otherEnd(g, l, v);
      degree[u]--;
      if (u !== v && nodeAlive[u] && !queued[u] && prunable(u) && degree[u] <= 1) {
        queue[tail++] = u;
        queued[u] = 1;
      }
    }
  }

  // 3. Keep only the root's component (BFS over live links; `queue` is reused).
  const seen = new Uint8Array(n);
  head = 0;
  tail = 0;
  queue[tail++] = root;
  seen[root] = 1;
  while (head < tail) {
    const v = queue[head++];
    for (let i = adjStart[v]; i < adjStart[v + 1]; i++) {
      const l = adjLinks[i];
      if (!linkAlive[l]) continue;
      const u = otherEnd(g, l, v);
      if (!seen[u]) {
        seen[u] = 1;
        queue[tail++] = u;
      }
    }
  }
  for (let v = 0; v < n; v++) {
    if (!nodeAlive[v] || seen[v]) continue;
    nodeAlive[v] = 0;
    pruned.push(v);
    for (let i = adjStart[v]; i < adjStart[v + 1]; i++) linkAlive[adjLinks[i]] = 0;
    if (role[v] === LEAF) problems.push(unreachableLeaf(g, v, root, failedIds));
  }

  return { nodeAlive, linkAlive, pruned, root, problems };
}

function rootProblem(g: IndexedGraph, roots: readonly number[]): TopologyProblem {
  if (roots.length === 0) {
    return { path: 'nodes', message: 'no node has role "root"; set role: root on exactly one node (where the stream starts)' };
  }
  const named = roots.map((v) => `"${g.ids[v]}" (nodes[${v}])`).join(', ');
  return {
    path: 'nodes',
    message: `${roots.length} nodes have role "root": ${named}; keep role: root on exactly one of them and make the others relay or leaf`,
  };
}

function unreachableLeaf(g: IndexedGraph, v: number, root: number, failedIds: readonly string[]): TopologyProblem {
  const after = failedIds.length > 0 ? ` once failed node(s) ${failedIds.join(', ')} are removed` : '';
  return {
    path: `nodes[${v}]`,
    message:
      `leaf "${g.ids[v]}" cannot be reached from root "${g.ids[root]}"${after}; ` +
      'link it (directly or through relays) to a node connected to the root, or add a redundancy link around the failed node',
  };
}

export interface PruneResult<N extends GraphNode = GraphNode> {
  /** Surviving nodes, input order. */
  readonly nodes: N[];
  /** Surviving links, input order and orientation. */
  readonly links: Link[];
  /** Removed node ids in removal order (failed, then dangling, then outside the root's component). */
  readonly pruned: string[];
  readonly root: string;
}

/**
 * Remove failed nodes, dangling relay/role-less branches and everything not connected to
 * the root. Throws a TopologyError listing every unreachable leaf (and a missing, repeated
 * or failed root). O(V+E).
 */
export function pruneDanglingBranches<N extends GraphNode>(
  nodes: readonly N[],
  links: readonly Link[],
): PruneResult<N> {
  const g = buildGraph(nodes, links);
  const r = pruneIndexed(g);
  if (r.problems.length > 0) throw new TopologyError(r.problems);
  return {
    nodes: nodes.filter((_, v) => r.nodeAlive[v] === 1),
    links: links.filter((_, l) => r.linkAlive[l] === 1),
    pruned: r.pruned.map((v) => g.ids[v]),
    root: g.ids[r.root],
  };
}
