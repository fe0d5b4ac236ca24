/**
 * Splits a streamed command's output into lines with a bound: a line longer than
 * MAX_STREAM_LINE (a host sending bytes without a newline, by fault or on purpose) is
 * dropped, counted, and the rest of it skipped up to the next newline, so a reader of a
 * stream (CommandRunner.stream's onLine, `vpm watch`'s parsers) keeps a bounded buffer
 * whatever a host sends.
 */
export const MAX_STREAM_LINE = 64 * 1024;

export class LineBuffer {
  private buffer = '';
  private skipping = false;
  /** Lines dropped for being too long. */
  dropped = 0;

  constructor(private readonly max = MAX_STREAM_LINE) {}

  /** The complete lines in `chunk` (without their newline). */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let from = 0;
    for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', from)) {
      const part = chunk.slice(from, i);
      from = i + 1;
      if (this.skipping) {
        this.skipping = false;
        this.buffer = '';
        continue;
      }
      if (this.buffer.length + part.length > this.max) {
        this.dropped++;
        this.buffer = '';
        continue;
      }
      lines.push(this.buffer + part);
      this.buffer = '';
    }
    if (!this.skipping) {
      this.buffer += chunk.slice(from);
      if (this.buffer.length > this.max) {
        this.dropped++;
        this.buffer = '';
        this.skipping = true;
      }
    }
    return lines;
  }

  /** What is left without a newline (and forgets it). */
  rest(): string {
    const r = this.skipping ? '' : this.buffer;
    this.buffer = '';
    return r;
  }

  /** The start of what is buffered (without consuming it). */
  peek(): string {
    return this.skipping ? '' : this.buffer;
  }
}
