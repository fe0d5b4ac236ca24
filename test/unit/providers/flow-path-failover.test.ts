/**
 * FlowPath's failover parts, pure (providers/flow-path/plan.ts) and check (no host touched):
 * the fast-failover exit (an all-group bucket -> group:F, F = primary / tagged backup /
 * fallback), the backup route's tagged segments merged per switch (transit and join), the
 * bundle order (F before the bucket naming it, after it on removal), sharing of F by paths
 * that share the bucket, the one-bundle swap of an update, garbage collection of leftovers,
 * and check's refusals for malformed backups.
 *
 * The path: h1 (root) -> h2 (relay) -> h4 (leaf); backup around h2: h1 -> h3 -> h4.
 * GRE port toward hK is 100 + K; patch 1; source 2.
 */
import { cookieFor } from '../../../providers/common/owner';
import { actionsToOfctl, matchToOfctl } from '../../../providers/ovs/flow';
import { bundleCommand, type BundleOps } from '../../../providers/ovs/ofctl';
import {
  BACKUP_PRIORITY,
  PATH_PRIORITY,
  applyOps,
  backupTag,
  describePlan,
  ffGroupId,
  gcOps,
  installOps,
  missingParts,
  planConflicts,
  planPath,
  planSwitches,
  removeOps,
  swapOps,
  switchKey,
  type SwitchPlan,
  type SwitchState,
} from '../../../providers/flow-path/plan';
import { provider } from '../../../providers/flow-path/provider';
import type { BackupHop, FlowPathInputs, Hop } from '../../../providers/flow-path/types';
import { expectNoHostTouched } from '../../support/expect';

