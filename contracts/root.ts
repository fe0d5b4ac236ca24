/**
 * Where things are: the package's own root (its package.json; the source checkout or the
 * installed package, from the sources or from dist/) and a Pulumi program's project folder.
 * Not used by providers/common/lazy-provider.ts's packageRoot: that one is captured in the
 * serialised dynamic providers in every stack's state, so it stays as it is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The package root: the nearest ancestor of `from` (default: this module's folder) with a package.json. */
export function projectRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the repository root (no package.json above ${from})`);
    dir = up;
  }
}

/** The Pulumi project folder: the nearest ancestor of the working directory with a Pulumi.yaml (else the working directory). */
export function pulumiProjectDir(): string {
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'Pulumi.yaml'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
