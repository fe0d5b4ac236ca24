/**
 * The migration benchmark's reading of a receiver's gaps: which gap is the switch-over's,
 * where it sits against libvirt's pause, and which side held each other stall.
 */
import { anatomy, GAP_WINDOW, parseLifecycleLine, sideStats, splitGaps, stallSides } from '../../../bench/lib/gap-analysis';
import type { TapDatagram } from '../../../bench/lib/tap-watch';

const T0 = 1_800_000_000_000; // the receiver's clock origin, epoch ms

describe('parseLifecycleLine', () => {
  it('reads virsh event --timestamp lines, skips anything else', () => {
    expect(parseLifecycleLine("2026-12-05 10:11:12.345+0000: event 'lifecycle' for domain 'leaf-vm': Resumed Migrated", 'h3')).toEqual({
      t: Date.parse('2026-12-05T10:11:12.345Z'),
      host: 'h3',
      event: 'Resumed Migrated',
    });
    expect(parseLifecycleLine('events received: 2', 'h3')).toBeUndefined();
  });
});

describe('splitGaps', () => {
  it('the longest gap ending in the resume window is the switch-over; the rest are stalls', () => {
    const resumedAt = T0 + 10_000;
    const gaps = [
      { atMs: 10_000 - GAP_WINDOW.beforeMs - 1, ms: 90 }, // ends just before the window
      { atMs: 10_150, ms: 180 },
      { atMs: 10_900, ms: 40 },
      { atMs: 10_000 + GAP_WINDOW.afterMs + 1, ms: 60 }, // just after
    ];
    expect(splitGaps(gaps, T0, resumedAt)).toEqual({ migrationGapMs: 180, otherStallMs: 90 });
    expect(splitGaps([{ atMs: 20_000, ms: 30 }], T0, resumedAt)).toEqual({ migrationGapMs: null, otherStallMs: 30 });
  });

  it('without a resume there is no switch-over and nothing is counted', () => {
    expect(splitGaps([{ atMs: 100, ms: 500 }], T0, undefined)).toEqual({ migrationGapMs: null, otherStallMs: 0 });
  });
});

describe('anatomy', () => {
  const events = [
    { t: T0 + 9_880, host: 'h3', event: 'Suspended Migrated' },
    { t: T0 + 10_000, host: 'h4', event: 'Resumed Migrated' },
  ];

  it('the gap spanning the pause: how long before the pause it began, how long after the resume it ended', () => {
    const gaps = [
      { atMs: 5_000, ms: 300 }, // long but long before
      { atMs: 10_130, ms: 270 }, // 9_860 -> 10_130
    ];
    expect(anatomy(events, 'h3', 'h4', gaps, T0)).toEqual({ gapMs: 270, pauseMs: 120, gapStartToPauseMs: 20, resumeToGapEndMs: 130 });
  });

  it('nothing without both events, or without a gap around the resume', () => {
    expect(anatomy(events.slice(0, 1), 'h3', 'h4', [{ atMs: 10_130, ms: 270 }], T0)).toBeUndefined();
    expect(anatomy(events, 'h3', 'h4', [{ atMs: 2_000, ms: 270 }], T0)).toBeUndefined();
  });
});

describe('stallSides', () => {
  const senderT0 = T0 - 1_000; // sequence k leaves the sender at senderT0 + k
  const seen = (seq: number, intoAt: number, outAt: number): TapDatagram[] => [
    { t: intoAt, dir: 'to-vm', seq },
    { t: outAt, dir: 'from-vm', seq },
  ];

  it('each stall goes to the side where the datagram that ended it waited longest; the switch-over is left out', () => {
    const taps = {
      source: [
        ...seen(2_000, senderT0 + 2_040, senderT0 + 2_041), // 40 ms before the VM
        ...seen(4_000, senderT0 + 4_001, senderT0 + 4_060), // 59 ms in the VM
        ...seen(6_000, senderT0 + 6_001, senderT0 + 6_002), // then 50 ms after it
      ],
      dest: [],
    };
    const gaps = [
      { atMs: 2_042 - 1_000, ms: 45, beforeSeq: 2_000 },
      { atMs: 4_062 - 1_000, ms: 61, beforeSeq: 4_000 },
      { atMs: 6_052 - 1_000, ms: 55, beforeSeq: 6_000 },
      { atMs: 7_000, ms: 33, beforeSeq: 8_000 }, // no tap saw 8000
      { atMs: 9_100, ms: 250, beforeSeq: 10_050 }, // the switch-over
    ];
    expect(stallSides({ gaps, clocks: { senderT0, receiverT0: T0 }, resumedAt: T0 + 9_000, taps })).toEqual({ beforeVm: 45, inVm: 61, afterVm: 55, unseen: 33 });
  });

  it('sideStats: per side over runs, 0 where a run had none', () => {
    const max = (v: number[]) => Math.max(...v);
    expect(sideStats([{ inVm: 30 }, { inVm: 50, afterVm: 21 }, undefined], max)).toEqual({ beforeVm: 0, inVm: 50, afterVm: 21, unseen: 0 });
  });
});
