import { RemoteCommandError, ValidationError } from '../../../providers/exec/errors';
import {
  decodeOptional,
  decodeSet,
  decodeStringMap,
  parseOvsdbTables,
} from '../../../providers/ovs/ovsdb-json';
import { BridgeName, InterfaceName, Ipv4, OfPortNumber } from '../../../providers/ovs/values';
import {
  VPM_PROTOCOLS,
  VsctlTxn,
  bridgeInfo,
  interfaceInfo,
  listBridges,
  noForeignRowsStep,
  portInfo,
  quoteOvsdbString,
} from '../../../providers/ovs/vsctl';
import { scriptedRunner } from '../../support/runners';
import { validationProblems as problems } from '../../support/expect';

const br = (s: string) => s as BridgeName;
const ifn = (s: string) => s as InterfaceName;

describe('VsctlTxn', () => {
  test('one transaction for br1, its patch port and a GRE tunnel with BFD', () => {
    const txn = new VsctlTxn()
      .addBridge(br('br1'), {
        mayExist: true,
        datapathType: 'netdev',
        failMode: 'secure',
        protocols: VPM_PROTOCOLS,
        externalIds: { 'vpm-owner': 'urn:pulumi:dev::vpm::OvsBridge::hv1', 'vpm-version': '1' },
        otherConfig: { hwaddr: '02:00:00:00:01:01' },
      })
      .addPort(br('br1'), ifn('p-br1-br0'), { type: 'patch', peer: ifn('p-br0-br1') }, { mayExist: true, ofportRequest: 10 as OfPortNumber })
      .addPort(
        br('br1'),
        ifn('gre-hv1-0a1b2c'),
        { type: 'gre', remoteIp: '192.168.1.2' as Ipv4, key: 5, bfd: { minTxMs: 100, minRxMs: 100 } },
        { mayExist: true, ofportRequest: 20 as OfPortNumber, externalIds: { 'vpm-owner': 'tunnel "a" b,c=d' } },
      );
    expect(txn.argv()).toEqual([
      'ovs-vsctl', '--timeout=10',
      '--', '--may-exist', 'add-br', 'br1',
      '--', 'set', 'Bridge', 'br1', 'datapath_type=netdev', 'fail_mode=secure', 'protocols=OpenFlow10,OpenFlow13,OpenFlow14,OpenFlow15',
      'external_ids:"vpm-owner"="urn:pulumi:dev::vpm::OvsBridge::hv1"', 'external_ids:"vpm-version"="1"',
      'other_config:"hwaddr"="02:00:00:00:01:01"',
      '--', '--may-exist', 'add-port', 'br1', 'p-br1-br0',
      '--', 'set', 'Interface', 'p-br1-br0', 'type=patch', 'options={"peer"="p-br0-br1"}', 'ofport_request=10',
      '--', '--may-exist', 'add-port', 'br1', 'gre-hv1-0a1b2c',
      '--', 'set', 'Interface', 'gre-hv1-0a1b2c', 'type=gre', 'options={"key"="5","remote_ip"="192.168.1.2"}',
      'bfd={"enable"="true","min_rx"="100","min_tx"="100"}', 'ofport_request=20',
      '--', 'set', 'Port', 'gre-hv1-0a1b2c', 'external_ids:"vpm-owner"="tunnel \\"a\\" b,c=d"',
    ]);
  });
  test('GRE without BFD clears bfd; internal ports; plain add-br', () => {
    const argv = new VsctlTxn()
      .addBridge(br('br9'))
      .addPort(br('br9'), ifn('gre-x'), { type: 'gre', remoteIp: '10.0.0.2' as Ipv4 })
      .addPort(br('br9'), ifn('vm1'), { type: 'internal' })
      .argv({ timeoutSec: 3 });
    expect(argv).toEqual([
      'ovs-vsctl', '--timeout=3',
      '--', 'add-br', 'br9',
      '--', 'add-port', 'br9', 'gre-x',
      '--', 'set', 'Interface', 'gre-x', 'type=gre', 'options={"remote_ip"="10.0.0.2"}', 'bfd={}',
      '--', 'add-port', 'br9', 'vm1',
      '--', 'set', 'Interface', 'vm1', 'type=internal',
    ]);
  });
  test('deletes and external_ids', () => {
    const argv = new VsctlTxn()
      .delPort(ifn('gre-x'), { bridge: br('br1'), ifExists: true })
      .delPort(ifn('gre-y'))
      .delBridge(br('br1'), { ifExists: true })
      .delBridge(br('br2'))
      .setExternalIds('Port', 'p1', { 'vpm:path:a': 'x=1', b: '' })
      .setExternalIds('Open_vSwitch', '.', { 'vpm-host': 'hv1' })
      .removeExternalIds('Bridge', 'br0', ['b', 'a'], { ifExists: true })
      .argv();
    expect(argv).toEqual([
      'ovs-vsctl', '--timeout=10',
      '--', '--if-exists', 'del-port', 'br1', 'gre-x',
      '--', 'del-port', 'gre-y',
      '--', '--if-exists', 'del-br', 'br1',
      '--', 'del-br', 'br2',
      '--', 'set', 'Port', 'p1', 'external_ids:"b"=""', 'external_ids:"vpm:path:a"="x=1"',
      '--', 'set', 'Open_vSwitch', '.', 'external_ids:"vpm-host"="hv1"',
      '--', '--if-exists', 'remove', 'Bridge', 'br0', 'external_ids', '"a"', '"b"',
    ]);
  });
  test('validation happens in the builder, with the field named', () => {
    const t = new VsctlTxn();
    expect(problems(() => t.addBridge(br('br 1')))[0].property).toBe('bridge');
    expect(problems(() => t.addBridge(br('br1'), { failMode: 'open' as never }))[0].property).toBe('failMode');
    expect(problems(() => t.addBridge(br('br1'), { protocols: ['OpenFlow16' as never] }))[0].property).toBe('protocols');
    expect(problems(() => t.addBridge(br('br1'), { datapathType: 'dpdk' as never }))[0].property).toBe('datapathType');
    expect(problems(() => t.addBridge(br('br1'), { externalIds: { 'bad key': 'v' } }))[0].property).toBe('externalIds.bad key');
    expect(problems(() => t.addBridge(br('br1'), { externalIds: { k: 'line\nbreak' } }))[0].reason).toContain('control characters');
    expect(problems(() => t.addPort(br('br1'), ifn('x'), { type: 'gre', remoteIp: '1.2.3' as Ipv4 }))[0].property).toBe('spec.remoteIp');
    expect(problems(() => t.addPort(br('br1'), ifn('x'), { type: 'gre', remoteIp: '1.2.3.4' as Ipv4, key: -1 }))[0].property).toBe('spec.key');
    expect(problems(() => t.addPort(br('br1'), ifn('x'), { type: 'vxlan' } as never))[0].property).toBe('spec.type');
    expect(problems(() => t.addPort(br('br1'), ifn('x'), { type: 'patch', peer: ifn('') }))[0].property).toBe('spec.peer');
    expect(problems(() => t.addPort(br('br1'), ifn('x'), { type: 'internal' }, { ofportRequest: 65534 as OfPortNumber }))[0].property).toBe(
      'ofportRequest',
    );
    expect(problems(() => t.setExternalIds('Open_vSwitch', 'x', { a: 'b' }))[0].property).toBe('record');
    expect(problems(() => t.setExternalIds('Flow_Table' as never, 'x', { a: 'b' }))[0].property).toBe('table');
    expect(problems(() => t.argv())[0].reason).toContain('empty');
    expect(t.isEmpty).toBe(true);
  });
  test('quoting', () => {
    expect(quoteOvsdbString('a b,c=d')).toBe('"a b,c=d"');
    expect(quoteOvsdbString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteOvsdbString('é ü')).toBe('"é ü"');
    expect(() => quoteOvsdbString('tab\there')).toThrow(ValidationError);
  });
  test('run uses the vsctl timeout plus a margin', async () => {
    const r = scriptedRunner();
    await new VsctlTxn().delBridge(br('br1'), { ifExists: true }).run(r, { timeoutSec: 5 });
    expect(r.calls).toEqual([{ argv: ['ovs-vsctl', '--timeout=5', '--', '--if-exists', 'del-br', 'br1'], options: { timeoutMs: 10000 } }]);
  });
});

