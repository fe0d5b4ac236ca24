/**
 * The main job always works again (issue #20), end to end with the project's own command
 * (`npm run lab`, on a stack of this test's own, VPM_STACK, with the lab stack's topology, so
 * the user's `lab` stack and its lab are never touched):
 *   1. `npm run lab`: the stream flows root -> leaf VM -> r1;
 *   2. 0 datagrams lost from the moment an `up` that creates the VM returns (the VM counts as
 *      created once its guest relays): the VM alone is destroyed, a 1000/s stream is started,
 *      `up` recreates the VM, and every datagram sent after `up` returned reaches r1;
 *   3. `npx vpm lab down` destroys what the stack deployed (its state is empty afterwards);
 *   4. `npm run lab` again: a new lab generation, the stream flows;
 *   5. a restart (the lab's namespaces deleted by hand; .lab/ and the state stay): `vpm lab up
 *      --stack lab` refuses with the one reset command; `npm run lab` resets the stack itself
 *      (saying so) and the stream flows again.
 * Needs root, the lab tools with libvirt, the Pulumi CLI and a current build.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readInventory, type Inventory } from '../../lab/inventory';
import { LabSite } from '../../lab/names';
import { startReceiver, startSender } from '../../lab/stream';
import { requireLabPrerequisites } from '../support/lab';
import { PROJECT_ROOT, PULUMI_CLI, Stack, ok, pulumi } from '../support/pulumi-stack';
import { requireFreshBuild } from '../support/tree-lab';

const STACK = new Stack(`tlife-${process.pid}`);
const SITE = LabSite.forStack(STACK.name);
const labInventory = () => readInventory(SITE.paths.inventory);
const VPM = path.join(PROJECT_ROOT, 'dist', 'cli', 'vpm.js');

interface Run {
  code: number;
  out: string;
}

function run(cmd: string, args: string[], timeoutMs = 15 * 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: PROJECT_ROOT, env: { ...process.env, VPM_STACK: STACK.name }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

function must(r: Run, what: string): Run {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}:\n${r.out.slice(-8000)}`);
  return r;
}

const npmRunLab = async () => must(await run('npm', ['run', '-s', 'lab']), 'npm run lab');
const vpm = (...args: string[]) => run('node', [VPM, ...args]);

/** Resources in the lab stack's state (not the stack, not providers). */
async function resourceUrns(): Promise<string[]> {
  const r = ok(await pulumi(['stack', 'export', '--stack', STACK.name]));
  const resources = (JSON.parse(r.stdout) as { deployment?: { resources?: Array<{ urn: string; type: string }> } }).deployment?.resources ?? [];
  return resources.filter((x) => x.type !== 'pulumi:pulumi:Stack' && !x.type.startsWith('pulumi:providers:')).map((x) => x.urn);
}

/** A 1000/s numbered stream from the root for `seconds`; what r1 received of it. */
async function streamFlows(inventory: Inventory, seconds = 2): Promise<{ sent: number; unique: number; lost: number }> {
  const receiver = await startReceiver({ inventory, receiver: 'r1' });
  try {
    const sender = await startSender({ inventory, stack: STACK.name, rate: 1000, seconds });
    const sent = await sender.done;
    const got = await receiver.stop({ expected: sent.sent, quietMs: 300 });
    return { sent: sent.sent, unique: got.unique, lost: got.lost };
  } finally {
    await receiver.stop().catch(() => undefined);
  }
}

function expectFlowing(s: { sent: number; unique: number }): void {
  expect(s.sent).toBeGreaterThan(0);
  // Flowing end to end through the leaf VM (a loaded 2-core machine may drop a datagram or two).
  expect(s.unique).toBeGreaterThanOrEqual(Math.floor(s.sent * 0.95));
}

async function labNamespaces(): Promise<string[]> {
  const r = must(await run('ip', ['netns', 'list']), 'ip netns list');
  return r.out.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(SITE.prefix));
}

jest.setTimeout(20 * 60_000);

