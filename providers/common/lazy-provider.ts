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
import type * as dynamic from '@pulumi/pulumi/dynamic';
import * as pulumi from './pulumi-sdk';
import * as path from 'path';

/** The implementation contract: the same methods as dynamic.ResourceProvider. */
export type ProviderImpl = Required<Pick<dynamic.ResourceProvider, 'check' | 'diff' | 'create' | 'read' | 'update' | 'delete'>>;

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
export function lazyProvider(provider: string): dynamic.ResourceProvider {
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
  const methods: ProviderImpl = {
    check: (olds, news) => load().check(olds, news),
    diff: (id, olds, news) => load().diff(id, olds, news),
    create: (inputs) => load().create(inputs),
    read: (id, props) => load().read(id, props),
    update: (id, olds, news) => load().update(id, olds, news),
    delete: (id, props) => load().delete(id, props),
  };
  SERIALISED.set(methods, serialisedText(load, { implAbsolute, byPackageName }, methods));
  return methods;
}

/**
 * The module text Pulumi stores under `__provider` for each lazy provider, written here
 * instead of by the SDK's closure serialiser. Why: that serialiser parses every captured
 * function with the TypeScript compiler (seven per resource kind): measured here ~0.4-0.5 s of
 * CPU per program run for the three kinds of a tree without VMs (the SDK has TypeScript loaded
 * already), twice per `up` (preview and update), for a closure whose shape is fixed (six
 * arrows calling `load`, `load` capturing two strings). The text is byte for byte what
 * `serializeFunction(() => provider)` (@pulumi/pulumi dynamic/index.js) writes for it, checked
 * by test/unit/providers/lazy-provider-text.test.ts against the SDK, so stacks written before
 * see no change of `__provider`.
 */
const SERIALISED = new WeakMap<object, string>();

const METHOD_ORDER = ['check', 'diff', 'create', 'read', 'update', 'delete'] as const;

/** One function of the SDK's module layout: `function NAME(__0, ...) { return (function() { with(ENV) { return CODE; } })... }`. */
function closureFunction(name: string, fn: (...a: never[]) => unknown, env: string): string {
  const params = Array.from({ length: fn.length }, (_, i) => `__${i}`).join(', ');
  return (
    `\nfunction ${name}(${params}) {\n  return (function() {\n    with(${env}) {\n\nreturn ${fn.toString()};\n\n    }\n` +
    '  }).apply(undefined, undefined).apply(this, arguments);\n}\n'
  );
}

function serialisedText(load: () => ProviderImpl, captured: { implAbsolute: string; byPackageName: string }, methods: ProviderImpl): string {
  // Names as the SDK numbers them: __f0 the outer `() => provider`, __f1 check, __f2 load (met
  // inside check), then __f3.. the other methods; load is emitted before its first user.
  const names = { check: '__f1', diff: '__f3', create: '__f4', read: '__f5', update: '__f6', delete: '__f7' };
  const loadEnv = `{ implAbsolute: ${JSON.stringify(captured.implAbsolute)}, byPackageName: ${JSON.stringify(captured.byPackageName)}, this: undefined, arguments: undefined }`;
  const methodEnv = '{ load: __f2, this: undefined, arguments: undefined }';
  let text = 'exports.handler = __f0;\n\n';
  text += `var __provider = {${METHOD_ORDER.map((m) => `${m}: ${names[m]}`).join(', ')}};\n`;
  text += closureFunction('__f2', load, loadEnv);
  for (const m of METHOD_ORDER) text += closureFunction(names[m], methods[m] as (...a: never[]) => unknown, methodEnv);
  text += closureFunction('__f0', OUTER, '{ provider: __provider, this: undefined, arguments: undefined }');
  return text;
}

/** The SDK's outer closure, `() => provider` (its text is all that is used). */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
const OUTER = ((provider: unknown) => () => provider)(undefined);

/**
 * A dynamic resource whose provider came from lazyProvider: the same type token
 * (`pulumi-nodejs:dynamic/<module>:<type>`), name and inputs as `pulumi.dynamic.Resource`,
 * and the same `__provider` text, without running the SDK's closure serialiser (see above).
 * A drop-in base class for the resource classes: `extends LazyDynamicResource`, same `super(...)`.
 */
export class LazyDynamicResource extends pulumi.CustomResource {
  constructor(provider: dynamic.ResourceProvider, name: string, props: pulumi.Inputs, opts?: pulumi.CustomResourceOptions, module?: string, type = 'Resource') {
    const text = SERIALISED.get(provider);
    if (text === undefined) throw new Error(`${name}: LazyDynamicResource needs a provider made by lazyProvider()`);
    if (props.__provider) throw new Error('A dynamic resource must not define the __provider key');
    const errors = Error as { prepareStackTrace?: ErrorConstructor['prepareStackTrace'] };
    const formatter = errors.prepareStackTrace;
    errors.prepareStackTrace = undefined;
    try {
      super(`pulumi-nodejs:dynamic${module ? `/${module}` : ''}:${type}`, name, { ...props, __provider: text }, opts);
    } finally {
      errors.prepareStackTrace = formatter;
    }
  }
}

/*
 * Why the constructor sets Error.prepareStackTrace aside while the SDK registers the resource:
 * the SDK takes a stack trace for each input property (debuggablePromise, kept for its
 * promise-leak message) and a whole one for the resource's source position, and the program
 * runs with source-map-support installed (the SDK's runner installs it), which maps every frame
 * of every one of those stacks through the source maps. Measured on the 16-hypervisor bench
 * tree: ~0.45 s of the program's CPU per run (10 ms per resource), twice per `up` (preview and
 * update). With V8's own formatting the positions of VPM's internal resources point into
 * VPM's compiled JavaScript instead of its TypeScript (VPM's package ships no source maps
 * anyway); the user's own errors and stacks are untouched (the formatter is back before
 * anything else runs).
 */

/** The `__provider` text of a lazy provider (for tests), or undefined for any other object. */
export function serialisedProviderText(provider: object): string | undefined {
  return SERIALISED.get(provider);
}
