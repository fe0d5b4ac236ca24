/**
 * The plain Pulumi CLI for the benchmarks, exactly as a user runs it: `node lab/setup/pulumi.js`
 * (what `npm run pulumi --` runs: the project's backend and PULUMI_HOME), `up`/`destroy` with
 * `--yes --non-interactive`. What changed comes from `pulumi stack history` (the engine's own
 * count), outputs from `pulumi stack output`. Bench stacks have a passphrase of their own.
 */
import * as path from 'node:path';
import { mustRun, repoRoot } from './common';

process.env.PULUMI_CONFIG_PASSPHRASE ??= 'vpm-bench-passphrase';

export function pulumiArgv(args: readonly string[]): string[] {
  return [process.execPath, path.join(repoRoot(), 'lab', 'setup', 'pulumi.js'), ...args];
}

/** `up` or `destroy` of a stack, confirmed (the benchmark is the operator's explicit apply); `flags` e.g. `--refresh`. */
export function applyArgv(command: 'up' | 'destroy', stack: string, flags: readonly string[] = []): string[] {
  return pulumiArgv([command, '--stack', stack, '--yes', '--non-interactive', ...flags]);
}

/** The resource changes of the stack's last update, as the engine counted them. */
export async function lastChanges(stack: string): Promise<Record<string, number>> {
  const out = (await mustRun(pulumiArgv(['stack', 'history', '--json', '--stack', stack]), { timeoutMs: 60_000 })).stdout;
  const entries = JSON.parse(out) as Array<{ resourceChanges?: Record<string, number> }>;
  return entries[0]?.resourceChanges ?? {};
}

/** The stack's outputs (secrets shown as "[secret]"). */
export async function stackOutputs(stack: string): Promise<Record<string, any>> {
  return JSON.parse((await mustRun(pulumiArgv(['stack', 'output', '--json', '--stack', stack]), { timeoutMs: 60_000 })).stdout);
}