describe(`npm run lab always works again (lab ${SITE.prefix}*, stack ${STACK.name})`, () => {
  beforeAll(() => {
    // The stack's topology, before its lab is sized from it and before `pulumi stack init`.
    fs.writeFileSync(STACK.configFile, 'config:\n  vpm:topology: stacks/topologies/lab.yaml\n');
    requireLabPrerequisites({ virsh: 'libvirt-clients', libvirtd: 'libvirt-daemon-system', 'qemu-system-x86_64': 'qemu-system-x86' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireFreshBuild(['lab', 'cli', 'stacks', 'components/streaming-tree', 'providers/migrated-domain', 'providers/ovs']);
  });

  afterAll(async () => {
    await vpm('lab', 'down', '--stack', STACK.name);
    await STACK.remove(true);
    fs.rmSync(STACK.configFile, { force: true });
  }, 10 * 60_000);

  test('1. npm run lab: the stream flows', async () => {
    await npmRunLab();
    expectFlowing(await streamFlows(labInventory()));
  });

  test('2. 0 datagrams lost from the moment an up that creates the VM returns', async () => {
    const inventory = labInventory();
    const vm = (await resourceUrns()).find((u) => u.endsWith('::tree-vm-leafvm'));
    expect(vm).toBeDefined();
    ok(await STACK.program('destroy', '--yes', '--skip-preview', '--target', vm!));
    const receiver = await startReceiver({ inventory, receiver: 'r1' });
    const sender = await startSender({ inventory, stack: STACK.name, rate: 1000 });
    try {
      ok(await STACK.program('up', '--yes', '--skip-preview'));
      const from = (await sender.stats()).sent; // every datagram from here on must arrive
      await new Promise((r) => setTimeout(r, 3000));
      const to = (await sender.stop()).sent;
      await new Promise((r) => setTimeout(r, 500));
      const got = await receiver.countRange(from, to);
      process.stderr.write(`[lab-lifecycle] after up returned: ${got}/${to - from} datagrams (sent ${from} before)\n`);
      expect(to - from).toBeGreaterThan(2000);
      expect(got).toBe(to - from);
    } finally {
      await sender.stop().catch(() => undefined);
      await receiver.stop().catch(() => undefined);
    }
  });

  test('3. vpm lab down destroys what the stack deployed', async () => {
    const r = await vpm('lab', 'down', '--stack', STACK.name);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`destroying what stack ${STACK.name} deployed on this lab`);
    expect(await resourceUrns()).toEqual([]);
    expect(await labNamespaces()).toEqual([]);
  });

  test('4. npm run lab again: a new lab, the stream flows', async () => {
    await npmRunLab();
    expect((await resourceUrns()).length).toBeGreaterThan(0);
    expectFlowing(await streamFlows(labInventory()));
  });

  test('5. after a restart (namespaces gone): lab up refuses with the reset command; npm run lab resets and flows', async () => {
    // A restart ends every process of the lab too (vswitchd, sshd, libvirtd and its QEMU):
    // kill what runs in each namespace before deleting it, or the VM would outlive its lab.
    for (const ns of await labNamespaces()) {
      const pids = must(await run('ip', ['netns', 'pids', ns]), `ip netns pids ${ns}`).out.split('\n').map(Number).filter((p) => p > 0);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      must(await run('ip', ['netns', 'del', ns]), `ip netns del ${ns}`);
    }
    const refused = await vpm('lab', 'up', '--stack', STACK.name);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain(`stack "${STACK.name}" holds`);
    expect(refused.out).toMatch(/resource\(s\) deployed on an earlier lab/);
    expect(refused.out).toContain(`npx vpm lab forget --stack ${STACK.name}`);
    const again = await npmRunLab();
    expect(again.out).toMatch(new RegExp(`forgot stack ${STACK.name}: \\d+ resource\\(s\\) removed from its state`));
    expectFlowing(await streamFlows(labInventory()));
  });
});
