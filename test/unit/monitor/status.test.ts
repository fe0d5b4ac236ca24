/**
 * `vpm status` without hosts: the stack model built from a recorded `pulumi stack export` of
 * the lab stack (4 hypervisors, path h1 -> h2 -> h3 through the leaf VM), hosts answered by
 * RecordingRunners replaying what the lab's hosts printed, and the JSON report's shape.
 * Also: an unreachable host and a host that never answers are "offline" within the bound.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordingRunner } from '../../../providers/exec/recording';
import { ConnectionError } from '../../../providers/exec/errors';
import type { CommandRunner } from '../../../providers/exec/runner';
import { buildModel, connectionKey, type ModelHost } from '../../../monitor/model';
import { stackOutputsOf, type StateResource } from '../../../monitor/pulumi';
import { formatStatus, StatusCollector } from '../../../monitor/status';
import { parseVirshList, parseInterfaces, pathHopCounters, jobProgress } from '../../../monitor/parse';
import { parseDumpFlowStats } from '../../../providers/ovs/ofctl';
import { parseJobInfo } from '../../../providers/libvirt/jobinfo';
import { DUMP_GROUPS_BR1, plannedGroupsDump } from '../../support/groups-of-plan';

const FIX = path.join(__dirname, 'fixtures');
const resources = (JSON.parse(fs.readFileSync(path.join(FIX, 'lab-stack.json'), 'utf8')) as { resources: StateResource[] }).resources;
const hostsOut = JSON.parse(fs.readFileSync(path.join(FIX, 'lab-hosts.json'), 'utf8')) as Record<string, Record<string, string>>;
const jobs = JSON.parse(fs.readFileSync(path.join(FIX, 'domjobinfo-migration.json'), 'utf8')) as Record<string, string>;
const COOKIE = '0x562848dc363f9940';
const topology = {
  nodes: [
    { id: 'h1', role: 'root', host: 'h1' },
    { id: 'h2', role: 'relay', host: 'h2' },
    { id: 'h3', role: 'leaf', host: 'h3' },
    { id: 'h4', role: 'leaf', host: 'h4' },
  ],
};

function model() {
  return buildModel('mon-1', resources, stackOutputsOf(resources), topology);
}

/** A runner replaying the recorded host; /proc/stat advances by `busy` of every 100 ticks per call. */
function replay(host: string, busy = 30): RecordingRunner {
  let n = 0;
  return new RecordingRunner({
    host,
    handler: (call) => {
      const key = call.argv.join(' ');
      if (key === 'head -n1 /proc/stat') {
        n++;
        return { stdout: `cpu  ${1000 + n * busy} 0 0 ${5000 + n * (100 - busy)} 0 0 0 0 0 0\n` };
      }
      if (key === DUMP_GROUPS_BR1) return { stdout: plannedGroupsDump(model(), host) };
      const out = hostsOut[host]?.[key];
      if (out === undefined) return { stdout: '', stderr: `not recorded: ${key}`, exitCode: 1 };
      return { stdout: out };
    },
  });
}

