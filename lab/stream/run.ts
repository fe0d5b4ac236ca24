/**
 * `vpm stream send|watch`: progress lines on stderr (one a second), the JSON summary on
 * stdout at the end (so `vpm stream watch ... > summary.json` works). Ctrl-C (SIGINT) or
 * SIGTERM ends the stream cleanly and still prints the summary. Exit 0 when it ran.
 */
import { startReceiver, startSender, type ReceiverProgress, type SenderStats } from './tree';

const err = (line: string) => process.stderr.write(`${line}\n`);

/** Resolves on the first SIGINT/SIGTERM; `off` removes the handlers. */
function onInterrupt(): { promise: Promise<void>; off: () => void } {
  let fire: () => void = () => {};
  const promise = new Promise<void>((r) => (fire = r));
  const handler = () => fire();
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { promise, off: () => (process.off('SIGINT', handler), process.off('SIGTERM', handler)) };
}

export async function runStreamSend(o: {
  stack?: string;
  inventory?: string;
  root?: string;
  port: number;
  gst?: boolean;
  seconds: number;
  rate: number;
  size: number;
  fps: number;
}): Promise<number> {
  const progress = (s: SenderStats) => err(`send: ${(s.elapsedMs / 1000).toFixed(0)} s: ${s.sent} ${s.mode === 'gst' ? 'frames' : 'datagrams'} sent${s.errors ? `, ${s.errors} errors` : ''}`);
  const sender = await startSender({
    ...(o.stack ? { stack: o.stack } : {}),
    ...(o.inventory ? { inventoryFile: o.inventory } : {}),
    ...(o.root ? { root: o.root } : {}),
    port: o.port,
    seconds: o.seconds,
    rate: o.rate,
    size: o.size,
    ...(o.gst ? { gst: { fps: o.fps } } : {}),
    onProgress: progress,
  });
  err(
    `send: from ${sender.root.name} (${sender.root.netns}) src0 to ${sender.destination}:${sender.port}, ` +
      (o.gst ? `VP8/RTP ${o.fps} fps for ${o.seconds} s` : `${o.rate} datagrams/s of ${o.size} B for ${o.seconds} s`),
  );
  const interrupt = onInterrupt();
  try {
    const stats = await Promise.race([sender.done, interrupt.promise.then(() => sender.stop())]);
    process.stdout.write(JSON.stringify(stats) + '\n');
    return 0;
  } finally {
    interrupt.off();
  }
}

export async function runStreamWatch(o: {
  stack?: string;
  inventory?: string;
  receiver: string;
  port: number;
  gst?: boolean;
  seconds?: number;
  expected?: number;
}): Promise<number> {
  const unit = o.gst ? 'frames' : 'packets';
  const progress = (p: ReceiverProgress) =>
    err(
      `watch ${o.receiver}:${o.port}: ${(p.elapsedMs / 1000).toFixed(0)} s: ${p.received} ${unit}` +
        (o.gst ? '' : `, ${p.unique} unique, ${p.lost} lost`) +
        `, +${p.intervalPackets} in the last second, longest gap ${p.maxGapMs.toFixed(1)} ms (last second ${p.intervalMaxGapMs.toFixed(1)} ms)`,
    );
  const receiver = await startReceiver({
    ...(o.stack ? { stack: o.stack } : {}),
    ...(o.inventory ? { inventoryFile: o.inventory } : {}),
    receiver: o.receiver,
    port: o.port,
    gst: Boolean(o.gst),
    onProgress: progress,
  });
  err(`watch: ${o.gst ? 'decoding VP8/RTP' : 'counting numbered datagrams'} on ${receiver.receiver.name} (${receiver.receiver.netns}, ${receiver.receiver.ip}) UDP ${o.port}; Ctrl-C to stop`);
  const interrupt = onInterrupt();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([interrupt.promise, ...(o.seconds !== undefined ? [new Promise((r) => (timer = setTimeout(r, o.seconds! * 1000)))] : [])]);
    const stats = await receiver.stop(o.expected !== undefined ? { expected: o.expected } : {});
    process.stdout.write(JSON.stringify(stats) + '\n');
    return 0;
  } finally {
    clearTimeout(timer);
    interrupt.off();
  }
}
