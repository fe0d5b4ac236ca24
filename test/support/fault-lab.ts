/**
 * Helpers of the fault suite (test/faults/*.test.ts): the real Pulumi CLI on a stack (run to
 * completion, or started in the background to be killed mid-run), the stack's state file, and
 * the lab daemons a fault kills and restarts by PID (sshd, ovs-vswitchd) exactly as
 * lab/sshd.ts and lab/ovs.ts start them.
 *
 * Pulumi runs through test/support/pulumi-cli.ts (the plain CLI behind `npm run pulumi --`:
 * local file backend). Every process a background run starts is ended by its own PID (the
 * run's whole process tree, collected before the kill).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Inventory } from '../../lab';
import { ovsEnv } from '../../lab/names';
import { isAlive, procInfo, readPidFile } from '../../lab/procs';
import { sh } from '../../lab/sh';
import { which } from '../../lab/tools';
import { failed, ok } from './expect';
import { PROJECT_ROOT, PULUMI_CLI, runPulumi as pulumi, spawnPulumi, type Run } from './pulumi-cli';
import { changesOf as changesOfSummary, summaryOf } from './pulumi-stack';
export { requireFresh } from './serialised-provider';
export { PROJECT_ROOT, PULUMI_CLI, failed, ok, pulumi, summaryOf, type Run };

/** The changes of a run's --json summary, without "same". */
export function changesOf(run: Run): Record<string, number> {
  return changesOfSummary(summaryOf(run));
}

/** Every PID below `root` (children, grandchildren...), from /proc; includes processes that left its group. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** A pulumi run in the background: its output as it comes, and SIGKILL of its whole process tree. */
export class BackgroundRun {
  private readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private exit: Promise<number>;
  /** Every PID of the tree ever seen (refreshed while waiting), so orphans are ended too. */
  private readonly seen = new Map<number, string>();

  constructor(readonly args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawnPulumi(args, env);
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exit = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  }

  get pid(): number {
    return this.child.pid!;
  }

  private remember(): void {
    for (const pid of [this.pid, ...descendants(this.pid)]) {
      const info = procInfo(pid);
      if (info && !this.seen.has(pid)) this.seen.set(pid, info.startTime);
    }
  }

  /** Resolves when `re` matches the output so far (polls; also records the process tree). */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.remember();
      const m = this.stdout.match(re);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`pulumi ${this.args.join(' ')} ended (${this.child.exitCode}) before ${re}:\n${this.stdout.slice(-5000)}\n${this.stderr.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`no ${re} in the output of pulumi ${this.args.join(' ')} within ${timeoutMs} ms:\n${this.stdout.slice(-5000)}`);
      await sleep(20);
    }
  }

  /** SIGKILL to the pass-through and every process it started (the CLI, its provider plugins), by PID. */
  async killTree(): Promise<number[]> {
    this.remember();
    const targets = [...this.seen.entries()];
    for (const [pid, startTime] of targets) if (isAlive(pid, { startTime })) process.kill(pid, 'SIGKILL');
    await this.exit;
    const deadline = Date.now() + 5000;
    while (targets.some(([pid, startTime]) => isAlive(pid, { startTime })) && Date.now() < deadline) await sleep(20);
    const left = targets.filter(([pid, startTime]) => isAlive(pid, { startTime })).map(([pid]) => pid);
    if (left.length) throw new Error(`processes of the killed run still alive: ${left.join(', ')}`);
    return targets.map(([pid]) => pid);
  }

  /** Waits for the run to end; returns it like pulumi(). */
  async done(): Promise<Run> {
    const code = await this.exit;
    return { args: this.args, code, stdout: this.stdout, stderr: this.stderr, ms: 0 };
  }
}

// ---------------------------------------------------------------------------------------
// stacks and their state

export function backendDir(): string {
  const url = process.env.PULUMI_BACKEND_URL ?? `file://${path.join(PROJECT_ROOT, '.pulumi-state')}`;
  if (!url.startsWith('file://')) throw new Error(`the fault suite reads the state file: PULUMI_BACKEND_URL must be file:// (it is ${url})`);
  return path.join(url.slice('file://'.length), '.pulumi');
}

