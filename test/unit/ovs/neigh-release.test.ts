/**
 * tnlNeighRelease: removing tunnel neighbour entries without a per-entry delete (OVS 3.1 has
 * set, show, flush, aging). Asserted through a RecordingRunner: the exact argv; an entry a
 * tunnel interface still sends to is never touched; the cache is flushed only when no tunnel
 * on the host uses an entry in it, otherwise the entry is reported as left (it ages out).
 */
import { RecordingRunner } from '../../../providers/exec/recording';
import { APPCTL_TIMEOUT_MS, parseTnlNeighShow, tnlNeighRelease } from '../../../providers/ovs/appctl';
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

  test('an unused entry while another tunnel still uses the cache: no flush, the entry named as left', async () => {
    const r = new RecordingRunner({
      responses: [
        { stdout: interfaces({ eth0: undefined, 'gre-h1': '10.250.0.11' }) },
        {
          stdout: show([
            '10.250.0.11                                   02:56:50:00:00:01   br0',
            '10.250.0.13                                   02:56:50:00:00:03   br0',
          ]),
        },
      ],
    });
    const out = await tnlNeighRelease(r, [key('10.250.0.13')]);
    // A flush would make gre-h1 re-resolve 10.250.0.11 (packets dropped until the ARP reply).
    expect(r.argvs).toEqual([LIST_INTERFACE, SHOW]);
    expect(out).toEqual({ removed: [], stillUsed: [], left: [{ ip: '10.250.0.13', mac: '02:56:50:00:00:03', bridge: 'br0' }] });
  });

  test('a tunnel with remote_ip=flow on the host: no flush (its neighbours are unknown)', async () => {
    const r = new RecordingRunner({
      responses: [{ stdout: interfaces({ 'gre-any': 'flow' }) }, { stdout: show(['10.250.0.13                                   02:56:50:00:00:03   br0']) }],
    });
    const out = await tnlNeighRelease(r, [key('10.250.0.13')]);
    expect(r.argvs).toEqual([LIST_INTERFACE, SHOW]);
    expect(out.left).toHaveLength(1);
  });

  test('nothing else in use (the host\'s last tunnel went): one flush; unused and expired entries go with it', async () => {
    const r = new RecordingRunner({
      responses: [
        { stdout: interfaces({ eth0: undefined }) },
        {
          stdout: show([
            '10.250.0.13                                   02:56:50:00:00:03   br0',
            '10.250.0.14                                   02:56:50:00:00:04   br0',
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
      { argv: ['ovs-appctl', 'tnl/neigh/flush'], options: { timeoutMs: APPCTL_TIMEOUT_MS } },
    ]);
    expect(out).toEqual({ removed: [{ ip: '10.250.0.13', mac: '02:56:50:00:00:03', bridge: 'br0' }], stillUsed: [], left: [] });
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
});
