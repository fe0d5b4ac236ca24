/**
 * Several commands in ONE round trip: the steps run one after the other in a single
 * `sh -c` on the host, each with its own stdout, stderr and exit code handed back, as if each
 * had been run alone. A resource step that reads, checks and writes a host (an OvsBridge
 * create: look at the bridge, one vsctl transaction, one flow bundle, read back) costs one
 * SSH exchange instead of one per command.
 *
 * Every step is an argv quoted by quote.ts, as for `run`; nothing else enters the script but
 * fixed text and a random marker. Standard input of a step travels as a here-document whose
 * delimiter is random and checked absent from the data.
 *
 * Semantics: the steps run in order; the batch stops after the first step whose exit code is
 * not one of its okExitCodes, and that step fails the batch with a RemoteCommandError naming
 * its own argv and output (the steps before it ran; the ones after did not). A step may be a
 * guard: `expect` lists the stdout values it may print, and any other value stops
 * the batch there with exit code GUARD_EXIT: "check, then change" in the same round trip.
 * A step may be conditional: `onlyIfFailed: k` runs it only when the earlier step k exited
 * non-zero (an exit k's okExitCodes allowed, else the batch had stopped there); otherwise it is
 * skipped (`skipped: true`, no output). So an optimistic write can carry the reads that explain
 * its refusal without paying for them when it goes through.
 */
import { randomBytes } from 'node:crypto';
import { RemoteCommandError } from './errors';
import { quote, quoteArg } from './quote';
import type { CommandResult, CommandRunner } from './runner';

export interface BatchStep {
  readonly argv: readonly string[];
  /** Bytes fed to the step's standard input (as a here-document: a final newline is added if missing). */
  readonly stdin?: string;
  /** Exit codes that are not errors (default: only 0). */
  readonly okExitCodes?: readonly number[];
  /**
   * A guard: the step's stdout (without its trailing newlines) must be one of these, else the
   * batch stops after it with exit code GUARD_EXIT (its stdout is handed back in the error).
   */
  readonly expect?: readonly string[];
  /** Index of an earlier step: this one runs only when that one exited non-zero; else it is skipped. */
  readonly onlyIfFailed?: number;
}

export interface BatchOptions {
  /** Timeout of the whole batch, ms (default: the runner's). */
  readonly timeoutMs?: number;
  /** The resource kind, for the command trace (RunOptions.trace.tag). */
  readonly tag?: string;
  /** Every step only reads the host (RunOptions.readOnly). */
  readonly readOnly?: boolean;
}

/** The exit code a guard step reports when its stdout is not one of the expected values. */
export const GUARD_EXIT = 86;

/** What a batch step printed and how it exited; a skipped step (onlyIfFailed) printed nothing and exited 0. */
export interface BatchResult extends CommandResult {
  readonly skipped?: true;
}

const SKIPPED: BatchResult = { stdout: '', stderr: '', exitCode: 0, skipped: true };

/** Whether step i runs, given the results of the steps before it (all of them ran or were skipped). */
function runs(step: BatchStep, before: readonly BatchResult[]): boolean {
  return step.onlyIfFailed === undefined || before[step.onlyIfFailed].exitCode !== 0;
}

function checkCondition(step: BatchStep, i: number): void {
  const k = step.onlyIfFailed;
  if (k !== undefined && !(Number.isInteger(k) && k >= 0 && k < i)) throw new TypeError(`batch step ${i}: onlyIfFailed ${k} is not an earlier step`);
}

/** Thrown when a step fails; `results` holds the steps that ran before it. */
export class BatchStepError extends RemoteCommandError {
  constructor(
    host: string,
    readonly step: number,
    argv: readonly string[],
    exitCode: number | null,
    stderr: string,
    stdout: string,
    readonly results: readonly BatchResult[],
  ) {
    super(host, argv, exitCode, stderr, stdout, exitCode === GUARD_EXIT ? `unexpected state: ${JSON.stringify(stdout.trim().slice(0, 300))}` : undefined);
    this.name = 'BatchStepError';
  }
}

const token = (): string => randomBytes(12).toString('hex');

/** The shell text of one step: run it, capture its exit code, print the end-of-step markers. */
function stepScript(step: BatchStep, i: number, marker: string): string {
  let command = quote(step.argv);
  if (step.stdin !== undefined) {
    if (step.stdin.includes('\0')) throw new TypeError(`batch step ${i}: stdin contains a NUL byte`);
    let delimiter = `VPM_EOF_${token()}`;
    while (step.stdin.includes(delimiter)) delimiter = `VPM_EOF_${token()}`;
    const body = step.stdin.endsWith('\n') ? step.stdin : `${step.stdin}\n`;
    command += ` <<'${delimiter}'\n${body}${delimiter}\n`;
  } else {
    command += ' </dev/null\n';
  }
  const ok = (step.okExitCodes ?? [0]).map((c) => {
    if (!Number.isInteger(c) || c < 0 || c > 255) throw new TypeError(`batch step ${i}: okExitCode ${c} is not 0..255`);
    return String(c);
  });
  const lines: string[] = [];
  if (step.expect) {
    // A guard's stdout goes through a variable to be compared; the values are quoted, so the
    // case patterns match literally.
    if (step.expect.length === 0) throw new TypeError(`batch step ${i}: a guard needs at least one expected value`);
    lines.push(`o=$(${command})`, 'rc=$?', 'printf %s "$o"');
    lines.push(`if [ "$rc" -eq 0 ]; then case "$o" in ${step.expect.map((v) => quoteArg(v)).join('|')}) ;; *) rc=${GUARD_EXIT} ;; esac; fi`);
  } else {
    lines.push(command + 'rc=$?');
  }
  lines.push(`printf '\\n${marker}:${i}:%d\\n' "$rc"`, `printf '\\n${marker}:${i}\\n' >&2`, `rc${i}=$rc`, `case "$rc" in ${ok.join('|')}) ;; *) exit 0 ;; esac`);
  checkCondition(step, i);
  if (step.onlyIfFailed === undefined) return lines.join('\n');
  // Skipped: its markers with the word `skip` for an exit code, and rc 0 for the steps after it.
  const skip = [`printf '\\n${marker}:${i}:skip\\n'`, `printf '\\n${marker}:${i}\\n' >&2`, `rc${i}=0`];
  return [`if [ "$rc${step.onlyIfFailed}" -ne 0 ]; then`, ...lines, 'else', ...skip, 'fi'].join('\n');
}

