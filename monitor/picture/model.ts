/**
 * A streaming tree as a picture's data (pure): nodes with roles, tree links, redundancy links,
 * pruned nodes, paths (node lists), VMs by node, and what a change marks: paths that change
 * (created or deleted) and VMs that move. Built from a topology file (`vpm draw`) or from a
 * stack's outputs before/after a preview (`vpm preview`); drawn by mermaid.ts and svg.ts.
 */
import { computeTree, type Topology } from '../../components/topology';

export interface PictureLink {
  readonly a: string;
  readonly b: string;
}

export interface TreePicture {
  readonly root?: string;
  readonly nodes: ReadonlyArray<{ readonly id: string; readonly role?: string }>;
  readonly tree: readonly PictureLink[];
  readonly redundancy: readonly PictureLink[];
  readonly pruned: readonly string[];
  readonly paths: ReadonlyArray<{ readonly name: string; readonly nodes: readonly string[] }>;
  readonly vms: ReadonlyArray<{ readonly name: string; readonly node: string }>;
}

export interface PictureMarks {
  /** Names of paths that change (created in "after", deleted in "before"). */
  readonly changedPaths?: ReadonlySet<string>;
  /** VMs that move: drawn at `to` in "after" (and at `from` in "before"). */
  readonly movingVms?: ReadonlyArray<{ readonly vm: string; readonly from: string; readonly to: string }>;
}

/** The picture of a topology as `vpm up` would build it (the tree engine's own result). */
export function pictureOfTopology(topology: Topology): TreePicture {
  const t = computeTree(topology);
  return {
    root: t.root,
    nodes: topology.nodes.map((n) => ({ id: n.id, ...(n.role ? { role: n.role } : {}) })),
    tree: t.tree,
    redundancy: t.redundancy,
    pruned: t.pruned,
    paths: topology.paths.map((p) => ({ name: p.id, nodes: [] })),
    vms: topology.vms.map((v) => ({ name: v.name, node: v.node })),
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const links = (v: unknown): PictureLink[] =>
  Array.isArray(v) ? v.filter(isObj).filter((l) => typeof l.a === 'string' && typeof l.b === 'string').map((l) => ({ a: l.a as string, b: l.b as string })) : [];

/**
 * The picture of a StreamingTree stack's outputs (stacks/main.ts: root, tree, redundancy,
 * pruned, paths[].nodes, vms{name: {node}}); roles from the state's nodes. Missing outputs
 * (unknown during preview) give an empty part, never an error.
 */
export function pictureOfOutputs(outputs: Record<string, unknown>, roles: Record<string, string>): TreePicture {
  const tree = links(outputs.tree);
  const redundancy = links(outputs.redundancy);
  const pruned = Array.isArray(outputs.pruned) ? outputs.pruned.filter((x): x is string => typeof x === 'string') : [];
  const paths = Array.isArray(outputs.paths)
    ? outputs.paths.filter(isObj).map((p) => ({ name: String(p.name ?? ''), nodes: Array.isArray(p.nodes) ? p.nodes.map(String) : [] }))
    : [];
  const vms = isObj(outputs.vms) ? Object.entries(outputs.vms).filter(([, v]) => isObj(v)).map(([name, v]) => ({ name, node: String((v as Record<string, unknown>).node ?? '') })) : [];
  const ids = new Set<string>([...tree, ...redundancy].flatMap((l) => [l.a, l.b]));
  for (const p of pruned) ids.add(p);
  for (const p of paths) p.nodes.forEach((n) => ids.add(n));
  const root = typeof outputs.root === 'string' ? outputs.root : undefined;
  if (root) ids.add(root);
  const order = [...ids].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return {
    ...(root ? { root } : {}),
    nodes: order.map((id) => ({ id, ...(roles[id] ? { role: roles[id] } : id === root ? { role: 'root' } : {}) })),
    tree,
    redundancy,
    pruned,
    paths,
    vms,
  };
}
