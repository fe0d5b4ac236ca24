/**
 * VPM as a Pulumi user adopts it: `npm pack` the package, make a project of one's own in a
 * temporary folder outside this repository (its own Pulumi.yaml, package.json with the tarball
 * and @pulumi/pulumi, a TypeScript index.ts that does `new StreamingTree(...)` with
 * loadTopologyFile + loadHosts of the lab's hosts file), and drive it with the plain `pulumi`
 * CLI and a file backend of its own: up (a stream really arrives at the receiver), preview
 * --expect-no-changes, refresh, renames that must replace nothing (the component renamed
 * with `aliases`, `pulumi stack rename`, the project renamed) while the stream keeps flowing, destroy (nothing
 * owned is left on any host). No VPM_HOME, no npm run pulumi, nothing of this checkout on
 * the consumer's module path.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { labDown, labUp, type Inventory } from '../../lab';
import { LabPaths } from '../../lab/names';
import { startReceiver, startSender, type ReceiverHandle, type ReceiverStats, type SenderHandle } from '../../lab/stream';
import { LabHosts, requireLabPrerequisites } from '../support/lab';
import { PROJECT_ROOT } from '../support/pulumi-cli';
import { requireFreshBuild } from '../support/tree-lab';
import { ok } from '../support/expect';

jest.setTimeout(600_000);

const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-consumer-'));
const PROJECT = path.join(WORK, 'mine');
const STATE = path.join(WORK, 'state');
const BIN = path.join(PROJECT_ROOT, '.tools', 'bin');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The consumer's environment: the plain CLI on PATH, its own backend and home; nothing pointing into this repository but PATH. */
function consumerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${BIN}:${process.env.PATH ?? ''}`,
    PULUMI_BACKEND_URL: `file://${STATE}`,
    PULUMI_HOME: path.join(WORK, 'pulumi-home'),
    PULUMI_CONFIG_PASSPHRASE: 'consumer-passphrase',
    PULUMI_SKIP_UPDATE_CHECK: 'true',
  };
  for (const k of Object.keys(env)) if (k.startsWith('VPM_') || k === 'NODE_PATH') delete env[k];
  return env;
}

const pulumi = (...args: string[]) => run('pulumi', [...args, '--non-interactive'], { cwd: PROJECT, env: consumerEnv() });

/** A small tree of the consumer's own: h1 (root) - h2 (relay) - h3 (leaf) -> receiver r1. */
function topologyYaml(inventory: Inventory): string {
  const r1 = inventory.receivers.find((r) => r.name === 'r1')!;
  return [
    'nodes:',
    '  - { id: src, role: root, host: h1 }',
    '  - { id: mid, role: relay, host: h2 }',
    '  - { id: edge, role: leaf, host: h3 }',
    'links:',
    '  - { a: src, b: mid }',
    '  - { a: mid, b: edge }',
    'paths:',
    '  - leaf: edge',
    `    receiver: { ip: ${r1.ip}, mac: "${r1.mac}" }`,
    '    stream: { udpPort: 5004 }',
    '',
  ].join('\n');
}

function indexTs(componentName: string, aliasOf?: string): string {
  return [
    "import { StreamingTree, loadHosts, loadTopologyFile } from 'vpm';",
    '',
    `const tree = new StreamingTree(${JSON.stringify(componentName)}, {`,
    "  topology: loadTopologyFile('topology.yaml'),",
    `  hosts: loadHosts(${JSON.stringify(LabPaths.default().hostsFile)}),`,
    `}${aliasOf ? `, { aliases: [{ name: ${JSON.stringify(aliasOf)} }] }` : ''});`,
    '',
    'export const paths = tree.paths;',
    'export const tunnels = tree.tree;',
    '',
  ].join('\n');
}

