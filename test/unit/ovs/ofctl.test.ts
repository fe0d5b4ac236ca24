import { RemoteCommandError, ValidationError } from '../../../providers/exec/errors';
import { Flow, act } from '../../../providers/ovs/flow';
import {
  OFCTL_TIMEOUT_MS,
  addFlowsBundle,
  addGroup,
  applyBundle,
  bundleCommand,
  bundleStep,
  delFlowsByCookie,
  deleteGroup,
  dumpFlowStats,
  dumpFlows,
  dumpGroups,
  dumpFlowsStep,
  dumpGroupsStep,
  flowDrift,
  isStateConflict,
  parseStepOutput,
  insertBuckets,
  parseDumpFlows,
  parseDumpGroups,
  removeBuckets,
} from '../../../providers/ovs/ofctl';
import { BridgeName, BucketId, GroupId, OfPort, UdpPort, parseCookie, parseIpv4 } from '../../../providers/ovs/values';
import { callsOf, scriptedRunner } from '../../support/runners';

const br1 = 'br1' as BridgeName;
const c1 = parseCookie('0x1');
const c2 = parseCookie('0x2');
const opts = { timeoutMs: OFCTL_TIMEOUT_MS };

const fA: Flow = {
  priority: 100,
  cookie: c1,
  match: { inPort: 3 as OfPort, dlType: 'ip', nwProto: 17, nwDst: parseIpv4('10.0.0.1'), udpDst: 5004 as UdpPort },
  actions: [act.setEthDst('02:00:00:00:00:01'), act.output(2)],
};
const fB: Flow = { table: 1, priority: 10, cookie: c2, match: { inPort: 2 as OfPort }, actions: [act.group(5)] };
const A_TEXT = 'table=0,priority=100,cookie=0x1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004,actions=set_field:02:00:00:00:00:01->eth_dst,output:2';
const A_IDENT = 'table=0,priority=100,cookie=0x1/-1,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004';

// Captured from OVS 3.1 (ovs-ofctl -O OpenFlow15 --no-names dump-flows br1 [--no-stats]).
const DUMP_NO_STATS = [
  ' cookie=0x1, priority=100,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004 actions=set_field:02:00:00:00:00:01->eth_dst,output:2',
  ' cookie=0x2, table=1, priority=10,in_port=2 actions=group:5',
  ' cookie=0x9, table=2, idle_timeout=5, priority=65535,in_port=11 actions=drop',
  ' cookie=0x9, table=2, in_port=10 actions=drop',
  ' cookie=0x9, table=2, actions=drop',
  ' priority=0 actions=drop',
  ' cookie=0x3, table=1, priority=0 actions=IN_PORT,LOCAL',
  '',
].join('\n');
const DUMP_STATS = [
  'OFPST_FLOW reply (OF1.5) (xid=0x2):',
  ' cookie=0x1, duration=12.015s, table=0, n_packets=42, n_bytes=5208, idle_age=0, priority=100,udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004 actions=set_field:02:00:00:00:00:01->eth_dst,output:2',
  ' cookie=0x9, duration=0.094s, table=2, n_packets=0, n_bytes=0, idle_timeout=5, idle_age=0, priority=65535,in_port=11 actions=drop',
  ' cookie=0x9, duration=0.125s, table=2, n_packets=0, n_bytes=0, idle_age=0, actions=drop',
  '',
].join('\n');
const DUMP_GROUPS = [
  'OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):',
  ' group_id=7,type=ff,bucket=bucket_id:1,watch_port:20,actions=output:20,bucket=bucket_id:2,watch_port:10,actions=output:10',
  ' group_id=5,type=all,bucket=bucket_id:1,actions=output:10,bucket=bucket_id:7,actions=LOCAL',
  ' group_id=6,type=all',
  ' group_id=13,type=all,bucket=bucket_id:0,actions=set_field:10.0.0.9->ip_dst,output:20,bucket=bucket_id:4294967040,actions=group:10',
  '',
].join('\n');

