/**
 * A hand-rolled SVG line chart (no dependency): series of (x, median) points with min..max
 * whiskers, linear axes with "nice" ticks, a legend. Enough for `up` time against hypervisors
 * (2..64 on a linear axis: an x tick label that would touch the previous one is left out, its
 * tick mark stays, so 2, 4 and 8 do not print over each other).
 */

export interface Point {
  readonly x: number;
  readonly y: number;
  readonly min?: number;
  readonly max?: number;
}

export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly Point[];
  readonly dashed?: boolean;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  /** Tick values on x (default: the union of the points' x). */
  readonly xTicks?: readonly number[];
  readonly note?: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceStep(range: number, targetTicks: number): number {
  const raw = range / Math.max(1, targetTicks);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const nice = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10;
  return nice * mag;
}

/** Width of one digit of a 12 px sans-serif label, and the least gap between two x labels. */
const LABEL_CHAR_PX = 7;
const LABEL_GAP_PX = 3;

const fmt = (v: number) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1));

export function lineChart(series: readonly Series[], o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 440;
  const m = { left: 70, right: 200, top: 48, bottom: 64 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = series.flatMap((s) => s.points);
  const xs = o.xTicks ?? [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(...xs, 1);
  const yTop = Math.max(1e-9, ...pts.map((p) => Math.max(p.y, p.max ?? p.y)));
  const yStep = niceStep(yTop, 6);
  const yMax = Math.ceil(yTop / yStep) * yStep;
  const X = (x: number) => m.left + ((x - xMin) / (xMax - xMin)) * pw;
  const Y = (y: number) => m.top + ph - (y / yMax) * ph;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.left}" y="24" font-size="15" font-weight="bold">${esc(o.title)}</text>`);
  // Grid and y ticks.
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(`<line x1="${m.left}" y1="${Y(v).toFixed(1)}" x2="${m.left + pw}" y2="${Y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${(Y(v) + 4).toFixed(1)}" text-anchor="end" fill="#444">${fmt(v)}</text>`);
  }
  let lastLabelRight = -Infinity;
  for (const x of xs) {
    out.push(`<line x1="${X(x).toFixed(1)}" y1="${m.top + ph}" x2="${X(x).toFixed(1)}" y2="${m.top + ph + 5}" stroke="#444"/>`);
    const half = (fmt(x).length * LABEL_CHAR_PX) / 2;
    if (X(x) - half < lastLabelRight + LABEL_GAP_PX) continue; // would touch the previous label
    lastLabelRight = X(x) + half;
    out.push(`<text x="${X(x).toFixed(1)}" y="${m.top + ph + 20}" text-anchor="middle" fill="#444">${fmt(x)}</text>`);
  }
  out.push(`<line x1="${m.left}" y1="${m.top + ph}" x2="${m.left + pw}" y2="${m.top + ph}" stroke="#444"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + ph}" stroke="#444"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 22}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text>`);
  if (o.note) out.push(`<text x="${m.left}" y="${H - 6}" font-size="10" fill="#666">${esc(o.note)}</text>`);
  // Series.
  series.forEach((s, i) => {
    const p = [...s.points].sort((a, b) => a.x - b.x);
    if (p.length) {
      const d = p.map((q, k) => `${k ? 'L' : 'M'}${X(q.x).toFixed(1)} ${Y(q.y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const q of p) {
        if (q.min !== undefined && q.max !== undefined && q.max > q.min) {
          const x = X(q.x).toFixed(1);
          out.push(`<line x1="${x}" y1="${Y(q.min).toFixed(1)}" x2="${x}" y2="${Y(q.max).toFixed(1)}" stroke="${s.color}" stroke-width="1"/>`);
          for (const v of [q.min, q.max]) out.push(`<line x1="${(X(q.x) - 4).toFixed(1)}" y1="${Y(v).toFixed(1)}" x2="${(X(q.x) + 4).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="${s.color}"/>`);
        }
        out.push(`<circle cx="${X(q.x).toFixed(1)}" cy="${Y(q.y).toFixed(1)}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: ${fmt(q.x)} -> ${q.y.toFixed(2)}`)}</title></circle>`);
      }
    }
    const ly = m.top + 10 + i * 22;
    const lx = m.left + pw + 16;
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    out.push(`<text x="${lx + 32}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
