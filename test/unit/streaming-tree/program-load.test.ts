/**
 * The program side loads only the SDK's parts it uses (providers/common/pulumi-sdk.ts): not the
 * package index, which brings the Automation API (npm's arborist) and the closure serialiser
 * with the TypeScript compiler, ~0.9 s of CPU at every program run (twice per `up`).
 * Checked on the compiled program (`npm test` builds it first), in a fresh Node process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const HEAVY = /node_modules\/(@pulumi\/pulumi\/(index|runtime\/index|automation\/|runtime\/closure\/)|typescript\/|@npmcli\/)/;

test('the program (stacks/index.js and dist/stacks/main.js) loads none of the SDK index, Automation API, closure serialiser or TypeScript', () => {
  const main = path.join(ROOT, 'dist', 'stacks', 'main.js');
  if (!fs.existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  // Pulumi.yaml's main, which picks dist/stacks/main.js (no vpm:program set here).
  const script = `require(${JSON.stringify(path.join(ROOT, 'stacks', 'index.js'))}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const loaded = JSON.parse(r.stdout) as string[];
  expect(loaded).toContain(main);
  expect(loaded.some((m) => m.includes(path.join('@pulumi', 'pulumi', 'resource.js')))).toBe(true);
  expect(loaded.filter((m) => HEAVY.test(m))).toEqual([]);
});

test('the heavy-module pattern does catch the SDK index (so the test above can fail)', () => {
  const r = spawnSync(process.execPath, ['-e', "require('@pulumi/pulumi'); process.stdout.write(JSON.stringify(Object.keys(require.cache)))"], { cwd: ROOT, encoding: 'utf8' });
  expect((JSON.parse(r.stdout) as string[]).filter((m) => HEAVY.test(m)).length).toBeGreaterThan(100);
});
