/**
 * Errors in what the user gave a program (a bad topology, a node on a host the stack does not
 * have, unusable inputs) are the user's to fix, not bugs: they are reported once, as their own
 * message (which names the field and the fix), without "Unhandled exception" and a stack trace.
 * The Pulumi Node SDK prints a `pulumi.RunError` exactly that way, so such errors are turned
 * into one; anything else (a bug) keeps its stack trace.
 */
import * as pulumi from '../../providers/common/pulumi-sdk';
import { TopologyError } from '../topology/errors';
import { ValidationError } from '../../providers/exec/errors';

/** Error classes whose message is complete advice to the user. */
const USER_ERRORS = new Set(['TopologyError', 'ValidationError', 'LabError', 'ProgramInputError']);

/** An input of the program (stack config, hosts, files) is wrong; the message says which and how to fix it. */
export class ProgramInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProgramInputError';
  }
}

export function isUserError(e: unknown): e is Error {
  return e instanceof TopologyError || e instanceof ValidationError || e instanceof ProgramInputError || (e instanceof Error && USER_ERRORS.has(e.name));
}

/** A RunError with the same message for a user's error; anything else unchanged. */
export function asProgramError(e: unknown): unknown {
  if (pulumi.RunError.isInstance(e) || !isUserError(e)) return e;
  const run = new pulumi.RunError(e.message);
  (run as { cause?: unknown }).cause = e;
  return run;
}

/** Wraps a Pulumi program so the user's errors it throws are reported as RunErrors. */
export function withProgramErrors<A extends unknown[], R>(program: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await program(...args);
    } catch (e) {
      throw asProgramError(e);
    }
  };
}
