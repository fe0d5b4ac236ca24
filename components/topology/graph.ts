/**
 * The indexed form of a topology graph that prune.ts and mst.ts work on: nodes become
 * integers, links become two parallel Int32Arrays, and each node's incident links sit in
 * one compressed adjacency array (CSR). Building it is O(V+E) and everything downstream
 * touches only typed arrays, which is what keeps 10,000 nodes / 50,000 links in a few ms.
 *
 * A link index is its position in the input `links` array; a node index its position in
 * `nodes`. Outputs map back through these, so results keep the input order and orientation.
 */
import { topologyError } from './errors';
import type { Link, Role } from './model';

/** Role codes, also indexes into ROLE_WEIGHT. `NONE` is a node without a role. */
export const ROOT = 0;
export const RELAY = 1;
export const LEAF = 2;
export const NONE = 3;

const ROLE_CODE: Record<Role, number> = { root: ROOT, relay: RELAY, leaf: LEAF };

/** The minimal node shape the graph algorithms need (parsed nodes satisfy it). */
export interface GraphNode {
  readonly id: string;
  readonly role?: Role;
  readonly failed?: boolean;
}

export interface IndexedGraph {
  readonly ids: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  readonly role: Uint8Array;
  readonly failed: Uint8Array;
  readonly linkA: Int32Array;
  readonly linkB: Int32Array;
  /** Incident link indices of node v: adjLinks[adjStart[v] .. adjStart[v + 1]). */
  readonly adjStart: Int32Array;
  readonly adjLinks: Int32Array;
}

/**
 * Index nodes and links. Throws a TopologyError on a duplicate node id, a link to an
 * unknown node, a self-loop or a duplicate link: validate.ts reports these (with all other
 * problems) before a parsed topology gets here, but computeTree is exported and takes plain
 * objects, so it must refuse the same graphs (a self-loop came back as a redundancy link).
 */
export function buildGraph(nodes: readonly GraphNode[], links: readonly Link[]): IndexedGraph {
  const n = nodes.length;
  const m = links.length;
  const ids: string[] = new Array(n);
  const index = new Map<string, number>();
  const role = new Uint8Array(n);
  const failed = new Uint8Array(n);
  for (let v = 0; v < n; v++) {
    const node = nodes[v];
    if (index.has(node.id)) {
      throw topologyError(`nodes[${v}].id`, `duplicate node id "${node.id}"; give each node a unique id`);
    }
    index.set(node.id, v);
    ids[v] = node.id;
    role[v] = node.role === undefined ? NONE : ROLE_CODE[node.role];
    failed[v] = node.failed ? 1 : 0;
  }

  const linkA = new Int32Array(m);
  const linkB = new Int32Array(m);
  const degree = new Int32Array(n + 1);
  const seen = new Map<number, number>();
  for (let l = 0; l < m; l++) {
    const a = index.get(links[l].a);
    const b = index.get(links[l].b);
    if (a === undefined) throw topologyError(`links[${l}].a`, `unknown node "${links[l].a}"; use a node id from nodes`);
    if (b === undefined) throw topologyError(`links[${l}].b`, `unknown node "${links[l].b}"; use a node id from nodes`);
    if (a === b) throw topologyError(`links[${l}]`, `links node "${links[l].a}" to itself; remove it or change one end`);
    const key = a < b ? a * n + b : b * n + a;
    const first = seen.get(key);
    if (first !== undefined) {
      throw topologyError(`links[${l}]`, `duplicate of links[${first}] (a-b and b-a are the same link); remove one of them`);
    }
    seen.set(key, l);
    linkA[l] = a;
    linkB[l] = b;
    degree[a]++;
    degree[b]++;
  }

  // Prefix sums turn degrees into slice starts; `fill` then advances a cursor per node.
  const adjStart = new Int32Array(n + 1);
  for (let v = 0; v < n; v++) adjStart[v + 1] = adjStart[v] + degree[v];
  const fill = adjStart.slice(0, n);
  const adjLinks = new Int32Array(2 * m);
  for (let l = 0; l < m; l++) {
    adjLinks[fill[linkA[l]]++] = l;
    adjLinks[fill[linkB[l]]++] = l;
  }

  return { ids, index, role, failed, linkA, linkB, adjStart, adjLinks };
}

/** The other end of link l seen from node v (v itself for a self-loop). */
export function otherEnd(g: IndexedGraph, l: number, v: number): number {
  return g.linkA[l] === v ? g.linkB[l] : g.linkA[l];
}
