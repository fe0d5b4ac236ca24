/** A tiny scripted CommandRunner for the OVS layer's unit tests: records argv/options, replays answers. */
import { RemoteCommandError } from '../../../providers/exec/errors';
import { CommandResult, CommandRunner, CommandStream, RunOptions } from '../../../providers/exec/runner';

export interface Call {
  readonly argv: readonly string[];
  readonly options?: RunOptions;
}

export type Answer = Partial<CommandResult>;

export class FakeRunner implements CommandRunner {
  readonly host = 'fake';
  readonly calls: Call[] = [];
  private readonly answers: Answer[];

  constructor(...answers: Answer[]) {
    this.answers = answers;
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    this.calls.push({ argv: [...argv], options });
    const a = this.answers.shift() ?? {};
    const result = { stdout: a.stdout ?? '', stderr: a.stderr ?? '', exitCode: a.exitCode ?? 0 };
    if (!(options?.okExitCodes ?? [0]).includes(result.exitCode)) {
      throw new RemoteCommandError(this.host, argv, result.exitCode, result.stderr, result.stdout);
    }
    return result;
  }

  stream(argv: readonly string[]): Promise<CommandStream> {
    return Promise.reject(new Error(`FakeRunner: the OVS layer streams nothing (asked for ${argv.join(' ')})`));
  }

  async close(): Promise<void> {}
}
