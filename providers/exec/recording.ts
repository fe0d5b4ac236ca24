/**
 * RecordingRunner: the CommandRunner of unit tests. It records every call (`argv`, `stdin`,
 * options) so tests can assert the exact commands a provider sends, and answers from a
 * scripted list of responses or from a handler. It applies the real runners' rules (argv
 * validation, NUL rejection, okExitCodes -> RemoteCommandError), so a provider that passes
 * its unit tests fails the same way against a real host.
 *
 * `stream` is recorded the same way (with `stream: true`): the scripted stdout and stderr are
 * delivered to the handlers, then the stream exits with the scripted exit code; an Error
 * answer makes it fail to start.
 */
import { finishCommand } from './outcome';
import { quote, validateArgv } from './quote';
import type { CommandResult, CommandRunner, CommandStream, RunOptions, StreamExit, StreamHandlers, StreamOptions } from './runner';
import { streamOutput, streamStartTimeout } from './stream-output';
import { settleSteps, type BatchOptions, type BatchResult, type BatchStep } from './batch';

export interface RecordedCall {
  readonly argv: readonly string[];
  readonly stdin?: string;
  readonly options?: RunOptions;
  /** True for a call of `stream` (a streamed command). */
  readonly stream?: true;
  /** For a step of a batch (runBatch): the batch's number, counted from 0 per runner. */
  readonly batch?: number;
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
  /** As CommandRunner.identity: recorders with the same one stand for one connection. */
  readonly identity?: string;
  /** Answers used in order, one per call. */
  readonly responses?: readonly ScriptedResponse[];
  /** Answers calls once `responses` is used up (or always, when there are none). */
  readonly handler?: ResponseHandler;
}

/** Recorders with one identity stand for one connection: they share its activity count. */
const activityByIdentity = new Map<string, { n: number }>();

export class RecordingRunner implements CommandRunner {
  readonly host: string;
  readonly identity?: string;
  /** Every call in order, including those that were answered with an error. */
  readonly calls: RecordedCall[] = [];
  closed = false;
  private readonly responses: ScriptedResponse[];
  private readonly handler?: ResponseHandler;

  constructor(options: RecordingRunnerOptions = {}) {
    this.host = options.host ?? 'recorded';
    if (options.identity !== undefined) this.identity = options.identity;
    this.counter = options.identity === undefined ? { n: 0 } : (activityByIdentity.get(options.identity) ?? { n: 0 });
    if (options.identity !== undefined) activityByIdentity.set(options.identity, this.counter);
    this.responses = [...(options.responses ?? [])];
    this.handler = options.handler;
  }

  private batches = 0;
  private readonly counter: { n: number };

  /** As CommandRunner.activity: every call and batch but the read-only ones counts when it starts and when it ends. */
  activity(): number {
    return this.counter.n;
  }

  /** Round trips a real host would have seen: single commands, plus one per batch. */
  get roundTrips(): number {
    return this.calls.filter((c) => c.batch === undefined).length + this.batches;
  }

  /**
   * A batch (runBatch), answered step by step: each step is recorded and answered like a
   * single command (its `batch` field says which batch), with the batch's own rules.
   */
  async runSteps(steps: readonly BatchStep[], options: BatchOptions): Promise<BatchResult[]> {
    const batch = this.batches++;
    return this.counted(options.readOnly, () => this.settleBatch(batch, steps, options));
  }

  /** `work` counted in the activity as it starts and as it ends, unless it only reads. */
  private async counted<T>(readOnly: boolean | undefined, work: () => Promise<T>): Promise<T> {
    if (readOnly) return work();
    this.counter.n++;
    try {
      return await work();
    } finally {
      this.counter.n++;
    }
  }

  private settleBatch(batch: number, steps: readonly BatchStep[], options: BatchOptions): Promise<BatchResult[]> {
    return settleSteps(this.host, steps, async (step) => {
      const call: RecordedCall = {
        argv: [...step.argv],
        ...(step.stdin !== undefined ? { stdin: step.stdin } : {}),
        options: { ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), ...(options.tag ? { trace: { tag: options.tag } } : {}) },
        batch,
      };
      const response = await this.answer(call);
      if (response instanceof Error) throw response;
      return { stdout: response.stdout ?? '', stderr: response.stderr ?? '', exitCode: response.exitCode ?? 0 };
    });
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
    return this.counted(options?.readOnly, async () => {
      const response = await this.answer(call);
      if (response instanceof Error) throw response;
      const result: CommandResult = {
        stdout: response.stdout ?? '',
        stderr: response.stderr ?? '',
        exitCode: response.exitCode ?? 0,
      };
      return finishCommand(this.host, argv, result, options);
    });
  }

  async stream(argv: readonly string[], handlers: StreamHandlers, options?: StreamOptions): Promise<CommandStream> {
    validateArgv(argv);
    quote(argv);
    streamStartTimeout(options);
    this.counter.n++;
    const response = await this.answer({ argv: [...argv], stream: true });
    if (response instanceof Error) {
      this.counter.n++;
      throw response;
    }
    let stopped = false;
    const exited = (async (): Promise<StreamExit> => {
      await Promise.resolve(); // deliver after stream() has returned, as a real host would
      const output = streamOutput(handlers);
      if (!stopped) {
        output.stdout(response.stdout ?? '');
        output.stderr(response.stderr ?? '');
      }
      output.end();
      this.counter.n++;
      return { exitCode: stopped ? null : (response.exitCode ?? 0), stopped };
    })();
    return {
      exited,
      stop: () => {
        stopped = true;
        return exited;
      },
    };
  }

  /** Records the call and finds its scripted answer. */
  private async answer(call: RecordedCall): Promise<ScriptedResponse> {
    const argv = call.argv;
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
    return response;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
