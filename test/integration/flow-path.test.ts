/**
 * FlowPath on the real lab, with real packets. One lab of 4 hypervisors: h1 the root (the
 * stream source is src0 on its br1), h2 a relay, h3 and h4 leaves; GRE tunnels h1-h2, h2-h3,
 * h2-h4; receivers r1 (on h3's physical LAN) and r2 (h4's). The stream is UDP to the overlay
 * broadcast address 10.99.0.255:5004, numbered, one datagram per ms (lab/stream/measure.ts),
 * so losses and gaps are counted by sequence number, not guessed.
 *
 * The providers run as the engine runs them (check, then create/read/diff/update/delete) over
 * SSH to each hypervisor. Nothing is skipped: a missing tool fails with what to install.
 */
import { withCommandTrace } from '../../bench/lib/trace';
import { closeAll } from '../../providers/exec/pool';
import { forgetProcessMemory } from '../../providers/exec/process-memory';
import { provider } from '../../providers/flow-path/provider';
import type { FlowPathOutputs } from '../../providers/flow-path/types';
import type { Inventory } from '../../lab';
import { acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { FlowLab, OVERLAY_BROADCAST, SOURCE_IP, SOURCE_OFPORT, STREAM_PORT, VM_OFPORT, type VmStandIn } from '../../lab/testbeds/flow-lab';
import { UdpReceiver, UdpSender, analyse, killAll, nowUs, type NetnsScript } from '../../lab/stream/measure';
import { countDecodedFrames, gstSendVp8, requireGstElements } from '../../lab/stream/gst-netns';

jest.setTimeout(60_000);

let inventory: Inventory;
let lab: FlowLab;
let acquired = false;
const scripts: NetnsScript[] = [];
type Path = { id: string; outs: FlowPathOutputs };
const live = new Set<Path>();

const P3 = ['h1', 'h2', 'h3'];
const P4 = ['h1', 'h2', 'h4'];

const ns = (name: string) => (inventory.hypervisors.find((h) => h.name === name) ?? inventory.receivers.find((r) => r.name === name))!.netns;

async function receivers(): Promise<[UdpReceiver, UdpReceiver]> {
  const r = await Promise.all([UdpReceiver.start(ns('r1'), STREAM_PORT, 'r1'), UdpReceiver.start(ns('r2'), STREAM_PORT, 'r2')]);
  scripts.push(...r);
  return r;
}

async function sender(count: number): Promise<UdpSender> {
  const s = await UdpSender.start(ns('h1'), { ip: OVERLAY_BROADCAST, port: STREAM_PORT, count, bindIp: SOURCE_IP });
  scripts.push(s);
  return s;
}

/** Sends `count` datagrams at 1/ms, waits for the network to go quiet, returns the final reports. */
async function streamThrough(count: number, rs: UdpReceiver[]) {
  const s = await sender(count);
  const sent = await s.finished(count + 10_000);
  await Promise.all(rs.map((r) => r.waitQuiet(150, 5_000)));
  const reports = await Promise.all(rs.map((r) => r.stop()));
  await s.stop();
  return { sent, reports };
}

const ip = (name: string) => inventory.hypervisors.find((h) => h.name === name)!.ip;

async function create(chain: string[], receiver: string, pathId: string, opts: { vm?: { node: string; port: number } } = {}): Promise<Path> {
  const p = await lab.createPath(lab.pathArgs(pathId, chain, receiver, opts));
  live.add(p);
  return p;
}

async function remove(p: Path): Promise<void> {
  await lab.deletePath(p);
  live.delete(p);
}

async function groupsOn(name: string): Promise<Array<{ id: string; buckets: number; text: string }>> {
  const out = await lab.hosts.must(name, ['ovs-ofctl', '-O', 'OpenFlow15', 'dump-groups', 'br1']);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('group_id='))
    .map((l) => ({ id: /group_id=(\d+)/.exec(l)![1], buckets: l.split(',bucket=').length - 1, text: l }));
}

async function expectNoPathState(): Promise<void> {
  const left = (await Promise.all(['h1', 'h2', 'h3', 'h4'].map((h) => lab.vpmOpenFlowLeftovers(h)))).flat();
  // br0 keeps OvsBridge's own static rule (cookie 0x56..., owned by the bridge, not a path).
  expect(left.filter((l) => !/ br0 flow /.test(l))).toEqual([]);
}

