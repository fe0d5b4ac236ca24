/**
 * The pull-request workflow (issue #16) passes actionlint (built at set-up from the Go module
 * proxy, lab/setup/build-actionlint.sh) and does what the README says: on pull requests, stack
 * pr-<number>, base program applied before the PR's is previewed and posted, stack and lab
 * destroyed under `if: always()`, and no credential but the repository token.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..', '..');
const WORKFLOW = path.join(ROOT, '.github', 'workflows', 'pr-preview.yml');
const ACTIONLINT = path.join(ROOT, '.tools', 'bin', 'actionlint');

test('actionlint passes on every workflow', () => {
  if (!fs.existsSync(ACTIONLINT)) throw new Error(`actionlint is missing (${ACTIONLINT}): run \`npm run setup\` (it builds github.com/rhysd/actionlint v1.7.12 with Go)`);
  const files = fs.readdirSync(path.dirname(WORKFLOW)).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(path.dirname(WORKFLOW), f));
  expect(files).toContain(WORKFLOW);
  // Exit 0 and no output: execFileSync throws with actionlint's findings otherwise.
  expect(execFileSync(ACTIONLINT, ['-no-color', ...files], { cwd: ROOT, encoding: 'utf8' })).toBe('');
});

test('actionlint does fail a broken workflow (the check can fail)', () => {
  const bad = path.join(fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'vpm-wf-')), 'bad.yml');
  fs.writeFileSync(bad, 'on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ matrix.titel }}\n');
  let findings = '';
  try {
    execFileSync(ACTIONLINT, ['-no-color', bad], { encoding: 'utf8' });
  } catch (e) {
    findings = String((e as { stdout?: string }).stdout);
  }
  expect(findings).toMatch(/property "titel" is not defined/);
});

describe('what the workflow does', () => {
  const wf = parse(fs.readFileSync(WORKFLOW, 'utf8'));
  const job = wf.jobs.preview;
  const steps: Array<{ name?: string; run?: string; if?: string; env?: Record<string, string> }> = job.steps;
  const text = fs.readFileSync(WORKFLOW, 'utf8');
  const indexOf = (re: RegExp) => steps.findIndex((s) => re.test(s.run ?? ''));

  test('runs on pull requests, stack pr-<number>', () => {
    expect(Object.keys(wf.on)).toEqual(['pull_request']);
    expect(job.env.STACK).toBe('pr-${{ github.event.pull_request.number }}');
  });

  test('base program applied first, then the PR program previewed and posted', () => {
    const base = indexOf(/git checkout --detach "\$BASE_SHA"/);
    const labUp = indexOf(/vpm lab up --stack "\$STACK"/);
    const up = indexOf(/pulumi -- up --yes .*--stack "\$STACK"/);
    const head = indexOf(/git checkout --detach "\$HEAD_SHA"/);
    const post = indexOf(/vpm preview --stack "\$STACK" --markdown .*--comment "\$TARGET"/);
    expect([base, labUp, up, head, post].every((i) => i >= 0)).toBe(true);
    expect(base < labUp && labUp < up && up < head && head < post).toBe(true);
  });

  test('stack and lab always destroyed, last', () => {
    const last = steps[steps.length - 1]!;
    expect(last.if).toBe('always()');
    expect(last.run).toMatch(/vpm lab down --stack "\$STACK"/);
    expect(last.run).toMatch(/stack rm "\$STACK" --yes --force/);
  });

  test('no credential but the repository token', () => {
    expect(text).not.toMatch(/secrets\./);
    expect(steps.find((s) => /--comment/.test(s.run ?? ''))!.env).toEqual({ GITHUB_TOKEN: '${{ github.token }}' });
  });
});
