/**
 * The Pulumi CLI calls the lab makes on the stacks deployed on it: how many resources a stack's
 * state holds (`stack export`), destroying them (`destroy`), and forgetting them when their lab
 * is gone (`state delete --all`). None of these runs the stack's program, so they work with
 * any way of running programs. The CLI is the project's own (.tools/project-bin/pulumi) with the
 * project's environment (lab/setup/pulumi-env.js: file backend, PULUMI_HOME, passphrase).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { checkStackName } from '../monitor/pulumi';
import { repoRoot } from './names';

interface PulumiEnvModule {
  pulumiEnv(base?: NodeJS.ProcessEnv, stack?: string): NodeJS.ProcessEnv & { PULUMI_BACKEND_URL: string };
  stackInArgs(args: readonly string[]): string | undefined;
  pulumiCli(): string;
  ensureBackendDir(env: NodeJS.ProcessEnv): void;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function envModule(): PulumiEnvModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(repoRoot(), 'lab', 'setup', 'pulumi-env.js')) as PulumiEnvModule;
}

/** The project's Pulumi CLI with `args`, in the project folder; never throws on a non-zero exit. */
export function runPulumi(args: readonly string[], timeoutMs = 600_000): Promise<CliRun> {
  const m = envModule();
  const cli = m.pulumiCli();
  // The lab passphrase only for the lab's own stacks (like `npm run pulumi`).
  const env = m.pulumiEnv(process.env, m.stackInArgs(args));
  m.ensureBackendDir(env);
  return new Promise((resolve) => {
    execFile(cli, [...args], { cwd: repoRoot(), env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

function failure(what: string, r: CliRun): Error {
  const out = `${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-15).join('\n');
  return new Error(`${what} failed (exit ${r.code}):\n${out}`);
}

/** Names of the stacks in the project's backend. */
export async function listStacks(): Promise<string[]> {
  const r = await runPulumi(['stack', 'ls', '--json'], 60_000);
  if (r.code !== 0) throw failure('pulumi stack ls', r);
  return (JSON.parse(r.stdout) as Array<{ name: string }>).map((s) => s.name.split('/').pop()!);
}

/** A resource of the state that is an actual resource (not the stack itself, not a provider). */
function isManaged(type: string): boolean {
  return type !== 'pulumi:pulumi:Stack' && !type.startsWith('pulumi:providers:');
}

/** How many resources the stack's state holds (0 when the stack does not exist). */
export async function stackResourceCount(stack: string): Promise<number> {
  checkStackName(stack);
  if (!(await listStacks()).includes(stack)) return 0;
  const r = await runPulumi(['stack', 'export', '--stack', stack], 60_000);
  if (r.code !== 0) throw failure(`pulumi stack export --stack ${stack}`, r);
  const resources = (JSON.parse(r.stdout) as { deployment?: { resources?: Array<{ type: string }> } }).deployment?.resources ?? [];
  return resources.filter((x) => isManaged(x.type)).length;
}

/** `pulumi destroy` of the whole stack (the providers stored in its state do the work). */
export async function destroyStack(stack: string): Promise<CliRun> {
  checkStackName(stack);
  return runPulumi(['destroy', '--yes', '--skip-preview', '--non-interactive', '--stack', stack]);
}

/**
 * Removes every resource from the stack's state without touching any host (their hosts are
 * gone). The stack itself and its configuration stay.
 */
export async function forgetStackResources(stack: string): Promise<number> {
  const n = await stackResourceCount(stack);
  if (n === 0) return 0;
  const r = await runPulumi(['state', 'delete', '--all', '--yes', '--force', '--non-interactive', '--stack', stack], 120_000);
  if (r.code !== 0) throw failure(`pulumi state delete --all --stack ${stack}`, r);
  const left = await stackResourceCount(stack);
  if (left !== 0) throw new Error(`pulumi state delete --all --stack ${stack} left ${left} resource(s) in the state`);
  return n;
}
