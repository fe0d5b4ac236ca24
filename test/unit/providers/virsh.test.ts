/** The one virsh layer (providers/libvirt/virsh.ts): argv and parsers, asserted exactly. */
import { RecordingRunner } from '../../../providers/exec';
import {
  domJobInfoText,
  domainState,
  listAllDomains,
  parseDomainNames,
  parseDomStateLine,
  virshArgv,
} from '../../../providers/libvirt/virsh';

describe('virshArgv', () => {
  test('the host default libvirtd: plain virsh (what the providers send)', () => {
    expect(virshArgv(['domstate', 'vm1'])).toEqual(['virsh', 'domstate', 'vm1']);
  });
  test('a daemon by URI, quiet (what the lab sends)', () => {
    expect(virshArgv(['list', '--name'], { uri: 'qemu+unix:///system?socket=/x', quiet: true })).toEqual([
      'virsh',
      '-q',
      '-c',
      'qemu+unix:///system?socket=/x',
      'list',
      '--name',
    ]);
  });
});

describe('parsers', () => {
  test('domain names, blank lines ignored', () => {
    expect(parseDomainNames('vm1\n  vm2 \n\n')).toEqual(['vm1', 'vm2']);
    expect(parseDomainNames('')).toEqual([]);
  });
  test('domstate: the first line, or undefined', () => {
    expect(parseDomStateLine('shut off\n\n')).toBe('shut off');
    expect(parseDomStateLine('\n')).toBeUndefined();
  });
});

describe('commands over a runner', () => {
  test('domainState: list then domstate, absent is undefined', async () => {
    const r = new RecordingRunner({ responses: [{ stdout: 'vm1\n' }, { stdout: 'running\n' }, { stdout: 'other\n' }] });
    expect(await domainState(r, 'vm1')).toBe('running');
    expect(await domainState(r, 'vm1')).toBeUndefined();
    expect(r.argvs).toEqual([
      ['virsh', 'list', '--all', '--name'],
      ['virsh', 'domstate', 'vm1'],
      ['virsh', 'list', '--all', '--name'],
    ]);
  });
  test("status's reads: virsh list --all, and domjobinfo with exit 1 as no job", async () => {
    const r = new RecordingRunner({
      responses: [{ stdout: ' Id   Name   State\n----------------\n 2    vm1    running\n' }, { exitCode: 1, stderr: 'no domain' }, { stdout: 'Job type: None\n' }],
    });
    expect(await listAllDomains(r, 1000)).toEqual([{ id: 2, name: 'vm1', state: 'running' }]);
    expect(await domJobInfoText(r, 'vm1', 1000)).toBeUndefined();
    expect(await domJobInfoText(r, 'vm1', 1000)).toBe('Job type: None\n');
    expect(r.calls.map((c) => [c.argv, c.options])).toEqual([
      [['virsh', 'list', '--all'], { timeoutMs: 1000 }],
      [['virsh', 'domjobinfo', 'vm1'], { timeoutMs: 1000, okExitCodes: [0, 1] }],
      [['virsh', 'domjobinfo', 'vm1'], { timeoutMs: 1000, okExitCodes: [0, 1] }],
    ]);
  });
});
