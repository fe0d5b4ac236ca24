/**
 * The measuring scripts of lab/stream/measure.ts run as plain local Node processes on
 * 127.0.0.1 (the suites run the same text inside namespaces), and the one datagram protocol
 * (lab/stream/datagram.ts): a measure receiver reads the `vpm stream` sender's datagrams.
 */
import * as dgram from 'node:dgram';
import { MEASURE_SCRIPTS, analyse, type ReceiverReport } from '../../../lab/stream/measure';
import { SENDER_SCRIPT } from '../../../lab/stream/scripts';
import { StreamScript, numberedDatagram } from '../../support/stream-script';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitCount(r: StreamScript, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await r.command('stats')).count < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} datagrams`);
    await sleep(20);
  }
}

describe('measure scripts (lab/stream/measure.ts)', () => {
  const running: StreamScript[] = [];
  afterEach(() => running.splice(0).forEach((s) => s.kill()));

  test('sender -> receiver: every sequence number, in order, with send times; foreign datagrams counted apart', async () => {
    const port = await freePort();
    const receiver = new StreamScript(MEASURE_SCRIPTS.receiver, { port, address: '127.0.0.1' });
    running.push(receiver);
    expect(await receiver.next()).toEqual({ ready: true });
    const junk = dgram.createSocket('udp4');
    await new Promise<void>((r) => junk.send(Buffer.from('not ours, not ours!'), port, '127.0.0.1', () => r()));
    junk.close();
    const sender = new StreamScript(MEASURE_SCRIPTS.sender, { ip: '127.0.0.1', port, count: 50, intervalUs: 1000, size: 64 });
    running.push(sender);
    expect(await sender.next()).toEqual({ ready: true });
    await waitCount(receiver, 50);
    const report: ReceiverReport = await receiver.command('stop');
    expect(report.foreign).toBe(1);
    expect(report.bytes).toBe(50 * 64);
    const a = analyse(report, 0, 49);
    expect(a).toMatchObject({ received: 50, expected: 50, lost: [], duplicates: 0, reordered: 0 });
    expect(a.delayMs!.min).toBeGreaterThanOrEqual(0);
  });

  test('the `vpm stream` sender (scripts.ts) speaks the same datagrams', async () => {
    const port = await freePort();
    const receiver = new StreamScript(MEASURE_SCRIPTS.receiver, { port, address: '127.0.0.1' });
    running.push(receiver);
    expect(await receiver.next()).toEqual({ ready: true });
    const sender = new StreamScript(SENDER_SCRIPT, { ip: '127.0.0.1', port, rate: 1000, count: 30, size: 100, progressMs: 0 });
    running.push(sender);
    await waitCount(receiver, 30);
    const report: ReceiverReport = await receiver.command('report');
    expect(report.seqs).toEqual([...Array(30).keys()]);
    expect(report.foreign).toBe(0);
  });

  test('relay sends every datagram on unchanged', async () => {
    const [relayPort, outPort] = [await freePort(), await freePort()];
    const sink = dgram.createSocket('udp4');
    const got: Buffer[] = [];
    sink.on('message', (m) => got.push(m));
    await new Promise<void>((r) => sink.bind(outPort, '127.0.0.1', () => r()));
    const relay = new StreamScript(MEASURE_SCRIPTS.relay, { port: relayPort, toIp: '127.0.0.1', toPort: outPort });
    running.push(relay);
    expect(await relay.next()).toEqual({ ready: true });
    const b = numberedDatagram(7, 16);
    const src = dgram.createSocket('udp4');
    await new Promise<void>((r) => src.send(b, relayPort, '127.0.0.1', () => r()));
    src.close();
    for (let i = 0; i < 100 && !got.length; i++) await sleep(20);
    sink.close();
    expect(got.map((m) => m.toString('hex'))).toEqual([b.toString('hex')]);
    expect(await relay.command('stats')).toMatchObject({ relayed: 1, errors: 0 });
  });
});