describe('parsers', () => {
  test('dump-flows --no-stats, with OVS defaults restored', () => {
    expect(parseDumpFlows(DUMP_NO_STATS)).toEqual([
      { table: 0, priority: 100, cookie: '0x1', matchText: 'udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004', actionsText: 'set_field:02:00:00:00:00:01->eth_dst,output:2' },
      { table: 1, priority: 10, cookie: '0x2', matchText: 'in_port=2', actionsText: 'group:5' },
      { table: 2, priority: 65535, cookie: '0x9', matchText: 'in_port=11', actionsText: 'drop' },
      { table: 2, priority: 32768, cookie: '0x9', matchText: 'in_port=10', actionsText: 'drop' },
      { table: 2, priority: 32768, cookie: '0x9', matchText: '', actionsText: 'drop' },
      { table: 0, priority: 0, cookie: '0x0', matchText: '', actionsText: 'drop' },
      { table: 1, priority: 0, cookie: '0x3', matchText: '', actionsText: 'IN_PORT,LOCAL' },
    ]);
  });
  test('dump-flows with stats', async () => {
    const r = scriptedRunner({ stdout: DUMP_STATS });
    expect(await dumpFlowStats(r, br1)).toEqual([
      expect.objectContaining({ cookie: '0x1', priority: 100, nPackets: 42, nBytes: 5208, durationSec: 12.015 }),
      expect.objectContaining({ table: 2, priority: 65535, nPackets: 0, durationSec: 0.094 }),
      expect.objectContaining({ table: 2, priority: 32768, matchText: '', actionsText: 'drop' }),
    ]);
    expect(r.calls).toEqual([{ argv: ['ovs-ofctl', '-O', 'OpenFlow15', '--no-names', 'dump-flows', 'br1'], options: opts }]);
  });
  test('dump-groups', () => {
    expect(parseDumpGroups(DUMP_GROUPS)).toEqual([
      {
        id: 7,
        type: 'ff',
        buckets: [
          { id: 1, watchPort: 20, actionsText: 'output:20' },
          { id: 2, watchPort: 10, actionsText: 'output:10' },
        ],
      },
      { id: 5, type: 'all', buckets: [{ id: 1, actionsText: 'output:10' }, { id: 7, actionsText: 'LOCAL' }] },
      { id: 6, type: 'all', buckets: [] },
      {
        id: 13,
        type: 'all',
        buckets: [
          { id: 0, actionsText: 'set_field:10.0.0.9->ip_dst,output:20' },
          { id: 4294967040, actionsText: 'group:10' },
        ],
      },
    ]);
  });
  test('garbage becomes a RemoteCommandError carrying the command and output', async () => {
    const r = scriptedRunner({ stdout: ' cookie=0x1, priority=1,udp in_port=3 actions=drop\n' });
    const err = await dumpFlows(r, br1).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain('dump-flows br1');
    expect(err.message).toContain('cannot parse ovs-ofctl output line');
    expect(err.stdout).toContain('udp in_port=3');
    await expect(dumpFlows(scriptedRunner({ stdout: ' cookie=0x1, priority=1\n' }), br1)).rejects.toThrow('no "actions="');
    await expect(dumpGroups(scriptedRunner({ stdout: ' group_id=5,type=all,bucket=actions=drop\n' }), br1)).rejects.toThrow('bucket_id');
  });
});

