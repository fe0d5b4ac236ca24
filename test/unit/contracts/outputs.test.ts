/**
 * contracts/outputs.ts: the readers keep the fields of the right type from a resource's
 * state, drop the others, and never throw on partial or foreign state.
 */
import { readBridge, readDomain, readFlowPath, readTunnel, resourceKind } from '../../../contracts';

const conn = { host: '10.0.0.1', port: 22, user: 'root' };

test('resource kinds from type tokens', () => {
  expect(resourceKind('vpm:index:OvsBridge')).toBe('OvsBridge');
  expect(resourceKind('pulumi-nodejs:dynamic/FlowPath')).toBe('FlowPath');
});

test('OvsBridge', () => {
  expect(readBridge({ name: 'br1', connection: conn, extra: 1 })).toEqual({ name: 'br1', connection: conn });
  expect(readBridge({ name: 7 })).toEqual({});
  expect(readBridge(undefined)).toEqual({});
});

test('GreTunnel: both ends and the real port numbers', () => {
  const t = readTunnel({ a: { connection: conn, portName: 'gre-h2', remoteIp: '10.0.0.2', ofport: 1001 }, b: 'junk', aOfport: 1001, bOfport: 'x' });
  expect(t).toEqual({ a: { connection: conn, portName: 'gre-h2', remoteIp: '10.0.0.2', ofport: 1001 }, aOfport: 1001 });
});

test('FlowPath: hops, rules per hop, receiver and UDP port', () => {
  const fp = readFlowPath({
    pathId: 'p1@h4',
    cookie: '0x5600000000000001',
    hops: [{ node: 'h1', connection: conn, bridge: 'br1', inPort: 2, outPort: 1003 }, { node: 'h4', inPort: 1001, outPort: 1, vmPort: 'no' }, 'junk'],
    flows: [{ node: 'h1', bridge: 'br1', rules: ['a', 3, 'b'] }],
    egress: { receiverIp: '10.250.0.201' },
    stream: { udpDst: 5004 },
  });
  expect(fp).toEqual({
    pathId: 'p1@h4',
    cookie: '0x5600000000000001',
    hops: [
      { node: 'h1', connection: conn, bridge: 'br1', inPort: 2, outPort: 1003 },
      { node: 'h4', inPort: 1001, outPort: 1 },
    ],
    flows: [{ node: 'h1', rules: ['a', 'b'] }],
    receiverIp: '10.250.0.201',
    udpDst: 5004,
  });
  expect(readFlowPath({})).toEqual({ hops: [], flows: [] });
});

test('MigratedDomain: VM, host, port, peers, last migration', () => {
  const d = readDomain({ name: 'v1', host: 'h3', connection: conn, role: 'leaf', state: 'running', network: { ofport: 117 }, peers: [{ host: 'h4', connection: conn }, 5], lastMigration: { from: 'h4', to: 'h3' } });
  expect(d).toEqual({ name: 'v1', host: 'h3', connection: conn, role: 'leaf', state: 'running', ofport: 117, peers: [{ host: 'h4', connection: conn }], lastMigration: { from: 'h4', to: 'h3' } });
  expect(readDomain({ lastMigration: [1] })).toEqual({ peers: [] });
});
