/**
 * What every runner does with a streamed command's output: decode it as UTF-8 without
 * splitting characters, split stdout into bounded lines when the caller wants lines, and
 * flush what is left when the command ends. Shared so that the SSH, local and recording
 * runners deliver output the same way.
 */
import { StringDecoder } from 'node:string_decoder';
import { LineBuffer } from './lines';
import type { StreamHandlers, StreamOptions } from './runner';
import { DEFAULT_COMMAND_TIMEOUT_MS } from './outcome';

export interface StreamOutput {
  stdout(chunk: Buffer | string): void;
  stderr(chunk: Buffer | string): void;
  /** Delivers what the decoders and the line buffer still hold; call once, at exit. */
  end(): void;
}

export function streamOutput(handlers: StreamHandlers): StreamOutput {
  const out = new StringDecoder('utf8');
  const err = new StringDecoder('utf8');
  const lines = handlers.onLine ? new LineBuffer() : undefined;
  const emitOut = (text: string) => {
    if (!text) return;
    handlers.onStdout?.(text);
    if (lines) for (const line of lines.push(text)) handlers.onLine!(line);
  };
  const emitErr = (text: string) => {
    if (text) handlers.onStderr?.(text);
  };
  return {
    stdout: (chunk) => emitOut(typeof chunk === 'string' ? chunk : out.write(chunk)),
    stderr: (chunk) => emitErr(typeof chunk === 'string' ? chunk : err.write(chunk)),
    end: () => {
      emitOut(out.end());
      emitErr(err.end());
      const rest = lines?.rest();
      if (rest) handlers.onLine!(rest);
    },
  };
}

/** The start timeout to use, after checking it is a positive number. */
export function streamStartTimeout(options: StreamOptions | undefined): number {
  const t = options?.startTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new TypeError(`startTimeoutMs must be a positive number of milliseconds, got ${String(t)}`);
  }
  return t;
}

/** How long a stopped command may take to end before it is killed outright. */
export const STOP_GRACE_MS = 2000;
