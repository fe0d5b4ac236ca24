/**
 * The ovs-ofctl helpers for a bridge VPM does not create (OvsBridge's physical bridge): OVS's
 * default OpenFlow version (no -O), argv asserted exactly; and macInUse of ovs-vsctl.
 */
import { RecordingRunner, RemoteCommandError } from '../../../providers/exec';
import {
  addForeignFlow,
  delForeignFlowStrict,
  delForeignFlowsByCookie,
  dumpForeignFlows,
  macInUse,
  matchField,
  outputsToPort,
  parseBridgeName,
  parseCookie,
  parseInterfaceName,
  parseOfPortNumber,
  type Flow,
} from '../../../providers/ovs';

const BR0 = parseBridgeName('br0');
const COOKIE = parseCookie('0x56aa000000000001');
const FLOW: Flow = {
  priority: 1000,
  cookie: COOKIE,
  match: { inPort: parseOfPortNumber(3) },
  actions: [{ type: 'output', port: parseOfPortNumber(1) }],
};

describe('dumpForeignFlows', () => {
  test('as OVS prints by default, a missing bridge is undefined', async () => {
    const r = new RecordingRunner({
      responses: [
        {
          stdout:
            'NXST_FLOW reply (xid=0x4):\n cookie=0x56aa000000000001, duration=5.1s, table=0, n_packets=2, n_bytes=84, idle_age=1, priority=1000,in_port="patch-x" actions=output:eth0\n',
        },
        { exitCode: 1, stderr: 'ovs-ofctl: br0 is not a bridge or a socket' },
      ],
    });
    const flows = await dumpForeignFlows(r, BR0, COOKIE, { missingOk: true });
    expect(flows).toHaveLength(1);
    expect(flows!.some(outputsToPort)).toBe(true);
    expect(matchField(flows![0]!, 'in_port')).toBe('"patch-x"');
    expect(await dumpForeignFlows(r, BR0, COOKIE, { missingOk: true })).toBeUndefined();
    expect(r.calls).toEqual([
      { argv: ['ovs-ofctl', 'dump-flows', 'br0', 'cookie=0x56aa000000000001/-1'], options: { okExitCodes: [0, 1] } },
      { argv: ['ovs-ofctl', 'dump-flows', 'br0', 'cookie=0x56aa000000000001/-1'], options: { okExitCodes: [0, 1] } },
    ]);
  });

  test('bare: numbers, no counters; a missing bridge is an error unless missingOk', async () => {
    const r = new RecordingRunner({
      responses: [{ stdout: ' cookie=0x56aa000000000001, priority=1000,in_port=3 actions=output:1\n cookie=0x56aa000000000001, priority=1000,in_port=7 actions=output:1\n' }, { exitCode: 1 }],
    });
    const flows = await dumpForeignFlows(r, BR0, COOKIE, { bare: true });
    expect(flows!.map((f) => matchField(f, 'in_port'))).toEqual(['3', '7']);
    await expect(dumpForeignFlows(r, BR0, COOKIE, { bare: true })).rejects.toBeInstanceOf(RemoteCommandError);
    expect(r.argvs[0]).toEqual(['ovs-ofctl', '--no-names', '--no-stats', 'dump-flows', 'br0', 'cookie=0x56aa000000000001/-1']);
    expect(r.calls[0]!.options).toBeUndefined();
  });

  test('output it cannot read is a RemoteCommandError carrying the output', async () => {
    const r = new RecordingRunner({ responses: [{ stdout: 'garbage without actions\n' }] });
    await expect(dumpForeignFlows(r, BR0, COOKIE)).rejects.toThrow(/garbage without actions/);
  });

  test('an unowned cookie is refused before any command', async () => {
    const r = new RecordingRunner();
    await expect(dumpForeignFlows(r, BR0, parseCookie('0x0'))).rejects.toThrow(/unowned/);
    expect(r.calls).toEqual([]);
  });
});

describe('changes on a foreign bridge', () => {
  test('add-flow, strict del-flows, del-flows by cookie: exact argv, no -O', async () => {
    const r = new RecordingRunner({ handler: () => ({}) });
    await addForeignFlow(r, BR0, FLOW);
    await delForeignFlowStrict(r, BR0, FLOW);
    await delForeignFlowsByCookie(r, BR0, COOKIE);
    expect(r.argvs).toEqual([
      ['ovs-ofctl', 'add-flow', 'br0', 'table=0,priority=1000,cookie=0x56aa000000000001,in_port=3,actions=output:1'],
      ['ovs-ofctl', '--strict', 'del-flows', 'br0', 'table=0,priority=1000,cookie=0x56aa000000000001/-1,in_port=3'],
      ['ovs-ofctl', 'del-flows', 'br0', 'cookie=0x56aa000000000001/-1'],
    ]);
  });
});

describe('matchField and outputsToPort', () => {
  test('fields by exact name; output anywhere in the actions', () => {
    const f = { matchText: 'udp,in_port=3,nw_dst=10.0.0.1,tp_dst=5004', actionsText: 'mod_dl_dst:02:00:00:00:00:01,output:2' };
    expect(matchField(f, 'in_port')).toBe('3');
    expect(matchField(f, 'tp_dst')).toBe('5004');
    expect(matchField(f, 'udp')).toBeUndefined(); // a bare flag has no value
    expect(matchField(f, 'port')).toBeUndefined();
    expect(outputsToPort(f)).toBe(true);
    expect(outputsToPort({ actionsText: 'drop' })).toBe(false);
  });
});

describe('macInUse', () => {
  test('reads mac_in_use of the interface, unquoted and checked', async () => {
    const r = new RecordingRunner({ responses: [{ stdout: '"02:56:50:00:00:01"\n' }, { stdout: '"nonsense"\n' }] });
    expect(await macInUse(r, parseInterfaceName('br-ul'))).toBe('02:56:50:00:00:01');
    expect(r.calls).toEqual([{ argv: ['ovs-vsctl', '--timeout=10', 'get', 'Interface', 'br-ul', 'mac_in_use'] }]);
    await expect(macInUse(r, parseInterfaceName('br-ul'))).rejects.toThrow(/mac_in_use/);
  });
});