const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
const conn = (n: number) => ({ host: `192.0.2.${n}`, hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519', connectTimeoutMs: 60_000 });
const R2 = { ip: '10.250.0.202', mac: '02:56:52:00:00:02' };
const LEAF4_MAC = '02:56:50:00:00:04';
const EMPTY: SwitchState = { groups: [], flows: [] };

const hop = (n: number, inPort: number, outPort: number, extra: Partial<Hop> = {}): Hop => ({ node: `h${n}`, connection: conn(n) as Hop['connection'], bridge: 'br1', inPort, outPort, ...extra });
const bhop = (n: number, inPort: number, outPort?: number): BackupHop => ({ from: 0, node: `h${n}`, connection: conn(n) as BackupHop['connection'], bridge: 'br1', inPort, ...(outPort !== undefined ? { outPort } : {}) });

function path(pathId: string, opts: { backup?: boolean; leafVm?: number } = {}): FlowPathInputs {
  const backup = opts.backup ?? true;
  return {
    pathId,
    cookie: cookieFor(`path:${pathId}`),
    stream: { udpDst: 5004 },
    hops: [hop(1, 2, 102, backup ? { backup: { outPort: 103 } } : {}), hop(2, 101, 104), hop(4, 102, 1, opts.leafVm ? { vmPort: opts.leafVm } : {})],
    ...(backup ? { backupHops: [bhop(3, 101, 104), bhop(4, 103)] } : {}),
    egress: { receiverIp: R2.ip, receiverMac: R2.mac, srcMac: LEAF4_MAC },
    flows: [],
  };
}

const on = (p: FlowPathInputs, node: string): SwitchPlan => planSwitches(p).find((h) => h.hop.node === node)!;
const install = (s: SwitchState, p: FlowPathInputs, node: string) => applyOps(s, installOps(on(p, node), s, p.cookie));
const uninstall = (s: SwitchState, p: FlowPathInputs, node: string) => applyOps(s, removeOps(on(p, node), s, p.cookie));
const isEmpty = (o: BundleOps) => Object.values(o).every((v) => (v as unknown[]).length === 0);

describe('the fast-failover exit', () => {
  const p = path('fo');
  const root = planPath(p)[0].segments[0];
  const tag = backupTag(switchKey(p.hops[0]), 102);

  test('the tag is a locally administered unicast MAC, stable per (switch, primary port)', () => {
    expect(tag).toMatch(/^02:56:46(:[0-9a-f]{2}){3}$/);
    expect(backupTag(switchKey(p.hops[0]), 102)).toBe(tag);
    expect(backupTag(switchKey(p.hops[0]), 105)).not.toBe(tag);
  });

  test('the bucket sends to F; F: primary while live, else the tagged backup, else (no BFD session up) both', () => {
    expect(actionsToOfctl(root.bucket.actions)).toBe(`group:${root.ff!.id}`);
    expect(root.ff!.id).toBe(ffGroupId(root.groupId, 102, 103, tag));
    expect(root.ff!.type).toBe('ff');
    expect(root.ff!.buckets.map((b) => [b.id, b.watchPort, b.watchGroup, actionsToOfctl(b.actions)])).toEqual([
      [0, 102, undefined, 'output:102'],
      [1, 103, undefined, `set_field:${tag}->eth_src,output:103`],
      [2, undefined, root.groupId, `output:102,set_field:${tag}->eth_src,output:103`],
    ]);
  });

  test('the same hop without backup is a plain output (no change for paths without failover)', () => {
    const plain = planPath(path('fo', { backup: false }))[0].segments[0];
    expect(plain.groupId).toBe(root.groupId);
    expect(actionsToOfctl(plain.bucket.actions)).toBe('output:102');
    expect(plain.ff).toBeUndefined();
  });
});

describe('planSwitches: backup segments, tagged, merged per switch', () => {
  const p = path('fo');
  const plans = planSwitches(p);
  const tag = backupTag(switchKey(p.hops[0]), 102);

  test('primary hops in path order, then the switch only the backup visits', () => {
    expect(plans.map((h) => [h.hop.node, h.index, h.isRoot, h.segments.length])).toEqual([
      ['h1', 0, true, 1],
      ['h2', 1, false, 1],
      ['h4', 2, false, 2],
      ['h3', -1, false, 1],
    ]);
    expect(plans[3].backupIndex).toBe(0);
  });

  test('transit on h3: the tagged stream from h1 goes on to h4, at the backup priority', () => {
    const s = on(p, 'h3').segments[0];
    expect(matchToOfctl(s.match)).toBe(`udp,in_port=101,dl_src=${tag},tp_dst=5004`);
    expect(actionsToOfctl(s.bucket.actions)).toBe('output:104');
    expect(s.sharedFlow.priority).toBe(BACKUP_PRIORITY);
    expect(s.backupFor).toBe('h2');
  });

  test('the join on h4: the tagged stream from h3 gets the leaf exit, beside the primary segment', () => {
    const [primary, join] = on(p, 'h4').segments;
    expect(matchToOfctl(primary.match)).toBe('udp,in_port=102,tp_dst=5004');
    expect(primary.sharedFlow.priority).toBe(PATH_PRIORITY);
    expect(matchToOfctl(join.match)).toBe(`udp,in_port=103,dl_src=${tag},tp_dst=5004`);
    expect(join.bucket.actions).toEqual(primary.bucket.actions);
  });

  test('a join into a hop with a VM hands the stream to the VM (the VM -> exit segment is the hop own)', () => {
    const vm = on(path('fovm', { leafVm: 30 }), 'h4');
    expect(vm.segments.map((s) => [s.inPort, actionsToOfctl(s.bucket.actions)])).toEqual([
      [102, 'output:30'],
      [30, `set_field:${LEAF4_MAC}->eth_src,set_field:${R2.mac}->eth_dst,set_field:${R2.ip}->ip_dst,output:1`],
      [103, 'output:30'],
    ]);
  });

  test('describePlan names the failover group and the backup segments', () => {
    const text = describePlan(plans);
    expect(text.map((t) => t.node)).toEqual(['h1', 'h2', 'h4', 'h3']);
    expect(text[0].rules[0]).toMatch(/-> group:\d+ bucket:\d+ group:\d+ \[ff \d+: output:102 while port 102 is live, else set_field:02:56:46:..:..:..->eth_src,output:103 while port 103 is live, else output:102,set_field:02:56:46:..:..:..->eth_src,output:103\]$/);
    expect(text[3].rules[0]).toMatch(/\(backup around h2\)$/);
    expect(planConflicts(plans)).toEqual([]);
  });

  test('planConflicts: one path sending the same match two ways on a switch', () => {
    const h3 = on(p, 'h3');
    const other = planSwitches({ ...p, backupHops: [bhop(3, 101, 105), bhop(4, 103)] }).find((h) => h.hop.node === 'h3')!;
    expect(planConflicts([{ ...h3, segments: [...h3.segments, ...other.segments] }])).toEqual([expect.stringMatching(/^h3: .* would go both to output:104 and to output:105/)]);
  });
});

describe('bundles', () => {
  const p = path('fo');

  test('install on the root: F is added before the group whose bucket names it, and OVS accepts the order', () => {
    const ops = installOps(on(p, 'h1'), EMPTY, p.cookie);
    const root = on(p, 'h1').segments[0];
    expect(ops.addGroups!.map((g) => [g.id, g.type])).toEqual([
      [root.ff!.id, 'ff'],
      [root.groupId, 'all'],
    ]);
    const text = bundleCommand('br1' as never, ops)!.stdin.split('\n');
    expect(text[0]).toBe(`group add group_id=${root.ff!.id},type=ff,bucket=bucket_id:0,watch_port:102,actions=output:102,bucket=bucket_id:1,watch_port:103,actions=set_field:${backupTag(switchKey(p.hops[0]), 102)}->eth_src,output:103,bucket=bucket_id:2,watch_group:${root.groupId},actions=output:102,set_field:${backupTag(switchKey(p.hops[0]), 102)}->eth_src,output:103`);
    expect(text[1]).toMatch(new RegExp(`^group add group_id=${root.groupId},type=all,bucket=bucket_id:\\d+,actions=group:${root.ff!.id}$`));
    const s = applyOps(EMPTY, ops);
    expect(missingParts(on(p, 'h1'), s, p.cookie)).toEqual([]);
    expect(isEmpty(installOps(on(p, 'h1'), s, p.cookie))).toBe(true);
  });

  test('remove: the bucket (or group) goes before F, and nothing is left', () => {
    const s = install(EMPTY, p, 'h1');
    const ops = removeOps(on(p, 'h1'), s, p.cookie);
    const root = on(p, 'h1').segments[0];
    expect(ops.delGroups).toEqual([root.groupId, root.ff!.id]);
    expect(applyOps(s, ops)).toEqual(EMPTY);
  });

  test('refresh sees a missing or altered failover group', () => {
    const s = install(EMPTY, p, 'h1');
    const root = on(p, 'h1').segments[0];
    const gone = { ...s, groups: s.groups.filter((g) => g.id !== root.ff!.id) };
    expect(missingParts(on(p, 'h1'), gone, p.cookie)).toEqual([`h1: in_port=2: fast-failover group ${root.ff!.id} missing`]);
    const altered = { ...s, groups: s.groups.map((g) => (g.id === root.ff!.id ? { ...g, buckets: g.buckets.slice(0, 1) } : g)) };
    expect(missingParts(on(p, 'h1'), altered, p.cookie)).toEqual([`h1: in_port=2: fast-failover group ${root.ff!.id} altered`]);
    // Repaired by install.
    expect(missingParts(on(p, 'h1'), install(gone, p, 'h1'), p.cookie)).toEqual([]);
  });

  test('a group id held by a group of another type is refused, not overwritten', () => {
    const root = on(p, 'h1').segments[0];
    const clash: SwitchState = { groups: [{ id: root.ff!.id, type: 'all', buckets: [] }], flows: [] };
    expect(() => installOps(on(p, 'h1'), clash, p.cookie)).toThrow(/group \d+ exists with type all, VPM wants type ff/);
  });

  test('two paths with the same exit share the bucket and F; the last owner removes them', () => {
    const a = path('fo-a');
    const b = path('fo-b');
    let s = install(EMPTY, a, 'h1');
    const before = s.groups;
    s = install(s, b, 'h1');
    expect(s.groups).toEqual(before); // nothing new: same group, bucket, F
    s = uninstall(s, a, 'h1');
    expect(s.groups).toEqual(before); // b still owns them
    expect(missingParts(on(b, 'h1'), s, b.cookie)).toEqual([]);
    s = uninstall(s, b, 'h1');
    expect(s).toEqual(EMPTY);
  });

  test('backup segments share a switch with other paths untouched: another path owning the plain segment keeps it', () => {
    const plain = path('plain', { backup: false });
    let s = install(EMPTY, plain, 'h4');
    s = install(s, p, 'h4');
    s = uninstall(s, p, 'h4');
    expect(missingParts(on(plain, 'h4'), s, plain.cookie)).toEqual([]);
    expect(s.groups).toHaveLength(1);
  });

  test('swapOps: the root goes from the failover exit to a plain output in ONE bundle (no clone, no gap)', () => {
    const before = install(EMPTY, p, 'h1');
    const after = path('fo', { backup: false });
    after.hops[0] = { ...after.hops[0], outPort: 103 }; // the tree without h2: h1 -> h3
    const ops = swapOps(on(after, 'h1'), on(p, 'h1'), before, p.cookie);
    const s = applyOps(before, ops);
    const root = on(after, 'h1').segments[0];
    expect(s.groups).toEqual([{ id: root.groupId, type: 'all', buckets: [{ id: root.bucketId, actionsText: 'output:103' }] }]);
    expect(missingParts(on(after, 'h1'), s, p.cookie)).toEqual([]);
    // One bundle: the bucket goes in before the old one (and F) go out.
    const lines = bundleCommand('br1' as never, ops)!.stdin.trim().split('\n');
    expect(lines[0]).toMatch(/^group insert_bucket /);
    expect(lines.slice(-2).map((l) => l.split(' ').slice(0, 2).join(' '))).toEqual(['group remove_bucket', 'group delete']);
  });

  test('gcOps: takes back what the path owns but no longer plans, leaves its planned part and others alone', () => {
    const other = path('other', { backup: false });
    let s = install(EMPTY, p, 'h4'); // primary + join
    s = install(s, other, 'h4');
    const now = planSwitches({ ...p, backupHops: undefined, hops: p.hops.map(({ backup: _b, ...h }) => h) }).find((h) => h.hop.node === 'h4')!;
    const ops = gcOps(now, s, p.cookie);
    const after = applyOps(s, ops);
    expect(missingParts(now, after, p.cookie)).toEqual([]);
    expect(missingParts(on(other, 'h4'), after, other.cookie)).toEqual([]);
    // The join's group is gone, its shared flow by its cookie.
    expect(after.groups).toHaveLength(1);
    expect(ops.delCookies).toHaveLength(1);
    expect(isEmpty(gcOps(now, after, p.cookie))).toBe(true);
  });
});

describe('check: backups', () => {
  expectNoHostTouched();

  const args = (over: Record<string, unknown> = {}) => {
    const p = path('fo');
    const { cookie: _c, flows: _f, ...rest } = p;
    return { ...rest, ...over };
  };
  type R = { inputs?: FlowPathInputs; failures?: Array<{ property: string; reason: string }> };
  const check = async (news: Record<string, unknown>) => (await provider.check!({}, news)) as R;
  const failures = async (news: Record<string, unknown>) => {
    const r = await check(news);
    expect(r.inputs).toBeUndefined();
    return r.failures!;
  };

  test('valid: flows of every switch, backups included; down nodes kept sorted', async () => {
    const r = await check(args({ down: ['h9', 'h7', 'h9'] }));
    expect(r.failures ?? []).toEqual([]);
    expect(r.inputs!.flows.map((f) => f.node)).toEqual(['h1', 'h2', 'h4', 'h3']);
    expect(r.inputs!.down).toEqual(['h7', 'h9']);
    expect(r.inputs!.backupHops).toHaveLength(2);
  });

  test('a backup exit on the hop before the leaf (nothing to bypass) or equal to the primary', async () => {
    const a = args();
    (a.hops as Hop[])[1] = { ...(a.hops as Hop[])[1], backup: { outPort: 105 } };
    expect(await failures(a)).toContainEqual({ property: 'hops[1].backup', reason: expect.stringMatching(/sends to the leaf: only a hop before a relay/) });
    const b = args();
    (b.hops as Hop[])[0] = { ...(b.hops as Hop[])[0], backup: { outPort: 102 } };
    expect(await failures(b)).toContainEqual({ property: 'hops[0].backup.outPort', reason: expect.stringMatching(/is the primary outPort/) });
  });

  test('backup hops: from a hop without backup, through the relay, a join before the end, a transit without outPort, a route ending off the path', async () => {
    expect(await failures(args({ backupHops: [{ ...bhop(3, 101, 104), from: 1 }, bhop(4, 103)] }))).toContainEqual({ property: 'backupHops[0].from', reason: expect.stringMatching(/index of a hop with backup/) });
    expect(await failures(args({ backupHops: [bhop(2, 101, 104), bhop(4, 103)] }))).toContainEqual({ property: 'backupHops[0]', reason: expect.stringMatching(/at or before the relay h2/) });
    expect(await failures(args({ backupHops: [bhop(4, 103), bhop(3, 101, 104)] }))).toEqual(
      expect.arrayContaining([
        { property: 'backupHops[0]', reason: expect.stringMatching(/joins the path: it must be the last hop/) },
        { property: 'backupHops[1]', reason: expect.stringMatching(/ends at h3, off the path/) },
      ]),
    );
    expect(await failures(args({ backupHops: [bhop(3, 101), bhop(4, 103)] }))).toContainEqual({ property: 'backupHops[0].outPort', reason: expect.stringMatching(/transit hop/) });
    expect(await failures(args({ backupHops: [bhop(3, 101, 104), bhop(4, 103, 7)] }))).toContainEqual({ property: 'backupHops[1].outPort', reason: expect.stringMatching(/leave outPort out/) });
  });

  test('a backup exit with no route of its own is allowed (it shares another path exit)', async () => {
    const r = await check(args({ backupHops: undefined }));
    expect(r.failures ?? []).toEqual([]);
    expect(r.inputs!.flows[0].rules[0]).toMatch(/\[ff /);
  });

  test('a hop or backup hop on a node listed as down', async () => {
    expect(await failures(args({ down: ['h2'] }))).toContainEqual({ property: 'hops[1].node', reason: expect.stringMatching(/listed as down/) });
    expect(await failures(args({ down: ['h3'] }))).toContainEqual({ property: 'backupHops[0].node', reason: expect.stringMatching(/listed as down/) });
  });

  test('diff: backup changes are changes, `down` alone is not', async () => {
    const olds = { ...(await check(args())).inputs!, missing: [], providerVersion: require('../../../providers/common/version').PROVIDER_VERSION };
    const same = await provider.diff!('id', olds, (await check(args({ down: ['h9'] }))).inputs!);
    expect(same.changes).toBe(false);
    const other = await provider.diff!('id', olds, (await check(args({ backupHops: [bhop(3, 101, 104), bhop(4, 103)].map((b, i) => (i === 0 ? { ...b, inPort: 111 } : b)) }))).inputs!);
    expect(other.changes).toBe(true);
  });
});