beforeAll(async () => {
  requireLabPrerequisites({ ethtool: 'ethtool', 'gst-launch-1.0': 'gstreamer1.0-tools', 'gst-inspect-1.0': 'gstreamer1.0-tools' });
  requireGstElements();
  inventory = await acquireLab({ hypervisors: 4, receivers: 2 });
  acquired = true;
  lab = new FlowLab(inventory, 'flow-path-test');
  await Promise.all([lab.bridge('h1', { source: true }), lab.bridge('h2'), lab.bridge('h3'), lab.bridge('h4')]);
  await Promise.all([lab.tunnel('h1', 'h2'), lab.tunnel('h2', 'h3'), lab.tunnel('h2', 'h4')]);
}, 6 * 60_000); // acquireLab waits while another lab of this prefix runs

afterEach(async () => {
  killAll(scripts.splice(0));
  for (const p of [...live]) await remove(p).catch(() => undefined);
});

afterAll(async () => {
  killAll(scripts.splice(0));
  try {
    if (lab) await lab.teardown();
  } finally {
    await closeAll();
    if (acquired) await releaseLab();
  }
}, 60_000);

/** Packets received by the switch on one port (ovs-ofctl dump-ports). */
async function rxPackets(name: string, port: number): Promise<number> {
  const out = await lab.hosts.must(name, ['ovs-ofctl', '-O', 'OpenFlow15', 'dump-ports', 'br1', String(port)]);
  const m = /rx pkts=(\d+)/.exec(out);
  if (!m) throw new Error(`${name}: no rx counter for port ${port} in ${out}`);
  return Number(m[1]);
}

test('sink: with no path, the stream to the overlay broadcast address reaches no receiver', async () => {
  const [r1, r2] = await receivers();
  const before = await rxPackets('h1', SOURCE_OFPORT);
  const { sent, reports } = await streamThrough(1000, [r1, r2]);
  expect(sent.sent).toBe(1000);
  // The datagrams did enter the root's switch ... and sank there.
  expect((await rxPackets('h1', SOURCE_OFPORT)) - before).toBeGreaterThanOrEqual(1000);
  expect(reports.map((r) => r.count)).toEqual([0, 0]);
});

test('swim: a path root -> relay -> h3 delivers >= 99.9% of 2000 datagrams to r1 and none to r2', async () => {
  const p = await create(P3, 'r1', 'swim-h3');
  expect(p.outs.missing).toEqual([]);
  expect(p.outs.flows.map((f) => f.node)).toEqual(P3);
  const [r1, r2] = await receivers();
  const { sent, reports } = await streamThrough(2000, [r1, r2]);
  expect(sent.sent).toBe(2000);
  const a = analyse(reports[0], 0, 1999);
  expect(a.received).toBeGreaterThanOrEqual(1998);
  expect(a.duplicates).toBe(0);
  expect(reports[0].foreign).toBe(0);
  expect(reports[1].count).toBe(0);
  await remove(p);
  await expectNoPathState();
});

test('VM first: a relay hop with a VM sends the stream through the VM, and on to the leaf', async () => {
  let vm: VmStandIn | undefined;
  try {
    vm = await lab.vmStandIn('h2', VM_OFPORT);
    const p = await create(P3, 'r1', 'vm-h3', { vm: { node: 'h2', port: VM_OFPORT } });
    // Two segments on the relay: tunnel -> VM, VM -> tunnel.
    expect(p.outs.flows[1].rules).toHaveLength(2);
    const [r1, r2] = await receivers();
    const { reports } = await streamThrough(2000, [r1, r2]);
    const relayed = await vm.relay!.stats();
    expect(relayed.relayed).toBeGreaterThanOrEqual(1998);
    expect(relayed.own).toBe(0);
    expect(analyse(reports[0], 0, 1999).received).toBeGreaterThanOrEqual(1998);
    expect(reports[1].count).toBe(0);
    // Proof that the stream goes THROUGH the VM: without the relay process nothing arrives.
    vm.relay!.kill();
    const [q1] = await receivers();
    const again = await streamThrough(300, [q1]);
    expect(again.reports[0].count).toBe(0);
    await remove(p);
  } finally {
    if (vm) await lab.removeVmStandIn(vm);
  }
  await expectNoPathState();
});

