/**
 * Builds the tiny provider object that Pulumi serialises into the state.
 *
 * Why: the engine stores a dynamic provider's closure in the state and runs that stored code
 * for `delete` and `refresh`, possibly long after the program changed, and possibly from
 * another folder (a CI checkout, a pull-request preview). So the serialised part is kept
 * minimal: it captures two strings and `require`s the implementation at run time. Heavy
 * modules (ssh2, zod) are therefore loaded only inside the provider process, and the
 * behaviour is versioned by the implementation's PROVIDER_VERSION output.
 *
 * Where the implementation is found, in order:
 *   1. the compiled module beside this one, where the program loaded the package from (the
 *      absolute path captured when the program ran);
 *   2. the `vpm` package as the Pulumi project resolves it (the provider process runs in the
 *      project's folder): `node_modules/vpm` of a project that installed it, or this package
 *      itself when the project is VPM's own repository (a package may require itself by name).
 * Never through an environment variable or a guessed checkout.
 */
import * as pulumi from '@pulumi/pulumi';
import * as path from 'path';

/** The implementation contract: the same methods as pulumi.dynamic.ResourceProvider. */
export type ProviderImpl = Required<Pick<pulumi.dynamic.ResourceProvider, 'check' | 'diff' | 'create' | 'read' | 'update' | 'delete'>>;

/** The npm package name, and the subpath its package.json `exports` opens to the providers. */
export const PACKAGE_NAME = 'vpm';
export const PROVIDER_EXPORT_PREFIX = 'internal/providers/';

/** The package root: the folder with package.json above this module (src or dist). */
export function packageRoot(): string {
  // dist/providers/common -> ../../.. ; providers/common (ts-jest) -> ../..
  const up = path.basename(path.resolve(__dirname, '..', '..')) === 'dist' ? 3 : 2;
  return path.resolve(__dirname, ...Array(up).fill('..'));
}

/**
 * @param provider the implementation module under providers/, without extension
 *   (e.g. "ovs-bridge/provider").
 */
export function lazyProvider(provider: string): pulumi.dynamic.ResourceProvider {
  const implAbsolute = path.join(packageRoot(), 'dist', 'providers', provider);
  const byPackageName = `${PACKAGE_NAME}/${PROVIDER_EXPORT_PREFIX}${provider}`;
  // Everything below is serialised: it may only use the two captured strings and `require`.
  const load = (): ProviderImpl => {
    const fs = require('fs');
    if (fs.existsSync(implAbsolute + '.js')) return require(implAbsolute).provider;
    const nodePath = require('path');
    const fromProject = require('module').createRequire(nodePath.join(process.cwd(), 'package.json'));
    try {
      return fromProject(byPackageName).provider;
    } catch (e) {
      const code = e && (e as { code?: string }).code;
      if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e;
    }
    throw new Error(
      `VPM provider implementation not found (tried ${implAbsolute}.js and ${byPackageName} from ${process.cwd()}): ` +
        'install the vpm package in this Pulumi project (`npm install vpm`), or run `npm run build` in VPM\'s own repository',
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