// Captured from ovs-vsctl 3.1 --format=json.
const BRIDGE_JSON =
  '{"data":[[["uuid","264c2391-dc1a-4d3b-aecc-6959eaebf092"],"br1","0000000000000001","netdev","secure",' +
  '["set",["OpenFlow10","OpenFlow13","OpenFlow14","OpenFlow15"]],["map",[["vpm-owner","a b,c=d"]]],["map",[["datapath-id","0000000000000001"]]]]],' +
  '"headings":["_uuid","name","datapath_id","datapath_type","fail_mode","protocols","external_ids","other_config"]}\n';
const EMPTY = (cols: string) => `{"data":[],"headings":[${cols.split(',').map((c) => JSON.stringify(c)).join(',')}]}\n`;
const IFACE_JSON =
  '{"data":[[["uuid","5a7c0c0e-7f3c-4b7e-9d0e-1d5c9c3e2a10"],"gre-a","gre",["map",[["key","5"],["remote_ip","192.168.1.2"]]],20,20,["map",[]],' +
  '["map",[["enable","true"]]],["map",[["diagnostic","No Diagnostic"],["forwarding","false"],["state","down"]]],["set",[]]]],' +
  '"headings":["_uuid","name","type","options","ofport","ofport_request","external_ids","bfd","bfd_status","error"]}\n';

