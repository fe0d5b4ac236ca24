/**
 * Program errors through the real Pulumi CLI (no hosts needed: the program stops before any
 * resource): a topology with a node without its host, and a topology whose node names a host
 * the inventory does not have. Each is reported as the error it is, with the field and the
 * fix, once in the diagnostics (see the note on the driver below), without "Unhandled
 * exception" or a stack trace.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeInventory, type Inventory } from '../../lab/inventory';
import { hostsFileText } from '../../lab/hosts-file';
import { PULUMI_CLI, Stack } from '../support/pulumi-stack';
import { requireFresh } from '../support/serialised-provider';

const STACK = new Stack(`prog-errors-${process.pid}`);
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-prog-errors-'));
const INVENTORY = path.join(DIR, 'inventory.json');
const HOSTS = path.join(DIR, 'hosts.yaml');
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

function fakeInventory(): Inventory {
  const h = (k: number) => ({
    name: `h${k}`, netns: `vpmnc-h${k}`, ip: `10.250.0.${10 + k}`, mac: `02:56:50:00:00:0${k}`, sshPort: 22, user: 'root',
    hostKey: HOST_KEY, hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, ovsRunDir: path.join(DIR, `h${k}`),
  });
  return {
    version: 1, createdAt: new Date().toISOString(),
    underlay: { netns: 'vpmnc-ul', cidr: '10.250.0.0/24', bridge: 'ul0', ip: '10.250.0.1' },
    privateKeyPath: path.join(DIR, 'id'), knownHostsPath: path.join(DIR, 'known_hosts'),
    hypervisors: [1, 2, 3].map(h), receivers: [],
    guest: { kernel: path.join(DIR, 'vmlinux'), initrd: path.join(DIR, 'initrd'), emulator: path.join(DIR, 'qemu') },
  };
}

/** The lines of the CLI's "Diagnostics:" section. */
function diagnostics(out: string): string[] {
  const at = out.indexOf('Diagnostics:');
  if (at < 0) return [];
  const rest = out.slice(at).split('\n').slice(1);
  const end = rest.findIndex((l) => /^\S/.test(l));
  return (end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim()).filter(Boolean);
}

jest.setTimeout(300_000); // each case is a real preview: a minute on a loaded machine

describe('program errors are reported once, as what they are', () => {
  beforeAll(async () => {
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireFresh([['components/streaming-tree/program-errors.ts', 'dist/components/streaming-tree/program-errors.js'], ['stacks/main.ts', 'dist/stacks/main.js']]);
    // The program reads a hosts file (what `vpm lab up` writes from its inventory).
    const inventory = writeInventory(INVENTORY, fakeInventory());
    fs.writeFileSync(HOSTS, hostsFileText(inventory, DIR));
    await STACK.init();
    await STACK.configSet('vpm:hosts', HOSTS);
  });
  afterAll(async () => {
    if (STACK.created) await STACK.remove(true);
    fs.rmSync(DIR, { recursive: true, force: true });
  });

  const cases: Array<[string, string, RegExp]> = [
    ['a node without a host (the topology file)', 'test/fixtures/bad/rule-missing-host.yaml', /invalid topology in \S+rule-missing-host\.yaml: nodes\[0\]\.host: is missing; add it/],
    ['a host the inventory does not have (the component)', '', /nodes\[3\]\.host: host "h4" is not in the inventory; add it to the stack's hosts \(known: h1, h2, h3\)/],
  ];
  test.each(cases)('%s', async (_what, topology, expected) => {
    await STACK.configSet('vpm:topology', topology || 'stacks/topologies/lab.yaml'); // lab.yaml puts h4 on a host this inventory lacks
    const run = await STACK.program('preview');
    const out = `${run.stdout}\n${run.stderr}`;
    expect(run.code).not.toBe(0);
    expect(out).toMatch(expected);
    expect(out).not.toMatch(/unhandled exception/i);
    expect(out).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m); // no stack trace
    // Once with the plain CLI and its nodejs language host. The Automation-API driver (inline
    // program, until `npm run pulumi` passes straight to the CLI) prints a RunError twice: the
    // SDK's own handler logs it and the run's response repeats it; both lines are the same.
    const viaAutomationApi = /--exec-kind auto\.inline/.test(out);
    expect(diagnostics(run.stdout).filter((l) => expected.test(l))).toHaveLength(viaAutomationApi ? 2 : 1);
  });
});
