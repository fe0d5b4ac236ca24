/** Unit tests run on the TypeScript sources; integration and e2e tests drive the real lab. */

// The test suite's own Pulumi passphrase for the stacks it creates (the lab's default is only for
// the lab's own stacks: lab/setup/pulumi-env.js). Set here, in the real process environment, so
// every child (the CLI, `vpm status`, ...) inherits it; a test that checks the "no passphrase"
// error unsets it in its child's environment.
process.env.PULUMI_CONFIG_PASSPHRASE ??= 'vpm-test-passphrase';

// The test suite's own plain lab (issue #16): namespaces `vpmt<6 hex>-*` and state in
// `<tmp>/vpmt<6 hex>`, the hex from this checkout's path. So `npm test` never waits on, reuses
// or tears down the user's labs (`npm run lab` is stack `lab`'s lab `slab...-`; a plain
// `vpm lab up` is `vpmlab-`), and two checkouts' suites never meet. Labs of stacks that tests
// start are named after the tests' own stacks. A caller that chose a lab (either variable
// set) keeps it.
if (!process.env.VPM_LAB_NS_PREFIX && !process.env.VPM_LAB_DIR) {
  const checkout = require('node:crypto').createHash('sha256').update(__dirname).digest('hex').slice(0, 6);
  process.env.VPM_LAB_NS_PREFIX = `vpmt${checkout}-`;
  process.env.VPM_LAB_DIR = require('node:path').join(require('node:os').tmpdir(), `vpmt${checkout}`);
}
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { ...require('./tsconfig.json').compilerOptions, rootDir: '.', types: ['node', 'jest'] }, isolatedModules: true }] },
};