/** The stack's checkpoint file and every other file the backend keeps of this stack. */
export function stackFiles(stack: string): string[] {
  const root = backendDir();
  const out: string[] = [];
  const walk = (p: string) => {
    if (!fs.existsSync(p)) return;
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    else out.push(p);
  };
  for (const dir of [path.join(root, 'backups', 'vpm', stack), path.join(root, 'history', 'vpm', stack), path.join(root, 'locks', 'organization', 'vpm', stack)]) walk(dir);
  for (const f of fs.existsSync(path.join(root, 'stacks', 'vpm')) ? fs.readdirSync(path.join(root, 'stacks', 'vpm')) : []) {
    if (f === `${stack}.json` || f.startsWith(`${stack}.json.`)) out.push(path.join(root, 'stacks', 'vpm', f));
  }
  const config = path.join(PROJECT_ROOT, 'stacks', `Pulumi.${stack}.yaml`);
  if (fs.existsSync(config)) out.push(config);
  return out;
}

export function stateFile(stack: string): string {
  return path.join(backendDir(), 'stacks', 'vpm', `${stack}.json`);
}

export interface StateResource {
  urn: string;
  type: string;
  outputs?: Record<string, any>;
}

/** The resources of the stack's current checkpoint (read from the file backend). */
export function stateResources(stack: string): StateResource[] {
  const doc = JSON.parse(fs.readFileSync(stateFile(stack), 'utf8'));
  return (doc.checkpoint?.latest?.resources ?? []) as StateResource[];
}

/** The lock files a run holds (a killed run leaves its own behind). */
export function lockFiles(stack: string): string[] {
  const dir = path.join(backendDir(), 'locks', 'organization', 'vpm', stack);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')) : [];
}

/**
 * The file backend stores each blob beside a `.attrs` sidecar (gocloud fileblob); a SIGKILL
 * between its truncation and its write leaves it empty, and every later command then fails with
 * "failed to load checkpoint: EOF" although the checkpoint itself is whole. The operator's fix
 * is to remove the empty sidecar (a missing one reads as "no attributes"). Returns what it removed.
 */
export function removeEmptyAttrSidecars(stack: string): string[] {
  const dir = path.dirname(stateFile(stack));
  const removed: string[] = [];
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    if (!f.startsWith(`${stack}.json`) || !f.endsWith('.attrs')) continue;
    const p = path.join(dir, f);
    if (fs.statSync(p).size === 0) {
      fs.rmSync(p);
      removed.push(f);
    }
  }
  return removed;
}

export function pendingOperations(stack: string): unknown[] {
  const doc = JSON.parse(fs.readFileSync(stateFile(stack), 'utf8'));
  return doc.checkpoint?.latest?.pending_operations ?? [];
}

export class Stack {
  created = false;
  constructor(readonly name: string, readonly program: string, readonly env: NodeJS.ProcessEnv = process.env) {}

  run(command: 'up' | 'preview' | 'refresh' | 'destroy', ...flags: string[]): Promise<Run> {
    return pulumi([command, '--stack', this.name, '--program', this.program, ...flags], { env: this.env });
  }

  background(command: 'up' | 'refresh' | 'destroy', ...flags: string[]): BackgroundRun {
    return new BackgroundRun([command, '--stack', this.name, '--program', this.program, ...flags], this.env);
  }

  async init(): Promise<void> {
    ok(await pulumi(['stack', 'init', this.name], { env: this.env }));
    this.created = true;
  }

  async config(key: string, value: string): Promise<void> {
    ok(await pulumi(['config', 'set', key, value, '--stack', this.name], { env: this.env }));
  }

  async configRm(key: string): Promise<void> {
    ok(await pulumi(['config', 'rm', key, '--stack', this.name], { env: this.env }));
  }

  /** `pulumi cancel` (removes a lock a killed run left behind). */
  cancel(): Promise<Run> {
    return pulumi(['cancel', '--yes', '--stack', this.name], { env: this.env });
  }

