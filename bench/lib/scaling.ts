/**
 * The figures of issue #18's scale targets, pure (no process, no file): VPM's own share of an
 * `up` (VPM's wall time minus the engine's fixed cost, i.e. an `up` of a program that registers
 * nothing, measured in the same run), its slope per added hypervisor, and the verdicts the
 * report's "Targets" table shows. bench/up-scaling.ts computes the per-size figures with
 * `ownShare`; bench/run-all.ts turns its rows into verdicts with `scaleTargets`.
 *
 * Targets (issue #18, item 4):
 *   - own share of `up` from empty <= 1.5 x the careful script, at every N;
 *   - slope of the own share <= 100 ms per added hypervisor;
 *   - no-change `up --refresh`: own share <= 1.5 x the careful script's re-run, and <= 1 command
 *     per resource and host it lives on (a bridge: 1 host, a tunnel: its 2 ends, a path: its hops).
 */
import type { Stat } from './common';

export const OWN_SHARE_MAX_RATIO = 1.5;
export const SLOPE_MAX_MS = 100;
export const REFRESH_COMMANDS_PER_RESOURCE_MAX = 1;

export interface ScaleVerdict {
  readonly issue: string;
  readonly target: string;
  readonly figure: string;
  readonly verdict: 'met' | 'NOT met' | 'not measured';
}

/** What scaleTargets reads of one size (a subset of up-scaling.ts's row). */
export interface ScaleRow {
  readonly n: number;
  readonly resources: { readonly bridges: number; readonly tunnels: number; readonly paths: number; readonly hops: number };
  readonly vpm: {
    readonly up: { readonly wallMs: Stat };
    readonly noChangeRefresh: { readonly wallMs: Stat; readonly commands: Stat };
  };
  /** The engine's fixed cost: `up` and `up --refresh` of the empty program. */
  readonly engine?: { readonly up: Stat; readonly upRefresh: Stat };
  readonly careful?: { readonly first: { readonly wallMs: Stat }; readonly again: { readonly wallMs: Stat } };
}

const usable = (s: Stat | undefined): s is Stat => !!s && s.n > 0 && Number.isFinite(s.median);

/** VPM's median minus the fixed cost's median (ms), or undefined when either is missing. */
export function ownShare(vpm: Stat | undefined, fixed: Stat | undefined): number | undefined {
  return usable(vpm) && usable(fixed) ? Math.round(vpm.median - fixed.median) : undefined;
}

/** a / b rounded to 2 decimals, or undefined. */
export function ratioOf(a: number | undefined, b: Stat | undefined): number | undefined {
  return a !== undefined && usable(b) && b.median > 0 ? Math.round((a / b.median) * 100) / 100 : undefined;
}

/** Least-squares slope of y against n (y per unit of n); undefined under two distinct n. */
export function slope(points: ReadonlyArray<{ readonly n: number; readonly y: number }>): number | undefined {
  const p = points.filter((q) => Number.isFinite(q.y));
  if (new Set(p.map((q) => q.n)).size < 2) return undefined;
  const mn = p.reduce((a, q) => a + q.n, 0) / p.length;
  const my = p.reduce((a, q) => a + q.y, 0) / p.length;
  const num = p.reduce((a, q) => a + (q.n - mn) * (q.y - my), 0);
  const den = p.reduce((a, q) => a + (q.n - mn) ** 2, 0);
  return num / den;
}

/** Resource placements a refresh reads: a bridge on 1 host, a tunnel on its 2 ends, a path on each hop's host. */
export function refreshReads(r: ScaleRow['resources']): number {
  return r.bridges + 2 * r.tunnels + r.hops;
}

/** Per size: VPM's own share of `up` and of the no-change `up --refresh`, and their ratios to the careful script. */
export function ownShareOf(row: ScaleRow): { up?: number; noChangeRefresh?: number; upVsCareful?: number; refreshVsCareful?: number } {
  const up = ownShare(row.vpm.up.wallMs, row.engine?.up);
  const noChangeRefresh = ownShare(row.vpm.noChangeRefresh.wallMs, row.engine?.upRefresh);
  return { up, noChangeRefresh, upVsCareful: ratioOf(up, row.careful?.first.wallMs), refreshVsCareful: ratioOf(noChangeRefresh, row.careful?.again.wallMs) };
}

const s2 = (ms: number | undefined) => (ms === undefined ? 'n/a' : (ms / 1000).toFixed(2));
const x2 = (r: number | undefined) => (r === undefined ? 'n/a' : `×${r.toFixed(2)}`);

