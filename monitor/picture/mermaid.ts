/**
 * A tree picture as a Mermaid flowchart (GitHub renders ```mermaid blocks in comments and job
 * summaries). Scheme: one box per node labelled "id / role" (+ its VMs), coloured by role;
 * tree links solid (`---`), redundancy links dashed (`-.-`), pruned nodes grey with dashed
 * borders; links of a changing path thick orange; a moving VM orange ("⇢ to" in the picture
 * before, "⇠ from" after). Mermaid ids are n0, n1, ... (node ids never reach Mermaid syntax
 * except inside quoted, escaped labels).
 */
import type { PictureMarks, TreePicture } from './model';

const CLASSES = [
  'classDef root fill:#1f6feb,stroke:#0b3d91,color:#fff',
  'classDef relay fill:#8250df,stroke:#4c2889,color:#fff',
  'classDef leaf fill:#1a7f37,stroke:#0f4d21,color:#fff',
  'classDef switch fill:#eaeef2,stroke:#57606a,color:#24292f',
  'classDef pruned fill:#f6f8fa,stroke:#afb8c1,color:#8c959f,stroke-dasharray:4 3',
  'classDef moving stroke:#fb8500,stroke-width:4px',
];

function label(s: string): string {
  return s.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');
}

const key = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

/** The flowchart text (without the ``` fence). `side` says which end of a move to draw. */
export function mermaidOf(pic: TreePicture, marks: PictureMarks = {}, side: 'before' | 'after' | 'plan' = 'plan'): string {
  const ids = new Map<string, string>();
  const idOf = (n: string) => {
    if (!ids.has(n)) ids.set(n, `n${ids.size}`);
    return ids.get(n)!;
  };
  const pruned = new Set(pic.pruned);
  const lines = ['flowchart TD'];
  const moving = new Map<string, { vm: string; from: string; to: string }>();
  for (const m of marks.movingVms ?? []) moving.set(m.vm, m);
  const allNodes = [...pic.nodes.map((n) => n.id)];
  for (const l of [...pic.tree, ...pic.redundancy]) for (const n of [l.a, l.b]) if (!allNodes.includes(n)) allNodes.push(n);
  for (const id of allNodes) {
    const role = pic.nodes.find((n) => n.id === id)?.role;
    const vms = pic.vms.filter((v) => v.node === id).map((v) => {
      const m = moving.get(v.name);
      if (!m) return `VM ${v.name}`;
      return side === 'before' ? `VM ${v.name} ⇢ ${m.to}` : side === 'after' ? `VM ${v.name} ⇠ ${m.from}` : `VM ${v.name}`;
    });
    const text = [id, pruned.has(id) ? 'pruned' : role ?? 'switch', ...vms].map(label).join('<br/>');
    const cls = pruned.has(id) ? 'pruned' : role ?? 'switch';
    const isMoving = pic.vms.some((v) => v.node === id && moving.has(v.name));
    lines.push(`  ${idOf(id)}["${text}"]:::${cls}`);
    if (isMoving) lines.push(`  class ${idOf(id)} moving`);
  }
  // Links of changing paths: consecutive nodes of every changed path.
  const hot = new Set<string>();
  for (const p of pic.paths) {
    if (!marks.changedPaths?.has(p.name)) continue;
    for (let i = 1; i < p.nodes.length; i++) hot.add(key(p.nodes[i - 1]!, p.nodes[i]!));
  }
  let index = 0;
  const hotIdx: number[] = [];
  for (const l of pic.tree) {
    lines.push(`  ${idOf(l.a)} --- ${idOf(l.b)}`);
    if (hot.has(key(l.a, l.b))) hotIdx.push(index);
    index++;
  }
  for (const l of pic.redundancy) {
    lines.push(`  ${idOf(l.a)} -.- ${idOf(l.b)}`);
    if (hot.has(key(l.a, l.b))) hotIdx.push(index);
    index++;
  }
  if (hotIdx.length) lines.push(`  linkStyle ${hotIdx.join(',')} stroke:#fb8500,stroke-width:4px`);
  lines.push(...CLASSES.map((c) => `  ${c}`));
  return lines.join('\n');
}

/** A fenced block ready for Markdown. */
export function mermaidBlock(pic: TreePicture, marks: PictureMarks = {}, side: 'before' | 'after' | 'plan' = 'plan'): string {
  return ['```mermaid', mermaidOf(pic, marks, side), '```'].join('\n');
}

export const LEGEND =
  'Legend: blue root, purple relay, green leaf, grey dashed = pruned; solid line = tree link (GRE tunnel), dashed = redundancy link; thick orange = a path that changes; orange box = a VM that moves.';
