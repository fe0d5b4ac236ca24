/**
 * The paper's role-weighted Kruskal: each role has a value (root 0, relay 1, leaf 2) and a
 * link weighs the sum of its ends' values, so the MST prefers links near the root and
 * avoids routing through leaves. A node without a role that survived pruning is a
 * pass-through switch and weighs like a relay (1).
 *
 * Ties break by input order (a stable sort), so the same file always gives the same tree.
 * Weights are integers 0..4, so the stable sort is a counting sort: O(E), within the
 * O(E log E) that Kruskal is usually quoted at. Union-find uses path compression and union
 * by rank. Everything runs on the typed arrays of graph.ts; no objects in the loops.
 */
import { buildGraph, LEAF, NONE, RELAY, ROOT, type GraphNode, type IndexedGraph } from './graph';
import type { Link, Role } from './model';

/** Value of each role in a link's weight; `none` is a node without a role. */
export const ROLE_WEIGHT: Readonly<Record<Role | 'none', number>> = { root: 0, relay: 1, leaf: 2, none: 1 };

/** Same values indexed by graph.ts role code. */
const CODE_WEIGHT = new Uint8Array(4);
CODE_WEIGHT[ROOT] = ROLE_WEIGHT.root;
CODE_WEIGHT[RELAY] = ROLE_WEIGHT.relay;
CODE_WEIGHT[LEAF] = ROLE_WEIGHT.leaf;
CODE_WEIGHT[NONE] = ROLE_WEIGHT.none;
const MAX_WEIGHT = 2 * Math.max(...CODE_WEIGHT);

/** Weight of a link between nodes with these roles (undefined = no role). */
export function linkWeight(a: Role | undefined, b: Role | undefined): number {
  return ROLE_WEIGHT[a ?? 'none'] + ROLE_WEIGHT[b ?? 'none'];
}

export interface IndexedTree {
  /** Selected link indices, in the order Kruskal picked them (weight, then input order). */
  readonly tree: Int32Array;
  /** 1 for links in the tree. */
  readonly inTree: Uint8Array;
}

/**
 * Kruskal over the live part of the graph (`linkAlive`; nodes are implied by their links).
 * On a disconnected live graph this gives a spanning forest; prune.ts guarantees one
 * component.
 */
export function kruskalIndexed(g: IndexedGraph, linkAlive: Uint8Array): IndexedTree {
  const n = g.ids.length;
  const m = g.linkA.length;
  const { linkA, linkB, role } = g;

  // Stable counting sort of live links by weight.
  const weight = new Uint8Array(m);
  const start = new Int32Array(MAX_WEIGHT + 2);
  let live = 0;
  for (let l = 0; l < m; l++) {
    if (!linkAlive[l]) continue;
    const w = CODE_WEIGHT[role[linkA[l]]] + CODE_WEIGHT[role[linkB[l]]];
    weight[l] = w;
    start[w + 1]++;
    live++;
  }
  for (let w = 0; w <= MAX_WEIGHT; w++) start[w + 1] += start[w];
  const order = new Int32Array(live);
  for (let l = 0; l < m; l++) if (linkAlive[l]) order[start[weight[l]]++] = l;

  // Union-find.
  const parent = new Int32Array(n);
  for (let v = 0; v < n; v++) parent[v] = v;
  const rank = new Uint8Array(n);
  const find = (v: number): number => {
    let r = v;
    while (parent[r] !== r) r = parent[r];
    while (parent[v] !== r) {
      const next = parent[v];
      parent[v] = r;
      v = next;
    }
    return r;
  };

  const inTree = new Uint8Array(m);
  const picked = new Int32Array(Math.max(0, Math.min(live, n - 1)));
  let count = 0;
  for (let i = 0; i < live && count < picked.length; i++) {
    const l = order[i];
    const ra = find(linkA[l]);
    const rb = find(linkB[l]);
    if (ra === rb) continue; // would close a cycle (or is a self-loop): a redundancy link
    if (rank[ra] < rank[rb]) parent[ra] = rb;
    else if (rank[ra] > rank[rb]) parent[rb] = ra;
    else {
      parent[rb] = ra;
      rank[ra]++;
    }
    inTree[l] = 1;
    picked[count++] = l;
  }
  return { tree: picked.subarray(0, count), inTree };
}

/**
 * Role-weighted minimum spanning tree of the given (already pruned) nodes and links.
 * `tree` is in selection order, `redundancy` (every other link) in input order; both keep
 * the input link objects, so orientation is preserved.
 */
export function minimumSpanningTree(
  nodes: readonly GraphNode[],
  links: readonly Link[],
): { tree: Link[]; redundancy: Link[] } {
  const g = buildGraph(nodes, links);
  const t = kruskalIndexed(g, new Uint8Array(links.length).fill(1));
  return {
    tree: Array.from(t.tree, (l) => links[l]),
    redundancy: links.filter((_, l) => t.inTree[l] === 0),
  };
}