describe('buildModel from the recorded lab stack', () => {
  test('nodes with roles, tree, redundancy, hosts with their connections', () => {
    const m = model();
    expect(m.root).toBe('h1');
    expect(m.nodes).toEqual([
      { id: 'h1', role: 'root', host: 'h1' },
      { id: 'h2', role: 'relay', host: 'h2' },
      { id: 'h3', role: 'leaf', host: 'h3' },
      { id: 'h4', role: 'leaf', host: 'h4' },
    ]);
    expect(m.tree).toEqual([
      { a: 'h1', b: 'h2' },
      { a: 'h2', b: 'h3' },
      { a: 'h2', b: 'h4' },
    ]);
    expect(m.redundancy).toEqual([{ a: 'h3', b: 'h4' }]);
    expect(m.hosts.map((h) => [h.name, h.connection.host, h.nodes, h.bridges])).toEqual([
      ['h1', '10.250.0.11', ['h1'], ['br1']],
      ['h2', '10.250.0.12', ['h2'], ['br1']],
      ['h3', '10.250.0.13', ['h3'], ['br1']],
      ['h4', '10.250.0.14', ['h4'], ['br1']],
    ]);
    expect(m.hosts[0]!.address).toBe('10.250.0.11:22 via vpmmon-ul');
  });

  test('the path with its cookie, hops and ports; the VM; the tunnels', () => {
    const m = model();
    expect(m.paths).toHaveLength(1);
    const p = m.paths[0]!;
    expect(p).toMatchObject({ name: 'h3-5004@h3', cookie: COOKIE, receiver: '10.250.0.201', udpPort: 5004, nodes: ['h1', 'h2', 'h3'] });
    expect(p.hops.map((h) => [h.node, h.host, h.inPort, h.vmPort])).toEqual([
      ['h1', 'h1', 2, undefined],
      ['h2', 'h2', 30442, undefined],
      ['h3', 'h3', 22823, 416],
    ]);
    expect(p.hops[2]!.rules).toHaveLength(2);
    expect(m.vms).toEqual([{ name: 'leafvm', host: 'h3', node: 'h3', role: 'leaf', state: 'running' }]);
    expect(m.tunnels.map((t) => `${t.name}: ${t.a.host}/${t.a.port} ${t.b.host}/${t.b.port}`)).toEqual([
      'h1-h2: h1/gre-h2 h2/gre-h1',
      'h2-h3: h2/gre-h3 h3/gre-h2',
      'h2-h4: h2/gre-h4 h4/gre-h2',
    ]);
  });

  test('without the topology file, roles come from the tree and the paths', () => {
    const m = buildModel('mon-1', resources, stackOutputsOf(resources));
    expect(Object.fromEntries(m.nodes.map((n) => [n.id, n.role]))).toEqual({ h1: 'root', h2: 'relay', h3: 'leaf', h4: 'leaf' });
  });

  test('a secret private key in state is opened for the connection, never shown in outputs', () => {
    const secret = { '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270', plaintext: JSON.stringify('KEYTEXT') };
    const withSecret = resources.map((r) =>
      r.type.endsWith('OvsBridge') ? { ...r, outputs: { ...r.outputs, connection: { ...(r.outputs!.connection as object), privateKey: secret, privateKeyPath: undefined } } } : r,
    );
    const m = buildModel('s', withSecret, { ...stackOutputsOf(resources), token: secret });
    expect(m.hosts[0]!.connection.privateKey).toBe('KEYTEXT');
    expect(stackOutputsOf([{ urn: 'x', type: 'pulumi:pulumi:Stack', outputs: { token: secret } }])).toEqual({ token: '[secret]' });
  });
});

