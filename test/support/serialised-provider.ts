/**
 * Serialises a dynamic provider exactly as @pulumi/pulumi does for a dynamic resource
 * (dynamic/index.js: serializeFunction(() => provider, { allowSecrets: true })) and loads it
 * back exactly as the dynamic-provider process does (cmd/dynamic-provider/index.js:
 * requireFromString(text).handler()). What comes back is the code the engine stores in the
 * state and runs for refresh and destroy, so a test that drives it proves the closure is
 * self-contained (captures no live objects, `require`s what it needs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pulumi from '@pulumi/pulumi';
import { projectRoot } from '../../contracts';

export const PROJECT_ROOT = projectRoot(__dirname);

export interface SerialisedProvider {
  /** The deserialised provider (a fresh object, not the one passed in). */
  readonly provider: Required<Pick<pulumi.dynamic.ResourceProvider, 'check' | 'diff' | 'create' | 'read' | 'update' | 'delete'>>;
  /** The module text the engine would store in the state under `__provider`. */
  readonly text: string;
  /** Whether the serialiser found secrets in the closure (it must not for VPM providers). */
  readonly containsSecrets: boolean;
}

export async function serialise(provider: pulumi.dynamic.ResourceProvider): Promise<SerialisedProvider> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sc = require('@pulumi/pulumi/runtime/closure/serializeClosure');
  const sf = await sc.serializeFunction(() => provider, { allowSecrets: true });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFromString = require('require-from-string');
  const copy = requireFromString(sf.text).handler();
  return { provider: copy, text: sf.text, containsSecrets: Boolean(sf.containsSecrets) };
}

/** The deserialised copy of `provider` (see serialise). */
export async function serialisedCopy(provider: pulumi.dynamic.ResourceProvider): Promise<SerialisedProvider['provider']> {
  return (await serialise(provider)).provider;
}

/**
 * The compiled implementations the serialised providers `require` at run time. Integration
 * tests call this first so a missing build fails with the command to run.
 */
export function requireBuilt(...fromRoot: string[]): void {
  const missing = fromRoot.filter((p) => !fs.existsSync(path.join(PROJECT_ROOT, p)));
  if (missing.length) {
    throw new Error(`${missing.join(', ')} missing: run \`npx tsc -p tsconfig.json\` (or \`npm run build\`) before this test`);
  }
}

/** Each compiled file must exist and be newer than its source (a stale dist/ tests old code). */
export function requireFresh(pairs: ReadonlyArray<readonly [string, string]>): void {
  const problems: string[] = [];
  for (const [src, out] of pairs) {
    const o = path.join(PROJECT_ROOT, out);
    if (!fs.existsSync(o)) problems.push(`${out} is missing`);
    else if (fs.statSync(path.join(PROJECT_ROOT, src)).mtimeMs > fs.statSync(o).mtimeMs) problems.push(`${src} changed after the build`);
  }
  if (problems.length) throw new Error(`${problems.join('; ')}: run \`npx tsc -p tsconfig.json\` before this test`);
}

/**
 * Node's own `require` (outside jest's module registry): the deserialised providers load
 * dist/ through it, so this is how a test reaches the very same module instances (e.g. the
 * connection pool, to close it). Not `createRequire`: under jest it answers from jest's own
 * registry (other instances); a module compiled by require-from-string, as serialise() loads
 * the providers, requires through Node's loader.
 */
export function nativeRequire(fromRoot: string): any {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const requireFromString = require('require-from-string');
  const target = path.join(PROJECT_ROOT, fromRoot);
  return requireFromString(`module.exports = require(${JSON.stringify(target)});`, path.join(PROJECT_ROOT, 'native-require.js'));
}
