/**
 * vpm-tapwatch (lab/stream/tapwatch.c) on a real interface, through the migration bench's
 * wrapper (bench/lib/tap-watch.ts): two namespaces joined by a veth (10.77.0.1 in vpmtw-a on
 * tw0, 10.77.0.2 in vpmtw-b); nothing in the root namespace. The watch on tw0 must start
 * before tw0 exists (a destination tap is made during the step), tell the directions apart,
 * skip foreign datagrams, keep watching across a down/up of the link, and end when the
 * interface goes away.
 *
 * Never skips: a missing tool fails with "run npm run setup".
 */
import { sh } from '../../lab/sh';
import { buildGuest } from '../../lab/libvirt/guest';
import { watchTap, type TapDatagram } from '../../bench/lib/tap-watch';

const NS_A = 'vpmtw-a';
const NS_B = 'vpmtw-b';

/** Sends UDP datagrams from a namespace: each [seq, magic] (magic 0: a foreign datagram). */
async function send(netns: string, to: string, datagrams: Array<[number, number]>): Promise<void> {
  const script = `
    const s = require('dgram').createSocket('udp4');
    const list = ${JSON.stringify(datagrams)};
    (async () => {
      for (const [seq, magic] of list) {
        const b = Buffer.alloc(64);
        b.writeUInt32BE(seq, 0); b.writeUInt32BE(magic, 4);
        await new Promise((r) => s.send(b, 5004, '${to}', r));
        await new Promise((r) => setTimeout(r, 5));
      }
      s.close();
    })();`;
  await sh(['ip', 'netns', 'exec', netns, process.execPath, '-e', script], { timeoutMs: 20_000 });
}

async function cleanUp(): Promise<void> {
  for (const ns of [NS_A, NS_B]) await sh(['ip', 'netns', 'del', ns], { okCodes: 'any' });
}

const MAGIC = 0x56504d31;

describe('vpm-tapwatch on a veth between two namespaces', () => {
  let tool: string;
  beforeAll(async () => {
    tool = (await buildGuest()).tapwatch;
    await cleanUp();
    for (const ns of [NS_A, NS_B]) await sh(['ip', 'netns', 'add', ns]);
  }, 300_000);
  afterAll(cleanUp);

  it('waits for the interface, timestamps both directions, skips foreign datagrams, survives down/up, ends with the interface', async () => {
    const before = Date.now();
    const watch = watchTap(tool, NS_A, 'tw0', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(watch.running()).toBe(true); // waiting: tw0 does not exist yet
    await sh(['ip', '-n', NS_A, 'link', 'add', 'tw0', 'type', 'veth', 'peer', 'name', 'tw1', 'netns', NS_B]);
    await sh(['ip', '-n', NS_A, 'addr', 'add', '10.77.0.1/24', 'dev', 'tw0']);
    await sh(['ip', '-n', NS_B, 'addr', 'add', '10.77.0.2/24', 'dev', 'tw1']);
    await sh(['ip', '-n', NS_A, 'link', 'set', 'tw0', 'up']);
    await sh(['ip', '-n', NS_B, 'link', 'set', 'tw1', 'up']);
    await new Promise((r) => setTimeout(r, 300)); // bound once tw0 exists (polled every 10 ms)

    await send(NS_A, '10.77.0.2', [[1, MAGIC], [2, 0], [3, MAGIC]]); // out of tw0: to-vm
    await send(NS_B, '10.77.0.1', [[7, MAGIC]]); // into tw0: from-vm
    // Down and up: the socket gets ENETDOWN once and must go on watching.
    await sh(['ip', '-n', NS_A, 'link', 'set', 'tw0', 'down']);
    await sh(['ip', '-n', NS_A, 'link', 'set', 'tw0', 'up']);
    await new Promise((r) => setTimeout(r, 1500)); // the veth carrier comes back
    await send(NS_B, '10.77.0.1', [[8, MAGIC]]);
    await new Promise((r) => setTimeout(r, 200));
    // The interface goes away: the watch ends by itself (stop() then only collects).
    await sh(['ip', 'netns', 'del', NS_B]); // takes tw1 and with it tw0
    await new Promise((r) => setTimeout(r, 500));
    expect(watch.running()).toBe(false);
    const seen: TapDatagram[] = await watch.stop();

    expect(seen.map((d) => `${d.dir} ${d.seq}`)).toEqual(['to-vm 1', 'to-vm 3', 'from-vm 7', 'from-vm 8']);
    for (const d of seen) {
      expect(d.t).toBeGreaterThanOrEqual(before);
      expect(d.t).toBeLessThanOrEqual(Date.now());
    }
    expect(seen.map((d) => d.t)).toEqual([...seen.map((d) => d.t)].sort((a, b) => a - b));
  }, 120_000);
});
