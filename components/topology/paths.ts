/**
 * Hops of a stream: the node sequence root -> ... -> leaf along the tree (what FlowPath
 * installs rules on), and the backup sequence over tree + redundancy links that avoids one
 * failed node (what failover pre-installs). Both are plain BFS over string ids: a path has a
 * handful of hops and a topology a handful of paths, so clarity beats typed arrays here.
 *
 * Determinism: neighbours are visited in link order (tree links first, then redundancy), so
 * among equally short routes the same one is always chosen.
 */
import { TopologyError, topologyError, type TopologyProblem } from './errors';
import type { Link, Path, Topology } from './model';

type Adjacency = Map<string, string[]>;

function adjacency(...linkSets: ReadonlyArray<readonly Link[]>): Adjacency {
  const adj: Adjacency = new Map();
  const add = (from: string, to: string) => {
    const list = adj.get(from);
    if (list) list.push(to);
    else adj.set(from, [to]);
  };
  for (const links of linkSets) {
    for (const { a, b } of links) {
      add(a, b);
      add(b, a);
    }
  }
  return adj;
}

/** BFS parents from `root`, never entering `avoid`. */
function bfsParents(adj: Adjacency, root: string, avoid?: string): Map<string, string | null> {
  const parent = new Map<string, string | null>([[root, null]]);
  const queue = [root];
  for (let head = 0; head < queue.length; head++) {
    const v = queue[head];
    for (const u of adj.get(v) ?? []) {
      if (u === avoid || parent.has(u)) continue;
      parent.set(u, v);
      queue.push(u);
    }
  }
  return parent;
}

function walkBack(parent: Map<string, string | null>, leaf: string): string[] {
  const hops: string[] = [];
  for (let v: string | null | undefined = leaf; v != null; v = parent.get(v)) hops.push(v);
  return hops.reverse();
}

/** Routes from one root over one tree, computed once and asked for many leaves. */
export class TreeRoutes {
  private readonly parent: Map<string, string | null>;

  constructor(tree: readonly Link[], readonly root: string) {
    this.parent = bfsParents(adjacency(tree), root);
  }

  /** Node sequence root -> leaf along the tree; throws when the leaf is not on the tree. */
  hopsTo(leaf: string, where = 'leaf'): string[] {
    if (!this.parent.has(leaf)) {
      throw topologyError(
        where,
        `"${leaf}" is not on the tree rooted at "${this.root}" (pruned, failed or unknown); ` +
          'route the path to a leaf that is connected to the root',
      );
    }
    return walkBack(this.parent, leaf);
  }
}

/** Node sequence from root to leaf along the tree links. */
export function pathHops(tree: readonly Link[], root: string, leaf: string): string[] {
  return new TreeRoutes(tree, root).hopsTo(leaf);
}

/**
 * Shortest (by hop count) node sequence root -> leaf over tree and redundancy links that
 * does not pass through `failedNode`. Throws a TopologyError when there is none, or when
 * the failed node is the root or the leaf itself (nothing can route around those).
 */
export function backupPath(
  tree: readonly Link[],
  redundancy: readonly Link[],
  root: string,
  leaf: string,
  failedNode: string,
): string[] {
  if (failedNode === root) {
    throw topologyError(
      'failedNode',
      `"${failedNode}" is the root, where the stream starts, so no path can avoid it; make another node the root`,
    );
  }
  if (failedNode === leaf) {
    throw topologyError(
      'failedNode',
      `"${failedNode}" is the leaf the path delivers to, so no path can avoid it; move the path (or its VM) to another leaf`,
    );
  }
  const parent = bfsParents(adjacency(tree, redundancy), root, failedNode);
  if (!parent.has(leaf)) {
    throw topologyError(
      'failedNode',
      `no alternative path from root "${root}" to leaf "${leaf}" avoiding "${failedNode}"; add a redundancy link around "${failedNode}"`,
    );
  }
  return walkBack(parent, leaf);
}

/** The planned form of one declared path: where it goes and through which hops. */
export interface PlannedPath {
  readonly id: string;
  readonly leaf: string;
  /** Root first, leaf last. */
  readonly hops: string[];
  readonly receiver: Path['receiver'];
  readonly stream: Path['stream'];
}

/**
 * Hops for every declared path of a topology over a computed tree (see computeTree).
 * Throws one TopologyError naming every path whose leaf is not on the tree.
 */
export function planPaths(topology: Pick<Topology, 'paths'>, result: { tree: readonly Link[]; root: string }): PlannedPath[] {
  const routes = new TreeRoutes(result.tree, result.root);
  const problems: TopologyProblem[] = [];
  const planned: PlannedPath[] = [];
  topology.paths.forEach((p, i) => {
    try {
      planned.push({ id: p.id, leaf: p.leaf, hops: routes.hopsTo(p.leaf, `paths[${i}].leaf`), receiver: p.receiver, stream: p.stream });
    } catch (e) {
      if (!(e instanceof TopologyError)) throw e;
      problems.push(...e.problems);
    }
  });
  if (problems.length > 0) throw new TopologyError(problems);
  return planned;
}

/** Alias of planPaths: each declared path with its hops over the tree. */
export const describeTree = planPaths;
