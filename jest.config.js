/** Unit tests run on the TypeScript sources; integration and e2e tests drive the real lab. */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  setupFiles: ['<rootDir>/test/helpers/env.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { ...require('./tsconfig.json').compilerOptions, rootDir: '.', types: ['node', 'jest'] }, isolatedModules: true }] },
};
