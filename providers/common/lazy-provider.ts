/**
 * Builds the tiny provider object that Pulumi serialises into the state.
 *
 * Why: the engine stores a dynamic provider's closure in the state and runs that stored code
 * for `delete` and `refresh`, possibly long after the program changed. So the serialised
 * part is kept minimal: it captures two strings (where the implementation module lives,
 * absolute and relative to the project) and `require`s the implementation at run time.
 * Heavy modules (ssh2, zod) are therefore loaded only inside the provider process, and the
 * behaviour is versioned by the implementation's PROVIDER_VERSION output.
 */
import * as pulumi from '@pulumi/pulumi';
import * as path from 'path';

/** The implementation contract: the same methods as pulumi.dynamic.ResourceProvider. */
export type ProviderImpl = Required<Pick<pulumi.dynamic.ResourceProvider, 'check' | 'diff' | 'create' | 'read' | 'update' | 'delete'>>;

/** The project root: the folder with package.json above this module (src or dist). */
export function projectRoot(): string {
  // dist/providers/common -> ../../.. ; providers/common (ts-jest) -> ../..
  const up = path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? 3 : 2;
  return path.resolve(__dirname, ...Array(up).fill('..'));
}

/**
 * @param implFromRoot the compiled implementation module, relative to the project root,
 *   without extension (e.g. "dist/providers/ovs-bridge/provider").
 */
export function lazyProvider(implFromRoot: string): pulumi.dynamic.ResourceProvider {
  const implAbsolute = path.join(projectRoot(), implFromRoot);
  // Everything below is serialised: it may only use the two captured strings and `require`.
  const load = (): ProviderImpl => {
    const nodePath = require('path');
    const fs = require('fs');
    const candidates = [implAbsolute, nodePath.join(process.env.VPM_HOME || process.cwd(), implFromRoot)];
    for (const candidate of candidates) {
      if (fs.existsSync(candidate + '.js')) return require(candidate).provider;
    }
    throw new Error(
      `VPM provider implementation not found (tried ${candidates.join(', ')}); ` +
        'run `npm run build` in the VPM checkout, or set VPM_HOME to it',
    );
  };
  return {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
}
