/**
 * The project's Pulumi CLI (built by `npm run setup`) answers through `npm run pulumi` with the
 * version pinned in package.json, and runs programs through the Automation API driver.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as fs from 'fs';

const ROOT = path.resolve(__dirname, '..', '..');

describe('npm run pulumi', () => {
  test('pulumi version prints the pinned @pulumi/pulumi version', () => {
    const pinned = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).dependencies['@pulumi/pulumi'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const out = execFileSync('npm', ['run', '-s', 'pulumi', '--', 'version'], { cwd: ROOT, encoding: 'utf8' }).trim();
    expect(out).toBe(`v${pinned}`);
  });

  test('an unknown flag to a program command is refused with a clear message', () => {
    let stderr = '';
    try {
      execFileSync('npm', ['run', '-s', 'pulumi', '--', 'up', '--stack', 'x', '--no-such-flag'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toMatch(/no-such-flag/);
  });
});