describe('reads', () => {
  const READ = ['ovs-vsctl', '--timeout=10', '--format=json'];
  test('bridgeInfo decodes the OVSDB JSON encoding', async () => {
    const r = scriptedRunner({ stdout: BRIDGE_JSON });
    expect(await bridgeInfo(r, br('br1'))).toEqual({
      uuid: '264c2391-dc1a-4d3b-aecc-6959eaebf092',
      name: 'br1',
      datapathId: '0000000000000001',
      datapathType: 'netdev',
      failMode: 'secure',
      protocols: ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'],
      externalIds: { 'vpm-owner': 'a b,c=d' },
      otherConfig: { 'datapath-id': '0000000000000001' },
    });
    expect(r.calls).toEqual([
      {
        argv: [...READ, '--', '--if-exists', '--columns=_uuid,name,datapath_id,datapath_type,fail_mode,protocols,external_ids,other_config', 'list', 'Bridge', 'br1'],
        options: { timeoutMs: 15000 },
      },
    ]);
  });
  test('absent rows are undefined; optional columns may be empty; one-element sets are bare', async () => {
    expect(await bridgeInfo(scriptedRunner({ stdout: EMPTY('_uuid,name') }), br('nope'))).toBeUndefined();
    const bare =
      '{"data":[[["uuid","u"],"br2",["set",[]],"",["set",[]],"OpenFlow13",["map",[]],["map",[]]]],"headings":["_uuid","name","datapath_id","datapath_type","fail_mode","protocols","external_ids","other_config"]}\n';
    expect(await bridgeInfo(scriptedRunner({ stdout: bare }), br('br2'))).toEqual({
      uuid: 'u',
      name: 'br2',
      datapathType: '',
      protocols: ['OpenFlow13'],
      externalIds: {},
      otherConfig: {},
    });
  });
  test('real errors are not "absent"', async () => {
    const r = scriptedRunner({ exitCode: 1, stderr: 'ovs-vsctl: unix:/x/db.sock: database connection failed (No such file or directory)' });
    await expect(bridgeInfo(r, br('br1'))).rejects.toBeInstanceOf(RemoteCommandError);
    const bad = scriptedRunner({ stdout: 'ovs-vsctl said something\n' });
    const err = await interfaceInfo(bad, ifn('x')).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain('cannot decode ovs-vsctl JSON output');
  });
  test('interfaceInfo', async () => {
    const r = scriptedRunner({ stdout: IFACE_JSON });
    expect(await interfaceInfo(r, ifn('gre-a'))).toEqual({
      uuid: '5a7c0c0e-7f3c-4b7e-9d0e-1d5c9c3e2a10',
      name: 'gre-a',
      type: 'gre',
      options: { key: '5', remote_ip: '192.168.1.2' },
      ofport: 20,
      ofportRequest: 20,
      externalIds: {},
      bfd: { enable: 'true' },
      bfdStatus: { diagnostic: 'No Diagnostic', forwarding: 'false', state: 'down' },
    });
  });
  test('portInfo: Port + Interface + holder bridge in one call', async () => {
    const port = '{"data":[[["uuid","pu"],"gre-a",["map",[["vpm-owner","t1"]]]]],"headings":["_uuid","name","external_ids"]}\n';
    const bridges =
      '{"data":[["br1",["set",[["uuid","x1"],["uuid","pu"]]]],["br0",["uuid","x2"]]],"headings":["name","ports"]}\n';
    const r = scriptedRunner({ stdout: port + IFACE_JSON + bridges });
    const info = await portInfo(r, ifn('gre-a'));
    expect(info).toEqual(
      expect.objectContaining({ uuid: 'pu', name: 'gre-a', bridge: 'br1', externalIds: { 'vpm-owner': 't1' }, type: 'gre', ofport: 20 }),
    );
    expect(info?.options).toEqual({ key: '5', remote_ip: '192.168.1.2' });
    expect(r.calls[0].argv).toEqual([
      ...READ,
      '--', '--if-exists', '--columns=_uuid,name,external_ids', 'list', 'Port', 'gre-a',
      '--', '--if-exists', '--columns=_uuid,name,type,options,ofport,ofport_request,external_ids,bfd,bfd_status,error', 'list', 'Interface', 'gre-a',
      '--', '--columns=name,ports', 'list', 'Bridge',
    ]);
    const none = scriptedRunner({ stdout: EMPTY('_uuid') + EMPTY('_uuid') + bridges });
    expect(await portInfo(none, ifn('gre-a'))).toBeUndefined();
  });
  test('listBridges', async () => {
    const r = scriptedRunner({ stdout: 'br0\nbr1\n' });
    expect(await listBridges(r)).toEqual(['br0', 'br1']);
    expect(r.calls[0].argv).toEqual(['ovs-vsctl', '--timeout=10', 'list-br']);
  });
});

