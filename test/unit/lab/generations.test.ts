/**
 * Lab generations, pure: the records of which stack deployed on which lab, what `lab down`
 * does with each (destroy on the running lab, forget on a gone one, never touch a stack the lab
 * has no record of), and when a stack's state may be used on the running lab.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forgetRecord, planLabDown, readRecord, readRecords, recordDeployment, resetCommand, stackVerdict, type DeploymentRecord } from '../../../lab/generations';
import { generationOf, newGeneration, parseInventory, writeInventory, readInventory } from '../../../lab/inventory';
import { LabPaths } from '../../../lab/names';

const G1 = '0123456789abcdef';
const G2 = 'fedcba9876543210';
const rec = (stack: string, generation: string): DeploymentRecord => ({ stack, generation, recordedAt: '2025-01-01T00:00:00.000Z' });

const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const inventory = {
  version: 1,
  createdAt: '2025-01-01T00:00:00.000Z',
  underlay: { netns: 'vpmlab-ul', cidr: '10.250.0.0/24', bridge: 'ul0', ip: '10.250.0.1' },
  privateKeyPath: '/tmp/k',
  knownHostsPath: '/tmp/kh',
  hypervisors: [
    { name: 'h1', netns: 'vpmlab-h1', ip: '10.250.0.11', mac: '02:56:50:00:00:01', sshPort: 22, user: 'root', hostKey: HOST_KEY, hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, ovsRunDir: '/tmp/o' },
  ],
  receivers: [],
};

describe('records in the lab folder', () => {
  let dir: string;
  let paths: LabPaths;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-gen-'));
    paths = new LabPaths(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('record, read back, list, forget', () => {
    expect(readRecords(paths)).toEqual([]);
    recordDeployment('paper', G1, paths);
    recordDeployment('lab', G2, paths);
    expect(readRecord('lab', paths)).toMatchObject({ stack: 'lab', generation: G2 });
    expect(readRecords(paths).map((r) => r.stack)).toEqual(['lab', 'paper']);
    forgetRecord('lab', paths);
    expect(readRecord('lab', paths)).toBeUndefined();
    expect(readRecords(paths).map((r) => r.stack)).toEqual(['paper']);
  });

  test('the records survive what `lab down` removes (they are not runtime entries)', () => {
    recordDeployment('lab', G1, paths);
    const records = path.join(dir, 'stacks');
    expect(paths.runtimeEntries()).not.toContain(records);
    expect(fs.existsSync(path.join(records, 'lab.json'))).toBe(true);
  });

  test('a stack name that is not a safe file name is refused', () => {
    expect(() => recordDeployment('../etc', G1, paths)).toThrow(/invalid stack name/);
  });

  test('every written inventory has a generation; a new one each time; old inventories get a stable one', () => {
    const file = path.join(dir, 'inventory.json');
    writeInventory(file, parseInventory(inventory));
    const a = generationOf(readInventory(file));
    writeInventory(file, parseInventory(inventory));
    const b = generationOf(readInventory(file));
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(b).not.toBe(a);
    const old = parseInventory(inventory); // written before generations existed
    expect(generationOf(old)).toBe(generationOf(old));
    expect(generationOf(old)).toMatch(/^[0-9a-f]{16}$/);
    expect(newGeneration()).not.toBe(newGeneration());
  });
});

describe('planLabDown', () => {
  const records = [rec('lab', G2), rec('old', G1)];

  test('the running, reachable lab: its stacks are destroyed, earlier labs\' stacks forgotten', () => {
    expect(planLabDown(records, { generation: G2, reachable: true })).toEqual([
      { kind: 'destroy', stack: 'lab' },
      { kind: 'forget', stack: 'old', why: expect.stringContaining('earlier lab') },
    ]);
  });

  test('a lab that is gone or does not answer: everything recorded is forgotten, saying why', () => {
    for (const lab of [{ reachable: false }, { generation: G2, reachable: false }]) {
      const plan = planLabDown(records, lab);
      expect(plan.map((a) => a.kind)).toEqual(['forget', 'forget']);
      expect(plan[0]).toMatchObject({ why: expect.stringContaining('not running or not reachable') });
    }
  });

  test('--stack limits it to one stack; stacks without a record are never in the plan', () => {
    expect(planLabDown(records, { generation: G2, reachable: true }, 'old')).toEqual([{ kind: 'forget', stack: 'old', why: expect.any(String) }]);
    expect(planLabDown(records, { generation: G2, reachable: true }, 'production')).toEqual([]);
  });
});

describe('stackVerdict', () => {
  test('an empty state may always deploy', () => {
    expect(stackVerdict('lab', 0, undefined, undefined)).toEqual({ kind: 'ok' });
    expect(stackVerdict('lab', 0, rec('lab', G1), G2)).toEqual({ kind: 'ok' });
  });

  test('resources recorded on the running lab: ok', () => {
    expect(stackVerdict('lab', 12, rec('lab', G2), G2)).toEqual({ kind: 'ok' });
  });

  test('resources of an earlier lab, of no recorded lab, or with no lab running: stale, with the count', () => {
    for (const [record, gen] of [[rec('lab', G1), G2], [undefined, G2], [rec('lab', G1), undefined]] as const) {
      const v = stackVerdict('lab', 12, record, gen);
      expect(v.kind).toBe('stale');
      expect(v.kind === 'stale' && v.reason).toMatch(/stack "lab" holds 12 resource\(s\)/);
    }
  });

  test('the reset is one command', () => {
    expect(resetCommand('lab')).toBe('npx vpm lab forget --stack lab');
  });
});
