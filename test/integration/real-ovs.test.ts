/**
 * Round-trips the OVS command layer through a real, throwaway Open vSwitch 3.1: its own
 * ovsdb-server + ovs-vswitchd in a temp dir (OVS_RUNDIR/OVS_DBDIR/OVS_LOGDIR/OVS_SYSCONFDIR =
 * that dir, default pidfile names so ovs-appctl finds the daemon), userspace `netdev` bridges,
 * only internal/patch/gre ports: no physical interface is ever touched.
 *
 * ovs-vswitchd runs under `unshare --net` (an anonymous network namespace that disappears with
 * it) because every netdev-datapath instance creates a tap named `ovs-netdev` (and one per
 * bridge) in its namespace: two instances in one namespace collide ("creating tap device
 * failed: Device or resource busy"). Clients reach it over unix sockets from here. Where
 * unshare is not permitted the daemon runs in the current namespace instead.
 *
 * Missing OVS binaries FAIL this test with what to install; it never skips. The daemons it
 * started are stopped by the PIDs in their pidfiles, nothing else.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { RemoteCommandError, ToolMissingError } from '../../providers/exec/errors';
import { BatchStepError, LocalRunner, runBatch } from '../../providers/exec';
import {
  BridgeName,
  BucketId,
  Flow,
  GroupId,
  InterfaceName,
  Ipv4,
  Mac,
  OfPort,
  OfPortNumber,
  UdpPort,
  VPM_PROTOCOLS,
  VsctlTxn,
  absentOrOwnedStep,
  noForeignRowsStep,
  act,
  addRuleByNameStep,
  delCookieStep,
  dumpRulesStep,
  hostReadStep,
  macInUseStep,
  matchField,
  parseDumpFlows,
  parseHostRead,
  parseMacInUse,
  physicalGuardStep,
  actionsToOfctl,
  addFlowsBundle,
  addGroup,
  applyBundle,
  bfdShow,
  bridgeInfo,
  delFlowsByCookie,
  deleteGroup,
  dumpFlowStats,
  dumpFlows,
  dumpGroups,
  flowDrift,
  flowToOfctl,
  groupToOfctl,
  insertBuckets,
  interfaceInfo,
  listBridges,
  matchToOfctl,
  parseCookie,
  portInfo,
  removeBuckets,
  tnlNeighSet,
  tnlNeighShow,
} from '../../providers/ovs';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const TOOLS = ['ovsdb-tool', 'ovsdb-server', 'ovs-vswitchd', 'ovs-vsctl', 'ovs-ofctl', 'ovs-appctl'];
const PATH = [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']
  .filter((p, i, all) => p && all.indexOf(p) === i)
  .join(':');
const INSTALL = 'install openvswitch-switch (Debian/Ubuntu: apt-get install -y openvswitch-switch), version 3.1 or later';

function findTool(name: string): string | undefined {
  for (const dir of PATH.split(':')) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

let dir = '';
let env: NodeJS.ProcessEnv = {};
let runner: LocalRunner;

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) {
    throw new RemoteCommandError('local-test-ovs', argv, r.status, `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`, r.stdout ?? '');
  }
}

function readPid(name: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, `${name}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie (PID 1 here reaps orphans only every ~2 s). */
function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function stopDaemon(name: string): Promise<void> {
  const pid = readPid(name);
  if (pid === undefined || !running(pid)) return;
  // Only our own daemon: the pidfile is in our temp dir and the process is that program.
  const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  if (!cmdline.includes(name)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 60 && running(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (running(pid)) process.kill(pid, 'SIGKILL');
}

const suffix = Math.floor(Math.random() * 0xffff).toString(16).padStart(4, '0');
const BR0 = `vt0-${suffix}` as BridgeName;
const BR1 = `vt1-${suffix}` as BridgeName;
const P10 = `p10-${suffix}` as InterfaceName; // on BR1, peer P01
const P01 = `p01-${suffix}` as InterfaceName; // on BR0
const GRE_A = `gra-${suffix}` as InterfaceName;
const GRE_B = `grb-${suffix}` as InterfaceName;

beforeAll(async () => {
  for (const t of TOOLS) {
    if (!findTool(t)) throw new ToolMissingError(t, 'this machine (PATH and sbin dirs)', INSTALL);
  }
  if (!fs.existsSync(SCHEMA)) throw new ToolMissingError('vswitch.ovsschema', SCHEMA, INSTALL);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-ovs-'));
  env = { ...process.env, PATH, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
  // The product's local runner (no shell), with env pointing at the temp OVS.
  runner = new LocalRunner({ host: 'local-test-ovs', env });
  sh(['ovsdb-tool', 'create', path.join(dir, 'conf.db'), SCHEMA]);
  sh(['ovsdb-server', `--remote=punix:${path.join(dir, 'db.sock')}`, '--pidfile', '--log-file', '--detach', path.join(dir, 'conf.db')]);
  sh(['ovs-vsctl', '--no-wait', 'init']);
  const vswitchd = ['ovs-vswitchd', `unix:${path.join(dir, 'db.sock')}`, '--disable-system', '--pidfile', '--log-file', '--detach'];
  const isolatedNetns = spawnSync('unshare', ['--net', 'true'], { env, timeout: 5000 }).status === 0;
  sh(isolatedNetns ? ['unshare', '--net', ...vswitchd] : vswitchd);
}, 20_000);

afterAll(async () => {
  if (!dir) return;
  // Delete the bridges first: netdev taps are persistent and would outlive ovs-vswitchd
  // (matters when it ran in the current namespace; harmless inside the unshared one).
  const vs = readPid('ovs-vswitchd');
  if (vs !== undefined && running(vs)) {
    const bridges = await listBridges(runner).catch(() => [] as BridgeName[]);
    if (bridges.length) {
      await runner
        .run(['ovs-vsctl', '--timeout=5', ...bridges.flatMap((b) => ['--', '--if-exists', 'del-br', b])])
        .catch(() => undefined);
    }
  }
  await stopDaemon('ovs-vswitchd');
  await stopDaemon('ovsdb-server');
  fs.rmSync(dir, { recursive: true, force: true });
}, 10_000);

describe('real OVS 3.1: vsctl', () => {
  test('one transaction builds br0 + br1 with patch pair and GRE ports; JSON reads decode it', async () => {
    await new VsctlTxn()
      .addBridge(BR0, { mayExist: true, datapathType: 'netdev' })
      .addBridge(BR1, {
        mayExist: true,
        datapathType: 'netdev',
        failMode: 'secure',
        protocols: VPM_PROTOCOLS,
        externalIds: { 'vpm-owner': 'urn:pulumi:dev::vpm::OvsBridge::hv1', odd: 'a "quoted", b=c \\ d é' },
        otherConfig: { 'datapath-id': '00000000000000a1' },
      })
      .addPort(BR1, P10, { type: 'patch', peer: P01 }, { mayExist: true, ofportRequest: 10 as OfPortNumber })
      .addPort(BR0, P01, { type: 'patch', peer: P10 }, { mayExist: true })
      .addPort(BR1, GRE_A, { type: 'gre', remoteIp: '192.168.1.2' as Ipv4, key: 5, bfd: { minTxMs: 500, minRxMs: 500 } }, {
        mayExist: true,
        ofportRequest: 20 as OfPortNumber,
        externalIds: { 'vpm-owner': 'tunnel-a' },
      })
      .addPort(BR1, GRE_B, { type: 'gre', remoteIp: '192.168.1.3' as Ipv4 }, { mayExist: true, ofportRequest: 21 as OfPortNumber })
      .run(runner);

    expect((await listBridges(runner)).sort()).toEqual([BR0, BR1].sort());
    const b1 = await bridgeInfo(runner, BR1);
    expect(b1).toEqual({
      uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: BR1,
      datapathId: '00000000000000a1',
      datapathType: 'netdev',
      failMode: 'secure',
      protocols: ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'],
      externalIds: { 'vpm-owner': 'urn:pulumi:dev::vpm::OvsBridge::hv1', odd: 'a "quoted", b=c \\ d é' },
      otherConfig: { 'datapath-id': '00000000000000a1' },
    });
    expect((await bridgeInfo(runner, BR0))?.failMode).toBeUndefined();
    expect(await bridgeInfo(runner, 'nosuch' as BridgeName)).toBeUndefined();

    const gre = await portInfo(runner, GRE_A);
    expect(gre).toEqual(
      expect.objectContaining({
        name: GRE_A,
        bridge: BR1,
        type: 'gre',
        options: { key: '5', remote_ip: '192.168.1.2' },
        ofport: 20,
        externalIds: { 'vpm-owner': 'tunnel-a' },
      }),
    );
    expect(gre?.interface?.bfd).toEqual({ enable: 'true', min_rx: '500', min_tx: '500' });
    expect(gre?.interface?.bfdStatus.state).toBeDefined();
    const patch = await interfaceInfo(runner, P01);
    expect(patch).toEqual(expect.objectContaining({ name: P01, type: 'patch', options: { peer: P10 }, externalIds: {} }));
    expect(patch?.ofport).toBeGreaterThan(0);
    expect((await portInfo(runner, P10))?.ofport).toBe(10);
    expect(await portInfo(runner, 'nosuch' as InterfaceName)).toBeUndefined();
    expect(await interfaceInfo(runner, 'nosuch' as InterfaceName)).toBeUndefined();
  });

  test('re-running with --may-exist converges: whole-map options drop stale keys, bfd={} clears BFD', async () => {
    await new VsctlTxn()
      .addPort(BR1, GRE_A, { type: 'gre', remoteIp: '192.168.1.9' as Ipv4 }, { mayExist: true, ofportRequest: 20 as OfPortNumber })
      .run(runner);
    const gre = await interfaceInfo(runner, GRE_A);
    expect(gre?.options).toEqual({ remote_ip: '192.168.1.9' });
    expect(gre?.bfd).toEqual({});
    expect(gre?.ofport).toBe(20);
    // Port external_ids are per key: the earlier owner key is still there.
    expect((await portInfo(runner, GRE_A))?.externalIds).toEqual({ 'vpm-owner': 'tunnel-a' });
  });

  test('batch guards print exactly what vsctl.ts documents; reads and the by-name static rule in one batch', async () => {
    const OWNER = 'urn:pulumi:dev::vpm::OvsBridge::hv1';
    // A guard's stdout when it passes, or "refused:<exit>" when it stops the batch.
    const guard = (step: ReturnType<typeof absentOrOwnedStep>) =>
      runBatch(runner, [step]).then(
        (r) => r[0].stdout,
        (e: unknown) => (e instanceof BatchStepError ? `refused:${e.exitCode}` : Promise.reject(e)),
      );
    expect(await guard(absentOrOwnedStep('Bridge', BR1, 'vpm-owner', OWNER))).toBe(`${BR1}\n\n${BR1}`);
    expect(await guard(absentOrOwnedStep('Bridge', BR1, 'vpm-owner', 'someone else'))).toBe('refused:86');
    expect(await guard(absentOrOwnedStep('Bridge', 'nosuch', 'vpm-owner', OWNER))).toBe('');
    expect(await guard(absentOrOwnedStep('Port', GRE_A, 'vpm-owner', 'tunnel-a'))).toBe(`${GRE_A}\n\n${GRE_A}`);
    expect(await guard(absentOrOwnedStep('Port', GRE_B, 'vpm-owner', 'tunnel-a'))).toBe('refused:86'); // no mark at all
    // Several rows in one run: passes (only newlines) while each is absent or ours, else names the row.
    const rows = (...r: Array<['Bridge' | 'Port', string]>) => r.map(([table, name]) => ({ table, name }));
    expect(await guard(noForeignRowsStep(rows(['Bridge', BR1], ['Bridge', 'nosuch'], ['Port', 'nosuch']), 'vpm-owner', OWNER))).toMatch(/^\n*$/);
    expect(await guard(noForeignRowsStep(rows(['Bridge', 'nosuch'], ['Bridge', BR1]), 'vpm-owner', 'someone else'))).toBe('refused:86');
    expect(await guard(noForeignRowsStep(rows(['Port', GRE_A], ['Port', GRE_B]), 'vpm-owner', 'tunnel-a'))).toBe('refused:86'); // GRE_B: no mark
    expect(await guard(noForeignRowsStep(rows(['Port', GRE_A]), 'vpm-owner', 'tunnel-a'))).toMatch(/^\n*$/);
    expect(await guard(physicalGuardStep(BR1, P10))).toBe(`${BR1}\n${P10}`);
    expect(await guard(physicalGuardStep(BR0, P10))).toBe('refused:86'); // P10 is on BR1
    expect(await guard(physicalGuardStep('nosuch' as BridgeName, P10))).toBe('refused:2');
    expect(await guard(physicalGuardStep(BR1, 'nosuch' as InterfaceName))).toBe('refused:1');

    const cookie = parseCookie('0x5600000000000b0b');
    const req = { bridges: [BR1, 'nosuch' as BridgeName], ports: [P10, 'nosuch' as InterfaceName] };
    const dump = dumpRulesStep(BR0, cookie);
    const [read, , rules, mac] = await runBatch(runner, [
      hostReadStep(req),
      addRuleByNameStep(BR0, { priority: 1000, cookie, from: P01, to: BR0 as string as InterfaceName }),
      dump,
      macInUseStep(BR0),
    ]);
    const seen = parseHostRead(runner.host, req, read);
    expect(seen.bridges.get(BR1)?.externalIds['vpm-owner']).toBe(OWNER);
    expect(seen.bridges.get('nosuch')).toBeUndefined();
    expect(seen.ports.get(P10)).toMatchObject({ bridge: BR1, ofport: 10 });
    expect(seen.ports.get('nosuch')).toBeUndefined();
    const flows = parseDumpFlows(rules.stdout);
    expect(flows.map((f) => [matchField(f, 'in_port'), f.actionsText])).toEqual([[String((await portInfo(runner, P01))?.ofport), 'LOCAL']]);
    expect(parseMacInUse(mac.stdout)).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    await runBatch(runner, [delCookieStep(BR0, cookie)]);
    expect(parseDumpFlows((await runBatch(runner, [dump]))[0].stdout)).toEqual([]);
  });

  test('external_ids set/remove per key, and if-exists deletes are idempotent', async () => {
    await new VsctlTxn()
      .setExternalIds('Port', GRE_B, { 'vpm:path:x': 'v=1,2', other: '' })
      .setExternalIds('Open_vSwitch', '.', { 'vpm-host': 'hv1' })
      .run(runner);
    expect((await portInfo(runner, GRE_B))?.externalIds).toEqual({ 'vpm:path:x': 'v=1,2', other: '' });
    await new VsctlTxn().removeExternalIds('Port', GRE_B, ['vpm:path:x', 'absent']).run(runner);
    expect((await portInfo(runner, GRE_B))?.externalIds).toEqual({ other: '' });
    const gone = new VsctlTxn()
      .delPort('tmp-none' as InterfaceName, { ifExists: true })
      .delBridge('nosuch' as BridgeName, { ifExists: true });
    await gone.run(runner);
    await gone.run(runner);
    await expect(new VsctlTxn().delPort('tmp-none' as InterfaceName).run(runner)).rejects.toBeInstanceOf(RemoteCommandError);
  });
});

const cookieA = parseCookie('0xa1');
const cookieB = parseCookie('0xb2');
const ip = (s: string) => s as Ipv4;
const port = (n: number) => n as OfPort;

/** A flow of every shape the serializer emits. */
const FLOWS_A: Flow[] = [
  {
    priority: 100,
    cookie: cookieA,
    match: { inPort: port(20), dlType: 'ip', nwProto: 17, nwDst: ip('10.0.0.1'), udpDst: 5004 as UdpPort },
    actions: [act.setEthDst('02:00:00:00:00:01'), act.output(10)],
  },
  {
    table: 3,
    priority: 65535,
    cookie: cookieA,
    match: {
      inPort: 'LOCAL',
      dlType: 'ip',
      nwProto: 17,
      dlSrc: '02:00:00:00:00:AA' as Mac,
      dlDst: '01:00:5e:01:02:03' as Mac,
      nwSrc: ip('10.1.0.2'),
      nwDst: ip('224.1.2.3'),
      udpSrc: 1000 as UdpPort,
      udpDst: 5004 as UdpPort,
    },
    actions: [act.setIpDst('192.168.1.255'), act.setEthDst('ff:ff:ff:ff:ff:ff'), act.setIpSrc('10.9.9.9'), act.setEthSrc('02:00:00:00:00:02'), act.output(10)],
  },
  { table: 1, priority: 0, cookie: cookieA, match: {}, actions: [act.drop()] },
  { priority: 50, cookie: cookieA, match: { dlType: 'arp', inPort: port(10) }, actions: [act.inPort(), act.output('LOCAL')] },
  { priority: 40, cookie: cookieA, match: { dlType: 'ip', nwProto: 99, nwSrc: ip('10.0.0.2') }, actions: [act.output(21)] },
  { priority: 30, cookie: cookieA, match: { dlType: 0x88cc, dlDst: '01:80:c2:00:00:0e' as Mac }, actions: [act.drop()] },
  { priority: 20, cookie: cookieA, match: { dlType: 'ip', nwProto: 6 }, actions: [act.output(65279)] },
];

describe('real OVS 3.1: flows', () => {
  test('--bundle add-flows, then dump-flows prints back exactly the serializer text', async () => {
    await addFlowsBundle(runner, BR1, FLOWS_A);
    const dumped = await dumpFlows(runner, BR1, { cookie: cookieA });
    expect(dumped).toHaveLength(FLOWS_A.length);
    expect(flowDrift(FLOWS_A, dumped)).toEqual({ missing: [], changed: [], extra: [] });
    for (const f of FLOWS_A) {
      const d = dumped.find((x) => x.table === (f.table ?? 0) && x.priority === f.priority);
      expect(d).toEqual({ table: f.table ?? 0, priority: f.priority, cookie: '0xa1', matchText: matchToOfctl(f.match), actionsText: actionsToOfctl(f.actions) });
    }
  });

  test('applyBundle (flows only): delete_strict, modify_strict, add, delete by cookie in one bundle', async () => {
    const moved: Flow = { ...FLOWS_A[0], actions: [act.output(21)] };
    const extra: Flow = { priority: 7, cookie: cookieB, match: { inPort: port(21) }, actions: [act.output(20)] };
    // A strict delete carrying another owner's cookie must not touch A's flow.
    const foreignDel: Flow = { ...FLOWS_A[4], cookie: cookieB };
    await applyBundle(runner, BR1, { delStrict: [FLOWS_A[6], foreignDel], modify: [moved], add: [extra] });
    const a = await dumpFlows(runner, BR1, { cookie: cookieA });
    expect(flowDrift([moved, ...FLOWS_A.slice(1, 6)], a)).toEqual({ missing: [], changed: [], extra: [] });
    expect((await dumpFlows(runner, BR1, { cookie: cookieB })).map((d) => d.matchText)).toEqual(['in_port=21']);
    // Replace all of B's flows atomically: delete by cookie, then add.
    const extra2: Flow = { ...extra, priority: 8 };
    await applyBundle(runner, BR1, { delCookies: [cookieB], add: [extra2] });
    expect(flowDrift([extra2], await dumpFlows(runner, BR1, { cookie: cookieB }))).toEqual({ missing: [], changed: [], extra: [] });
    // The same flow deleted and re-added in one bundle ends up present (deletes run first).
    await applyBundle(runner, BR1, { delStrict: [extra2], add: [extra2] });
    expect(await dumpFlows(runner, BR1, { cookie: cookieB })).toHaveLength(1);
  });

  test('dumpFlowStats parses counters; table filter', async () => {
    const stats = await dumpFlowStats(runner, BR1, { cookie: cookieA, table: 3 });
    expect(stats).toEqual([expect.objectContaining({ table: 3, priority: 65535, nPackets: 0, nBytes: 0, durationSec: expect.any(Number) })]);
  });

  test('delFlowsByCookie removes exactly one owner', async () => {
    await delFlowsByCookie(runner, BR1, cookieB);
    await delFlowsByCookie(runner, BR1, cookieB); // already gone: still fine
    expect(await dumpFlows(runner, BR1, { cookie: cookieB })).toEqual([]);
    expect((await dumpFlows(runner, BR1, { cookie: cookieA })).length).toBe(6);
    await delFlowsByCookie(runner, BR1, cookieA);
    expect(await dumpFlows(runner, BR1)).toEqual([]);
  });

  test('quirk the serializer guards against: OVS silently drops tp_dst without udp', async () => {
    await runner.run(['ovs-ofctl', '-O', 'OpenFlow15', 'add-flow', BR1, 'table=0,priority=5,cookie=0x77,in_port=1,tp_dst=5004,actions=drop']);
    expect((await dumpFlows(runner, BR1, { cookie: parseCookie('0x77') })).map((d) => d.matchText)).toEqual(['in_port=1']);
    expect(() => flowToOfctl({ priority: 5, cookie: parseCookie('0x77'), match: { inPort: port(1), udpDst: 5004 as UdpPort }, actions: [act.drop()] }, 'add')).toThrow(
      'requires dlType',
    );
    await delFlowsByCookie(runner, BR1, parseCookie('0x77'));
  });
});

const g = (n: number) => n as GroupId;
const b = (n: number) => n as BucketId;

describe('real OVS 3.1: groups', () => {
  test('type=all: add, insert-buckets, remove-buckets, delete; dump prints the same text', async () => {
    const group = { id: g(5), type: 'all' as const, buckets: [{ id: b(1), actions: [act.output(10)] }, { id: b(2), actions: [act.setIpDst('10.0.0.9'), act.output(20)] }] };
    await addGroup(runner, BR1, group);
    await insertBuckets(runner, BR1, { groupId: g(5), type: 'all', buckets: [{ id: b(7), actions: [act.output('LOCAL')] }] });
    let [dumped] = await dumpGroups(runner, BR1, g(5));
    expect(dumped).toEqual({
      id: 5,
      type: 'all',
      buckets: [
        { id: 1, actionsText: 'output:10' },
        { id: 2, actionsText: 'set_field:10.0.0.9->ip_dst,output:20' },
        { id: 7, actionsText: 'LOCAL' },
      ],
    });
    await removeBuckets(runner, BR1, g(5), [b(2), b(1)]);
    [dumped] = await dumpGroups(runner, BR1, g(5));
    expect(dumped.buckets.map((x) => x.id)).toEqual([7]);
    // OVS refuses a duplicate bucket and an absent bucket: callers read first.
    await expect(insertBuckets(runner, BR1, { groupId: g(5), type: 'all', buckets: [{ id: b(7), actions: [act.output(10)] }] })).rejects.toBeInstanceOf(
      RemoteCommandError,
    );
    await expect(removeBuckets(runner, BR1, g(5), [b(99)])).rejects.toBeInstanceOf(RemoteCommandError);
    await deleteGroup(runner, BR1, g(5));
    await deleteGroup(runner, BR1, g(5)); // absent: fine
    expect(await dumpGroups(runner, BR1, g(5))).toEqual([]);
  });

  test('type=ff with watch_port round-trips', async () => {
    const ff = {
      id: g(7),
      type: 'ff' as const,
      buckets: [
        { id: b(0), watchPort: 20 as OfPortNumber, actions: [act.output(20)] },
        { id: b(1), watchPort: 21 as OfPortNumber, actions: [act.output(21)] },
      ],
    };
    await addGroup(runner, BR1, ff);
    const [dumped] = await dumpGroups(runner, BR1, g(7));
    const text = ` group_id=${dumped.id},type=${dumped.type},${dumped.buckets
      .map((x) => `bucket=bucket_id:${x.id},watch_port:${x.watchPort},actions=${x.actionsText}`)
      .join(',')}`;
    expect(text.trim()).toBe(groupToOfctl(ff));
    await deleteGroup(runner, BR1, g(7));
  });

  test('one `ovs-ofctl bundle` with groups and flows; a failing bundle changes nothing', async () => {
    const viaGroup: Flow = { priority: 100, cookie: cookieA, match: { inPort: port(20) }, actions: [act.group(10)] };
    await applyBundle(runner, BR1, {
      addGroups: [{ id: g(10), type: 'all', buckets: [] }],
      insertBuckets: [{ groupId: g(10), type: 'all', buckets: [{ id: b(1), actions: [act.output(10)] }] }],
      add: [viaGroup],
    });
    expect(flowDrift([viaGroup], await dumpFlows(runner, BR1, { cookie: cookieA }))).toEqual({ missing: [], changed: [], extra: [] });
    expect((await dumpGroups(runner, BR1, g(10)))[0].buckets).toEqual([{ id: 1, actionsText: 'output:10' }]);

    // Second owner joins the shared group and adds its flow; then the bundle fails on an absent group:
    const other: Flow = { priority: 90, cookie: cookieB, match: { inPort: port(21) }, actions: [act.group(10)] };
    await expect(
      applyBundle(runner, BR1, {
        insertBuckets: [
          { groupId: g(10), type: 'all', buckets: [{ id: b(2), actions: [act.output(21)] }] },
          { groupId: g(99), type: 'all', buckets: [{ id: b(1), actions: [act.output(21)] }] },
        ],
        add: [other],
      }),
    ).rejects.toBeInstanceOf(RemoteCommandError);
    expect((await dumpGroups(runner, BR1, g(10)))[0].buckets.map((x) => x.id)).toEqual([1]);
    expect(await dumpFlows(runner, BR1, { cookie: cookieB })).toEqual([]);

    // Last owner leaves: remove its flow and bucket, delete the group, in one bundle.
    await applyBundle(runner, BR1, { delCookies: [cookieA], removeBuckets: [{ groupId: g(10), bucketId: b(1) }], delGroups: [g(10)] });
    expect(await dumpGroups(runner, BR1)).toEqual([]);
    expect(await dumpFlows(runner, BR1)).toEqual([]);
  });

  test('a flow may not name an absent group (OFPBAC_BAD_OUT_GROUP): the bundle fails whole', async () => {
    const bad: Flow = { priority: 1, cookie: cookieA, match: {}, actions: [act.group(4242)] };
    const ok: Flow = { priority: 2, cookie: cookieA, match: {}, actions: [act.drop()] };
    await expect(addFlowsBundle(runner, BR1, [ok, bad])).rejects.toBeInstanceOf(RemoteCommandError);
    expect(await dumpFlows(runner, BR1)).toEqual([]);
  });
});

describe('real OVS 3.1: appctl', () => {
  test('tnl/neigh/set then show', async () => {
    await tnlNeighSet(runner, BR0, '192.168.1.2' as Ipv4, '02:00:00:00:00:0B' as Mac);
    expect(await tnlNeighShow(runner)).toContainEqual({ ip: '192.168.1.2', mac: '02:00:00:00:00:0b', bridge: BR0 });
  });

  test('bfd/show lists BFD interfaces; filtering by name', async () => {
    await new VsctlTxn()
      .addPort(BR1, GRE_B, { type: 'gre', remoteIp: '192.168.1.3' as Ipv4, bfd: { minTxMs: 100 } }, { mayExist: true })
      .run(runner);
    const all = await bfdShow(runner);
    expect(all.map((s) => s.interface)).toEqual([GRE_B]);
    const [s] = await bfdShow(runner, GRE_B);
    expect(s).toEqual(expect.objectContaining({ interface: GRE_B, forwarding: false, localState: 'down', remoteState: 'down' }));
    expect(await bfdShow(runner, GRE_A)).toEqual([]);
  });
});
