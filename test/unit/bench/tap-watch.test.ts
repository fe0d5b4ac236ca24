/**
 * The migration bench's reading of the VM's taps: vpm-tapwatch's lines, and the VM's own
 * outage (last datagram out on the source → first new one out on the destination).
 */
import { datagramDelays, parseTapWatch, vmOutage, type TapDatagram } from '../../../bench/lib/tap-watch';

const d = (t: number, dir: TapDatagram['dir'], seq: number): TapDatagram => ({ t, dir, seq });

describe('parseTapWatch', () => {
  it('reads "EPOCH_US direction SEQ" lines as epoch ms, and skips the rest', () => {
    const text = 'ready vt-leafvm\n1796455182210094 to-vm 41\n1796455182210594 from-vm 41\ngarbage\n1796455182211000 sideways 3\n';
    expect(parseTapWatch(text)).toEqual([d(1796455182210.094, 'to-vm', 41), d(1796455182210.594, 'from-vm', 41)]);
  });
});

describe('vmOutage', () => {
  // Source: the VM forwards 1..10 one per ms, then stops (paused at t=10).
  const source = [...Array(10).keys()].flatMap((i) => [d(i, 'to-vm', i + 1), d(i + 0.2, 'from-vm', i + 1)]);

  it('measures from the last datagram out on the source to the first NEW one out on the destination', () => {
    // Resumed at 110; the clone path wrote into the tap from the start (queued frames 8..12 and
    // new ones); the VM first sends the queued 8, 9, 10 again (duplicates), then 11 at 180.
    const dest = [d(5, 'to-vm', 6), d(60, 'to-vm', 60), d(110.5, 'to-vm', 111), d(170, 'from-vm', 8), d(175, 'from-vm', 10), d(180, 'from-vm', 11)];
    const o = vmOutage(source, dest, 110)!;
    expect(o.vmOutageMs).toBeCloseTo(180 - 9.2, 6);
    expect(o.resumeToIntoTapMs).toBeCloseTo(0.5, 6);
    expect(o.resumeToOutOfVmMs).toBeCloseTo(60, 6);
  });

  it('ignores what the source sent after the resume (nothing), and is undefined when a side saw nothing', () => {
    expect(vmOutage([], [d(200, 'from-vm', 11)], 110)).toBeUndefined();
    expect(vmOutage(source, [d(111, 'to-vm', 11)], 110)).toBeUndefined(); // the VM never sent from the destination
    const late = [...source, d(500, 'from-vm', 500)]; // after the resume: not the source's last before it
    expect(vmOutage(late, [d(200, 'from-vm', 11)], 110)!.vmOutageMs).toBeCloseTo(200 - 9.2, 6);
  });

  it('has no "into the tap" time when the network wrote nothing there after the resume', () => {
    const o = vmOutage(source, [d(150, 'from-vm', 11)], 110)!;
    expect(o.resumeToIntoTapMs).toBeUndefined();
    expect(o.resumeToOutOfVmMs).toBeCloseTo(40, 6);
  });
});

describe('datagramDelays', () => {
  it("splits a datagram's trip at the VM's taps, from whichever host saw it", () => {
    const seen = [d(100, 'to-vm', 41), d(102, 'to-vm', 42), d(160, 'from-vm', 42), d(103, 'from-vm', 41)];
    expect(datagramDelays(42, 90, 165, seen)).toEqual({ beforeVmMs: 12, inVmMs: 58, afterVmMs: 5 });
  });

  it('is undefined when a tap did not see the datagram both ways', () => {
    expect(datagramDelays(43, 90, 165, [d(100, 'to-vm', 43)])).toBeUndefined();
    expect(datagramDelays(44, 90, 165, [])).toBeUndefined();
  });
});