describe('parsers', () => {
  test('virsh list --all', () => {
    expect(parseVirshList(hostsOut.h3!['virsh list --all']!)).toEqual([{ id: 2, name: 'leafvm', state: 'running' }]);
    expect(parseVirshList(hostsOut.h1!['virsh list --all']!)).toEqual([]);
    expect(parseVirshList(' Id   Name   State\n----\n -    old    shut off\n')).toEqual([{ id: null, name: 'old', state: 'shut off' }]);
    expect(() => parseVirshList('garbage')).toThrow(/virsh list/);
  });

  test('interfaces: the GRE tunnel with its remote', () => {
    const rows = parseInterfaces(hostsOut.h2!['ovs-vsctl --timeout=10 --format=json --columns=name,type,ofport,link_state,options,bfd_status list Interface']!);
    const gre = rows.filter((r) => r.type === 'gre').sort((a, b) => a.name.localeCompare(b.name));
    expect(gre.map((r) => [r.name, r.ofport, r.linkState, r.options.remote_ip])).toEqual([
      ['gre-h1', 30442, 'up', '10.250.0.11'],
      ['gre-h3', 15204, 'up', '10.250.0.13'],
      ['gre-h4', 7585, 'up', '10.250.0.14'],
    ]);
  });

  test('per-path hop counters: the shared table-0 flow of each group the path marks as its own', () => {
    const flows = parseDumpFlowStats(hostsOut.h3!['ovs-ofctl -O OpenFlow15 --no-names dump-flows br1']!);
    const c = pathHopCounters(flows, COOKIE);
    expect(c.missing).toEqual([]);
    expect(c.segments.map((s) => [s.inPort, s.groupId, s.packets, s.bytes])).toEqual([
      [22823, 0xfe75fff1, 999, 241758],
      [416, 0x03407485, 999, 241758],
    ]);
    // Another path's cookie owns nothing here; a marker without its shared flow is reported.
    expect(pathHopCounters(flows, '0x5600000000000001')).toEqual({ segments: [], missing: [] });
    expect(pathHopCounters(flows.filter((f) => f.table !== 0), COOKIE).missing).toHaveLength(2);
  });

  test('migration progress from domjobinfo recorded during a live migration', () => {
    const mid = jobProgress(parseJobInfo(jobs.middle!))!;
    expect(mid).toMatchObject({ type: 'Unbounded', operation: 'Outgoing migration', timeElapsedMs: 728 });
    // Data remaining 62.992 MiB of 96.516 MiB: a third done.
    expect(mid.progress).toBeCloseTo(1 - 62.992 / 96.516, 2);
    expect(jobProgress(parseJobInfo(jobs.start!))).toEqual({ type: 'Unbounded', operation: 'Outgoing migration', timeElapsedMs: 74 });
    expect(jobProgress(parseJobInfo('Job type:         None        \n\n'))).toBeUndefined();
  });
});