describe('executors: exact argv and stdin', () => {
  test('addFlowsBundle: ONE --bundle add-flows with flows on stdin', async () => {
    const r = scriptedRunner();
    await addFlowsBundle(r, br1, [fA, fB]);
    expect(callsOf(r)).toEqual([
      {
        argv: ['ovs-ofctl', '-O', 'OpenFlow15', '--bundle', 'add-flows', 'br1', '-'],
        options: { stdin: `${A_TEXT}\ntable=1,priority=10,cookie=0x2,in_port=2,actions=group:5\n`, timeoutMs: OFCTL_TIMEOUT_MS },
      },
    ]);
  });
  test('addFlowsBundle of nothing runs nothing; bad flows never reach the runner', async () => {
    const r = scriptedRunner();
    await addFlowsBundle(r, br1, []);
    await expect(addFlowsBundle(r, br1, [fA, { ...fB, priority: -1 }])).rejects.toThrow('flows[1].priority');
    await expect(addFlowsBundle(r, 'br1;x' as BridgeName, [fA])).rejects.toThrow(ValidationError);
    expect(r.calls).toEqual([]);
  });
  test('applyBundle with flows only: prefixed lines, deletes before adds', async () => {
    const r = scriptedRunner();
    await applyBundle(r, br1, { add: [fB], delStrict: [fA], modify: [fA], delCookies: [c2] });
    expect(callsOf(r)).toEqual([
      {
        argv: ['ovs-ofctl', '-O', 'OpenFlow15', '--bundle', 'add-flows', 'br1', '-'],
        options: {
          stdin: [
            'delete cookie=0x2/-1',
            `delete_strict ${A_IDENT}`,
            `modify_strict ${A_IDENT},actions=set_field:02:00:00:00:00:01->eth_dst,output:2`,
            'add table=1,priority=10,cookie=0x2,in_port=2,actions=group:5',
            '',
          ].join('\n'),
          timeoutMs: OFCTL_TIMEOUT_MS,
        },
      },
    ]);
  });
  test('applyBundle with groups: `ovs-ofctl bundle`, groups before flows, removals after', () => {
    expect(
      bundleCommand(br1, {
        add: [fB],
        delStrict: [fA],
        addGroups: [{ id: 5 as GroupId, type: 'all', buckets: [] }],
        insertBuckets: [{ groupId: 5 as GroupId, type: 'all', buckets: [{ id: 1 as BucketId, actions: [act.output(10)] }] }],
        removeBuckets: [{ groupId: 5 as GroupId, bucketId: 0 as BucketId }],
        delGroups: [9 as GroupId],
      }),
    ).toEqual({
      argv: ['bundle', 'br1', '-'],
      stdin: [
        'group add group_id=5,type=all',
        'group insert_bucket group_id=5,command_bucket_id=last,bucket=bucket_id:1,actions=output:10',
        `flow delete_strict ${A_IDENT}`,
        'flow add table=1,priority=10,cookie=0x2,in_port=2,actions=group:5',
        'group remove_bucket group_id=5,command_bucket_id=0',
        'group delete group_id=9',
        '',
      ].join('\n'),
    });
  });
  test('applyBundle of nothing runs nothing', async () => {
    const r = scriptedRunner();
    await applyBundle(r, br1, {});
    await applyBundle(r, br1, { add: [], delStrict: [] });
    expect(r.calls).toEqual([]);
    expect(() => bundleCommand(br1, { delCookies: [parseCookie(0)] })).toThrow('delCookies[0]');
  });
  test('delFlowsByCookie refuses 0 and all-ones', async () => {
    const r = scriptedRunner();
    await delFlowsByCookie(r, br1, parseCookie(0xabc));
    expect(r.calls).toEqual([{ argv: ['ovs-ofctl', '-O', 'OpenFlow15', 'del-flows', 'br1', 'cookie=0xabc/-1'], options: opts }]);
    await expect(delFlowsByCookie(r, br1, parseCookie(0))).rejects.toThrow('unowned');
    await expect(delFlowsByCookie(r, br1, parseCookie('0xffffffffffffffff'))).rejects.toThrow(ValidationError);
    expect(r.calls).toHaveLength(1);
  });
  test('dumpFlows filters', async () => {
    const r = scriptedRunner({ stdout: DUMP_NO_STATS }, { stdout: '' }, { stdout: '' }, { stdout: '' });
    expect(await dumpFlows(r, br1)).toHaveLength(7);
    expect(await dumpFlows(r, br1, { cookie: c1 })).toEqual([]);
    expect(await dumpFlows(r, br1, c1)).toEqual([]);
    await dumpFlows(r, br1, { cookie: c2, table: 1 });
    expect(r.calls.map((c) => c.argv)).toEqual([
      ['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', '--no-names', 'dump-flows', 'br1'],
      ['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', '--no-names', 'dump-flows', 'br1', 'cookie=0x1/-1'],
      ['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', '--no-names', 'dump-flows', 'br1', 'cookie=0x1/-1'],
      ['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', '--no-names', 'dump-flows', 'br1', 'table=1,cookie=0x2/-1'],
    ]);
  });
  test('group executors', async () => {
    const r = scriptedRunner({}, {}, {}, {}, { stdout: DUMP_GROUPS });
    await addGroup(r, br1, { id: 5 as GroupId, type: 'all', buckets: [{ id: 1 as BucketId, actions: [act.output(10)] }] });
    await insertBuckets(r, br1, { groupId: 5 as GroupId, type: 'all', buckets: [{ id: 2 as BucketId, actions: [act.output(11)] }] });
    await removeBuckets(r, br1, 5 as GroupId, [1 as BucketId, 2 as BucketId]);
    await deleteGroup(r, br1, 5 as GroupId);
    expect((await dumpGroups(r, br1, 5 as GroupId)).map((g) => g.id)).toEqual([7, 5, 6, 13]);
    await removeBuckets(r, br1, 5 as GroupId, []);
    const O = ['ovs-ofctl', '-O', 'OpenFlow15'];
    expect(callsOf(r)).toEqual([
      { argv: [...O, 'add-group', 'br1', 'group_id=5,type=all,bucket=bucket_id:1,actions=output:10'], options: opts },
      { argv: [...O, 'insert-buckets', 'br1', 'group_id=5,command_bucket_id=last,bucket=bucket_id:2,actions=output:11'], options: opts },
      {
        argv: [...O, '--bundle', 'remove-buckets', 'br1', '-'],
        options: { stdin: 'group_id=5,command_bucket_id=1\ngroup_id=5,command_bucket_id=2\n', timeoutMs: OFCTL_TIMEOUT_MS },
      },
      { argv: [...O, 'del-groups', 'br1', 'group_id=5'], options: opts },
      { argv: [...O, '--no-names', 'dump-groups', 'br1', '5'], options: opts },
    ]);
  });
  test('runner errors propagate unchanged', async () => {
    const r = scriptedRunner({ exitCode: 1, stderr: 'ovs-ofctl: br1 is not a bridge or a socket' });
    const err = await dumpFlows(r, br1).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.exitCode).toBe(1);
  });
});

