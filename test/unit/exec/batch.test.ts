/**
 * runBatch: several commands in one round trip, each result handed back as if run alone.
 * Runs the real shell (LocalRunner), so the script's quoting is proven, not assumed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BatchStepError, GUARD_EXIT, runBatch } from '../../../providers/exec/batch';
import { LocalRunner } from '../../../providers/exec/local';
import { RecordingRunner } from '../../../providers/exec/recording';
import type { RunOptions } from '../../../providers/exec/runner';

const local = new LocalRunner();

describe('runBatch', () => {
  it('hands back each step\'s stdout, stderr and exit code exactly, in one command', async () => {
    const calls: string[][] = [];
    const counting = { host: local.host, run: (argv: readonly string[], o?: object) => (calls.push([...argv]), local.run(argv, o)), stream: local.stream.bind(local), close: () => Promise.resolve() };
    const r = await runBatch(counting, [
      { argv: ['printf', '%s', 'no newline'] },
      { argv: ['sh', '-c', 'echo out; echo err >&2; exit 3'], okExitCodes: [0, 3] },
      { argv: ['printf', 'two\n\nlines\n\n'] },
    ]);
    expect(calls).toHaveLength(1);
    expect(r.map((x) => x.stdout)).toEqual(['no newline', 'out\n', 'two\n\nlines\n\n']);
    expect(r.map((x) => x.exitCode)).toEqual([0, 3, 0]);
    expect(r[1].stderr).toBe('err\n');
    expect(r[0].stderr).toBe('');
  });

  it('carries hostile arguments and stdin through the shell unchanged', async () => {
    const nasty = `a'b"c $(touch /tmp/x) \`id\` ; | & \\ * ? [x] ~ #`;
    const stdin = `line 1 ${nasty}\nVPM_EOF_123\n'EOF'\n$HOME\n`;
    const r = await runBatch(local, [{ argv: ['printf', '%s', nasty] }, { argv: ['cat'], stdin }, { argv: ['cat'] }]);
    expect(r[0].stdout).toBe(nasty);
    expect(r[1].stdout).toBe(stdin);
    expect(r[2].stdout).toBe(''); // no stdin: /dev/null, never the batch's own
  });

  it('stops at the first failing step: the error names that step, the ones after it never run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-batch-'));
    const marker = path.join(dir, 'ran');
    const err = await runBatch(local, [{ argv: ['echo', 'first'] }, { argv: ['sh', '-c', 'echo bad >&2; exit 5'] }, { argv: ['touch', marker] }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatchStepError);
    const e = err as BatchStepError;
    expect(e.step).toBe(1);
    expect(e.exitCode).toBe(5);
    expect(e.stderr).toBe('bad\n');
    expect(e.results.map((x) => x.stdout)).toEqual(['first\n']);
    expect(e.message).toContain('sh -c echo bad');
    expect(fs.existsSync(marker)).toBe(false);
    fs.rmSync(dir, { recursive: true });
  });

  it('a guard lets the batch go on only when the step prints an expected value', async () => {
    const ok = await runBatch(local, [{ argv: ['echo', 'vpm owner x'], expect: ['', 'vpm owner x'] }, { argv: ['echo', 'changed'] }]);
    expect(ok.map((x) => x.stdout)).toEqual(['vpm owner x', 'changed\n']);
    const empty = await runBatch(local, [{ argv: ['true'], expect: [''] }]);
    expect(empty[0].exitCode).toBe(0);
    const err = (await runBatch(local, [{ argv: ['echo', 'someone else'], expect: ['', 'a*'] }, { argv: ['echo', 'changed'] }]).catch((e: unknown) => e)) as BatchStepError;
    expect(err).toBeInstanceOf(BatchStepError);
    expect(err.exitCode).toBe(GUARD_EXIT);
    expect(err.message).toContain('unexpected state: "someone else"');
    // Patterns are literal: "a*" does not match "abc".
    await expect(runBatch(local, [{ argv: ['echo', 'abc'], expect: ['a*'] }])).rejects.toThrow(/unexpected state/);
  });

  it('records only the steps\' argv in the trace note, never the script or its stdin', async () => {
    const calls: { argv: string[]; o?: { trace?: unknown } }[] = [];
    const spy = { host: local.host, run: (argv: readonly string[], o?: { trace?: unknown }) => (calls.push({ argv: [...argv], o }), local.run(argv, o as RunOptions)), stream: local.stream.bind(local), close: () => Promise.resolve() };
    await runBatch(spy, [{ argv: ['cat'], stdin: 'secret' }], { tag: 'bridge' });
    expect(calls[0].o?.trace).toEqual({ steps: [['cat']], tag: 'bridge' });
  });

  it('a RecordingRunner answers each step by its argv, with the same rules, and counts one round trip', async () => {
    const rec = new RecordingRunner({ handler: (c) => (c.argv[0] === 'guard' ? { stdout: 'theirs\n' } : { stdout: `ran ${c.argv[0]}` }) });
    const r = await runBatch(rec, [{ argv: ['a'] }, { argv: ['b'], stdin: 'x' }], { tag: 'path' });
    expect(r.map((x) => x.stdout)).toEqual(['ran a', 'ran b']);
    expect(rec.calls.map((c) => [c.argv[0], c.batch, c.stdin])).toEqual([['a', 0, undefined], ['b', 0, 'x']]);
    await rec.run(['single']);
    expect(rec.roundTrips).toBe(2);
    const err = (await runBatch(rec, [{ argv: ['guard'], expect: ['ours'] }, { argv: ['never'] }]).catch((e: unknown) => e)) as BatchStepError;
    expect(err).toBeInstanceOf(BatchStepError);
    expect(err.exitCode).toBe(GUARD_EXIT);
    expect(rec.calls.map((c) => c.argv[0])).not.toContain('never');
  });

  it('runs a conditional step only when the step it names failed, in the real shell and in a RecordingRunner alike', async () => {
    const marker = fs.mkdtempSync(path.join(os.tmpdir(), 'vpm-batch-'));
    const ran = (name: string) => ({ argv: ['sh', '-c', `touch ${marker}/${name}; echo ${name}`] });
    const steps = (firstExit: number) => [
      { argv: ['sh', '-c', `exit ${firstExit}`], okExitCodes: [0, 1] },
      { ...ran('always') },
      { ...ran('onFailure'), onlyIfFailed: 0 },
      { argv: ['cat'], stdin: 'after\n' },
    ];
    try {
      const ok = await runBatch(local, steps(0));
      expect(ok.map((r) => [r.stdout, r.exitCode, r.skipped ?? false])).toEqual([['', 0, false], ['always\n', 0, false], ['', 0, true], ['after\n', 0, false]]);
      expect(fs.existsSync(path.join(marker, 'onFailure'))).toBe(false);
      const refused = await runBatch(local, steps(1));
      expect(refused.map((r) => [r.stdout, r.exitCode, r.skipped ?? false])).toEqual([['', 1, false], ['always\n', 0, false], ['onFailure\n', 0, false], ['after\n', 0, false]]);
      expect(fs.existsSync(path.join(marker, 'onFailure'))).toBe(true);
    } finally {
      fs.rmSync(marker, { recursive: true, force: true });
    }
    for (const firstExit of [0, 1]) {
      const rec = new RecordingRunner({ handler: (c) => (c.argv[0] === 'sh' && c.argv[2].startsWith('exit') ? { exitCode: firstExit } : {}) });
      const r = await runBatch(rec, steps(firstExit));
      expect(r.map((x) => x.skipped ?? false)).toEqual([false, false, firstExit === 0, false]);
      expect(rec.calls.some((c) => c.argv[2]?.includes('onFailure'))).toBe(firstExit !== 0);
    }
    await expect(runBatch(local, [{ argv: ['true'], onlyIfFailed: 0 }])).rejects.toThrow(/onlyIfFailed 0 is not an earlier step/);
  });

  it('refuses what it cannot carry before running anything', async () => {
    await expect(runBatch(local, [])).rejects.toThrow(/at least one step/);
    await expect(runBatch(local, [{ argv: ['cat'], stdin: 'a\0b' }])).rejects.toThrow(/NUL/);
    await expect(runBatch(local, [{ argv: ['true'], expect: [] }])).rejects.toThrow(/at least one expected value/);
  });
});
