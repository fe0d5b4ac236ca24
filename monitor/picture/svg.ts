/**
 * A tree picture as a standalone SVG (for `vpm draw --svg`, where no Mermaid renderer runs):
 * the same scheme as mermaid.ts, laid out in rows by depth from the root over tree links
 * (children in name order under their parent), nodes off the tree (pruned, unreachable) in a
 * last row. Text is XML-escaped.
 */
import type { TreePicture } from './model';

const FILL: Record<string, string> = { root: '#1f6feb', relay: '#8250df', leaf: '#1a7f37', switch: '#eaeef2', pruned: '#f6f8fa' };
const TEXT: Record<string, string> = { switch: '#24292f', pruned: '#8c959f' };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function svgOf(pic: TreePicture): string {
  const ids = pic.nodes.map((n) => n.id);
  const adj = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const l of pic.tree) {
    adj.get(l.a)?.push(l.b);
    adj.get(l.b)?.push(l.a);
  }
  const depth = new Map<string, number>();
  const rows: string[][] = [];
  const root = pic.root && adj.has(pic.root) ? pic.root : undefined;
  if (root) {
    depth.set(root, 0);
    const queue = [root];
    while (queue.length) {
      const n = queue.shift()!;
      const d = depth.get(n)!;
      (rows[d] ??= []).push(n);
      for (const m of [...adj.get(n)!].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
        if (!depth.has(m)) {
          depth.set(m, d + 1);
          queue.push(m);
        }
      }
    }
  }
  const loose = ids.filter((id) => !depth.has(id));
  if (loose.length) rows.push(loose);
  const W = 150;
  const H = 110;
  const width = Math.max(...rows.map((r) => r.length), 1) * W + 40;
  const height = rows.length * H + 40;
  const pos = new Map<string, { x: number; y: number }>();
  rows.forEach((r, d) => r.forEach((id, i) => pos.set(id, { x: 20 + (width - 40) * ((i + 0.5) / r.length), y: 40 + d * H })));
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`];
  const line = (a: string, b: string, dashed: boolean) => {
    const p = pos.get(a);
    const q = pos.get(b);
    if (p && q) out.push(`  <line x1="${p.x}" y1="${p.y}" x2="${q.x}" y2="${q.y}" stroke="#57606a" stroke-width="2"${dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
  };
  for (const l of pic.tree) line(l.a, l.b, false);
  for (const l of pic.redundancy) line(l.a, l.b, true);
  const pruned = new Set(pic.pruned);
  for (const id of ids) {
    const p = pos.get(id)!;
    const role = pruned.has(id) ? 'pruned' : pic.nodes.find((n) => n.id === id)?.role ?? 'switch';
    const vms = pic.vms.filter((v) => v.node === id).map((v) => `VM ${v.name}`);
    const h = 36 + vms.length * 14;
    out.push(
      `  <rect x="${p.x - 55}" y="${p.y - 18}" width="110" height="${h}" rx="6" fill="${FILL[role] ?? FILL.switch}" stroke="#24292f"${role === 'pruned' ? ' stroke-dasharray="4 3"' : ''}/>`,
      `  <text x="${p.x}" y="${p.y - 2}" text-anchor="middle" fill="${TEXT[role] ?? '#fff'}" font-weight="bold">${esc(id)}</text>`,
      `  <text x="${p.x}" y="${p.y + 12}" text-anchor="middle" fill="${TEXT[role] ?? '#fff'}">${esc(role)}</text>`,
      ...vms.map((v, i) => `  <text x="${p.x}" y="${p.y + 26 + i * 14}" text-anchor="middle" fill="${TEXT[role] ?? '#fff'}">${esc(v)}</text>`),
    );
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