test('a relay VM joining (and leaving) a live path is an update that loses nothing', async () => {
  let vm: VmStandIn | undefined;
  try {
    vm = await lab.vmStandIn('h2', VM_OFPORT);
    const plain = lab.pathArgs('join-h3', P3, 'r1');
    const viaVm = lab.pathArgs('join-h3', P3, 'r1', { vm: { node: 'h2', port: VM_OFPORT } });
    const p = await lab.createPath(plain);
    live.add(p);
    const [r1] = await receivers();
    const total = 6000; // 6 s at 1000/s: room for the join, 500 relayed and the leave on a loaded machine
    const s = await sender(total);
    await r1.waitFor(700, 5_000);
    const toVm = await lab.checkPath(viaVm);
    const d = await provider.diff!(p.id, p.outs, toVm);
    expect([d.changes, d.replaces ?? []]).toEqual([true, []]);
    p.outs = (await provider.update!(p.id, p.outs, toVm)).outs as FlowPathOutputs;
    // Joined: the stream now goes through the VM. Wait for 500 relayed datagrams (half a
    // second at 1000/s; a loaded machine may take longer, and the sender goes on meanwhile).
    let relayedWhileJoined = 0;
    for (const until = Date.now() + 10_000; relayedWhileJoined <= 500 && Date.now() < until; ) {
      relayedWhileJoined = (await vm.relay!.stats()).relayed;
      if (relayedWhileJoined <= 500) await new Promise((r) => setTimeout(r, 50));
    }
    p.outs = (await provider.update!(p.id, p.outs, await lab.checkPath(plain))).outs as FlowPathOutputs;
    await s.finished(total + 10_000);
    await r1.waitQuiet(150, 5_000);
    const a = analyse(await r1.stop(), 0, total - 1);
    // New state first, then the old removed: packets may be cloned for a moment, never lost.
    expect(a.lost).toEqual([]);
    expect(relayedWhileJoined).toBeGreaterThan(500);
    process.stderr.write(`relay VM join/leave: 0 lost of ${total}, ${a.duplicates} duplicates while both were installed, max gap ${a.maxGapMs.toFixed(2)} ms\n`);
    // Back to one segment on h2: the VM's group is gone.
    expect((await groupsOn('h2')).map((g) => g.buckets)).toEqual([1]);
    await remove(p);
  } finally {
    if (vm) await lab.removeVmStandIn(vm);
  }
  await expectNoPathState();
});

test('shared hops: two paths from one root both deliver; deleting one while streaming costs the other nothing', async () => {
  const p3 = await create(P3, 'r1', 'shared-h3');
  // A new process (the next `up`) has seen none of these switches: p4's optimistic bundles on
  // the shared root and relay assume no group there, OVS refuses them whole, and the dumps the
  // refused round trip makes only then recompute them: one more round trip on h1 and h2, one on h4.
  await closeAll();
  forgetProcessMemory();
  const { result: p4, lines } = await withCommandTrace(() => create(P4, 'r2', 'shared-h4'));
  expect(['h1', 'h2', 'h4'].map((h) => lines.filter((l) => l.host.includes(`@${ip(h)}:`)).length)).toEqual([2, 2, 1]);
  // Root: both paths send the same actions (to h2) -> one group, ONE bucket (no duplicates).
  // Relay h2: one group with two buckets (to h3, to h4).
  expect((await groupsOn('h1')).map((g) => g.buckets)).toEqual([1]);
  expect((await groupsOn('h2')).map((g) => g.buckets)).toEqual([2]);
  const [r1, r2] = await receivers();
  const total = 3000;
  const s = await sender(total);
  await r2.waitFor(800, 5_000);
  const t0 = nowUs();
  await remove(p4);
  const t1 = nowUs();
  await s.finished(total + 10_000);
  await Promise.all([r1.waitQuiet(150, 5_000), r2.waitQuiet(150, 5_000)]);
  const [rep1, rep2] = await Promise.all([r1.stop(), r2.stop()]);
  const a1 = analyse(rep1, 0, total - 1);
  expect(a1.lost).toEqual([]);
  expect(a1.duplicates).toBe(0);
  // r2 got the stream until the delete, then nothing.
  expect(rep2.count).toBeGreaterThanOrEqual(800);
  expect(rep2.count).toBeLessThan(total);
  // Nothing reaches r2 once the delete has returned (50 ms covers datagrams already in flight).
  expect(rep2.arrivals.filter((t) => t > t1 + 50_000)).toEqual([]);
  process.stderr.write(
    `shared hops: delete of the h4 path took ${((t1 - t0) / 1000).toFixed(1)} ms; r2's last datagram ${((rep2.lastUs! - t0) / 1000).toFixed(1)} ms after its start; ` +
      `r1 max gap ${a1.maxGapMs.toFixed(2)} ms, delay median ${a1.delayMs?.median.toFixed(2)} ms\n`,
  );
  // What is left is exactly p3's part: h1 group still 1 bucket, h2 down to 1, nothing on h4.
  expect((await groupsOn('h1')).map((g) => g.buckets)).toEqual([1]);
  expect((await groupsOn('h2')).map((g) => g.buckets)).toEqual([1]);
  expect(await groupsOn('h4')).toEqual([]);
  expect((await lab.vpmOpenFlowLeftovers('h4')).filter((l) => / br1 /.test(l))).toEqual([]);
  expect((await provider.read!(p3.id, p3.outs)).props.missing).toEqual([]);
  await remove(p3);
  await expectNoPathState();
});

