/**
 * Finds the programs the transport itself needs (`ip`, `socat`) on this machine, so that a
 * missing one is reported as ToolMissingError naming the Debian package, before anything is
 * spawned, rather than as an opaque exit status of a proxy process.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ToolMissingError } from './errors';

// sbin directories are often missing from a non-login PATH, but `ip` lives there.
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable on PATH (plus the sbin directories), or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const dirs = [...path.split(delimiter).filter((d) => d !== ''), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Like findExecutable, but throws ToolMissingError saying which Debian package to install. */
export function requireExecutable(name: string, debianPackage: string, why: string): string {
  const found = findExecutable(name);
  if (!found) {
    throw new ToolMissingError(
      name,
      'the machine running Pulumi',
      `${why}; install it with \`apt-get install ${debianPackage}\``,
    );
  }
  return found;
}
