/**
 * The parts of the Pulumi SDK that VPM's program side uses, each from its own module of
 * `@pulumi/pulumi` instead of the package's index: `import * as pulumi from '../common/pulumi-sdk'`
 * reads like the usual `import * as pulumi from '@pulumi/pulumi'`.
 *
 * Why: the index loads the whole SDK eagerly, the Automation API (with npm's arborist) and the
 * closure serialiser with the TypeScript compiler among it: ~775 modules and ~0.9 s of CPU
 * here, where these parts take ~190 modules and ~0.2 s. A program runs twice per `up`
 * (preview, update), and VPM needs none of the rest: its dynamic resources register without
 * the closure serialiser (lazy-provider.ts). The classes are the very same (the index
 * re-exports these modules), so a user's program that imports the index mixes with these
 * freely. Type-only imports of the index (`import type`) cost nothing and may stay.
 */
export { Config } from '@pulumi/pulumi/config';
export { ResourceError, RunError } from '@pulumi/pulumi/errors';
export { getProject, getStack } from '@pulumi/pulumi/metadata';
export { all, output, secret, unsecret, type Input, type Inputs, type Output } from '@pulumi/pulumi/output';
export { ComponentResource, CustomResource, type ComponentResourceOptions, type CustomResourceOptions } from '@pulumi/pulumi/resource';
export * as log from '@pulumi/pulumi/log';
