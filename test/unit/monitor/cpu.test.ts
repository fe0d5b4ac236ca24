/**
 * CPU use from two /proc/stat samples and its classification by the stack's two thresholds
 * (vpm:cpuWarn, vpm:cpuCrit; defaults 50/80).
 */
import { classifyCpu, cpuPercent, DEFAULT_THRESHOLDS, parseProcStat, thresholdsFromConfig } from '../../../monitor/cpu';

// Recorded on a lab hypervisor (a whole /proc/stat begins like this).
const BEFORE = 'cpu  204124 0 66197 259763 1029 0 1448 119 0 0\ncpu0 102000 0 33000 130000 500 0 700 60 0 0\nintr 1 2 3\n';
const AFTER = 'cpu  204133 0 66204 259779 1029 0 1448 119 0 0\n';

describe('parseProcStat', () => {
  test('sums user..steal into total, idle + iowait into idle, ignores guest columns', () => {
    const s = parseProcStat(BEFORE, 1000);
    expect(s).toEqual({ total: 204124 + 66197 + 259763 + 1029 + 1448 + 119, idle: 259763 + 1029, at: 1000 });
    // guest/guest_nice are already inside user/nice: they must not count twice.
    expect(parseProcStat('cpu  10 0 0 10 0 0 0 0 7 3').total).toBe(20);
  });

  test('accepts old kernels with only four columns', () => {
    expect(parseProcStat('cpu 1 2 3 4')).toMatchObject({ total: 10, idle: 4 });
  });

  test.each([[''], ['cpu0 1 2 3 4'], ['cpu  1 2 x 4'], ['cpu 1 2 3']])('rejects %j', (text) => {
    expect(() => parseProcStat(text)).toThrow(/cpu/);
  });
});

describe('cpuPercent', () => {
  test('busy share of the ticks between two samples, one decimal', () => {
    // Δtotal = 9 + 7 + 16 = 32, Δidle = 16 -> 50 %
    expect(cpuPercent(parseProcStat(BEFORE), parseProcStat(AFTER))).toBe(50);
    expect(cpuPercent({ total: 0, idle: 0, at: 0 }, { total: 300, idle: 200, at: 1 })).toBe(33.3);
  });

  test('null when no tick passed or the counters went backwards (reboot)', () => {
    const s = parseProcStat(BEFORE);
    expect(cpuPercent(s, s)).toBeNull();
    expect(cpuPercent(parseProcStat(AFTER), parseProcStat(BEFORE))).toBeNull();
  });

  test('all idle is 0 %, all busy is 100 %', () => {
    expect(cpuPercent({ total: 100, idle: 50, at: 0 }, { total: 200, idle: 150, at: 1 })).toBe(0);
    expect(cpuPercent({ total: 100, idle: 50, at: 0 }, { total: 200, idle: 50, at: 1 })).toBe(100);
  });
});

describe('classifyCpu', () => {
  test('default thresholds 50/80: ok below warn, warn from 50, crit from 80', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({ warn: 50, crit: 80 });
    expect(classifyCpu(0)).toBe('ok');
    expect(classifyCpu(49.9)).toBe('ok');
    expect(classifyCpu(50)).toBe('warn');
    expect(classifyCpu(79.9)).toBe('warn');
    expect(classifyCpu(80)).toBe('crit');
    expect(classifyCpu(100)).toBe('crit');
  });

  test('configured thresholds', () => {
    const t = { warn: 20, crit: 30 };
    expect([10, 20, 25, 30, 90].map((p) => classifyCpu(p, t))).toEqual(['ok', 'warn', 'warn', 'crit', 'crit']);
  });

  test('unknown without a figure', () => {
    expect(classifyCpu(null)).toBe('unknown');
    expect(classifyCpu(undefined)).toBe('unknown');
    expect(classifyCpu(Number.NaN)).toBe('unknown');
  });

  test('from two recorded samples to a level', () => {
    const p = cpuPercent(parseProcStat(BEFORE), parseProcStat(AFTER));
    expect(classifyCpu(p)).toBe('warn');
    expect(classifyCpu(p, { warn: 60, crit: 90 })).toBe('ok');
    expect(classifyCpu(p, { warn: 10, crit: 40 })).toBe('crit');
  });
});

describe('thresholdsFromConfig (stack config vpm:cpuWarn / vpm:cpuCrit)', () => {
  test('defaults when unset', () => {
    expect(thresholdsFromConfig({})).toEqual({ warn: 50, crit: 80 });
  });

  test('reads the strings pulumi config gives (a trailing % is allowed)', () => {
    expect(thresholdsFromConfig({ cpuWarn: '30', cpuCrit: '60%' })).toEqual({ warn: 30, crit: 60 });
    expect(thresholdsFromConfig({ cpuCrit: '95' })).toEqual({ warn: 50, crit: 95 });
  });

  test('refuses values out of 0..100, non-numbers and warn above crit, naming the key', () => {
    expect(() => thresholdsFromConfig({ cpuWarn: '120' })).toThrow(/vpm:cpuWarn.*0 to 100/);
    expect(() => thresholdsFromConfig({ cpuCrit: 'high' })).toThrow(/vpm:cpuCrit/);
    expect(() => thresholdsFromConfig({ cpuWarn: '90', cpuCrit: '80' })).toThrow(/cpuWarn \(90\) is above vpm:cpuCrit \(80\)/);
  });
});