/** A numbered stream from h1's src0 to r1 around `during`; the receiver's figures. */
async function underStream<T>(inventory: Inventory, during: () => Promise<T>): Promise<{ result: T; at: ReceiverStats; sent: number }> {
  let receiver: ReceiverHandle | undefined;
  let sender: SenderHandle | undefined;
  try {
    receiver = await startReceiver({ inventory, receiver: 'r1', gapLogMs: 50 });
    sender = await startSender({ inventory, root: 'h1', rate: 1000 });
    await receiver.waitFor(250, 20_000);
    const result = await during();
    await new Promise((r) => setTimeout(r, 1000));
    const sent = await sender.stop();
    const at = await receiver.stop({ expected: sent.sent, quietMs: 300 });
    return { result, at, sent: sent.sent };
  } finally {
    await sender?.stop().catch(() => undefined);
    await receiver?.stop().catch(() => undefined);
  }
}

/** The counts of the last "Resources:" block (up prints its preview's block first, then the result's). */
const changes = (r: Run): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const m of r.stdout.slice(r.stdout.lastIndexOf('Resources:')).matchAll(/^\s*[+~-]*\s*(\d+) (created|updated|deleted|replaced|to create|to update|to delete|to replace)\s*$/gm)) counts[m[2]] = Number(m[1]);
  return counts;
};

