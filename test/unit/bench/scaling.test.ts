/**
 * Issue #18's scale figures (bench/lib/scaling.ts): VPM's own share (VPM − the empty program's
 * `up`), the slope per added hypervisor, and the verdict rows the report's Targets table shows.
 */
import { ownShare, ownShareOf, refreshReads, scaleTargets, slope, type ScaleRow } from '../../../bench/lib/scaling';
import { lineChart } from '../../../bench/lib/svg';
import type { Stat } from '../../../bench/lib/common';

const st = (median: number, n = 3): Stat => ({ median, min: median, max: median, n });

/** A size with the given medians (ms); resources of the bench tree (h1 root, h2 relay, leaves). */
function row(n: number, vpmUp: number, engineUp: number | undefined, careful: number | undefined, opts: { refresh?: number; engineRefresh?: number; carefulAgain?: number; refreshCommands?: number } = {}): ScaleRow {
  const leaves = Math.max(1, n - 2);
  return {
    n,
    resources: { bridges: n, tunnels: n - 1, paths: leaves, hops: leaves * 3 },
    vpm: { up: { wallMs: st(vpmUp) }, noChangeRefresh: { wallMs: st(opts.refresh ?? vpmUp), commands: st(opts.refreshCommands ?? n) } },
    ...(engineUp !== undefined ? { engine: { up: st(engineUp), upRefresh: st(opts.engineRefresh ?? engineUp) } } : {}),
    ...(careful !== undefined ? { careful: { first: { wallMs: st(careful) }, again: { wallMs: st(opts.carefulAgain ?? careful) } } } : {}),
  };
}

describe('own share and slope', () => {
  test('own share = VPM median − fixed cost median; missing or empty figures give undefined', () => {
    expect(ownShare(st(9000), st(4500))).toBe(4500);
    expect(ownShare(st(9000), undefined)).toBeUndefined();
    expect(ownShare(st(9000), { median: NaN, min: NaN, max: NaN, n: 0 })).toBeUndefined();
    expect(ownShareOf(row(16, 11000, 5000, 2000, { refresh: 9500, engineRefresh: 5500, carefulAgain: 1600 }))).toEqual({ up: 6000, noChangeRefresh: 4000, upVsCareful: 3, refreshVsCareful: 2.5 });
  });

  test('least-squares slope; undefined under two distinct sizes', () => {
    expect(slope([{ n: 2, y: 1000 }, { n: 4, y: 1200 }, { n: 8, y: 1600 }, { n: 64, y: 7200 }])).toBeCloseTo(100, 6);
    expect(slope([{ n: 2, y: 1 }])).toBeUndefined();
    expect(slope([{ n: 2, y: 1 }, { n: 2, y: 3 }])).toBeUndefined();
  });

  test('refresh reads: a bridge on one host, a tunnel on two, a path on each hop', () => {
    expect(refreshReads({ bridges: 16, tunnels: 15, paths: 14, hops: 42 })).toBe(16 + 30 + 42);
  });
});

describe('scaleTargets (the Targets rows of issue 18.4)', () => {
  test('all met: own share within 1.5× the careful script at every N, flat slope, ≤ 1 refresh command per read', () => {
    const rows = [2, 4, 8, 16, 32, 64].map((n) => row(n, 4000 + 1000 + 50 * n, 4000, 1000 + 40 * n, { refresh: 4500 + 30 * n, engineRefresh: 4400, carefulAgain: 200 + 30 * n, refreshCommands: n }));
    const t = scaleTargets(rows);
    expect(t.map((x) => [x.issue, x.verdict])).toEqual([
      ['18.4', 'met'],
      ['18.4', 'met'],
      ['18.4', 'met'],
      ['18.4', 'met'],
    ]);
    expect(t[0].target).toMatch(/own share .*≤ 1.5× the careful script, at every N/);
    expect(t[0].figure).toContain('N=64: 4.20 s vs 3.56 s (×1.18)');
    expect(t[1].figure).toMatch(/^50 ms per hypervisor \(own share, least squares over N=2, 4, 8, 16, 32, 64\)$/);
    expect(t[3].figure).toContain('N=2: 2 commands / 7 = 0.29');
  });

  test('one size over the ratio fails the target and is named as the worst', () => {
    const rows = [row(2, 6000, 4000, 1000), row(16, 12000, 4000, 2000)];
    const [own] = scaleTargets(rows);
    expect(own.verdict).toBe('NOT met');
    expect(own.figure).toContain('worst ×4.00 at N=16');
  });

  test('slope over 100 ms per hypervisor is not met', () => {
    const rows = [row(2, 5000, 4000, 5000), row(64, 5000 + 62 * 150, 4000, 99000)];
    expect(scaleTargets(rows)[1]).toMatchObject({ verdict: 'NOT met', figure: expect.stringMatching(/^150 ms per hypervisor/) });
  });

  test('too many refresh commands per read is not met', () => {
    const rows = [row(4, 5000, 4000, 5000, { refreshCommands: 40 })];
    expect(scaleTargets(rows)[3]).toMatchObject({ verdict: 'NOT met', figure: 'N=4: 40 commands / 16 = 2.50' });
  });

  test('without the fixed cost or the careful script: not measured (the slope falls back to wall time)', () => {
    const rows = [row(2, 5000, undefined, 1000), row(4, 5200, undefined, undefined)];
    const t = scaleTargets(rows);
    expect(t[0]).toMatchObject({ verdict: 'not measured', figure: '2 of 2 sizes lack the empty-program or careful-script figure' });
    expect(t[1]).toMatchObject({ verdict: 'met', figure: expect.stringContaining('wall time (no fixed cost measured)') });
    expect(t[2].verdict).toBe('not measured');
    expect(scaleTargets([]).map((x) => x.verdict)).toEqual(['not measured', 'not measured', 'not measured', 'not measured']);
  });
});

describe('the chart up to 64 hypervisors', () => {
  test('every size is a tick; labels that would overlap are left out, never printed over each other', () => {
    const points = [2, 4, 8, 16, 32, 64].map((x) => ({ x, y: x / 4 }));
    const svg = lineChart([{ name: 'VPM up', color: '#000', points }], { title: 't', xLabel: 'x', yLabel: 'y', xTicks: [2, 4, 8, 16, 32, 64] });
    const labels = [...svg.matchAll(/<text x="([\d.]+)" y="\d+(?:\.\d+)?" text-anchor="middle" fill="#444">(\d+)<\/text>/g)].map((m) => ({ x: Number(m[1]), v: Number(m[2]) }));
    expect(labels.map((l) => l.v)).toEqual([2, 4, 8, 16, 32, 64]);
    expect(svg.match(/<circle /g)).toHaveLength(6);
    const crowded = lineChart([{ name: 'a', color: '#000', points: [1, 2, 3, 64].map((x) => ({ x, y: 1 })) }], { title: 't', xLabel: 'x', yLabel: 'y', xTicks: [1, 2, 3, 64], width: 300 });
    const xs = [...crowded.matchAll(/<text x="([\d.]+)" y="\d+(?:\.\d+)?" text-anchor="middle" fill="#444">(\d+)<\/text>/g)].map((m) => Number(m[1]));
    for (let i = 1; i < xs.length; i++) expect(xs[i] - xs[i - 1]).toBeGreaterThanOrEqual(7 + 3);
    expect(xs.length).toBeLessThan(4);
  });
});