/** Builds the script for these steps with this marker (exported for tests). */
export function batchScript(steps: readonly BatchStep[], marker: string): string {
  if (steps.length === 0) throw new TypeError('a batch needs at least one step');
  return steps.map((s, i) => stepScript(s, i, marker)).join('\n') + '\n';
}

/** Splits the batch's stdout and stderr back into per-step results. */
export function splitBatchOutput(stdout: string, stderr: string, marker: string, steps: number): BatchResult[] {
  const results: BatchResult[] = [];
  const outRe = new RegExp(`\\n${marker}:(\\d+):(\\d+|skip)\\n`, 'g');
  let from = 0;
  for (let m = outRe.exec(stdout); m && results.length < steps; m = outRe.exec(stdout)) {
    if (Number(m[1]) !== results.length) throw new Error(`batch output out of order: step ${m[1]} after ${results.length} steps`);
    results.push(m[2] === 'skip' ? SKIPPED : { stdout: stdout.slice(from, m.index), stderr: '', exitCode: Number(m[2]) });
    from = m.index + m[0].length;
  }
  const stderrOf = stderr.split(new RegExp(`\\n${marker}:\\d+\\n`));
  return results.map((r, i) => (r.skipped ? r : { ...r, stderr: stderrOf[i] ?? '' }));
}

/**
 * A runner that answers a batch step by step itself: the RecordingRunner, so that unit tests
 * script each step's answer by its argv, as for single commands.
 */
export interface StepwiseRunner {
  runSteps(steps: readonly BatchStep[], options: BatchOptions): Promise<BatchResult[]>;
}

function isStepwise(runner: CommandRunner): runner is CommandRunner & StepwiseRunner {
  return typeof (runner as Partial<StepwiseRunner>).runSteps === 'function';
}

/**
 * The batch's rules applied to results obtained one step at a time (a stepwise runner):
 * the same guard and exit-code checks as the shell script makes, the same error.
 */
export async function settleSteps(host: string, steps: readonly BatchStep[], runStep: (step: BatchStep, index: number) => Promise<BatchResult>): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (const [i, step] of steps.entries()) {
    checkCondition(step, i);
    if (!runs(step, results)) {
      results.push(SKIPPED);
      continue;
    }
    let r = await runStep(step, i);
    if (step.expect) {
      const out = r.stdout.replace(/\n+$/, '');
      r = { ...r, stdout: out, exitCode: r.exitCode === 0 && !step.expect.includes(out) ? GUARD_EXIT : r.exitCode };
    }
    if (!(step.okExitCodes ?? [0]).includes(r.exitCode)) throw new BatchStepError(host, i, step.argv, r.exitCode, r.stderr, r.stdout, results);
    results.push(r);
  }
  return results;
}

/**
 * Runs the steps in one command on the runner's host and returns each step's result (all of
 * them, when none failed). Throws BatchStepError for the first failing step, or the runner's
 * own error when the batch as a whole could not run (connection, timeout).
 */
export async function runBatch(runner: CommandRunner, steps: readonly BatchStep[], options: BatchOptions = {}): Promise<BatchResult[]> {
  const marker = `VPM_STEP_${token()}`;
  const script = batchScript(steps, marker); // validates every step, also for a stepwise runner
  if (isStepwise(runner)) return runner.runSteps(steps, options);
  const whole = await runner.run(['sh', '-c', script], {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.readOnly ? { readOnly: true } : {}),
    // The trace records the steps' first words, never the script (it holds their stdin).
    trace: { steps: steps.map((s) => s.argv), ...(options.tag ? { tag: options.tag } : {}) },
  });
  const results = splitBatchOutput(whole.stdout, whole.stderr, marker, steps.length);
  const last = results.length - 1;
  if (last >= 0) {
    const step = steps[last];
    const r = results[last];
    if (!r.skipped && !(step.okExitCodes ?? [0]).includes(r.exitCode)) {
      throw new BatchStepError(runner.host, last, step.argv, r.exitCode, r.stderr, r.stdout, results.slice(0, last));
    }
  }
  if (results.length < steps.length) {
    // The script ended without reaching a step's marker: the shell itself failed.
    throw new BatchStepError(runner.host, results.length, steps[results.length].argv, null, whole.stderr.slice(-2000), '', results);
  }
  return results;
}
