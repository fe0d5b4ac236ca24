'use strict';
/**
 * Pulumi.yaml's `main`: the program of this repository's stacks, compiled by `npm run build`.
 * CommonJS, and it exports the program function itself: Pulumi's runner unwraps `default`
 * only for ES modules, so `{ default: fn }` would register nothing and a preview would plan
 * to delete the whole stack.
 * The test suite's example programs (stacks/programs/), and `empty` (registers nothing: the
 * engine's fixed cost, bench/up-scaling.ts), are chosen with stack config `vpm:program`;
 * every other stack runs stacks/main.ts (topology + hosts file).
 */
const path = require('path');
const fs = require('fs');
// The SDK's parts, not its index (which loads all of it: providers/common/pulumi-sdk.ts).
const { Config } = require('@pulumi/pulumi/config');
const { RunError } = require('@pulumi/pulumi/errors');

const EXAMPLES = ['bridge-tunnel', 'two-paths', 'faults', 'secret-key', 'empty'];
const dist = path.join(__dirname, '..', 'dist', 'stacks');
if (!fs.existsSync(path.join(dist, 'main.js'))) {
  throw new RunError('the program is not compiled: run `npm run build` first (it writes dist/)');
}
const example = new Config('vpm').get('program') || undefined;
if (example !== undefined && !EXAMPLES.includes(example)) {
  throw new RunError(`vpm:program is ${JSON.stringify(example)}: use one of ${EXAMPLES.join(', ')}, or remove it to run the StreamingTree program`);
}
module.exports = example ? require(path.join(dist, 'programs', `${example}.js`)).default : require(path.join(dist, 'main.js')).program;
