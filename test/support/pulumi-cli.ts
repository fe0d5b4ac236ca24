/**
 * The one way tests run Pulumi: the plain CLI through `node lab/setup/pulumi.js` (what
 * `npm run pulumi --` runs, minus npm's start-up: the project's file backend and PULUMI_HOME),
 * so every test exercises exactly what a user types.
 *
 * Tests keep a short vocabulary on top of the CLI:
 *   `--program dist/stacks/programs/X.js`  runs an example program: sets the stack's config
 *                                          `vpm:program` to X (stacks/index.js picks it), then
 *                                          drops the flag (the CLI has no such flag);
 *   `--json`                               the CLI's own text output, followed by ONE summary
 *                                          line {changeSummary, outputs}: the counts from
 *                                          `stack history` (preview: from the text), outputs
 *                                          from `stack output --json` (secrets as "[secret]");
 *   up / refresh / destroy get `--yes`, every command `--non-interactive`;
 *   up / preview / refresh of a stack that does not exist create it first (`stack init`).
 * Test stacks get a passphrase of their own (jest.config.js), never the lab's default.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { projectRoot } from '../../contracts';

export const PROJECT_ROOT = projectRoot(__dirname);
export const PULUMI_CLI = path.join(PROJECT_ROOT, '.tools', 'project-bin', 'pulumi');
/** The pass-through behind `npm run pulumi --`. */
export const PULUMI_PASS_THROUGH = path.join(PROJECT_ROOT, 'lab', 'setup', 'pulumi.js');

export interface Run {
  readonly args: readonly string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const CHANGING = new Set(['up', 'update', 'refresh', 'destroy']);
const PROGRAM_COMMANDS = new Set([...CHANGING, 'preview']);

export interface Translated {
  readonly argv: string[];
  readonly command: string;
  readonly stack?: string;
  /** The example program (stacks/programs/<name>) the stack must run. */
  readonly program?: string;
  readonly json: boolean;
}

/** The test vocabulary (module header) -> CLI arguments. Pure. */
export function translate(args: readonly string[]): Translated {
  const command = args[0] ?? '';
  if (!PROGRAM_COMMANDS.has(command)) return { argv: [...args], command, json: false };
  const argv: string[] = [command];
  let stack: string | undefined;
  let program: string | undefined;
  let json = false;
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '--program') {
      program = path.basename(args[++i] ?? '', '.js');
      continue;
    }
    if (a === '--json' || a === '-j') {
      json = true;
      continue;
    }
    if ((a === '--stack' || a === '-s') && i + 1 < args.length) stack = args[i + 1];
    argv.push(a);
  }
  if (CHANGING.has(command) && !argv.includes('--yes') && !argv.includes('-y')) argv.push('--yes');
  argv.push('--non-interactive');
  return { argv, command, ...(stack ? { stack } : {}), ...(program ? { program } : {}), json };
}

interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
}

function execCli(argv: readonly string[], opts: RunOptions): Promise<Omit<Run, 'args'>> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PULUMI_PASS_THROUGH, ...argv],
      { cwd: PROJECT_ROOT, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 240_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
      },
    );
  });
}

const knownStacks = new Set<string>();
/** The example program last set on each stack by this process (saves a `config get` per command). */
const programOf = new Map<string, string>();

/**
 * Program commands on a stack that does not exist yet create it first (what tests expect of
 * `up --stack S`, as the Automation API's createOrSelectStack did); the plain CLI would refuse.
 */
function ensureStack(stack: string, env: NodeJS.ProcessEnv | undefined): void {
  if (knownStacks.has(stack)) return;
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [PULUMI_PASS_THROUGH, ...args, '--non-interactive'], { cwd: PROJECT_ROOT, env: env ?? process.env, stdio: 'pipe' });
  try {
    cli('stack', 'select', stack);
  } catch {
    cli('stack', 'init', stack);
  }
  knownStacks.add(stack);
}

