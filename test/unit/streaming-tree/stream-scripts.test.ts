/**
 * The numbered-stream receiver and sender scripts of lab/stream (stream/scripts.ts), run as
 * plain local Node processes on 127.0.0.1 (the lab runs the same text inside namespaces):
 * counting unique sequence numbers, duplicates, losses from the first datagram received,
 * the longest gap between new sequence numbers; the sender's count and pacing.
 */
import * as dgram from 'node:dgram';
import { RECEIVER_SCRIPT, SENDER_SCRIPT, STREAM_MAGIC } from '../../../lab/stream/scripts';
import { StreamScript, numberedDatagram } from '../../support/stream-script';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('stream receiver script', () => {
  const port = 40000 + (process.pid % 20000);
  let receiver: StreamScript;
  let socket: dgram.Socket;
  const send = (seq: number) => new Promise<void>((r) => socket.send(numberedDatagram(seq), port, '127.0.0.1', () => r()));

  beforeEach(async () => {
    receiver = new StreamScript(RECEIVER_SCRIPT, { port, progressMs: 0, gapLogMs: 50 });
    await receiver.next('ready');
    socket = dgram.createSocket('udp4');
  });

  afterEach(() => {
    receiver.kill();
    socket.close();
  });

  it('counts unique, duplicates, foreign datagrams, losses against what was sent, and the longest gap', async () => {
    for (let s = 0; s < 100; s++) await send(s);
    await send(50); // a duplicate
    await new Promise<void>((r) => socket.send(Buffer.from('not ours'), port, '127.0.0.1', () => r()));
    await sleep(150); // the gap
    for (let s = 150; s < 200; s++) await send(s); // 100..149 never arrive
    await sleep(100);
    receiver.send('stop 210'); // the sender sent 0..209: 200..209 lost too
    const st = await receiver.next('final');
    expect(st).toMatchObject({ received: 151, unique: 150, duplicates: 1, foreign: 1, expected: 210, lost: 60, firstSeq: 0, lastSeq: 199, maxGapAfterSeq: 99 });
    expect(st.maxGapMs).toBeGreaterThanOrEqual(140);
    expect(st.gaps).toHaveLength(1);
    expect(st.gaps[0]).toMatchObject({ beforeSeq: 150 });
  });

  it('losses count from the first datagram received; without `expected`, the holes between lowest and highest', async () => {
    for (const s of [10, 11, 13, 14]) await send(s);
    await sleep(50);
    receiver.send('stats');
    expect(await receiver.next('stats')).toMatchObject({ unique: 4, lost: 1, firstSeq: 10, lastSeq: 14 });
    receiver.send('stats 20');
    expect(await receiver.next('stats')).toMatchObject({ unique: 4, lost: 6, expected: 20 }); // 12 and 15..19
    receiver.send('range 11 14'); // 11, 13 of 11..13
    expect(await receiver.next('range')).toEqual({ type: 'range', from: 11, to: 14, unique: 2 });
  });

  it('nothing received: everything sent is lost', async () => {
    receiver.send('stop 5');
    expect(await receiver.next('final')).toMatchObject({ received: 0, unique: 0, lost: 5, firstSeq: null, maxGapMs: 0 });
  });
});

describe('stream sender script', () => {
  it('sends exactly `count` numbered datagrams at the rate, then a final line', async () => {
    const port = 40000 + ((process.pid + 7) % 20000);
    const seen: number[] = [];
    const socket = dgram.createSocket('udp4');
    socket.on('message', (m) => m.readUInt32BE(4) === STREAM_MAGIC && seen.push(m.readUInt32BE(0)));
    await new Promise<void>((r) => socket.bind(port, '127.0.0.1', () => r()));
    const sender = new StreamScript(SENDER_SCRIPT, { ip: '127.0.0.1', port, rate: 1000, count: 300, size: 100, progressMs: 0 });
    try {
      await sender.next('ready');
      const t0 = Date.now();
      const final = await sender.next('final');
      const ms = Date.now() - t0;
      await sleep(50);
      expect(final).toMatchObject({ sent: 300, errors: 0, nextSeq: 300 });
      expect(ms).toBeGreaterThanOrEqual(250); // paced: 300 at 1000/s take ~300 ms
      expect(seen.length).toBe(300);
      expect(new Set(seen).size).toBe(300);
      expect(Math.max(...seen)).toBe(299);
    } finally {
      sender.kill();
      socket.close();
    }
  });
});
