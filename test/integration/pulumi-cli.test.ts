/**
 * The plain Pulumi CLI as set up by `npm run setup`: the CLI at the pinned version, the nodejs
 * language host beside it (so `pulumi up` runs Pulumi.yaml's `main`), and `npm run pulumi --`
 * as a pure pass-through: no flag of its own, no silent `--yes`, and no default passphrase
 * for a stack that is not one of the lab's.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, '.tools', 'bin');

function npmPulumi(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', 'pulumi', '--', ...args], { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}\n${stderr}` });
    });
  });
}

const withoutPassphrase = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.PULUMI_CONFIG_PASSPHRASE;
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  return env;
};

describe('the plain Pulumi CLI of this project', () => {
  test('pulumi is the version pinned for development, with its nodejs language host and the dynamic-provider launcher', async () => {
    const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).devDependencies['@pulumi/pulumi'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const r = await npmPulumi(['version']);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')[0]).toBe(`v${pinned}`);
    for (const tool of ['pulumi-language-nodejs', 'pulumi-resource-pulumi-nodejs']) {
      expect(fs.statSync(path.join(BIN, tool)).mode & 0o111).not.toBe(0);
    }
  });

  test('Pulumi.yaml names a CommonJS main that exports the program function itself', () => {
    const project = parse(fs.readFileSync(path.join(ROOT, 'Pulumi.yaml'), 'utf8'));
    expect(project.main).toBe('stacks/index.js');
    expect(project.runtime).toEqual({ name: 'nodejs', options: { typescript: false } });
    const entry = fs.readFileSync(path.join(ROOT, project.main), 'utf8');
    expect(entry).toMatch(/module\.exports = /);
    expect(entry).not.toMatch(/exports\.default|export default/);
  });

  test('npm run pulumi passes flags through untouched: an unknown flag is the CLI\'s own error', async () => {
    const r = await npmPulumi(['preview', '--stack', 'lab', '--no-such-flag']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/unknown flag: --no-such-flag/);
  });

  test('up is never confirmed silently: without --yes a non-interactive up refuses', async () => {
    const r = await npmPulumi(['up', '--stack', `no-yes-${process.pid}`, '--non-interactive']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/--yes .*must be passed in to proceed|no stack named/);
  });

  test('a stack that is not the lab\'s gets no default passphrase: the error says to set PULUMI_CONFIG_PASSPHRASE', async () => {
    const stack = `nopass-${process.pid}`;
    const r = await npmPulumi(['stack', 'init', stack, '--non-interactive'], withoutPassphrase());
    try {
      expect(r.code).not.toBe(0);
      expect(r.out).toMatch(/PULUMI_CONFIG_PASSPHRASE/);
    } finally {
      await npmPulumi(['stack', 'rm', stack, '--yes', '--force', '--non-interactive'], process.env);
      fs.rmSync(path.join(ROOT, 'stacks', `Pulumi.${stack}.yaml`), { force: true });
    }
  });

  test('a lab stack named as a word (`stack init lab`, as npm run lab does) gets the lab passphrase without any set', async () => {
    // A backend of the test's own: the project's `lab` stack (a user's) is never touched.
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-labstack-'));
    const env = { ...withoutPassphrase(), PULUMI_BACKEND_URL: `file://${backend}` };
    try {
      for (const args of [
        ['stack', 'init', 'lab', '--non-interactive'],
        ['stack', 'select', 'lab', '--non-interactive'],
        ['stack', 'rm', 'lab', '--yes', '--force', '--preserve-config', '--non-interactive'],
      ]) {
        const r = await npmPulumi(args, env);
        expect({ args, code: r.code, out: r.code === 0 ? '' : r.out }).toEqual({ args, code: 0, out: '' });
      }
    } finally {
      fs.rmSync(backend, { recursive: true, force: true });
    }
  });

  test('the project\'s runs use the language host beside the CLI (no "from $PATH" warning), and a preview of a program runs', async () => {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-hostcheck-'));
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${backend}` };
    const stack = `hostcheck-${process.pid}`;
    try {
      expect((await npmPulumi(['stack', 'init', stack, '--non-interactive'], env)).code).toBe(0);
      expect((await npmPulumi(['config', 'set', 'vpm:program', 'empty', '--stack', stack], env)).code).toBe(0);
      const r = await npmPulumi(['preview', '--stack', stack, '--non-interactive'], env);
      expect({ code: r.code, out: r.code === 0 ? '' : r.out }).toEqual({ code: 0, out: '' });
      expect(r.out).not.toMatch(/from \$PATH/);
    } finally {
      fs.rmSync(backend, { recursive: true, force: true });
      fs.rmSync(path.join(ROOT, 'stacks', `Pulumi.${stack}.yaml`), { force: true });
    }
  });

  test('the host wrapper passes -typescript=false to a host that takes the flag, and nothing to one that does not', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-hostwrap-'));
    try {
      fs.mkdirSync(path.join(dir, 'project-bin'));
      fs.mkdirSync(path.join(dir, 'bin'));
      const wrapper = path.join(dir, 'project-bin', 'pulumi-language-nodejs');
      fs.copyFileSync(path.join(ROOT, 'lab', 'setup', 'language-host-wrapper.sh'), wrapper);
      fs.chmodSync(wrapper, 0o755);
      const host = path.join(dir, 'bin', 'pulumi-language-nodejs');
      const fakeHost = (flags: string) => {
        fs.writeFileSync(host, `#!/bin/sh\nif [ "$1" = -help ]; then echo "${flags}" >&2; exit 2; fi\necho "args: $*"\n`);
        fs.chmodSync(host, 0o755);
      };
      const run = () => require('node:child_process').execFileSync(wrapper, ['127.0.0.1:1234'], { encoding: 'utf8' }).trim();
      fakeHost('  -typescript  use ts-node (default true)');
      expect(run()).toBe('args: -typescript=false 127.0.0.1:1234');
      fakeHost('  -root string');
      expect(run()).toBe('args: 127.0.0.1:1234');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the lab\'s own stacks keep their committed config (encryption salt for the lab passphrase)', () => {
    for (const stack of ['lab', 'paper', 'failover']) {
      const config = parse(fs.readFileSync(path.join(ROOT, 'stacks', `Pulumi.${stack}.yaml`), 'utf8'));
      expect(config.encryptionsalt).toMatch(/^v1:/);
    }
  });
});