/** Sets `vpm:program` on the stack when it is not set to `program` yet. */
function selectProgram(stack: string | undefined, program: string, env: NodeJS.ProcessEnv | undefined): void {
  if (!stack) throw new Error('--program needs --stack');
  const cliEnv = env ?? process.env;
  const get = (): string => {
    try {
      return execFileSync(process.execPath, [PULUMI_PASS_THROUGH, 'config', 'get', 'vpm:program', '--stack', stack], { cwd: PROJECT_ROOT, env: cliEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return '';
    }
  };
  if (programOf.get(stack) === program || get() === program) return void programOf.set(stack, program);
  programOf.set(stack, program);
  execFileSync(process.execPath, [PULUMI_PASS_THROUGH, 'config', 'set', 'vpm:program', program, '--stack', stack], { cwd: PROJECT_ROOT, env: cliEnv, stdio: 'pipe' });
}

const PREVIEW_WORDS: Record<string, string> = { 'to create': 'create', 'to update': 'update', 'to delete': 'delete', 'to replace': 'replace', unchanged: 'same' };

/** The counts of a preview's "Resources:" block ("+ 1 to create", "4 unchanged"). */
export function previewCounts(text: string): Record<string, number> {
  const block = text.slice(text.lastIndexOf('Resources:'));
  const counts: Record<string, number> = {};
  for (const m of block.matchAll(/^\s*[+~\-+]*\s*(\d+) (to create|to update|to delete|to replace|unchanged)\s*$/gm)) {
    counts[PREVIEW_WORDS[m[2]]] = Number(m[1]);
  }
  return counts;
}

async function summaryLine(t: Translated, out: Omit<Run, 'args'>, opts: RunOptions): Promise<string> {
  let changeSummary: Record<string, number> = {};
  if (t.command === 'preview') {
    changeSummary = previewCounts(out.stdout);
  } else {
    const history = await execCli(['stack', 'history', '--json', '--stack', t.stack!], opts);
    const entries = history.code === 0 ? (JSON.parse(history.stdout) as Array<{ resourceChanges?: Record<string, number> }>) : [];
    changeSummary = entries[0]?.resourceChanges ?? {};
  }
  const summary: { changeSummary: Record<string, number>; outputs?: Record<string, unknown> } = { changeSummary };
  if (t.command === 'up' || t.command === 'update') {
    const outputs = await execCli(['stack', 'output', '--json', '--stack', t.stack!], opts);
    if (outputs.code === 0) summary.outputs = JSON.parse(outputs.stdout) as Record<string, unknown>;
  }
  return JSON.stringify(summary);
}

/** Runs the CLI to the end; never throws: the exit code is part of the result. */
export async function runPulumi(args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  const t = translate(args);
  // A removed stack is unknown again (a test may create one of the same name later).
  if (args[0] === 'stack' && args[1] === 'rm' && args[2]) {
    knownStacks.delete(args[2]);
    programOf.delete(args[2]);
  }
  if (t.stack && PROGRAM_COMMANDS.has(t.command) && t.command !== 'destroy') ensureStack(t.stack, opts.env);
  if (t.program) selectProgram(t.stack, t.program, opts.env);
  const out = await execCli(t.argv, opts);
  if (!t.json || out.code !== 0 || !t.stack) return { args, ...out };
  return { args, ...out, stdout: `${out.stdout.replace(/\n?$/, '\n')}${await summaryLine(t, out, opts)}\n` };
}

/** Starts the CLI in the background (no --json summary); the caller owns the process. */
export function spawnPulumi(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const t = translate(args);
  if (t.stack && PROGRAM_COMMANDS.has(t.command) && t.command !== 'destroy') ensureStack(t.stack, env);
  if (t.program) selectProgram(t.stack, t.program, env);
  return spawn(process.execPath, [PULUMI_PASS_THROUGH, ...t.argv], { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}
