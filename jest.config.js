/** Unit tests run on the TypeScript sources; integration and e2e tests drive the real lab. */

// The test suite's own Pulumi passphrase for the stacks it creates (the lab's default is only for
// the lab's own stacks: lab/setup/pulumi-env.js). Set here, in the real process environment, so
// every child (the CLI, `vpm status`, ...) inherits it; a test that checks the "no passphrase"
// error unsets it in its child's environment.
process.env.PULUMI_CONFIG_PASSPHRASE ??= 'vpm-test-passphrase';
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { ...require('./tsconfig.json').compilerOptions, rootDir: '.', types: ['node', 'jest'] }, isolatedModules: true }] },
};