describe('vpm as an npm package in a Pulumi project of its own, with the plain CLI', () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let labStarted = false;
  let deployed = false;

  beforeAll(async () => {
    requireLabPrerequisites();
    for (const tool of ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-pulumi-nodejs']) {
      if (!fs.existsSync(path.join(BIN, tool))) throw new Error(`${tool} is missing in .tools/bin: run \`npm run setup\``);
    }
    requireFreshBuild(['components/streaming-tree', 'components/hosts', 'components/topology', 'providers/common', 'providers/exec', 'providers/flow-path', 'providers/ovs-bridge', 'providers/gre-tunnel']);
    inventory = await labUp({ hypervisors: 3, receivers: 1, log: () => undefined });
    labStarted = true;
    lab = new LabHosts(inventory);

    // The package, as `npm publish` would ship it.
    const pack = ok(await run('npm', ['pack', '--json', '--pack-destination', WORK], { cwd: PROJECT_ROOT }), 'npm pack');
    const tarball = path.join(WORK, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0].filename);
    fs.mkdirSync(PROJECT, { recursive: true });
    fs.mkdirSync(STATE, { recursive: true });
    const pulumiVersion = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).devDependencies['@pulumi/pulumi'];
    fs.writeFileSync(
      path.join(PROJECT, 'package.json'),
      JSON.stringify({ name: 'mine', private: true, main: 'index.ts', dependencies: { vpm: `file:${tarball}`, '@pulumi/pulumi': pulumiVersion }, devDependencies: { typescript: '~5.9.3', '@types/node': '^20.19.0' } }, null, 2),
    );
    fs.writeFileSync(path.join(PROJECT, 'Pulumi.yaml'), 'name: mine\nruntime: nodejs\ndescription: a streaming tree of my own\n');
    fs.writeFileSync(
      path.join(PROJECT, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, target: 'es2022', module: 'commonjs', moduleResolution: 'node', esModuleInterop: true, skipLibCheck: true }, files: ['index.ts'] }, null, 2),
    );
    fs.writeFileSync(path.join(PROJECT, 'topology.yaml'), topologyYaml(inventory));
    fs.writeFileSync(path.join(PROJECT, 'index.ts'), indexTs('mine'));
    ok(await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: PROJECT, timeoutMs: 300_000 }), 'npm install in the consumer project');
    // The installed package is a copy, not a link into this checkout.
    expect(fs.lstatSync(path.join(PROJECT, 'node_modules', 'vpm')).isSymbolicLink()).toBe(false);
    expect(fs.existsSync(path.join(PROJECT, 'node_modules', 'vpm', 'dist', 'providers', 'flow-path', 'provider.js'))).toBe(true);
    expect(fs.existsSync(path.join(PROJECT, 'node_modules', 'vpm', 'dist', 'test'))).toBe(false);
    ok(await pulumi('stack', 'init', 'dev'), 'pulumi stack init');
  });

  afterAll(async () => {
    try {
      if (deployed) await pulumi('destroy', '--yes', '--stack', 'dev2').then((r) => (r.code === 0 ? r : pulumi('destroy', '--yes', '--stack', 'dev')));
    } finally {
      if (labStarted) await labDown({ log: () => undefined });
      fs.rmSync(WORK, { recursive: true, force: true });
    }
  });

  test('the consumer type-checks its program against the package\'s own types', async () => {
    ok(await run(path.join(PROJECT, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: PROJECT }), 'tsc in the consumer');
  });

  test('pulumi up builds the tree and a stream arrives at the receiver', async () => {
    const up = ok(await pulumi('up', '--yes', '--stack', 'dev'), 'pulumi up');
    deployed = true;
    // 3 bridges, 2 tunnels, 1 path (+ the stack and the component).
    expect(changes(up)).toEqual({ created: 8 });
    expect(up.stdout).not.toMatch(/VPM_HOME/);
    const { at, sent } = await underStream(inventory, async () => undefined);
    expect(sent).toBeGreaterThan(500);
    expect(at.unique).toBeGreaterThan(500);
    expect(at.lost).toBe(0);
  });

  test('preview of the applied stack plans no change; refresh finds none', async () => {
    ok(await pulumi('preview', '--expect-no-changes', '--stack', 'dev'), 'pulumi preview --expect-no-changes');
    ok(await pulumi('refresh', '--yes', '--expect-no-changes', '--stack', 'dev'), 'pulumi refresh --expect-no-changes');
  });

  test('renaming the component with aliases, then the stack, then the project replaces nothing and the stream keeps flowing', async () => {
    const { result, at } = await underStream(inventory, async () => {
      fs.writeFileSync(path.join(PROJECT, 'index.ts'), indexTs('ours', 'mine'));
      const renamed = ok(await pulumi('up', '--yes', '--stack', 'dev'), 'pulumi up after renaming the component');
      ok(await pulumi('stack', 'rename', 'dev2', '--stack', 'dev'), 'pulumi stack rename');
      const after = ok(await pulumi('preview', '--expect-no-changes', '--stack', 'dev2'), 'preview after the stack rename');
      // The project too: the stack moves to project "ours", and Pulumi.yaml says so.
      ok(await pulumi('stack', 'rename', 'organization/ours/dev2', '--stack', 'dev2'), 'pulumi stack rename into project ours');
      fs.writeFileSync(path.join(PROJECT, 'Pulumi.yaml'), 'name: ours\nruntime: nodejs\ndescription: a streaming tree of my own\n');
      const project = ok(await pulumi('up', '--yes', '--stack', 'dev2'), 'pulumi up after renaming the project');
      return { renamed, after, project };
    });
    // No create, delete or replace: the hosts were not touched (the owner marks were kept).
    expect(changes(result.renamed)).toEqual({});
    expect(result.renamed.stdout).toMatch(/\b8 unchanged\b/);
    expect(changes(result.project)).toEqual({});
    expect(result.project.stdout).toMatch(/\b8 unchanged\b/);
    expect(at.lost).toBe(0);
    expect(at.maxGapMs).toBeLessThan(500);
  });

  test('pulumi destroy leaves no owned bridge, port, flow or tunnel on any host', async () => {
    ok(await pulumi('destroy', '--yes', '--stack', 'dev2'), 'pulumi destroy');
    deployed = false;
    const left = (await Promise.all(inventory.hypervisors.map((h) => lab.vpmLeftovers(h.name)))).flat();
    expect(left).toEqual([]);
    for (const h of inventory.hypervisors) {
      expect(await lab.bridges(h.name)).toEqual(['br0']);
    }
  });
});
