/**
 * Labs per stack, side by side (issue #16), with the project's own commands:
 *   1. `vpm lab up --stack A` and `--stack B`: two labs, each with its own namespaces (prefix
 *      derived from the stack), folder and hosts file, sized from the stacks' topology;
 *   2. plain `pulumi up` on both (neither sets vpm:hosts: each program finds its own lab);
 *   3. a numbered stream flows on both, each to its own lab's receiver;
 *   4. while B streams, `vpm lab down --stack A` destroys A's stack and A's lab: every one of
 *      A's namespaces is gone, every one of B's is there, B's lab is healthy, and every datagram
 *      B sent in that time reached B's receiver (0 lost).
 * The stacks are `t16a-*` / `t16b-*` (prefixes `st16a…-`, `st16b…-`): no one else's lab is
 * ever seen. Needs root, the lab tools with libvirt (a stack's lab has libvirtds), the Pulumi
 * CLI and a current build.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readInventory, type Inventory } from '../../lab/inventory';
import { LabSite } from '../../lab/names';
import { listLabNamespaces } from '../../lab/netns';
import { startReceiver, startSender } from '../../lab/stream';
import { requireLabPrerequisites } from '../support/lab';
import { PROJECT_ROOT, PULUMI_CLI, Stack, ok } from '../support/pulumi-stack';
import { requireFreshBuild } from '../support/tree-lab';

const RUN = process.pid.toString(36);
const A = new Stack(`t16a-${RUN}`);
const B = new Stack(`t16b-${RUN}`);
const VPM = path.join(PROJECT_ROOT, 'dist', 'cli', 'vpm.js');
/** Three hypervisors, no VM: the stream goes h1 -> h2 -> h3 -> r1 (cheap on 2 cores). */
const TOPOLOGY = `nodes:
  - { id: h1, role: root, host: h1 }
  - { id: h2, role: relay, host: h2 }
  - { id: h3, role: leaf, host: h3 }
links:
  - { a: h1, b: h2 }
  - { a: h2, b: h3 }
paths:
  - leaf: h3
    receiver: { ip: 10.250.0.201, mac: "02:56:52:00:00:01" }
    stream: { udpPort: 5004 }
`;

/**
 * `vpm ...args`; `nice`: at lower CPU priority. The lab's datapath is userspace OVS on 2 shared
 * cores: A's `pulumi destroy` at full priority can starve B's vswitchds into dropping a few
 * datagrams, which is CPU contention, not one lab touching the other (measured: 88 of 51,932).
 */
