/**
 * The pure part of FlowPath (providers/flow-path/plan.ts) and its `check`, without a host:
 * segments per hop kind, the exact rules and bundle text, the add/remove bundles against fake
 * switch states (shared buckets, markers, the last owner removing group and shared flow), the
 * receiver MAC, and check's refusals. A small switch simulator applies bundles the way OVS
 * does, so whole sequences (install A, install B, remove A, remove B) can be followed.
 */
import { UNKNOWN } from '../../../providers/common/check';
import { cookieFor } from '../../../providers/common/owner';
import { actionsToOfctl, flowToOfctl, matchToOfctl } from '../../../providers/ovs/flow';
import { bundleCommand, type BundleOps } from '../../../providers/ovs/ofctl';
import {
  MARKER_TABLE,
  applyOps,
  PATH_PRIORITY,
  describePlan,
  fnv1a32,
  installOps,
  missingParts,
  parseMarkers,
  planPath,
  receiverMacFor,
  removeOps,
  type HopPlan,
  type SwitchState,
} from '../../../providers/flow-path/plan';
import { provider } from '../../../providers/flow-path/provider';
import type { FlowPathInputs, Hop } from '../../../providers/flow-path/types';
import { expectNoHostTouched } from '../../support/expect';

// A syntactically valid ed25519 public key line (as in check.test.ts).
const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
// TEST-NET-1: nothing answers there; were check to connect, it would hang.
const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519', connectTimeoutMs: 60_000 });

const R1 = { ip: '10.250.0.201', mac: '02:56:52:00:00:01' };
const R2 = { ip: '10.250.0.202', mac: '02:56:52:00:00:02' };
const LEAF3_MAC = '02:56:50:00:00:03';
const LEAF4_MAC = '02:56:50:00:00:04';

function hop(node: string, n: number, inPort: number, outPort: number, vmPort?: number): Hop {
  return { node, connection: conn(n) as Hop['connection'], bridge: 'br1', inPort, outPort, ...(vmPort !== undefined ? { vmPort } : {}) };
}

/** h1 (root, source port 2) -> h2 (relay) -> leaf; GRE port to hK is 100 + K, patch is 1. */
function path(pathId: string, leaf: 3 | 4, opts: { vmPort?: number; srcIp?: string } = {}): FlowPathInputs {
  const r = leaf === 3 ? R1 : R2;
  return {
    pathId,
    cookie: cookieFor(`path:${pathId}`),
    stream: { udpDst: 5004, ...(opts.srcIp ? { srcIp: opts.srcIp } : {}) },
    hops: [hop('h1', 1, 2, 102), hop('h2', 2, 101, 100 + leaf, opts.vmPort), hop(`h${leaf}`, leaf, 102, 1)],
    egress: { receiverIp: r.ip, receiverMac: r.mac, srcMac: leaf === 3 ? LEAF3_MAC : LEAF4_MAC },
    flows: [],
  };
}

const groupIdOf = (inPort: number, matchText: string) => 1 + (fnv1a32(`${inPort}|${matchText}`) % 0xfffffe00);
const bucketIdOf = (actionsText: string) => fnv1a32(actionsText) % 0xffffff00;

// ---- the switch model plan.ts exports (applyOps: bundles applied as OVS applies them) ----

const EMPTY: SwitchState = { groups: [], flows: [] };

const hopOf = (p: FlowPathInputs, node: string): HopPlan => planPath(p).find((h) => h.hop.node === node)!;
const install = (state: SwitchState, p: FlowPathInputs, node: string) => applyOps(state, installOps(hopOf(p, node), state, p.cookie));
const uninstall = (state: SwitchState, p: FlowPathInputs, node: string) => applyOps(state, removeOps(hopOf(p, node), state, p.cookie));
const isEmpty = (o: BundleOps) => Object.values(o).every((v) => (v as unknown[]).length === 0);

