/**
 * tnlNeighRelease: removing tunnel neighbour entries without a per-entry delete (OVS 3.1 has
 * set, show, flush, aging). Asserted through a RecordingRunner: the exact argv; an entry a
 * tunnel interface still sends to is never touched; a removal flushes and sets every other
 * live entry again in one process; the rewrite script itself runs against a fake ovs-appctl.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RecordingRunner } from '../../../providers/exec/recording';
import { APPCTL_TIMEOUT_MS, NEIGH_REWRITE_SCRIPT, parseTnlNeighShow, tnlNeighRelease } from '../../../providers/ovs/appctl';
import type { BridgeName, Ipv4 } from '../../../providers/ovs/values';

const LIST_INTERFACE = ['ovs-vsctl', '--timeout=10', '--format=json', '--', '--columns=name,options', 'list', 'Interface'];
const SHOW = ['ovs-appctl', 'tnl/neigh/show'];

/** `list Interface` JSON: name -> remote_ip (undefined: no options). */
const interfaces = (rows: Record<string, string | undefined>) =>
  JSON.stringify({
    data: Object.entries(rows).map(([name, ip]) => [name, ['map', ip ? [['remote_ip', ip]] : []]]),
    headings: ['name', 'options'],
  }) + '\n';
const show = (rows: string[]) =>
  ['IP                                            MAC                 Bridge', '='.repeat(74), ...rows, ''].join('\n');

const key = (ip: string, bridge = 'br0') => ({ bridge: bridge as BridgeName, ip: ip as Ipv4 });