  /**
   * Removes the stack and every file the backend kept of it; with `destroy`, first destroys
   * what is left (best effort). Without, the hosts go with the lab (`lab down`).
   */
  async dispose(destroy = true): Promise<void> {
    if (!this.created) return;
    await this.cancel();
    if (destroy) await this.run('destroy');
    const rm = await pulumi(['stack', 'rm', this.name, '--yes', '--force'], { env: this.env });
    if (rm.code === 0) this.created = false;
    for (const f of stackFiles(this.name)) fs.rmSync(f, { force: true });
    for (const d of ['backups', 'history']) fs.rmSync(path.join(backendDir(), d, 'vpm', this.name), { recursive: true, force: true });
    fs.rmSync(path.join(backendDir(), 'locks', 'organization', 'vpm', this.name), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// lab daemons, by PID

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tool(name: string): string {
  const p = which(name);
  if (!p) throw new Error(`'${name}' is not installed: run \`npm run setup\``);
  return p;
}

function labDir(inventory: Inventory): string {
  // ovsRunDir is <lab dir>/hK/ovs
  return path.dirname(path.dirname(inventory.hypervisors[0].ovsRunDir));
}

/** PIDs of the processes named `comm` inside a namespace. */
export async function pidsIn(netns: string, comm: string): Promise<number[]> {
  const r = await sh([tool('ip'), 'netns', 'pids', netns], { okCodes: 'any' });
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => procInfo(pid)?.comm === comm);
}

async function waitGone(pids: readonly number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some((p) => isAlive(p)) && Date.now() < deadline) await sleep(20);
  const left = pids.filter((p) => isAlive(p));
  if (left.length) throw new Error(`processes ${left.join(', ')} did not end`);
}

/**
 * Drops SSH to hypervisor `name`: SIGKILL to its sshd listener (by its pidfile) and to every
 * session process of it (sshd children in its namespace), so open connections drop too.
 */
export async function killSshd(inventory: Inventory, name: string): Promise<number[]> {
  const h = inventory.hypervisors.find((x) => x.name === name)!;
  const listener = readPidFile(path.join(labDir(inventory), name, 'ssh', 'sshd.pid'));
  const sessions = await pidsIn(h.netns, 'sshd');
  const all = [...new Set([...(listener ? [listener] : []), ...sessions])];
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await waitGone(all);
  return all;
}

/** Starts hypervisor `name`'s sshd again with its own config file, as lab/sshd.ts does; waits until it listens. */
export async function startSshd(inventory: Inventory, name: string): Promise<number> {
  const h = inventory.hypervisors.find((x) => x.name === name)!;
  const dir = path.join(labDir(inventory), name, 'ssh');
  const pidFile = path.join(dir, 'sshd.pid');
  const logFile = path.join(dir, 'sshd.log');
  fs.rmSync(pidFile, { force: true });
  const logFd = fs.openSync(logFile, 'a');
  const child = spawn(tool('ip'), ['netns', 'exec', h.netns, tool('sshd'), '-D', '-f', path.join(dir, 'sshd_config'), '-E', logFile], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  child.unref();
  const deadline = Date.now() + 10_000;
  while (readPidFile(pidFile) !== child.pid) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`sshd of ${name} did not come back (see ${logFile})`);
    await sleep(10);
  }
  return child.pid!;
}

/** Restarts hypervisor `name`'s ovs-vswitchd by PID: SIGTERM, wait, start as lab/ovs.ts does. */
export async function restartVswitchd(inventory: Inventory, name: string): Promise<{ old: number; now: number }> {
  const h = inventory.hypervisors.find((x) => x.name === name)!;
  const dir = h.ovsRunDir;
  const pidFile = path.join(dir, 'ovs-vswitchd.pid');
  const old = readPidFile(pidFile);
  if (!old) throw new Error(`${name}: no ovs-vswitchd pidfile at ${pidFile}`);
  process.kill(old, 'SIGTERM');
  await waitGone([old]);
  await sh(
    [
      tool('ip'),
      'netns',
      'exec',
      h.netns,
      tool('ovs-vswitchd'),
      `unix:${path.join(dir, 'db.sock')}`,
      '--disable-system',
      `--pidfile=${pidFile}`,
      `--log-file=${path.join(dir, 'ovs-vswitchd.log')}`,
      '--detach',
    ],
    { env: ovsEnv(dir), where: h.netns, timeoutMs: 30_000 },
  );
  const now = readPidFile(pidFile);
  if (!now || now === old) throw new Error(`${name}: ovs-vswitchd did not restart`);
  return { old, now };
}


/** The provider sources every program of the suite runs, with their compiled files. */
export const PROVIDER_BUILD: ReadonlyArray<readonly [string, string]> = [
  ...['ovs-bridge', 'gre-tunnel', 'flow-path'].flatMap((p) =>
    ['provider', 'resource'].map((m) => [`providers/${p}/${m}.ts`, `dist/providers/${p}/${m}.js`] as const),
  ),
  ...['plan', 'ids', 'spec', 'segments', 'switch-model', 'ops', 'marker-table'].map((m) => [`providers/flow-path/${m}.ts`, `dist/providers/flow-path/${m}.js`] as const),
  ['providers/common/schemas.ts', 'dist/providers/common/schemas.js'],
  ['providers/common/hash.ts', 'dist/providers/common/hash.js'],
  ['providers/exec/connection-check.ts', 'dist/providers/exec/connection-check.js'],
];
