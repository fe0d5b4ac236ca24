/**
 * The VM's own side of a migration gap, seen at its taps (lab/stream/tapwatch.c runs in each
 * hypervisor's namespace): when the VM last sent a datagram on the source, when the clone
 * path first wrote one into the destination's tap after the VM resumed there, and when the VM
 * sent its first new one from the destination. The receiver's gap minus the VM's own outage
 * is what the network (the paths, the switches, the receiver's leg) adds to it.
 */
import { spawn } from 'node:child_process';

export interface TapDatagram {
  /** Kernel timestamp, epoch ms (CLOCK_REALTIME: libvirt's event timestamps use it too). */
  readonly t: number;
  readonly dir: 'to-vm' | 'from-vm';
  readonly seq: number;
}

/** Parses vpm-tapwatch's lines ("EPOCH_US to-vm|from-vm SEQ"); other lines are skipped. */
export function parseTapWatch(text: string): TapDatagram[] {
  const out: TapDatagram[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (to-vm|from-vm) (\d+)$/.exec(line.trim());
    if (m) out.push({ t: Number(m[1]) / 1000, dir: m[2] as TapDatagram['dir'], seq: Number(m[3]) });
  }
  return out;
}

export interface TapWatch {
  /** False once the tool ended (the interface went away, or stop()). */
  running(): boolean;
  /** Ends the watch; the datagrams seen, in time order. */
  stop(): Promise<TapDatagram[]>;
}

/**
 * Watches `tap` in namespace `netns` with the vpm-tapwatch binary `tool`, waiting up to
 * `waitMs` for the tap to appear (a destination's tap is made during the step).
 */
export function watchTap(tool: string, netns: string, tap: string, waitMs: number): TapWatch {
  const child = spawn('ip', ['netns', 'exec', netns, tool, tap, String(waitMs)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => chunks.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => resolve());
    child.on('error', (e) => {
      stderr += String(e);
      resolve();
    });
  });
  return {
    running: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
      clearTimeout(timer);
      const seen = parseTapWatch(Buffer.concat(chunks).toString('utf8'));
      if (!seen.length) console.warn(`tap watch ${netns}/${tap}: no datagram seen${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
      return seen.sort((a, b) => a.t - b.t);
    },
  };
}

export interface VmOutage {
  /** The VM's last datagram out on the source → its first new one (a higher number) out on the destination. */
  readonly vmOutageMs: number;
  /** The VM resumed on the destination → the first datagram the clone path wrote into its tap there. */
  readonly resumeToIntoTapMs?: number;
  /** The VM resumed on the destination → the first datagram it sent there (any number). */
  readonly resumeToOutOfVmMs: number;
}

/**
 * The VM's outage at its taps, or undefined when a side saw nothing (the watch did not run
 * or the VM did not forward). `resumedAt`: libvirt's Resumed event on the destination.
 */
export function vmOutage(source: readonly TapDatagram[], dest: readonly TapDatagram[], resumedAt: number): VmOutage | undefined {
  const sentOnSource = source.filter((d) => d.dir === 'from-vm' && d.t <= resumedAt);
  if (!sentOnSource.length) return undefined;
  const last = sentOnSource[sentOnSource.length - 1];
  const highest = Math.max(...sentOnSource.map((d) => d.seq));
  const firstOut = dest.find((d) => d.dir === 'from-vm' && d.t >= resumedAt);
  const firstNewOut = dest.find((d) => d.dir === 'from-vm' && d.t >= last.t && d.seq > highest);
  if (!firstOut || !firstNewOut) return undefined;
  const firstIn = dest.find((d) => d.dir === 'to-vm' && d.t >= resumedAt);
  return {
    vmOutageMs: firstNewOut.t - last.t,
    ...(firstIn ? { resumeToIntoTapMs: firstIn.t - resumedAt } : {}),
    resumeToOutOfVmMs: firstOut.t - resumedAt,
  };
}

/** Where a datagram spent its time: sender → into the VM's tap, in the VM, out of it → receiver. */
export interface DatagramDelays {
  readonly beforeVmMs: number;
  readonly inVmMs: number;
  readonly afterVmMs: number;
}

/**
 * The delays of datagram `seq` (sent at `sentAt`, received at `receivedAt`, epoch ms) from
 * what the taps saw (any host's); undefined when the taps did not see it both ways. For a
 * stall at the receiver, the datagram that ended it says who held the stream: the sender and
 * the switches before the VM, the VM itself, or the switches after it.
 */
export function datagramDelays(seq: number, sentAt: number, receivedAt: number, seen: readonly TapDatagram[]): DatagramDelays | undefined {
  const into = seen.find((d) => d.dir === 'to-vm' && d.seq === seq);
  const out = seen.find((d) => d.dir === 'from-vm' && d.seq === seq);
  if (!into || !out) return undefined;
  return { beforeVmMs: into.t - sentAt, inVmMs: out.t - into.t, afterVmMs: receivedAt - out.t };
}