describe('tnlNeighRelease', () => {
  test('an IP a tunnel interface still sends to is kept: one OVSDB read, no ovs-appctl', async () => {
    const r = new RecordingRunner({ responses: [{ stdout: interfaces({ eth0: undefined, 'gre-h2': '10.250.0.12', 'gre-h2-k2': '10.250.0.12' }) }] });
    const out = await tnlNeighRelease(r, [key('10.250.0.12')]);
    expect(r.argvs).toEqual([LIST_INTERFACE]);
    expect(out).toEqual({ removed: [], stillUsed: [key('10.250.0.12')], left: [] });
  });

  test('an unused entry: flush and set every other live entry again, in one process', async () => {
    const r = new RecordingRunner({
      responses: [
        { stdout: interfaces({ eth0: undefined, 'gre-h1': '10.250.0.11' }) },
        {
          stdout: show([
            '10.250.0.11                                   02:56:50:00:00:01   br0',
            '10.250.0.13                                   02:56:50:00:00:03   br0',
            '10.250.0.13                                   02:56:50:00:00:33   br7',
            'fe80::1                                       02:56:50:00:00:09   br0',
            '10.250.0.99                                   02:56:50:00:00:99   br0 STALE',
          ]),
        },
        { stdout: '' },
      ],
    });
    const out = await tnlNeighRelease(r, [key('10.250.0.13')]);
    expect(r.calls).toEqual([
      { argv: LIST_INTERFACE, options: { timeoutMs: 15_000 } },
      { argv: SHOW, options: { timeoutMs: APPCTL_TIMEOUT_MS } },
      {
        // Only (10.250.0.13, br0) goes: the same IP on another bridge, the learned IPv6 entry and
        // the entry a remaining tunnel uses are set again; the expired one is not.
        argv: ['sh', '-c', NEIGH_REWRITE_SCRIPT, 'sh', 'br0', '10.250.0.11', '02:56:50:00:00:01', 'br7', '10.250.0.13', '02:56:50:00:00:33', 'br0', 'fe80::1', '02:56:50:00:00:09'],
        options: { timeoutMs: APPCTL_TIMEOUT_MS },
      },
    ]);
    expect(out.removed).toEqual([{ ip: '10.250.0.13', mac: '02:56:50:00:00:03', bridge: 'br0' }]);
    expect(out.left).toEqual([]);
  });

  test('the last entry goes: a flush and nothing set again', async () => {
    const r = new RecordingRunner({
      responses: [{ stdout: interfaces({}) }, { stdout: show(['10.250.0.13                                   02:56:50:00:00:03   br0']) }, { stdout: '' }],
    });
    await tnlNeighRelease(r, [key('10.250.0.13')]);
    expect(r.argvs[2]).toEqual(['sh', '-c', NEIGH_REWRITE_SCRIPT, 'sh']);
  });

  test('nothing of it in the cache (aged out, a restarted ovs-vswitchd): no flush', async () => {
    const r = new RecordingRunner({ responses: [{ stdout: interfaces({}) }, { stdout: show(['10.250.0.11                                   02:56:50:00:00:01   br0']) }] });
    expect(await tnlNeighRelease(r, [key('10.250.0.13')])).toEqual({ removed: [], stillUsed: [], left: [] });
    expect(r.argvs).toEqual([LIST_INTERFACE, SHOW]);
  });

  test('no ovs-vswitchd on the host: no cache to take anything from', async () => {
    const r = new RecordingRunner({
      responses: [{ stdout: interfaces({}) }, { exitCode: 1, stderr: 'ovs-appctl: cannot connect to "/var/run/openvswitch/ovs-vswitchd.77.ctl" (Connection refused)\n' }],
    });
    expect(await tnlNeighRelease(r, [key('10.250.0.13')])).toEqual({ removed: [], stillUsed: [], left: [] });
    const other = new RecordingRunner({ responses: [{ stdout: interfaces({}) }, { exitCode: 2, stderr: 'ovs-appctl: timed out\n' }] });
    await expect(tnlNeighRelease(other, [key('10.250.0.13')])).rejects.toThrow(/timed out/);
  });

  test('an entry that cannot be set again safely: nothing flushed, the entry named as left', async () => {
    const r = new RecordingRunner({
      responses: [
        { stdout: interfaces({}) },
        { stdout: show(['10.250.0.13                                   02:56:50:00:00:03   br0', '10.250.0.14                                   02:56:50:00:00:04   -oops']) },
      ],
    });
    const out = await tnlNeighRelease(r, [key('10.250.0.13')]);
    expect(r.argvs).toEqual([LIST_INTERFACE, SHOW]);
    expect(out.left).toEqual([{ ip: '10.250.0.13', mac: '02:56:50:00:00:03', bridge: 'br0' }]);
  });

  test('no keys: no command; bad keys: refused before any command', async () => {
    const r = new RecordingRunner();
    expect(await tnlNeighRelease(r, [])).toEqual({ removed: [], stillUsed: [], left: [] });
    await expect(tnlNeighRelease(r, [key('10.0.0.1;reboot')])).rejects.toThrow();
    await expect(tnlNeighRelease(r, [key('10.0.0.1', 'br0 x')])).rejects.toThrow();
    expect(r.calls).toEqual([]);
  });

  test('tnl/neigh/show rows marked STALE parse', () => {
    expect(parseTnlNeighShow(show(['10.250.0.99                                   02:56:50:00:00:99   br0 STALE']))).toEqual([
      { ip: '10.250.0.99', mac: '02:56:50:00:00:99', bridge: 'br0', stale: true },
    ]);
  });

  test('the rewrite script: flush first, then every triple, values as words (a fake ovs-appctl)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpm-neigh-'));
    try {
      const log = join(dir, 'log');
      writeFileSync(join(dir, 'ovs-appctl'), `#!/bin/sh\nprintf '%s|' "$@" >> '${log}'\necho >> '${log}'\necho OK\n[ "$3" != fail ] || exit 3\n`, { mode: 0o755 });
      const run = (...args: string[]) => execFileSync('sh', ['-c', NEIGH_REWRITE_SCRIPT, 'sh', ...args], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
      expect(run('br0', '10.0.0.1', '02:00:00:00:00:01', 'br 7', '$(x)', 'fe80::1')).toBe(''); // "OK" not printed
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual([
        'tnl/neigh/flush|',
        'tnl/neigh/set|br0|10.0.0.1|02:00:00:00:00:01|',
        'tnl/neigh/set|br 7|$(x)|fe80::1|',
      ]);
      // A failing set does not stop the others; the exit code says it failed.
      rmSync(log);
      let status = 0;
      try {
        run('br0', 'fail', '02:00:00:00:00:01', 'br0', '10.0.0.2', '02:00:00:00:00:02');
      } catch (e) {
        status = (e as { status: number }).status;
      }
      expect(status).toBe(3);
      expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