describe('batch steps (one round trip: exec runBatch)', () => {
  test('the same argv and stdin as the executors; a bundle of nothing is no step', () => {
    expect(dumpGroupsStep(br1)).toEqual({ argv: ['ovs-ofctl', '-O', 'OpenFlow15', '--no-names', 'dump-groups', 'br1'] });
    expect(dumpFlowsStep(br1)).toEqual({ argv: ['ovs-ofctl', '-O', 'OpenFlow15', '--no-stats', '--no-names', 'dump-flows', 'br1'] });
    expect(dumpFlowsStep(br1, { table: 250, cookie: c2 }).argv.at(-1)).toBe('table=250,cookie=0x2/-1');
    const cmd = bundleCommand(br1, { add: [fB], delStrict: [fA] })!;
    expect(bundleStep(br1, { add: [fB], delStrict: [fA] })).toEqual({ argv: ['ovs-ofctl', '-O', 'OpenFlow15', ...cmd.argv], stdin: cmd.stdin });
    expect(bundleStep(br1, { add: [fB] }, [0, 1])?.okExitCodes).toEqual([0, 1]);
    expect(bundleStep(br1, {})).toBeUndefined();
    expect(() => dumpGroupsStep('br1;x' as BridgeName)).toThrow(ValidationError);
  });
  test('parseStepOutput: output the parser does not understand names the step', () => {
    const step = dumpGroupsStep(br1);
    expect(parseStepOutput('h1', step, { stdout: ' group_id=5,type=all,bucket=bucket_id:1,actions=output:2\n', stderr: '', exitCode: 0 }, parseDumpGroups)).toEqual([
      { id: 5, type: 'all', buckets: [{ id: 1, actionsText: 'output:2' }] },
    ]);
    const bad = () => parseStepOutput('h1', step, { stdout: ' what\n', stderr: '', exitCode: 0 }, parseDumpGroups);
    expect(bad).toThrow(RemoteCommandError);
    expect(bad).toThrow(/dump-groups/);
  });
  test('isStateConflict: a bundle refused for the state it met, not for its own content', () => {
    expect(isStateConflict('OFPT_ERROR (OF1.5) (xid=0x2): OFPGMFC_GROUP_EXISTS')).toBe(true);
    expect(isStateConflict('OFPGMFC_UNKNOWN_GROUP')).toBe(true);
    expect(isStateConflict('OFPGMFC_BUCKET_EXISTS')).toBe(true);
    expect(isStateConflict('OFPBAC_BAD_OUT_GROUP')).toBe(true);
    expect(isStateConflict('OFPBAC_BAD_OUT_PORT')).toBe(false);
    expect(isStateConflict('br1 is not a bridge or a socket')).toBe(false);
  });
});

describe('flowDrift', () => {
  test('missing, changed and extra flows, compared as OVS prints them', () => {
    const dumped = parseDumpFlows(DUMP_NO_STATS);
    const fC: Flow = { table: 1, priority: 0, cookie: parseCookie(3), match: {}, actions: [act.inPort(), act.output('LOCAL')] };
    const fBchanged: Flow = { ...fB, actions: [act.group(6)] };
    const fMissing: Flow = { ...fA, priority: 99 };
    const drift = flowDrift([fA, fBchanged, fC, fMissing], dumped);
    expect(drift.missing).toEqual([fMissing]);
    expect(drift.changed).toEqual([{ desired: fBchanged, actual: dumped[1] }]);
    expect(drift.extra.map((d) => `${d.cookie} ${d.table} ${d.priority} ${d.matchText}`)).toEqual([
      '0x9 2 65535 in_port=11',
      '0x9 2 32768 in_port=10',
      '0x9 2 32768 ',
      '0x0 0 0 ',
    ]);
  });
});
