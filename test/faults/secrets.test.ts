/**
 * Security on the real lab (2 hypervisors) through the real Pulumi CLI:
 *
 * - Private keys are Pulumi secrets: stacks/programs/secret-key.ts passes the lab's private
 *   key INLINE (`connection.privateKey`, a plain string read from the key file). After a
 *   failing up (wrong host key), a refused up (hostile input), up, refresh and destroy, the key
 *   (whole, by line, a distinctive substring, and base64 of it) is in none of: the stack's
 *   state file, its history, backups and config, the CLI's output and error texts, the
 *   command trace. The state did hold it, encrypted.
 * - Host keys are always verified: a wrong pinned key fails the up, naming the host and both
 *   fingerprints; the connection schema has no property that turns checking off.
 * - Hostile input through the real CLI: a bridge name with a shell command is refused by
 *   check, naming the property; no command runs (trace and sshd logs unchanged) and the
 *   command's canary file never appears.
 * - The lab's sshd refuses password logins (it offers publickey only).
 *
 * Needs root, the lab tools, the Pulumi CLI (`npm run setup`) and a fresh build; any of them
 * missing FAILS the suite, it never skips.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Inventory } from '../../lab';
import { connectionProblems } from '../../providers/exec/connection-check';
import { LabHosts, acquireLab, releaseLab, requireLabPrerequisites } from '../support/lab';
import { PROVIDER_BUILD, PULUMI_CLI, Stack, failed, ok, requireFresh, stackFiles, stateResources, changesOf, type Run } from '../support/fault-lab';

const PROGRAM = 'dist/stacks/programs/secret-key.js';
const STACK = `flt-sec-${process.pid}`;
const SECRET_SIG = '4dabf18193072939515e22adb298388d'; // Pulumi's marker of a secret value in state

jest.setTimeout(180_000);

describe(`secrets, host keys and hostile input through the real CLI (stack ${STACK})`, () => {
  let inventory: Inventory;
  let lab: LabHosts;
  let stack: Stack;
  let work: string;
  let traceFile: string;
  let canary: string;
  const runs: Run[] = [];
  let stateWithKey = '';
  let weStartedIt = false;

  const record = (r: Run): Run => (runs.push(r), r);
  const h = (name: string) => inventory.hypervisors.find((x) => x.name === name)!;
  const traceLines = () => (fs.existsSync(traceFile) ? fs.readFileSync(traceFile, 'utf8').split('\n').filter(Boolean) : []);
  const accepted = () =>
    inventory.hypervisors.map((x) => {
      const log = path.join(path.dirname(path.dirname(x.ovsRunDir)), x.name, 'ssh', 'sshd.log');
      return fs.existsSync(log) ? (fs.readFileSync(log, 'utf8').match(/Accepted publickey/g) ?? []).length : 0;
    });

  beforeAll(async () => {
    requireLabPrerequisites();
    if (!fs.existsSync(PULUMI_CLI)) throw new Error(`the Pulumi CLI is missing (${PULUMI_CLI}): run \`npm run setup\``);
    requireFresh([['stacks/programs/secret-key.ts', PROGRAM], ...PROVIDER_BUILD]);
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-secrets-'));
    traceFile = path.join(work, 'trace.jsonl');
    canary = path.join(work, 'canary');
    inventory = await acquireLab({ hypervisors: 2, receivers: 0 });
    weStartedIt = true;
    lab = new LabHosts(inventory);
    // Every command the providers send is traced (first words only, never stdin).
    stack = new Stack(STACK, PROGRAM, { ...process.env, VPM_TRACE_FILE: traceFile });
    await stack.init();
  }, 6 * 60_000);

  afterAll(async () => {
    try {
      await stack?.dispose();
    } finally {
      if (weStartedIt) await releaseLab();
      if (work) fs.rmSync(work, { recursive: true, force: true });
    }
  }, 240_000);

  test('a wrong pinned host key fails the up, naming the host and both fingerprints; nothing is made there', async () => {
    await stack.config('vpm:wrongHostKeyFor', 'h2');
    const up = record(failed(await stack.run('up')));
    const text = up.stdout + up.stderr;
    expect(text).toMatch(new RegExp(`host key of [^\\n]*${h('h2').ip.replace(/\./g, '\\.')}[^\\n]* does not match the pinned key: expected SHA256:`));
    expect(text).toContain(`got ${h('h2').hostKeyFingerprint}`); // what the host really presented
    expect(await lab.bridges('h2')).toEqual(['br0']);
    expect(await lab.vpmLeftovers('h2')).toEqual([]);
    expect(traceLines().length).toBeGreaterThan(0); // h1 was worked on, and traced
  });

  test('a hostile bridge name is refused by check, naming the property; no command runs, no host is touched', async () => {
    await stack.configRm('vpm:wrongHostKeyFor');
    await stack.config('vpm:bridgeName', `br1;touch ${canary}`);
    const traced = traceLines().length;
    const logins = accepted();
    const up = record(failed(await stack.run('up')));
    const text = up.stdout + up.stderr;
    expect(text).toMatch(/name may use only letters, digits/);
    // Both bridges carry the hostile name; the engine checks them in parallel and stops at the
    // first refusal, so either one may be the resource named.
    expect(text).toMatch(/resource 'br1-h[12]': property name value/);
    expect(traceLines().length).toBe(traced); // not one command
    expect(accepted()).toEqual(logins); // not one SSH login
    expect(fs.existsSync(canary)).toBe(false);
    expect(await lab.bridges('h2')).toEqual(['br0']);
  });

  test('with the inline key, up converges and refresh finds no drift; the state holds the key only encrypted', async () => {
    await stack.configRm('vpm:bridgeName');
    const up = record(ok(await stack.run('up', '--json')));
    expect(changesOf(up)).toEqual({ create: 2 }); // br1-h2 and the tunnel (br1-h1 came in the first up)
    record(ok(await stack.run('refresh', '--expect-no-changes')));
    for (const name of ['h1', 'h2']) expect(await lab.bridges(name)).toEqual(['br0', 'br1']);
    // The key properties are there, as secrets (ciphertext), on every resource.
    const byType = (t: string) => stateResources(STACK).filter((r) => r.type.endsWith(t));
    for (const r of byType('OvsBridge')) expect(r.outputs?.privateKey).toMatchObject({ [SECRET_SIG]: '1b47061264138c4ac30d75fd1eb44270', ciphertext: expect.any(String) });
    for (const r of byType('GreTunnel')) {
      for (const k of ['aPrivateKey', 'bPrivateKey']) expect(r.outputs?.[k]).toMatchObject({ [SECRET_SIG]: '1b47061264138c4ac30d75fd1eb44270', ciphertext: expect.any(String) });
    }
    stateWithKey = stackFiles(STACK)
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
  });

  test('destroy; the key is in no state, history, backup, config, output, error text or trace', async () => {
    record(ok(await stack.run('destroy')));
    for (const name of ['h1', 'h2']) {
      expect(await lab.bridges(name)).toEqual(['br0']);
      expect(await lab.vpmLeftovers(name)).toEqual([]);
    }
    const key = fs.readFileSync(inventory.privateKeyPath, 'utf8');
    const body = key
      .split('\n')
      .filter((l) => l && !l.startsWith('-----'))
      .join('');
    expect(body.length).toBeGreaterThan(100);
    const needles = [
      key.trim(),
      body,
      ...key.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')), // every line of it
      body.slice(40, 64), // a distinctive substring
      // ... and base64 of it, at each of the three alignments
      ...[0, 1, 2].map((i) => Buffer.from(key.slice(60 + i, 120 + i)).toString('base64').slice(4, 40)),
    ];
    const haystacks: Array<[string, string]> = [
      ...runs.map((r): [string, string] => [`output of pulumi ${r.args.join(' ')}`, r.stdout + r.stderr]),
      ...stackFiles(STACK).map((f): [string, string] => [f, fs.readFileSync(f, 'utf8')]),
      ['the state files as they were before destroy', stateWithKey],
      ['the command trace', fs.existsSync(traceFile) ? fs.readFileSync(traceFile, 'utf8') : ''],
    ];
    expect(runs.length).toBe(5);
    expect(stateWithKey.length).toBeGreaterThan(1000);
    const found = haystacks.flatMap(([where, text]) => needles.filter((n) => text.includes(n)).map((n) => `${where}: ${n.slice(0, 12)}...`));
    expect(found).toEqual([]);
  });

  test('host key checking cannot be turned off: no connection property does it, an empty or wildcard pin is refused', () => {
    const base = { host: h('h1').ip, hostKey: h('h1').hostKey, privateKeyPath: inventory.privateKeyPath };
    for (const extra of [{ strictHostKeyChecking: false }, { StrictHostKeyChecking: 'no' }, { insecure: true }, { trustOnFirstUse: true }, { knownHosts: '/dev/null' }, { hostVerifier: 'accept' }]) {
      expect(connectionProblems({ ...base, ...extra })).toEqual([{ property: Object.keys(extra)[0], reason: expect.stringMatching(/^unknown property/) }]);
    }
    for (const hostKey of ['', '*', 'none', 'any', 'SHA256:*', 'no', h('h1').ip]) {
      expect(connectionProblems({ ...base, hostKey }).map((p) => p.property)).toEqual(['hostKey']);
    }
    expect(connectionProblems({ host: h('h1').ip, privateKeyPath: inventory.privateKeyPath }).map((p) => p.property)).toEqual(['hostKey']);
  });

  test('the lab sshd refuses password logins: it offers publickey only', () => {
    const r = spawnSync(
      'ip',
      [
        'netns', 'exec', inventory.underlay.netns, 'ssh',
        '-o', 'BatchMode=yes', '-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password,keyboard-interactive',
        '-o', `UserKnownHostsFile=${inventory.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'ConnectTimeout=10',
        `root@${h('h1').ip}`, 'true',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/Permission denied \(publickey\)/);
  });
});