describe('planPath: segments per hop', () => {
  test('root and pass-through relay: one segment in -> out; leaf rewrites and outputs to the patch', () => {
    const plans = planPath(path('p3', 3));
    expect(plans.map((h) => [h.hop.node, h.isRoot, h.segments.length])).toEqual([
      ['h1', true, 1],
      ['h2', false, 1],
      ['h3', false, 1],
    ]);
    expect(plans.map((h) => h.segments.map((s) => [s.inPort, actionsToOfctl(s.bucket.actions)]))).toEqual([
      [[2, 'output:102']],
      [[101, 'output:103']],
      [[102, `set_field:${LEAF3_MAC}->eth_src,set_field:${R1.mac}->eth_dst,set_field:${R1.ip}->ip_dst,output:1`]],
    ]);
  });

  test('a relay with a VM: tunnel -> VM, then VM -> next tunnel (two segments)', () => {
    const h2 = planPath(path('pvm', 3, { vmPort: 20 }))[1];
    expect(h2.segments.map((s) => [matchToOfctl(s.match), actionsToOfctl(s.bucket.actions)])).toEqual([
      ['udp,in_port=101,tp_dst=5004', 'output:20'],
      ['udp,in_port=20,tp_dst=5004', 'output:103'],
    ]);
  });

  test('a relay with a VM and vmMac/vmIp: the stream is addressed to the VM before it is handed over', () => {
    const p = path('pvm2', 3, { vmPort: 20 });
    p.hops[1] = { ...p.hops[1], vmMac: '52:54:00:AA:BB:CC', vmIp: '10.99.1.2' } as Hop;
    const h2 = planPath(p)[1];
    expect(h2.segments.map((s) => actionsToOfctl(s.bucket.actions))).toEqual([
      'set_field:52:54:00:aa:bb:cc->eth_dst,set_field:10.99.1.2->ip_dst,output:20',
      'output:103',
    ]);
  });

  test('a leaf with a VM: tunnel -> VM, then the VM output is rewritten and leaves through the patch', () => {
    const p = path('leafvm', 3);
    p.hops[2] = { ...p.hops[2], vmPort: 30 };
    const leaf = planPath(p)[2];
    expect(leaf.segments.map((s) => [s.inPort, actionsToOfctl(s.bucket.actions)])).toEqual([
      [102, 'output:30'],
      [30, `set_field:${LEAF3_MAC}->eth_src,set_field:${R1.mac}->eth_dst,set_field:${R1.ip}->ip_dst,output:1`],
    ]);
  });

  test('a vmPort at the root is ignored by the plan (check refuses it; see below)', () => {
    const p = path('rootvm', 3);
    p.hops[0] = { ...p.hops[0], vmPort: 9 };
    expect(planPath(p)[0].segments.map((s) => s.inPort)).toEqual([2]);
  });

  test('a source address narrows every match', () => {
    const plans = planPath(path('src', 3, { srcIp: '10.99.0.1' }));
    for (const h of plans) for (const s of h.segments) expect(matchToOfctl(s.match)).toMatch(/^udp,in_port=\d+,nw_src=10\.99\.0\.1,tp_dst=5004$/);
  });
});

