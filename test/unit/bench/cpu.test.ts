/**
 * The lab's idle CPU (bench/lib/cpu.ts): utime + stime from /proc/<pid>/stat, cores over a
 * window, the summary per hypervisor with the root and relay apart.
 */
import { coresUsed, idleCpuRows, parseProcStatTicks, stat3, summariseCpu } from '../../../bench/lib/cpu';

describe('idle CPU arithmetic', () => {
  test('utime + stime are fields 14 and 15, also when the command name holds spaces and parentheses', () => {
    const tail = 'S 1 1234 1234 0 -1 4194560 5000 0 12 0 700 250 0 0 20 0 3 0 9999 123456789 2048 18446744073709551615';
    expect(parseProcStatTicks(`4242 (ovs-vswitchd) ${tail}\n`)).toBe(950);
    expect(parseProcStatTicks(`4243 (a b) (c)) ${tail}`)).toBe(950);
    expect(() => parseProcStatTicks('garbage')).toThrow(/not a \/proc/);
    expect(() => parseProcStatTicks('1 (x) S 1 2')).toThrow(/no utime\/stime/);
  });

  test('cores = Δticks / ticks per second / seconds; a counter that went back counts 0', () => {
    expect(coresUsed(1000, 1250, 5000, 100)).toBeCloseTo(0.5, 9); // 2.5 s of CPU in 5 s
    expect(coresUsed(0, 1000, 5000, 100)).toBeCloseTo(2, 9);
    expect(coresUsed(500, 400, 5000, 100)).toBe(0);
    expect(() => coresUsed(0, 1, 0, 100)).toThrow();
  });

  test('summary: all cores, per hypervisor median and max, root and relay apart, per process kind', () => {
    const before = {
      h1: { 'ovs-vswitchd': 100, 'ovsdb-server': 10, sshd: 5 },
      h2: { 'ovs-vswitchd': 200, 'ovsdb-server': 10, sshd: 5 },
      h3: { 'ovs-vswitchd': 300, 'ovsdb-server': 10, sshd: 5 },
      h4: { 'ovs-vswitchd': 400, 'ovsdb-server': 10, sshd: 5 },
    };
    // Over 5 s at 100 ticks/s: h1 +20 ticks (0.04 cores), h2 +250 (0.5), h3 +10 (0.02), h4 +15 (0.03, its sshd gone).
    const after = {
      h1: { 'ovs-vswitchd': 118, 'ovsdb-server': 12, sshd: 5 },
      h2: { 'ovs-vswitchd': 445, 'ovsdb-server': 15, sshd: 5 },
      h3: { 'ovs-vswitchd': 309, 'ovsdb-server': 11, sshd: 5 },
      h4: { 'ovs-vswitchd': 414, 'ovsdb-server': 11 },
    };
    const s = summariseCpu(before, after, 5000, 100);
    expect(s.allCores).toBeCloseTo(0.59, 9);
    expect(s.root).toBe(0.04);
    expect(s.relay).toBe(0.5);
    expect(s.perHypervisor).toEqual({ median: 0.035, min: 0.02, max: 0.5, n: 4 });
    expect(s.perHost.h2).toEqual({ 'ovs-vswitchd': 0.49, 'ovsdb-server': 0.01, sshd: 0, total: 0.5 });
    expect(s.perHost.h4.sshd).toBe(0);
    expect(s.medianByProcess['ovs-vswitchd']).toBe(0.032);
    expect(s.windowMs).toBe(5000);
    expect(s.clkTck).toBe(100);
  });

  test('stat3 keeps three decimals', () => {
    expect(stat3([0.0123, 0.0456, 0.0789])).toEqual({ median: 0.046, min: 0.012, max: 0.079, n: 3 });
    expect(stat3([]).n).toBe(0);
  });

  test('report rows: VPM in all, per hypervisor, root and relay; the baselines beside it; nothing for an older result', () => {
    const vpm = summariseCpu({ h1: { v: 0 }, h2: { v: 0 }, h3: { v: 0 } }, { h1: { v: 20 }, h2: { v: 250 }, h3: { v: 10 } }, 5000, 100);
    const careful = summariseCpu({ h1: { v: 0 }, h2: { v: 0 }, h3: { v: 0 } }, { h1: { v: 20 }, h2: { v: 240 }, h3: { v: 10 } }, 5000, 100);
    const rows = idleCpuRows({ vpm, careful }, 3);
    expect(rows[0][0]).toMatch(/^lab CPU while idle, tree of 3 converged by VPM .* 5 s\)$/);
    expect(rows[0][1]).toBe('0.56 cores in all; per hypervisor 0.040 median, 0.500 max; h1 (root) 0.040, h2 (relay) 0.500');
    expect(rows[1][1]).toBe('careful script 0.54 cores (h2 0.480)');
    expect(idleCpuRows(undefined, 64)).toEqual([]);
  });
});