describe('StatusCollector', () => {
  test('the JSON report of the recorded lab: every host online, CPU classified, counters, VM, tunnels', async () => {
    const runners = new Map<string, RecordingRunner>();
    const busy: Record<string, number> = { h1: 10, h2: 55, h3: 90, h4: 30 };
    const runnerFor = (h: ModelHost): CommandRunner => {
      if (!runners.has(h.name)) runners.set(h.name, replay(h.name, busy[h.name]));
      return runners.get(h.name)!;
    };
    const c = new StatusCollector(model(), { warn: 50, crit: 80 }, { runnerFor, cpuSampleMs: 10 });
    const r = JSON.parse(JSON.stringify(await c.collect()));
    expect(Object.keys(r).sort()).toEqual(
      ['durationMs', 'hosts', 'migrations', 'nodes', 'paths', 'pruned', 'redundancy', 'root', 'stack', 'summary', 'takenAt', 'thresholds', 'tree', 'version', 'vms'].sort(),
    );
    expect(r).toMatchObject({ version: 1, stack: 'mon-1', root: 'h1', thresholds: { warn: 50, crit: 80 } });
    expect(r.summary).toEqual({ hosts: 4, online: 4, offline: 0, warn: 1, crit: 1, paths: 1, pathsOk: 1 });
    expect(r.hosts.map((h: any) => [h.name, h.online, h.cpu.percent, h.cpu.level])).toEqual([
      ['h1', true, 10, 'ok'],
      ['h2', true, 55, 'warn'],
      ['h3', true, 90, 'crit'],
      ['h4', true, 30, 'ok'],
    ]);
    const h3 = r.hosts.find((h: any) => h.name === 'h3');
    expect(h3).toMatchObject({ nodes: ['h3'], roles: ['leaf'], vms: [{ name: 'leafvm', state: 'running', managed: true }], errors: [] });
    expect(h3.tunnels).toEqual([{ name: 'gre-h2', type: 'gre', ofport: 22823, remoteIp: '10.250.0.12', linkState: 'up' }]);
    expect(typeof h3.latencyMs).toBe('number');
    const p = r.paths[0];
    expect(p).toMatchObject({ name: 'h3-5004@h3', cookie: COOKIE, receiver: '10.250.0.201', ok: true, delivered: 999 });
    expect(p.hops.map((h: any) => [h.node, h.state, h.packets, h.bytes, h.vmPackets])).toEqual([
      ['h1', 'ok', 999, 241758, undefined],
      ['h2', 'ok', 999, 241758, undefined],
      ['h3', 'ok', 999, 241758, 999],
    ]);
    expect(r.vms).toEqual([{ name: 'leafvm', node: 'h3', role: 'leaf', host: 'h3', liveHost: 'h3', state: 'running' }]);
    expect(r.migrations).toEqual([]);
    // Every host was asked the same things, over its own runner.
    expect(runners.get('h2')!.argvs.map((a) => a[0])).toEqual(expect.arrayContaining(['head', 'ovs-ofctl', 'ovs-vsctl', 'virsh']));
    // The text table names every host and the path.
    const text = formatStatus(r);
    for (const s of ['h1', 'h4', '90.0% crit', 'h3-5004@h3 -> 10.250.0.201', 'leafvm']) expect(text).toContain(s);
  });

  test('a second collection uses the previous CPU sample and gives packet rates', async () => {
    const runners = new Map<string, RecordingRunner>();
    const c = new StatusCollector(model(), { warn: 50, crit: 80 }, {
      runnerFor: (h) => runners.get(h.name) ?? runners.set(h.name, replay(h.name)).get(h.name)!,
      cpuSampleMs: 10,
    });
    await c.collect();
    const calls = runners.get('h1')!.argvs.filter((a) => a[0] === 'head').length;
    await new Promise((r) => setTimeout(r, 250));
    const r = await c.collect();
    expect(runners.get('h1')!.argvs.filter((a) => a[0] === 'head').length - calls).toBe(1);
    expect(r.hosts[0]!.cpu.percent).toBe(30);
    expect(r.paths[0]!.hops[0]!.pps).toBe(0); // same counters twice
  });

  test('an unreachable host is offline with the reason; its hops are "unreachable"; a host that hangs is offline within the bound', async () => {
    const hang: CommandRunner = {
      host: 'h2',
      run: () => new Promise(() => undefined),
      stream: () => new Promise(() => undefined),
      close: async () => undefined,
    };
    const runnerFor = (h: ModelHost): CommandRunner => {
      if (h.name === 'h1') return new RecordingRunner({ host: 'h1', handler: () => new ConnectionError('root@10.250.0.11:22', 2, new Error('Connection refused')) });
      if (h.name === 'h2') return hang;
      return replay(h.name);
    };
    const c = new StatusCollector(model(), { warn: 50, crit: 80 }, { runnerFor, hostTimeoutMs: 300, cpuSampleMs: 10 });
    const t0 = Date.now();
    const r = await c.collect();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(r.durationMs).toBeLessThan(2500);
    expect(r.summary).toMatchObject({ online: 2, offline: 2, pathsOk: 0 });
    expect(r.hosts[0]).toMatchObject({ name: 'h1', online: false, cpu: { percent: null, level: 'unknown' }, vms: [], tunnels: [] });
    expect(r.hosts[0]!.error).toMatch(/Connection refused/);
    expect(r.hosts[1]).toMatchObject({ name: 'h2', online: false });
    expect(r.hosts[1]!.error).toMatch(/no answer within/);
    expect(r.paths[0]!.hops.map((h) => h.state)).toEqual(['unreachable', 'unreachable', 'ok']);
    expect(formatStatus(r)).toMatch(/h1\s+\S+\s+via vpmmon-ul\s+OFFLINE/);
  });

  test('connection keys: one sshd per address, port and namespace', () => {
    expect(connectionKey({ host: '10.0.0.1' })).toBe('10.0.0.1:22|');
    expect(connectionKey({ host: '10.0.0.1', port: 2222, netns: 'ns' })).toBe('10.0.0.1:2222|ns');
  });
});