describe('exact OpenFlow text', () => {
  const p = path('p3', 3);
  const plans = planPath(p);

  test('fnv1a32 is FNV-1a (reference vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  test('describePlan: one rule per segment, naming group, bucket and actions', () => {
    const g = (port: number) => groupIdOf(port, `udp,in_port=${port},tp_dst=5004`);
    const leafActions = `set_field:${LEAF3_MAC}->eth_src,set_field:${R1.mac}->eth_dst,set_field:${R1.ip}->ip_dst,output:1`;
    expect(describePlan(plans)).toEqual([
      { node: 'h1', bridge: 'br1', rules: [`udp,in_port=2,tp_dst=5004 -> group:${g(2)} bucket:${bucketIdOf('output:102')} output:102`] },
      { node: 'h2', bridge: 'br1', rules: [`udp,in_port=101,tp_dst=5004 -> group:${g(101)} bucket:${bucketIdOf('output:103')} output:103`] },
      { node: 'h3', bridge: 'br1', rules: [`udp,in_port=102,tp_dst=5004 -> group:${g(102)} bucket:${bucketIdOf(leafActions)} ${leafActions}`] },
    ]);
    // Pinned values: a change to the id scheme shows up here (it would orphan installed state).
    expect(describePlan(plans)[0].rules[0]).toBe('udp,in_port=2,tp_dst=5004 -> group:754819641 bucket:3628175219 output:102');
  });

  test('shared flow, marker and the install bundle, as ovs-ofctl reads them', () => {
    const s = plans[0].segments[0];
    const [hi, lo] = [p.cookie.slice(2, 10), p.cookie.slice(10)];
    const md = ((BigInt(s.groupId) << 32n) | BigInt(s.bucketId)).toString(16);
    const shared = `table=0,priority=${PATH_PRIORITY},cookie=0x57000000${s.groupId.toString(16).padStart(8, '0')},udp,in_port=2,tp_dst=5004,actions=group:${s.groupId}`;
    const marker = `table=${MARKER_TABLE},priority=${PATH_PRIORITY},cookie=${p.cookie},reg0=0x${hi.replace(/^0+/, '')},reg1=0x${lo.replace(/^0+/, '')},metadata=0x${md},actions=drop`;
    expect(flowToOfctl(s.sharedFlow, 'add')).toBe(shared);
    expect(flowToOfctl(s.marker, 'add')).toBe(marker);
    expect(p.cookie).toMatch(/^0x56[0-9a-f]{14}$/);
    const cmd = bundleCommand('br1' as never, installOps(plans[0], EMPTY, p.cookie));
    expect(cmd).toEqual({
      argv: ['bundle', 'br1', '-'],
      stdin: `group add group_id=${s.groupId},type=all,bucket=bucket_id:${s.bucketId},actions=output:102\nflow add ${shared}\nflow add ${marker}\n`,
    });
  });

  test('remove bundle of the last owner: marker and shared flow out, then the group', () => {
    const s = plans[0].segments[0];
    const state = install(EMPTY, p, 'h1');
    const cmd = bundleCommand('br1' as never, removeOps(plans[0], state, p.cookie))!;
    expect(cmd.argv).toEqual(['bundle', 'br1', '-']);
    expect(cmd.stdin.split('\n').filter(Boolean)).toEqual([
      `flow delete_strict ${flowToOfctl(s.marker, 'strict-del')}`,
      `flow delete_strict ${flowToOfctl(s.sharedFlow, 'strict-del')}`,
      `group delete group_id=${s.groupId}`,
    ]);
    expect(flowToOfctl(s.marker, 'strict-del')).toContain(`cookie=${p.cookie}/-1`);
  });
});

