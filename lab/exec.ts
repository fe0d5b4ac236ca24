/**
 * `lab exec`: runs a command inside a lab node's namespace. In a hypervisor the OVS_*
 * variables point at its own OVS, so plain `ovs-vsctl` / `ovs-ofctl` / `ovs-appctl` reach it.
 * Nodes: `hK`, `rK` (from the inventory) and `ul` (the underlay namespace).
 */
import { LabError } from './errors';
import { Inventory, readInventory } from './inventory';
import { LabSite, ovsEnv } from './names';
import { sh, shInherit } from './sh';
import { which } from './tools';
import { ToolMissingError } from '../providers/exec';

export interface LabExecOptions {
  /** Text for the command's standard input. */
  readonly input?: string;
  /** Kill the command after this long; default 30 s. */
  readonly timeoutMs?: number;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Use this inventory instead of reading `.lab/inventory.json`. */
  readonly inventory?: Inventory;
  /** Read this lab's inventory (default: the plain lab's). */
  readonly site?: LabSite;
}

export interface LabExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

interface Target {
  readonly netns: string;
  readonly env: Record<string, string>;
}

function resolveTarget(inventory: Inventory, name: string): Target {
  const h = inventory.hypervisors.find((x) => x.name === name);
  if (h) return { netns: h.netns, env: ovsEnv(h.ovsRunDir) };
  const r = inventory.receivers.find((x) => x.name === name);
  if (r) return { netns: r.netns, env: {} };
  if (name === 'ul' || name === inventory.underlay.netns) return { netns: inventory.underlay.netns, env: {} };
  const known = [...inventory.hypervisors.map((x) => x.name), ...inventory.receivers.map((x) => x.name), 'ul'];
  throw new LabError(`no lab node named '${name}': known nodes are ${known.join(', ')}`);
}

function ipTool(): string {
  const ip = which('ip');
  if (!ip) throw new ToolMissingError('ip', 'this machine', 'run `npm run setup` (Debian package iproute2)');
  return ip;
}

function checkArgv(argv: readonly string[]): void {
  if (!argv.length || !argv[0]) throw new LabError('lab exec needs a command, e.g. `vpm lab exec h1 -- ovs-vsctl show`');
}

/** Runs argv in node `name`; output captured; a non-zero exit is returned, not thrown. */
export async function labExec(name: string, argv: readonly string[], options: LabExecOptions = {}): Promise<LabExecResult> {
  checkArgv(argv);
  const target = resolveTarget(options.inventory ?? readInventory((options.site ?? LabSite.plain()).paths.inventory), name);
  return sh([ipTool(), 'netns', 'exec', target.netns, ...argv], {
    env: { ...target.env, ...options.env },
    input: options.input,
    timeoutMs: options.timeoutMs ?? 30_000,
    okCodes: 'any',
    where: target.netns,
  });
}

/** Runs argv in node `name` with this process's stdio; resolves with its exit code. */
export async function labExecInteractive(name: string, argv: readonly string[], inventory?: Inventory, site: LabSite = LabSite.plain()): Promise<number> {
  checkArgv(argv);
  const target = resolveTarget(inventory ?? readInventory(site.paths.inventory), name);
  return shInherit([ipTool(), 'netns', 'exec', target.netns, ...argv], { env: target.env });
}
