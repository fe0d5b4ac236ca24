/**
 * Shared test data: the paper's example topology, and fast-check generators of random
 * connected topologies (random spanning tree plus random extra edges, exactly one root).
 */
import fc from 'fast-check';
import type { Link, Role, TopologyInput, TopologyNode } from '../../components/topology';

/**
 * The paper's example (Fig. 6): leaf L1 hangs directly on root R, leaf L2 sits behind relay
 * X, spare links L1-X and L1-L2 become redundancy links, and a dangling branch X-Y-Z (relay,
 * then a node without a role) is pruned.
 */
export function paperTopology(): TopologyInput {
  return {
    nodes: [
      { id: 'r', role: 'root', host: 'h-r' },
      { id: 'l1', role: 'leaf', host: 'h-l1' },
      { id: 'x', role: 'relay', host: 'h-x' },
      { id: 'l2', role: 'leaf', host: 'h-l2' },
      { id: 'y', role: 'relay', host: 'h-y' },
      { id: 'z', host: 'h-z' },
    ],
    links: [
      { a: 'r', b: 'l1' },
      { a: 'r', b: 'x' },
      { a: 'x', b: 'l2' },
      { a: 'l1', b: 'x' },
      { a: 'l1', b: 'l2' },
      { a: 'x', b: 'y' },
      { a: 'y', b: 'z' },
    ],
    vms: [{ name: 'leafvm', node: 'l2' }],
    paths: [
      { leaf: 'l1', receiver: { ip: '10.0.0.255' }, stream: { udpPort: 5004 } },
      { leaf: 'l2', receiver: { ip: '10.0.1.20' }, stream: { udpPort: 5004 } },
    ],
  };
}

/** A random connected graph with exactly one root (node 0 before shuffling ids). */
export interface RandomGraph {
  readonly nodes: TopologyNode[];
  readonly links: Link[];
}

const roleArb = fc.constantFrom<Role | undefined>('relay', 'leaf', undefined);

/**
 * n nodes; node i > 0 hangs on a random earlier node (a random spanning tree), then extra
 * distinct non-loop edges; ends are randomly swapped and links shuffled so input order and
 * orientation carry no structure.
 */
export function connectedGraphArb(minNodes: number, maxNodes: number, maxExtra: number): fc.Arbitrary<RandomGraph> {
  return fc
    .integer({ min: minNodes, max: maxNodes })
    .chain((n) =>
      fc.record({
        n: fc.constant(n),
        parents: fc.tuple(...Array.from({ length: n - 1 }, (_, i) => fc.integer({ min: 0, max: i }))),
        roles: fc.array(roleArb, { minLength: n, maxLength: n }),
        rootAt: fc.integer({ min: 0, max: n - 1 }),
        extra: fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), { maxLength: maxExtra }),
        flips: fc.array(fc.boolean(), { minLength: n - 1 + maxExtra, maxLength: n - 1 + maxExtra }),
        seed: fc.integer(),
      }),
    )
    .map(({ n, parents, roles, rootAt, extra, flips, seed }) => {
      const nodes: TopologyNode[] = Array.from({ length: n }, (_, i) => ({
        id: `n${i}`,
        host: `n${i}`,
        role: i === rootAt ? 'root' : roles[i],
        failed: false,
      }));
      const keys = new Set<string>();
      const pairs: [number, number][] = [];
      const addPair = (a: number, b: number) => {
        if (a === b) return;
        const key = a < b ? `${a}-${b}` : `${b}-${a}`;
        if (keys.has(key)) return;
        keys.add(key);
        pairs.push([a, b]);
      };
      parents.forEach((p, i) => addPair(i + 1, p));
      for (const [a, b] of extra) addPair(a, b);
      const links = pairs.map(([a, b], i) => (flips[i] ? { a: `n${b}`, b: `n${a}` } : { a: `n${a}`, b: `n${b}` }));
      return { nodes, links: shuffle(links, seed) };
    });
}

/** Deterministic Fisher-Yates from a seed (mulberry32), so counterexamples replay. */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Undirected key of a link, for multiset comparisons. */
export const linkKey = (l: Link): string => (l.a < l.b ? `${l.a}|${l.b}` : `${l.b}|${l.a}`);