/** The verdict rows of issue #18's scale targets (item 4) for the report's Targets table. */
export function scaleTargets(rows: readonly ScaleRow[]): ScaleVerdict[] {
  const out: ScaleVerdict[] = [];
  const per = rows.map((r) => ({ r, s: ownShareOf(r) }));
  const notMeasured = (target: string, why: string): ScaleVerdict => ({ issue: '18.4', target, figure: why, verdict: 'not measured' });
  /** One own-share verdict: `own(s)` = [own share ms, its ratio to the baseline], at every size. */
  const atEveryN = (target: string, baseline: string, own: (s: ReturnType<typeof ownShareOf>) => [number | undefined, number | undefined], base: (r: ScaleRow) => number | undefined): ScaleVerdict => {
    const have = per.filter((p) => own(p.s)[1] !== undefined);
    if (!rows.length || have.length < rows.length) return notMeasured(target, `${rows.length - have.length} of ${rows.length} sizes lack the empty-program or ${baseline} figure`);
    const ratio = (p: (typeof per)[number]) => own(p.s)[1]!;
    const worst = have.reduce((a, b) => (ratio(b) > ratio(a) ? b : a));
    return {
      issue: '18.4',
      target,
      figure: have.map((p) => `N=${p.r.n}: ${s2(own(p.s)[0])} s vs ${s2(base(p.r))} s (${x2(ratio(p))})`).join('; ') + `; worst ${x2(ratio(worst))} at N=${worst.r.n}`,
      verdict: have.every((p) => ratio(p) <= OWN_SHARE_MAX_RATIO) ? 'met' : 'NOT met',
    };
  };


  // 1. Own share of `up` from empty against the careful script, at every N.
  out.push(
    atEveryN(
      `VPM's own share of \`up\` (VPM − empty-program \`up\`) ≤ ${OWN_SHARE_MAX_RATIO}× the careful script, at every N`,
      'careful-script',
      (s) => [s.up, s.upVsCareful],
      (r) => r.careful?.first.wallMs.median,
    ),
  );
  // 2. Slope per added hypervisor (least squares over the sizes), of the own share when the
  //    fixed cost was measured, else of VPM's wall time (the same slope if the fixed cost is flat).
  {
    const target = `slope per added hypervisor ≤ ${SLOPE_MAX_MS} ms`;
    const own = per.filter((p) => p.s.up !== undefined).map((p) => ({ n: p.r.n, y: p.s.up! }));
    const wall = rows.filter((r) => usable(r.vpm.up.wallMs)).map((r) => ({ n: r.n, y: r.vpm.up.wallMs.median }));
    const k = slope(own.length === rows.length ? own : wall);
    if (k === undefined) out.push(notMeasured(target, 'fewer than two sizes measured'));
    else {
      const of = own.length === rows.length ? 'own share' : 'wall time (no fixed cost measured)';
      const ns = rows.map((r) => r.n);
      out.push({ issue: '18.4', target, figure: `${k.toFixed(0)} ms per hypervisor (${of}, least squares over N=${ns.join(', ')})`, verdict: k <= SLOPE_MAX_MS ? 'met' : 'NOT met' });
    }
  }
  // 3. No-change `up --refresh`: own share against the careful re-run, at every N.
  out.push(
    atEveryN(
      `no-change \`up --refresh\`: own share ≤ ${OWN_SHARE_MAX_RATIO}× the careful script's re-run, at every N`,
      'careful re-run',
      (s) => [s.noChangeRefresh, s.refreshVsCareful],
      (r) => r.careful?.again.wallMs.median,
    ),
  );
  // 4. Commands of the no-change refresh per resource and host.
  {
    const target = `no-change \`up --refresh\`: ≤ ${REFRESH_COMMANDS_PER_RESOURCE_MAX} command per resource and host (bridge 1, tunnel 2 ends, path 1 per hop)`;
    const have = rows.filter((r) => usable(r.vpm.noChangeRefresh.commands));
    if (!rows.length || have.length < rows.length) out.push(notMeasured(target, 'the no-change refresh was not traced at every size'));
    else {
      const per1 = have.map((r) => ({ r, k: r.vpm.noChangeRefresh.commands.median / Math.max(1, refreshReads(r.resources)) }));
      out.push({
        issue: '18.4',
        target,
        figure: per1.map(({ r, k }) => `N=${r.n}: ${r.vpm.noChangeRefresh.commands.median} commands / ${refreshReads(r.resources)} = ${k.toFixed(2)}`).join('; '),
        verdict: per1.every(({ k }) => k <= REFRESH_COMMANDS_PER_RESOURCE_MAX) ? 'met' : 'NOT met',
      });
    }
  }
  return out;
}