function vpm(...args: string[]): Promise<{ code: number; out: string }> {
  const nice = args[0] === '--nice';
  const argv = nice ? ['nice', '-n', '15', 'node', VPM, ...args.slice(1)] : ['node', VPM, ...args];
  return new Promise((resolve) => {
    // process.env explicitly (the suite's passphrase and lab are set in jest.config.js).
    execFile(argv[0]!, argv.slice(1), { cwd: PROJECT_ROOT, env: process.env, timeout: 10 * 60_000, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

async function mustVpm(...args: string[]): Promise<string> {
  const r = await vpm(...args);
  if (r.code !== 0) throw new Error(`vpm ${args.join(' ')} exited ${r.code}:\n${r.out.slice(-6000)}`);
  return r.out;
}

async function streamFlows(stack: Stack, inventory: Inventory): Promise<{ sent: number; unique: number }> {
  const receiver = await startReceiver({ inventory, receiver: 'r1' });
  try {
    const sender = await startSender({ inventory, stack: stack.name, rate: 1000, seconds: 2 });
    const sent = await sender.done;
    const got = await receiver.stop({ expected: sent.sent, quietMs: 300 });
    return { sent: sent.sent, unique: got.unique };
  } finally {
    await receiver.stop().catch(() => undefined);
  }
}

jest.setTimeout(20 * 60_000);

describe(`two stack labs side by side (stacks ${A.name}, ${B.name})`, () => {
  const siteA = LabSite.forStack(A.name);
  const siteB = LabSite.forStack(B.name);
  let topologyFile = '';
  let upA = false;
  let upB = false;

  beforeAll(async () => {
    requireLabPrerequisites({ virsh: 'libvirt-clients', libvirtd: 'libvirt-daemon-system', 'qemu-system-x86_64': 'qemu-system-x86' });
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireFreshBuild(['lab', 'cli', 'stacks']);
    topologyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-t16-')), 'chain.yaml');
    fs.writeFileSync(topologyFile, TOPOLOGY);
    for (const s of [A, B]) {
      await s.init();
      await s.configSet('vpm:topology', topologyFile);
    }
  });

  afterAll(async () => {
    // Only what this test started: its two stacks' labs and stacks.
    if (upA) await vpm('lab', 'down', '--stack', A.name);
    if (upB) await vpm('lab', 'down', '--stack', B.name);
    for (const s of [A, B]) if (s.created) await s.remove(true);
    if (topologyFile) fs.rmSync(path.dirname(topologyFile), { recursive: true, force: true });
  }, 10 * 60_000);

  test('1. lab up --stack A and --stack B: two labs, own namespaces, folders and hosts files', async () => {
    upA = true;
    await mustVpm('lab', 'up', '--stack', A.name);
    upB = true;
    await mustVpm('lab', 'up', '--stack', B.name);
    expect(siteA.prefix).not.toBe(siteB.prefix);
    for (const site of [siteA, siteB]) {
      // Sized from the topology: 3 hypervisors, 1 receiver, plus the underlay.
      expect(listLabNamespaces(site)).toEqual(['h1', 'h2', 'h3', 'r1', 'ul'].map((n) => `${site.prefix}${n}`));
      expect(fs.existsSync(site.paths.hostsFile)).toBe(true);
      const inv = readInventory(site.paths.inventory);
      expect(inv.underlay.netns).toBe(site.underlayNs);
      expect(fs.readFileSync(site.paths.hostsFile, 'utf8')).toContain(`netns: ${site.underlayNs}`);
    }
    const status = await vpm('lab', 'status', '--stack', B.name);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`stack ${B.name}'s lab healthy: 3 hypervisor(s), 1 receiver(s)`);
  });

  test('2. plain pulumi up on both; each program reaches its own lab', async () => {
    for (const s of [A, B]) ok(await s.program('up', '--yes', '--skip-preview'));
    // Each stack's state pins its own lab's host keys (the hosts file it defaulted to).
    for (const [s, site] of [[A, siteA], [B, siteB]] as const) {
      const exported = ok(await (await import('../support/pulumi-stack')).pulumi(['stack', 'export', '--stack', s.name])).stdout;
      expect(exported).toContain(site.underlayNs);
      expect(exported).not.toContain((s === A ? siteB : siteA).underlayNs);
    }
  });

  test('3. a stream flows on both labs', async () => {
    for (const [s, site] of [[A, siteA], [B, siteB]] as const) {
      const got = await streamFlows(s, readInventory(site.paths.inventory));
      expect(got.sent).toBeGreaterThan(1500);
      expect(got.unique).toBeGreaterThanOrEqual(Math.floor(got.sent * 0.98));
    }
  });

  test('4. lab down --stack A while B streams: A gone, B untouched, nothing lost on B', async () => {
    const invB = readInventory(siteB.paths.inventory);
    const receiver = await startReceiver({ inventory: invB, receiver: 'r1' });
    const sender = await startSender({ inventory: invB, stack: B.name, rate: 500 });
    try {
      await receiver.waitFor(250, 10_000);
      const from = (await sender.stats()).sent;
      const down = await mustVpm('--nice', 'lab', 'down', '--stack', A.name);
      upA = false;
      expect(down).toMatch(new RegExp(`destroying what stack ${A.name} deployed on this lab`));
      await new Promise((r) => setTimeout(r, 1000));
      const to = (await sender.stop()).sent;
      await new Promise((r) => setTimeout(r, 500));
      const got = await receiver.countRange(from, to);
      process.stderr.write(`[stack-labs] B during A's lab down: ${got}/${to - from} datagrams\n`);
      expect(to - from).toBeGreaterThan(500);
      expect(got).toBe(to - from);
    } finally {
      await sender.stop().catch(() => undefined);
      await receiver.stop().catch(() => undefined);
    }
    expect(listLabNamespaces(siteA)).toEqual([]);
    expect(fs.existsSync(siteA.paths.inventory)).toBe(false);
    expect(listLabNamespaces(siteB)).toEqual(['h1', 'h2', 'h3', 'r1', 'ul'].map((n) => `${siteB.prefix}${n}`));
    expect((await vpm('lab', 'status', '--stack', B.name)).code).toBe(0);
    // A's stack holds nothing any more; B's still streams after the fact.
    const after = await streamFlows(B, invB);
    expect(after.unique).toBeGreaterThanOrEqual(Math.floor(after.sent * 0.98));
  });
});
