/**
 * Finds the host programs the lab needs, up front, before anything is changed. Each tool is
 * resolved to an absolute path (sshd insists on one; sbin may be missing from PATH).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ToolMissingError } from '../providers/exec';

export const LAB_TOOLS = [
  'ovsdb-tool',
  'ovsdb-server',
  'ovs-vswitchd',
  'ovs-vsctl',
  'ovs-ofctl',
  'ovs-appctl',
  'ip',
  'sshd',
  'ssh-keygen',
  'socat',
] as const;
export type LabTool = (typeof LAB_TOOLS)[number];
export type ToolPaths = Readonly<Record<LabTool, string>>;

export const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';

const SETUP_HINT =
  'run `npm run setup` (it installs the Debian packages openvswitch-switch, iproute2, openssh-server, socat)';

const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable named `name` on PATH (or in the sbin dirs), else undefined. */
export function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Resolves every lab tool; throws ToolMissingError naming the first missing one. */
export function requireLabTools(tools: readonly string[] = LAB_TOOLS): ToolPaths {
  const found: Record<string, string> = {};
  for (const tool of tools) {
    const p = which(tool);
    if (!p) throw new ToolMissingError(tool, 'this machine', SETUP_HINT);
    found[tool] = p;
  }
  if (!fs.existsSync(OVS_SCHEMA)) throw new ToolMissingError(OVS_SCHEMA, 'this machine', SETUP_HINT);
  return found as ToolPaths;
}

/** The lab creates namespaces, bridges and daemons: it must run as root. */
export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('the lab must run as root (it creates network namespaces and starts OVS and sshd); re-run with sudo');
  }
}

/**
 * Fails (throws) unless this runs as root with every lab tool and the extra tools installed.
 * `extra` maps a program to the Debian package that provides it.
 */
export function requireLabPrerequisites(extra: Record<string, string> = {}): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('this test drives the lab and must run as root (it creates network namespaces)');
  }
  requireLabTools(); // ToolMissingError naming the tool and `npm run setup`
  for (const [tool, pkg] of Object.entries(extra)) {
    if (!which(tool)) throw new Error(`'${tool}' is not installed: run \`npm run setup\` (Debian package ${pkg})`);
  }
}