test('GStreamer: VP8 over RTP from the root decodes at r1 (>= 99% of the frames)', async () => {
  const p = await create(P3, 'r1', 'gst-h3');
  const frames = 150;
  const counting = countDecodedFrames(ns('r1'), STREAM_PORT);
  await counting.ready;
  const sent = await gstSendVp8(ns('h1'), { host: OVERLAY_BROADCAST, port: STREAM_PORT, bindAddress: SOURCE_IP, frames });
  const decoded = await counting.stop(1_500);
  process.stderr.write(`GStreamer: ${decoded} of ${frames} frames decoded at r1 (sender ran ${sent.elapsedMs} ms)\n`);
  expect(decoded).toBeGreaterThanOrEqual(Math.ceil(frames * 0.99));
  await remove(p);
});

test('drift: a hop flow deleted by hand is reported by read, diffed as a change, and repaired by update', async () => {
  // This path also matches the source address (stream.srcIp): the match OVS prints back must
  // be the one the plan expects, or read would report drift forever.
  const args = { ...lab.pathArgs('drift-h3', P3, 'r1'), stream: { udpDst: STREAM_PORT, srcIp: SOURCE_IP } };
  const p = await lab.createPath(args);
  live.add(p);
  expect((await provider.read!(p.id, p.outs)).props.missing).toEqual([]);
  const shared = (await lab.hosts.flows('h2', 'br1')).filter((f) => /cookie=0x57/.test(f));
  expect(shared).toHaveLength(1);
  const cookie = /cookie=(0x57[0-9a-f]+)/.exec(shared[0])![1];
  await lab.hosts.must('h2', ['ovs-ofctl', '-O', 'OpenFlow15', 'del-flows', 'br1', `cookie=${cookie}/-1`]);
  forgetProcessMemory(); // the next refresh: a new provider process in production

  const read = await provider.read!(p.id, p.outs);
  const missing = (read.props as FlowPathOutputs).missing;
  expect(missing.length).toBe(1);
  expect(missing[0]).toMatch(/^h2: in_port=101: flow to group \d+ missing$/);

  // The stream is broken at h2 now.
  let [r1] = await receivers();
  expect((await streamThrough(300, [r1])).reports[0].count).toBe(0);

  const news = await lab.checkPath(args);
  const diff = await provider.diff!(p.id, read.props, news);
  expect(diff.changes).toBe(true);
  expect(diff.replaces ?? []).toEqual([]);
  const updated = await provider.update!(p.id, read.props, news);
  p.outs = updated.outs as FlowPathOutputs;
  expect(p.outs.missing).toEqual([]);
  expect((await provider.read!(p.id, p.outs)).props.missing).toEqual([]);
  expect((await provider.diff!(p.id, p.outs, news)).changes).toBe(false);

  [r1] = await receivers();
  const { reports } = await streamThrough(1000, [r1]);
  expect(analyse(reports[0], 0, 999).received).toBeGreaterThanOrEqual(999);
  await remove(p);
  await expectNoPathState();
});

test('idempotence: create twice changes nothing; delete twice succeeds; delete after the bridge is gone succeeds', async () => {
  const args = lab.pathArgs('idem-h4', P4, 'r2');
  const inputs = await lab.checkPath(args);
  const first = await provider.create!(inputs);
  live.add(first as Path);
  const dump = async () => Promise.all(P4.map(async (h) => [(await lab.hosts.flows(h, 'br1')).sort(), await groupsOn(h)]));
  const before = await dump();
  const second = await provider.create!(inputs);
  expect(second.id).toBe(first.id);
  expect(await dump()).toEqual(before);
  expect((await groupsOn('h2')).map((g) => g.buckets)).toEqual([1]);

  await provider.delete!(first.id, first.outs);
  await provider.delete!(first.id, first.outs);
  live.delete(first as Path);
  await expectNoPathState();

  const again = await provider.create!(inputs);
  live.add(again as Path);
  await lab.hosts.must('h4', ['ovs-vsctl', 'del-br', 'br1']);
  await provider.delete!(again.id, again.outs);
  live.delete(again as Path);
  await expectNoPathState();
});