describe('installOps / removeOps against fake switch states', () => {
  const a = path('a', 3);
  const b = path('b', 4);
  const aVm = path('avm', 3, { vmPort: 20 });

  test('install on an empty switch: group with our bucket, shared flow, our marker', () => {
    const ops = installOps(hopOf(a, 'h2'), EMPTY, a.cookie);
    expect(ops.addGroups).toHaveLength(1);
    expect(ops.addGroups![0].buckets.map((x) => actionsToOfctl(x.actions))).toEqual(['output:103']);
    expect(ops.insertBuckets).toEqual([]);
    expect(ops.add!.map((f) => f.table ?? 0)).toEqual([0, MARKER_TABLE]);
  });

  test('install is idempotent: a second run on the result is empty', () => {
    const s = install(EMPTY, a, 'h2');
    expect(isEmpty(installOps(hopOf(a, 'h2'), s, a.cookie))).toBe(true);
  });

  test('identical actions share one bucket: the second path adds only its marker', () => {
    // At the root both paths send to h2: same match, same actions.
    const s1 = install(EMPTY, a, 'h1');
    const ops = installOps(hopOf(b, 'h1'), s1, b.cookie);
    expect(ops.addGroups).toEqual([]);
    expect(ops.insertBuckets).toEqual([]);
    expect(ops.add!.map((f) => f.table)).toEqual([MARKER_TABLE]);
    const s2 = applyOps(s1, ops);
    expect(s2.groups).toHaveLength(1);
    expect(s2.groups[0].buckets).toHaveLength(1);
    expect(parseMarkers(s2.flows).map((m) => m.owner).sort()).toEqual([a.cookie, b.cookie].sort());
  });

  test('different actions on a shared match: a second bucket in the same group, no second shared flow', () => {
    const s1 = install(EMPTY, a, 'h2');
    const ops = installOps(hopOf(b, 'h2'), s1, b.cookie);
    expect(ops.addGroups).toEqual([]);
    expect(ops.insertBuckets!.map((i) => i.buckets.map((x) => actionsToOfctl(x.actions)))).toEqual([['output:104']]);
    expect(ops.add!.map((f) => f.table)).toEqual([MARKER_TABLE]);
    const s2 = applyOps(s1, ops);
    expect(s2.groups[0].buckets.map((x) => x.actionsText)).toEqual(['output:103', 'output:104']);
    expect(s2.flows.filter((f) => f.table === 0)).toHaveLength(1);
  });

  test('a shared bucket is kept while another path\'s marker names it', () => {
    const s = install(install(EMPTY, a, 'h1'), b, 'h1');
    const ops = removeOps(hopOf(a, 'h1'), s, a.cookie);
    expect(ops.delStrict!.map((f) => f.table)).toEqual([MARKER_TABLE]);
    expect(ops.removeBuckets).toEqual([]);
    expect(ops.delGroups).toEqual([]);
    const after = applyOps(s, ops);
    expect(after.groups[0].buckets).toHaveLength(1);
    expect(parseMarkers(after.flows).map((m) => m.owner)).toEqual([b.cookie]);
    expect(missingParts(hopOf(b, 'h1'), after, b.cookie)).toEqual([]);
  });

  test('removing one of two buckets leaves the group, the shared flow and the other bucket', () => {
    const s = install(install(EMPTY, a, 'h2'), b, 'h2');
    const ops = removeOps(hopOf(b, 'h2'), s, b.cookie);
    expect(ops.removeBuckets!.map((r) => r.bucketId)).toEqual([hopOf(b, 'h2').segments[0].bucketId]);
    expect(ops.delGroups).toEqual([]);
    expect(ops.delStrict!.map((f) => f.table)).toEqual([MARKER_TABLE]);
    const after = applyOps(s, ops);
    expect(after.groups[0].buckets.map((x) => x.actionsText)).toEqual(['output:103']);
    expect(missingParts(hopOf(a, 'h2'), after, a.cookie)).toEqual([]);
  });

  test('the last bucket takes the group and the shared flow with it; the switch ends empty', () => {
    let s = install(install(EMPTY, a, 'h2'), b, 'h2');
    s = uninstall(s, b, 'h2');
    const ops = removeOps(hopOf(a, 'h2'), s, a.cookie);
    expect(ops.delGroups).toEqual([hopOf(a, 'h2').segments[0].groupId]);
    expect(ops.delStrict!.map((f) => f.table ?? 0).sort()).toEqual([0, MARKER_TABLE]);
    expect(applyOps(s, ops)).toEqual(EMPTY);
  });

  test('any install/remove order of three paths (one with a VM) through one relay ends empty', () => {
    const paths = [a, b, aVm];
    const orders = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 0, 2],
    ];
    for (const ins of orders) {
      for (const rem of orders) {
        let s = EMPTY;
        for (const i of ins) s = install(s, paths[i], 'h2');
        // VM path and plain path share the tunnel match: one group, buckets output:103, output:104, output:20.
        const shared = s.groups.find((g) => g.buckets.length === 3)!;
        expect(shared.buckets.map((x) => x.actionsText).sort()).toEqual(['output:103', 'output:104', 'output:20']);
        for (const i of paths.keys()) expect(missingParts(hopOf(paths[i], 'h2'), s, paths[i].cookie)).toEqual([]);
        for (const [k, i] of rem.entries()) {
          s = uninstall(s, paths[i], 'h2');
          for (const j of rem.slice(k + 1)) expect(missingParts(hopOf(paths[j], 'h2'), s, paths[j].cookie)).toEqual([]);
        }
        expect(s).toEqual(EMPTY);
      }
    }
  });

  test('remove is idempotent: nothing to do on a switch without our part', () => {
    expect(isEmpty(removeOps(hopOf(a, 'h2'), EMPTY, a.cookie))).toBe(true);
    const onlyB = install(EMPTY, b, 'h2');
    expect(isEmpty(removeOps(hopOf(a, 'h2'), onlyB, a.cookie))).toBe(true);
  });

  test('remove with keep (update) leaves the segments the new version still uses', () => {
    // Old version without VM, new version with: the tunnel -> h3 bucket goes, the rest stays.
    let s = install(EMPTY, a, 'h2');
    const newer = { ...aVm, pathId: 'a', cookie: a.cookie };
    s = install(s, newer, 'h2');
    const ops = removeOps(hopOf(a, 'h2'), s, a.cookie, hopOf(newer, 'h2').segments);
    // a's segment (in 101 -> output:103) shares the group with newer's (in 101 -> output:20); its bucket differs.
    expect(ops.removeBuckets!.map((r) => r.bucketId)).toEqual([hopOf(a, 'h2').segments[0].bucketId]);
    const after = applyOps(s, ops);
    expect(missingParts(hopOf(newer, 'h2'), after, a.cookie)).toEqual([]);
    // Same version as keep: nothing at all.
    expect(isEmpty(removeOps(hopOf(a, 'h2'), install(EMPTY, a, 'h2'), a.cookie, hopOf(a, 'h2').segments))).toBe(true);
  });

  test('missingParts names each missing piece', () => {
    const h = hopOf(a, 'h2');
    const seg = h.segments[0];
    const full = install(EMPTY, a, 'h2');
    expect(missingParts(h, full, a.cookie)).toEqual([]);
    expect(missingParts(h, EMPTY, a.cookie)).toEqual([
      `h2: in_port=101: group ${seg.groupId} missing`,
      `h2: in_port=101: flow to group ${seg.groupId} missing`,
      'h2: in_port=101: ownership marker missing',
    ]);
    const noShared = { ...full, flows: full.flows.filter((f) => f.table !== 0) };
    expect(missingParts(h, noShared, a.cookie)).toEqual([`h2: in_port=101: flow to group ${seg.groupId} missing`]);
    const noBucket = { ...full, groups: full.groups.map((g) => ({ ...g, buckets: [] })) };
    expect(missingParts(h, noBucket, a.cookie)).toEqual([`h2: in_port=101: bucket ${seg.bucketId} missing from group ${seg.groupId}`]);
    const otherMarker = install(EMPTY, path('a2', 3), 'h2');
    expect(missingParts(h, otherMarker, a.cookie)).toEqual(['h2: in_port=101: ownership marker missing']);
  });
});

