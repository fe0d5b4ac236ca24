/**
 * RecordingRunner: the CommandRunner of unit tests. It records every call (`argv`, `stdin`,
 * options) so tests can assert the exact commands a provider sends, and answers from a
 * scripted list of responses or from a handler. It applies the real runners' rules (argv
 * validation, NUL rejection, okExitCodes -> RemoteCommandError), so a provider that passes
 * its unit tests fails the same way against a real host.
 */
import { finishCommand } from './outcome';
import { quote, validateArgv } from './quote';
import type { CommandResult, CommandRunner, RunOptions } from './runner';

export interface RecordedCall {
  readonly argv: readonly string[];
  readonly stdin?: string;
  readonly options?: RunOptions;
}

/**
 * One scripted answer: a (partial) result, where missing fields default to empty output and
 * exit 0, or an Error to throw as if the transport failed.
 */
export type ScriptedResponse = Partial<CommandResult> | Error;

export type ResponseHandler = (call: RecordedCall, index: number) => ScriptedResponse | Promise<ScriptedResponse>;

export interface RecordingRunnerOptions {
  /** Name used in messages; default "recorded". */
  readonly host?: string;
  /** Answers used in order, one per call. */
  readonly responses?: readonly ScriptedResponse[];
  /** Answers calls once `responses` is used up (or always, when there are none). */
  readonly handler?: ResponseHandler;
}

export class RecordingRunner implements CommandRunner {
  readonly host: string;
  /** Every call in order, including those that were answered with an error. */
  readonly calls: RecordedCall[] = [];
  closed = false;
  private readonly responses: ScriptedResponse[];
  private readonly handler?: ResponseHandler;

  constructor(options: RecordingRunnerOptions = {}) {
    this.host = options.host ?? 'recorded';
    this.responses = [...(options.responses ?? [])];
    this.handler = options.handler;
  }

  /** Shorthand: the argv of every call. */
  get argvs(): Array<readonly string[]> {
    return this.calls.map((c) => c.argv);
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    validateArgv(argv);
    quote(argv); // the same NUL check the SSH runner applies
    const call: RecordedCall = {
      argv: [...argv],
      ...(options?.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options !== undefined ? { options } : {}),
    };
    const index = this.calls.length;
    this.calls.push(call);

    let response: ScriptedResponse;
    if (this.responses.length > 0) {
      response = this.responses.shift()!;
    } else if (this.handler) {
      response = await this.handler(call, index);
    } else {
      throw new Error(
        `RecordingRunner(${this.host}): no scripted response for call #${index + 1}: ${JSON.stringify(argv)}; ` +
          'add one to `responses` or give a `handler`',
      );
    }
    if (response instanceof Error) throw response;
    const result: CommandResult = {
      stdout: response.stdout ?? '',
      stderr: response.stderr ?? '',
      exitCode: response.exitCode ?? 0,
    };
    return finishCommand(this.host, argv, result, options);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
