/**
 * The Automation API for monitor/: the same environment as `npm run pulumi`
 * (lab/setup/pulumi-env.js: local file backend, PULUMI_HOME and passphrase under the project)
 * and the same inline program (dist/stacks/main.js), so `vpm status`, `vpm preview` and
 * `vpm watch --react` see and change exactly the stacks the driver does.
 *
 * Reading a stack (status, dashboard, watch) never runs its program: the deployment comes from
 * `pulumi stack export` and the settings from `pulumi config`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Stack, Workspace } from '@pulumi/pulumi/automation';
import { projectRoot as repoRoot } from '../contracts';

interface PulumiEnvModule {
  readonly ROOT: string;
  pulumiEnv(base?: NodeJS.ProcessEnv, stack?: string): NodeJS.ProcessEnv & { PULUMI_BACKEND_URL: string; PULUMI_HOME: string };
  pulumiCli(): string;
  ensureBackendDir(env: NodeJS.ProcessEnv): void;
}

/** Stack names as Pulumi accepts them (letters, digits, '-', '_', '.'). */
export const STACK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
export const DEFAULT_PROGRAM = 'dist/stacks/main.js';

function envModule(): PulumiEnvModule {
  // A plain JS module shared with lab/setup/pulumi.js (which runs before any build).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(repoRoot(), 'lab', 'setup', 'pulumi-env.js')) as PulumiEnvModule;
}

/**
 * The project's Pulumi environment, also applied to this process (the CLI and in-process
 * program see it). `stack`: the lab passphrase is filled in only for the lab's own stacks.
 */
export function applyPulumiEnv(stack?: string): NodeJS.ProcessEnv {
  const m = envModule();
  m.pulumiCli(); // a clear error when `npm run setup` has not built the CLI
  const env = m.pulumiEnv(process.env, stack);
  Object.assign(process.env, env);
  m.ensureBackendDir(env);
  return env;
}

export function checkStackName(name: string): string {
  if (!STACK_NAME_RE.test(name)) throw new Error(`invalid stack name ${JSON.stringify(name)}: use letters, digits, '-', '_' or '.'`);
  return name;
}

type Program = () => Promise<Record<string, unknown> | void>;

function loadProgram(modulePath: string): Program {
  const abs = path.resolve(repoRoot(), modulePath);
  if (!fs.existsSync(abs)) throw new Error(`program module ${modulePath} not found; run \`npx tsc -p tsconfig.json\` (programs run from dist/)`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(abs) as { default?: Program; program?: Program };
  const program = mod.default ?? mod.program;
  if (typeof program !== 'function') throw new Error(`program module ${modulePath} must export a default function (the Pulumi program)`);
  return program;
}

/**
 * Selects an existing stack (never creates one). With `program` the stack can run it (preview,
 * up, refresh); without, a program that refuses to run guards the read-only users.
 */
export async function selectStack(name: string, options: { program?: string } = {}): Promise<Stack> {
  checkStackName(name);
  const env = applyPulumiEnv(name);
  const { LocalWorkspace } = await import('@pulumi/pulumi/automation');
  const program: Program = options.program
    ? loadProgram(options.program)
    : async () => {
        throw new Error('monitor: this stack handle is read-only (no program loaded)');
      };
  try {
    return await LocalWorkspace.selectStack(
      { stackName: name, projectName: 'vpm', program },
      // No projectSettings: the workspace reads Pulumi.yaml; given settings, it would rewrite
      // that file (dropping its config declarations and backend).
      { workDir: repoRoot(), envVars: env as Record<string, string>, pulumiHome: env.PULUMI_HOME },
    );
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/no stack named|not found/i.test(msg)) throw new Error(`stack ${name} does not exist (npm run -s pulumi -- stack ls)`);
    throw e;
  }
}

/** One resource of the stack's state as `pulumi stack export` shows it. */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly custom?: boolean;
  readonly id?: string;
  readonly parent?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
  readonly delete?: boolean;
  readonly pendingReplacement?: boolean;
}

/** What monitor/ reads of a stack: its resources, the stack outputs and the `vpm:` settings. */
export interface StackSnapshot {
  readonly stack: string;
  readonly resources: readonly StateResource[];
  readonly outputs: Record<string, unknown>;
  /** Config values by key without the `vpm:` namespace (e.g. cpuWarn), as strings. */
  readonly config: Record<string, string>;
}

/** The stack outputs kept in the Stack resource of a deployment (secrets shown as '[secret]'). */
export function stackOutputsOf(resources: readonly StateResource[]): Record<string, unknown> {
  const stack = resources.find((r) => r.type === 'pulumi:pulumi:Stack');
  return unsecret(stack?.outputs ?? {}) as Record<string, unknown>;
}

/** Pulumi's secret envelope: {<SIG_KEY>: <SECRET_SIG>, plaintext | ciphertext}. */
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

export function isSecretEnvelope(v: unknown): v is { plaintext?: string; ciphertext?: string } {
  return !!v && typeof v === 'object' && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Replaces Pulumi's secret envelopes by '[secret]' (monitor output never shows a secret). */
export function unsecret(v: unknown): unknown {
  if (isSecretEnvelope(v)) return '[secret]';
  if (Array.isArray(v)) return v.map(unsecret);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, unsecret(x)]));
  return v;
}

/** The value inside a secret envelope (`stack export --show-secrets` gives the plaintext), else v itself. */
export function revealSecret(v: unknown): unknown {
  if (!isSecretEnvelope(v)) return v;
  if (typeof v.plaintext !== 'string') return undefined;
  try {
    return JSON.parse(v.plaintext);
  } catch {
    return v.plaintext;
  }
}

/** The project's workspace, for reading stacks without selecting one (no program). */
export async function openWorkspace(stack?: string): Promise<Workspace> {
  const env = applyPulumiEnv(stack);
  const { LocalWorkspace } = await import('@pulumi/pulumi/automation');
  return LocalWorkspace.create({
    workDir: repoRoot(),
    envVars: env as Record<string, string>,
    pulumiHome: env.PULUMI_HOME,
  });
}

/** Reads a stack's state and settings (two CLI calls, in parallel), from a Stack or by name. */
export async function readStack(stack: Stack | { workspace: Workspace; name: string }): Promise<StackSnapshot> {
  const ws = stack.workspace;
  let deployment: Awaited<ReturnType<Workspace['exportStack']>>;
  let config: Awaited<ReturnType<Workspace['getAllConfig']>>;
  try {
    [deployment, config] = await Promise.all([ws.exportStack(stack.name), ws.getAllConfig(stack.name)]);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (/no stack named/i.test(msg)) throw new Error(`stack ${stack.name} does not exist (npm run -s pulumi -- stack ls)`);
    throw e;
  }
  const resources = ((deployment.deployment?.resources ?? []) as StateResource[]).filter((r) => !r.delete);
  const settings: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k.startsWith('vpm:') && !v.secret) settings[k.slice(4)] = v.value;
  }
  return { stack: stack.name, resources, outputs: stackOutputsOf(resources), config: settings };
}
