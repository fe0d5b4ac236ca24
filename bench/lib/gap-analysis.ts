/**
 * Where a receiver's gaps sit against a migration: the switch-over gap (the one around the
 * VM's resume) set against libvirt's own pause, and every other stall followed through the
 * VM's taps to the side that held it. Pure functions of what the migration benchmark
 * recorded (bench/migration.ts): the receiver's gaps, libvirt's lifecycle events, the taps.
 */
import { datagramDelays, type TapDatagram } from './tap-watch';

/** A gap at the receiver: it ended `atMs` after the receiver's clock origin and lasted `ms`; `beforeSeq` ended it. */
export interface ReceiverGap {
  readonly atMs: number;
  readonly ms: number;
  readonly beforeSeq?: number;
}

/** A libvirt lifecycle event with libvirtd's own timestamp (epoch ms). */
export interface LifecycleEvent {
  readonly t: number;
  readonly host: string;
  readonly event: string;
}

/** One line of `virsh event --loop --event lifecycle --timestamp`, or undefined for any other line. */
export function parseLifecycleLine(line: string, host: string): LifecycleEvent | undefined {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})\+0000: event 'lifecycle' for domain '[^']*': (.*)$/.exec(line);
  return m ? { t: Date.parse(`${m[1]}T${m[2]}Z`), host, event: m[3].trim() } : undefined;
}

/** A gap that ends this long before to this long after the VM resumed is the switch-over's. */
export const GAP_WINDOW = { beforeMs: 500, afterMs: 3000 };

function inResumeWindow(endsAt: number, resumedAt: number): boolean {
  return endsAt >= resumedAt - GAP_WINDOW.beforeMs && endsAt <= resumedAt + GAP_WINDOW.afterMs;
}

/**
 * The switch-over gap (the longest ending in the resume window; null without a resume) and the
 * longest stall ending outside it (0 when there is none).
 */
export function splitGaps(gaps: readonly ReceiverGap[], receiverT0: number, resumedAt: number | undefined): { migrationGapMs: number | null; otherStallMs: number } {
  let migrationGapMs: number | null = null;
  let otherStallMs = 0;
  if (resumedAt === undefined) return { migrationGapMs, otherStallMs };
  for (const g of gaps) {
    if (inResumeWindow(receiverT0 + g.atMs, resumedAt)) migrationGapMs = Math.max(migrationGapMs ?? 0, g.ms);
    else otherStallMs = Math.max(otherStallMs, g.ms);
  }
  return { migrationGapMs, otherStallMs };
}

/**
 * Where the receiver's migration gap sits against the VM's own stop and start: the VM's pause
 * (source "Suspended Migrated" to destination "Resumed Migrated"), how long before the pause
 * the gap began, and how long after the VM resumed the first new datagram arrived.
 */
export interface GapAnatomy {
  /** The gap that spans the pause. */
  readonly gapMs: number;
  readonly pauseMs: number;
  readonly gapStartToPauseMs: number;
  readonly resumeToGapEndMs: number;
}

export function anatomy(events: readonly LifecycleEvent[], from: string, to: string, gaps: readonly ReceiverGap[], receiverT0: number): GapAnatomy | undefined {
  const suspended = events.find((e) => e.host === from && e.event.startsWith('Suspended'));
  const resumed = events.find((e) => e.host === to && e.event.startsWith('Resumed') && (!suspended || e.t >= suspended.t));
  if (!suspended || !resumed) return undefined;
  // The gap that spans the pause: the longest one ending after the VM resumed.
  const spanning = gaps
    .map((g) => ({ end: receiverT0 + g.atMs, start: receiverT0 + g.atMs - g.ms }))
    .filter((g) => g.end >= resumed.t && g.start <= resumed.t + 1000)
    .sort((a, b) => b.end - b.start - (a.end - a.start))[0];
  if (!spanning) return undefined;
  return { gapMs: spanning.end - spanning.start, pauseMs: resumed.t - suspended.t, gapStartToPauseMs: suspended.t - spanning.start, resumeToGapEndMs: spanning.end - resumed.t };
}

/** The longest stall (gap >= 20 ms at the receiver) outside the switch-over, per side that held it. */
export const STALL_SIDES = ['beforeVm', 'inVm', 'afterVm', 'unseen'] as const;
export type StallSides = Partial<Record<(typeof STALL_SIDES)[number], number>>;

/** Per side, the longest stall over runs (0 = none >= 20 ms on that side). */
export function sideStats<S>(xs: ReadonlyArray<StallSides | undefined>, stat: (v: number[]) => S): Record<(typeof STALL_SIDES)[number], S> {
  return Object.fromEntries(STALL_SIDES.map((k) => [k, stat(xs.map((x) => x?.[k] ?? 0))])) as Record<(typeof STALL_SIDES)[number], S>;
}

/** What stallSides needs of one measured run. */
export interface StreamRecord {
  readonly gaps: readonly ReceiverGap[];
  /** Epoch ms of the sender's sequence number 0 (it sends k at about senderT0 + k ms) and of the receiver's clock origin. */
  readonly clocks: { readonly senderT0: number; readonly receiverT0: number };
  readonly resumedAt?: number;
  readonly taps?: { readonly source: readonly TapDatagram[]; readonly dest: readonly TapDatagram[] };
}

/**
 * Who held the stream in each stall outside the resume window: the datagram that ended the
 * stall is followed through the VM's taps (datagramDelays) and the stall goes to the side
 * where that datagram waited longest ("unseen" when a tap missed it).
 */
export function stallSides(m: StreamRecord): StallSides {
  const sides: StallSides = {};
  const seen = m.taps ? [...m.taps.source, ...m.taps.dest].sort((a, b) => a.t - b.t) : [];
  for (const g of m.gaps) {
    const receivedAt = m.clocks.receiverT0 + g.atMs;
    if (m.resumedAt !== undefined && inResumeWindow(receivedAt, m.resumedAt)) continue;
    const d = g.beforeSeq === undefined ? undefined : datagramDelays(g.beforeSeq, m.clocks.senderT0 + g.beforeSeq, receivedAt, seen);
    const side = !d ? 'unseen' : d.inVmMs >= d.beforeVmMs && d.inVmMs >= d.afterVmMs ? 'inVm' : d.beforeVmMs >= d.afterVmMs ? 'beforeVm' : 'afterVm';
    sides[side] = Math.max(sides[side] ?? 0, g.ms);
  }
  return sides;
}