describe('OVSDB JSON decoding', () => {
  test('datum shapes', () => {
    expect(decodeSet(['set', []])).toEqual([]);
    expect(decodeSet('x')).toEqual(['x']);
    expect(decodeSet(['uuid', 'u'])).toEqual([{ uuid: 'u' }]);
    expect(decodeOptional(['set', []])).toBeUndefined();
    expect(decodeOptional(7)).toBe(7);
    expect(() => decodeOptional(['set', [1, 2]])).toThrow('at most one');
    expect(decodeStringMap(['map', [['a', 'b']]])).toEqual({ a: 'b' });
    expect(() => decodeStringMap(['set', []])).toThrow('expected a map');
    expect(() => parseOvsdbTables('{"data":[["a"]],"headings":["x","y"]}')).toThrow('bad row');
  });
});

describe('noForeignRowsStep', () => {
  test('one ovs-vsctl run with a {not-in} find per row; passes only on empty output', () => {
    const step = noForeignRowsStep(
      [
        { table: 'Bridge', name: 'br1' },
        { table: 'Port', name: 'patch-ovl' },
      ],
      'vpm-owner',
      'vpm/dev/bridge "h1"',
    );
    expect(step.argv).toEqual([
      'ovs-vsctl', '--timeout=10', '--bare',
      '--', '--columns=name', 'find', 'Bridge', 'name=br1', 'external_ids{not-in}{"vpm-owner"="vpm/dev/bridge \\"h1\\""}',
      '--', '--columns=name', 'find', 'Port', 'name=patch-ovl', 'external_ids{not-in}{"vpm-owner"="vpm/dev/bridge \\"h1\\""}',
    ]);
    expect(step.expect).toEqual(['']);
  });

  test('names are validated, and a guard of nothing is refused', () => {
    expect(() => noForeignRowsStep([{ table: 'Port', name: 'p;rm -rf /' }], 'vpm-owner', 'x')).toThrow(ValidationError);
    expect(() => noForeignRowsStep([], 'vpm-owner', 'x')).toThrow(/at least one row/);
  });
});
