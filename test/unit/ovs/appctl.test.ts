import { RemoteCommandError, ValidationError } from '../../../providers/exec/errors';
import { APPCTL_TIMEOUT_MS, bfdShow, parseBfdShow, parseTnlNeighShow, tnlNeighSet, tnlNeighShow } from '../../../providers/ovs/appctl';
import { BridgeName, Ipv4, Mac } from '../../../providers/ovs/values';
import { scriptedRunner } from '../../support/runners';

// Captured from OVS 3.1.
const NEIGH = [
  'IP                                            MAC                 Bridge',
  '==========================================================================',
  '192.168.1.2                                   02:00:00:00:00:02   br0',
  'fe80::1                                       02:00:00:00:00:03   br0',
  '',
].join('\n');
const BFD_BLOCK = (name: string, fwd: string, local: string, remote: string) =>
  [
    `---- ${name} ----`,
    `  Forwarding: ${fwd}`,
    '  Detect Multiplier: 3',
    '  Concatenated Path Down: false',
    '  TX Interval: Approx 1000ms',
    '  RX Interval: Approx 1000ms',
    '  Detect Time: now -515216ms',
    '  Next TX Time: now +884ms',
    '  Last TX Time: now -26ms',
    '',
    '  Local Flags: none',
    `  Local Session State: ${local}`,
    '  Local Diagnostic: No Diagnostic',
    '  Local Discriminator: 0x41a2d5a3',
    '  Local Minimum TX Interval: 1000ms',
    '  Local Minimum RX Interval: 1000ms',
    '',
    '  Remote Flags: none',
    `  Remote Session State: ${remote}`,
    '  Remote Diagnostic: No Diagnostic',
    '  Remote Discriminator: 0x0',
    '  Remote Minimum TX Interval: 0ms',
    '  Remote Minimum RX Interval: 1ms',
    '  Remote Detect Multiplier: 0',
  ].join('\n');

describe('appctl', () => {
  test('tnlNeighSet argv; values validated before any command', async () => {
    const r = scriptedRunner({ stdout: 'OK\n' });
    await tnlNeighSet(r, 'br0' as BridgeName, '192.168.1.2' as Ipv4, '02:00:00:00:00:0A' as Mac);
    expect(r.calls).toEqual([
      { argv: ['ovs-appctl', 'tnl/neigh/set', 'br0', '192.168.1.2', '02:00:00:00:00:0a'], options: { timeoutMs: APPCTL_TIMEOUT_MS } },
    ]);
    await expect(tnlNeighSet(r, 'br0' as BridgeName, '192.168.1.2' as Ipv4, 'zz' as Mac)).rejects.toBeInstanceOf(ValidationError);
    expect(r.calls).toHaveLength(1);
  });
  test('tnl/neigh/show', async () => {
    expect(parseTnlNeighShow(NEIGH)).toEqual([
      { ip: '192.168.1.2', mac: '02:00:00:00:00:02', bridge: 'br0' },
      { ip: 'fe80::1', mac: '02:00:00:00:00:03', bridge: 'br0' },
    ]);
    const r = scriptedRunner({ stdout: 'IP MAC Bridge\n====\n1.2.3.4 nonsense\n' });
    await expect(tnlNeighShow(r)).rejects.toBeInstanceOf(RemoteCommandError);
  });
  test('bfd/show: all interfaces, or one by filtering', async () => {
    const text = `${BFD_BLOCK('gre-a', 'false', 'down', 'down')}\n${BFD_BLOCK('gre-b', 'true', 'up', 'up')}\n`;
    const all = parseBfdShow(text);
    expect(all.map(({ raw: _raw, ...s }) => s)).toEqual([
      { interface: 'gre-a', forwarding: false, localState: 'down', remoteState: 'down', localDiagnostic: 'No Diagnostic', remoteDiagnostic: 'No Diagnostic' },
      { interface: 'gre-b', forwarding: true, localState: 'up', remoteState: 'up', localDiagnostic: 'No Diagnostic', remoteDiagnostic: 'No Diagnostic' },
    ]);
    expect(all[0].raw['Detect Multiplier']).toBe('3');
    const r = scriptedRunner({ stdout: text }, { stdout: text }, { stdout: '' });
    expect((await bfdShow(r, 'gre-b')).map((s) => s.interface)).toEqual(['gre-b']);
    expect(await bfdShow(r, 'gre-zz')).toEqual([]);
    expect(await bfdShow(r)).toEqual([]);
    expect(r.calls.map((c) => c.argv)).toEqual([['ovs-appctl', 'bfd/show'], ['ovs-appctl', 'bfd/show'], ['ovs-appctl', 'bfd/show']]);
  });
  test('bfd/show garbage is a RemoteCommandError', async () => {
    await expect(bfdShow(scriptedRunner({ stdout: '  Forwarding: true\n' }))).rejects.toThrow('unexpected bfd/show line');
    await expect(bfdShow(scriptedRunner({ stdout: '---- x ----\n  Forwarding: maybe\n' }))).rejects.toThrow('not true/false');
  });
});