describe('receiverMacFor', () => {
  test('a given MAC wins (lower-cased)', () => {
    expect(receiverMacFor('10.250.0.201', '02:56:52:00:00:AB')).toBe('02:56:52:00:00:ab');
  });
  test('multicast: 01:00:5e + the low 23 bits (RFC 1112)', () => {
    expect(receiverMacFor('239.1.2.3', undefined)).toBe('01:00:5e:01:02:03');
    expect(receiverMacFor('224.129.255.1', undefined)).toBe('01:00:5e:01:ff:01');
    expect(receiverMacFor('239.255.255.250', undefined)).toBe('01:00:5e:7f:ff:fa');
  });
  test('broadcast: limited and (/24) directed', () => {
    expect(receiverMacFor('255.255.255.255', undefined)).toBe('ff:ff:ff:ff:ff:ff');
    expect(receiverMacFor('10.250.0.255', undefined)).toBe('ff:ff:ff:ff:ff:ff');
  });
  test('unicast without a MAC: undefined (check then asks for it)', () => {
    expect(receiverMacFor('10.250.0.201', undefined)).toBeUndefined();
  });
});

describe('FlowPath check (no host is touched)', () => {
  expectNoHostTouched();

  const args = (over: Record<string, unknown> = {}) => ({
    pathId: 'h3-5004',
    stream: { udpDst: 5004 },
    hops: [
      { node: 'h1', connection: conn(1), bridge: 'br1', inPort: 2, outPort: 102 },
      { node: 'h2', connection: conn(2), bridge: 'br1', inPort: 101, outPort: 103 },
      { node: 'h3', connection: conn(3), bridge: 'br1', inPort: 102, outPort: 1 },
    ],
    egress: { receiverIp: R1.ip, receiverMac: R1.mac, srcMac: LEAF3_MAC },
    ...over,
  });
  type R = { inputs?: FlowPathInputs; failures?: Array<{ property: string; reason: string }> };
  const check = async (news: Record<string, unknown>): Promise<R> => {
    const t0 = Date.now();
    const r = (await provider.check!({}, news)) as R;
    expect(Date.now() - t0).toBeLessThan(500);
    return r;
  };
  const failures = async (news: Record<string, unknown>) => {
    const r = await check(news);
    expect(r.inputs).toBeUndefined();
    expect(r.failures!.length).toBeGreaterThan(0);
    return r.failures!;
  };

  test('valid inputs: cookie from the path id, flows computed for preview', async () => {
    const r = await check(args());
    expect(r.failures ?? []).toEqual([]);
    expect(r.inputs!.cookie).toBe(cookieFor('path:h3-5004'));
    expect(r.inputs!.flows).toEqual(describePlan(planPath(r.inputs!)));
    expect(r.inputs!.egress.receiverMac).toBe(R1.mac);
  });

  test('a multicast or broadcast receiver needs no MAC', async () => {
    const r = await check(args({ egress: { receiverIp: '239.1.1.1', srcMac: LEAF3_MAC } }));
    expect(r.inputs!.egress.receiverMac).toBe('01:00:5e:01:01:01');
  });

  test('unicast receiver without a MAC', async () => {
    const f = await failures(args({ egress: { receiverIp: R1.ip, srcMac: LEAF3_MAC } }));
    expect(f).toEqual([{ property: 'egress.receiverMac', reason: expect.stringMatching(/unicast.*receiverMac/) }]);
  });

  test('a vmPort at the root', async () => {
    const a = args();
    (a.hops as Array<Record<string, unknown>>)[0].vmPort = 7;
    const f = await failures(a);
    expect(f).toEqual([{ property: 'hops[0].vmPort', reason: expect.stringMatching(/root/) }]);
  });

  test('a switch repeated on the path', async () => {
    const a = args();
    const hops = a.hops as Array<Record<string, unknown>>;
    hops[2] = { ...hops[2], connection: conn(1) };
    const f = await failures(a);
    expect(f).toEqual([{ property: 'hops[2]', reason: expect.stringMatching(/repeats a switch/) }]);
  });

  test('fewer than two hops', async () => {
    const a = args();
    a.hops = a.hops.slice(0, 1);
    expect((await failures(a)).map((f) => f.property)).toEqual(['hops']);
  });

  test.each([
    ['bridge', { bridge: 'br1;reboot' }, 'hops[0].bridge'],
    ['bridge with a space', { bridge: 'br1 -- del-br br0' }, 'hops[0].bridge'],
    ['bridge too long', { bridge: 'a'.repeat(16) }, 'hops[0].bridge'],
    ['port 0', { inPort: 0 }, 'hops[0].inPort'],
    ['port LOCAL-ish', { outPort: 65534 }, 'hops[0].outPort'],
    ['fractional port', { outPort: 1.5 }, 'hops[0].outPort'],
    ['host with a shell', { connection: { ...conn(1), host: 'h1;id' } }, 'hops[0].connection.host'],
    ['unknown hop field', { command: 'rm -rf /' }, 'hops[0]'],
  ])('hostile hop value: %s', async (_what, over, property) => {
    const a = args();
    const hops = a.hops as Array<Record<string, unknown>>;
    hops[0] = { ...hops[0], ...over };
    const f = await failures(a);
    expect(f.map((x) => x.property)).toContain(property);
  });

  test.each([
    ['pathId with a shell', { pathId: 'p;rm -rf /' }, 'pathId'],
    ['pathId empty', { pathId: '' }, 'pathId'],
    ['udpDst 0', { stream: { udpDst: 0 } }, 'stream.udpDst'],
    ['srcIp not an address', { stream: { udpDst: 5004, srcIp: '10.0.0.1/24' } }, 'stream.srcIp'],
    ['receiverIp with a flow', { egress: { receiverIp: '10.0.0.1,actions=drop', receiverMac: R1.mac, srcMac: LEAF3_MAC } }, 'egress.receiverIp'],
    ['receiverMac malformed', { egress: { receiverIp: R1.ip, receiverMac: '02:56:52:00:00:01->eth_src', srcMac: LEAF3_MAC } }, 'egress.receiverMac'],
    ['srcMac missing', { egress: { receiverIp: R1.ip, receiverMac: R1.mac } }, 'egress.srcMac'],
  ])('hostile path value: %s', async (_what, over, property) => {
    const f = await failures(args(over));
    expect(f.map((x) => x.property)).toContain(property);
  });

  test('values unknown during preview pass through', async () => {
    const a = args();
    (a.hops as Array<Record<string, unknown>>)[1].outPort = UNKNOWN;
    const r = await check(a);
    expect(r.failures ?? []).toEqual([]);
    expect(r.inputs).toBeDefined();
  });
});
