/**
 * Expectation helpers shared by the suites: a command that had to succeed (or fail), the
 * `{property, reason}` problems of a ValidationError, the TopologyError a call throws, and
 * "this test reached no host".
 */
import { TopologyError } from '../../components/topology';
import * as pool from '../../providers/exec/pool';
import { SshRunner } from '../../providers/exec/ssh';
import { ValidationError } from '../../providers/exec/errors';

/** What every test runner of a command returns (pulumi-cli.ts's Run, a plain execFile result). */
export interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The CLI's arguments, when the run is a Pulumi run (pulumi-cli.ts). */
  readonly args?: readonly string[];
}

const TAIL = 20_000;
const named = (run: Outcome, what: string | undefined) => what ?? `pulumi ${(run.args ?? []).join(' ')}`;

/** The run, or a failure with its own output when it did not exit 0; `what` names it (default: `pulumi <args>`). */
export function ok<R extends Outcome>(run: R, what?: string): R {
  if (run.code !== 0) {
    throw new Error(`${named(run, what)} exited ${run.code}\n--- stdout ---\n${run.stdout.slice(-TAIL)}\n--- stderr ---\n${run.stderr.slice(-TAIL)}`);
  }
  return run;
}

/** The run, or a failure when it exited 0 although it had to fail. */
export function failed<R extends Outcome>(run: R, what?: string): R {
  if (run.code === 0) throw new Error(`${named(run, what)} succeeded, but it had to fail\n--- stdout ---\n${run.stdout.slice(-10_000)}`);
  return run;
}

/** Runs `f`, expects a ValidationError and returns its problems. */
export function validationProblems(f: () => unknown): Array<{ property: string; reason: string }> {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return [...(e as ValidationError).problems];
  }
  throw new Error('expected a ValidationError');
}

/** Runs `f` and returns the TopologyError it throws (fails if it throws nothing or something else). */
export function topologyErrorOf(f: () => unknown): TopologyError {
  try {
    f();
  } catch (e) {
    if (e instanceof TopologyError) return e;
    throw e;
  }
  throw new Error('expected a TopologyError');
}

/**
 * Call inside a describe (or at the top of a file): each of its tests fails when it reached a
 * host, through the connection pool, a host lock or an SSH command (which also throws at once).
 */
export function expectNoHostTouched(): void {
  let spies: jest.SpyInstance[] = [];
  beforeEach(() => {
    spies = [
      jest.spyOn(pool, 'getRunner'),
      jest.spyOn(pool, 'withHostLock'),
      jest.spyOn(SshRunner.prototype, 'run').mockImplementation(() => {
        throw new Error('check must not run a command');
      }),
    ];
  });
  afterEach(() => {
    for (const s of spies.splice(0)) {
      expect(s).not.toHaveBeenCalled();
      s.mockRestore();
    }
  });
}
