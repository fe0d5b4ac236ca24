/**
 * The test stream scripts of lab/stream run as plain local Node processes (the lab runs the
 * same text inside namespaces): JSON lines out, one command per line in; and numbered
 * datagrams built by hand in the one protocol's layout (lab/stream/datagram.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { STREAM_MAGIC } from '../../lab/stream/datagram';

export class StreamScript {
  private readonly child: ChildProcessWithoutNullStreams;
  private buf = '';
  private readonly lines: any[] = [];
  private waiters: Array<(l: any) => void> = [];

  /** Runs `text` with `cfg` as its one argument (JSON). */
  constructor(text: string, cfg: unknown) {
    this.child = spawn(process.execPath, ['-e', text, JSON.stringify(cfg)], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.buf += d;
      for (let i = this.buf.indexOf('\n'); i >= 0; i = this.buf.indexOf('\n')) {
        const l = JSON.parse(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
        const w = this.waiters.shift();
        if (w) w(l);
        else this.lines.push(l);
      }
    });
  }

  /** The next line; with `type`, the next line of that type (lines of other types are dropped). */
  next(type?: string, timeoutMs = 10_000): Promise<any> {
    const wanted = (l: any) => type === undefined || l.type === type;
    for (;;) {
      const l = this.lines.shift();
      if (!l) break;
      if (wanted(l)) return Promise.resolve(l);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(type === undefined ? 'no line' : `no ${type} line`)), timeoutMs);
      const w = (l: any) => {
        if (wanted(l)) {
          clearTimeout(timer);
          resolve(l);
        } else this.waiters.unshift(w);
      };
      this.waiters.push(w);
    });
  }

  send(cmd: string): void {
    this.child.stdin.write(`${cmd}\n`);
  }

  /** One command and its one answer line (measure.ts's control channel). */
  async command(cmd: string): Promise<any> {
    this.send(cmd);
    return this.next();
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** A numbered datagram of `size` bytes: seq, the magic, sender time 0, zero padding. */
export function numberedDatagram(seq: number, size = 64): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(seq, 0);
  b.writeUInt32BE(STREAM_MAGIC, 4);
  b.writeDoubleBE(0, 8);
  return b;
}
