/**
 * A helper process inside a lab namespace (`ip netns exec NS ...`), talking JSON lines.
 *
 * Each line the process prints is a JSON object with a `type` ("ready", "progress", "stats",
 * "final", "error", ...). A `StreamAgent` collects them: `next(type)` waits for the next line
 * of that type, `onLine` sees every line (progress printing), and the process is ended by PID
 * only (its own child). Every agent still running when this Node process exits is killed, so
 * no stray sender or receiver outlives a CLI run or a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export type AgentLine = { type: string; [key: string]: unknown };

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
}

export class StreamAgent {
  private readonly child: ChildProcess;
  private buffer = '';
  private readonly queued: AgentLine[] = [];
  private waiters: Array<{ type: string; resolve: (l: AgentLine) => void; reject: (e: Error) => void }> = [];
  private stderrTail = '';
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitWaiters: Array<() => void> = [];
  private readonly listeners: Array<(l: AgentLine) => void> = [];
  /** Lines that are not JSON (e.g. gst-launch's own output), for the caller's parser. */
  private readonly rawListeners: Array<(line: string) => void> = [];

  /**
   * @param label  for messages ("receiver r1:5004")
   * @param netns  the namespace to run in
   * @param argv   the program and its arguments
   * @param opts.stdin 'pipe' keeps stdin open (the agent exits when it closes)
   */
  constructor(
    readonly label: string,
    readonly netns: string,
    argv: readonly string[],
    opts: { stdin?: 'pipe' | 'ignore'; env?: Record<string, string> } = {},
  ) {
    installExitHook();
    this.child = spawn('ip', ['netns', 'exec', netns, ...argv], {
      stdio: [opts.stdin ?? 'pipe', 'pipe', 'pipe'],
      // Its own process group: a terminal's Ctrl-C reaches only us, and we stop it cleanly
      // (final figures first). It still ends with us: stdin closes, or the exit hook kills it.
      detached: true,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    live.add(this.child);
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => this.onData(d));
    this.child.stderr!.on('data', (d: string) => {
      this.stderrTail = (this.stderrTail + d).slice(-4000);
    });
    this.child.on('error', (e) => {
      this.stderrTail += `\n${e.message}`;
    });
    this.child.on('exit', (code, signal) => {
      live.delete(this.child);
      this.exitInfo = { code, signal };
      for (const w of this.exitWaiters.splice(0)) w();
      for (const w of this.waiters.splice(0)) w.reject(this.deadError());
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  onLine(fn: (l: AgentLine) => void): void {
    this.listeners.push(fn);
  }

  onRaw(fn: (line: string) => void): void {
    this.rawListeners.push(fn);
  }

  private onData(d: string): void {
    this.buffer += d;
    for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
      const text = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 1);
      let line: AgentLine | undefined;
      if (text.startsWith('{')) {
        try {
          const parsed = JSON.parse(text) as unknown;
          if (parsed && typeof parsed === 'object' && typeof (parsed as AgentLine).type === 'string') line = parsed as AgentLine;
        } catch {
          /* not ours */
        }
      }
      if (!line) {
        for (const f of this.rawListeners) f(text);
        continue;
      }
      for (const f of this.listeners) f(line);
      if (line.type === 'error') {
        const err = new Error(`${this.label} (${this.netns}): ${String(line.message)}`);
        for (const w of this.waiters.splice(0)) w.reject(err);
        continue;
      }
      const k = this.waiters.findIndex((w) => w.type === line!.type);
      if (k >= 0) this.waiters.splice(k, 1)[0].resolve(line);
      else if (line.type !== 'progress') this.queued.push(line);
    }
  }

  private deadError(): Error {
    const how = this.exitInfo ? (this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `exit ${this.exitInfo.code}`) : 'not started';
    return new Error(`${this.label} (netns ${this.netns}) ended (${how}); stderr: ${this.stderrTail.trim() || '(none)'}`);
  }

  /** The next line of `type` (an already queued one first); timeoutMs 0 waits for ever. */
  next(type: string, timeoutMs = 10_000): Promise<AgentLine> {
    const k = this.queued.findIndex((l) => l.type === type);
    if (k >= 0) return Promise.resolve(this.queued.splice(k, 1)[0]);
    if (this.exitInfo) return Promise.reject(this.deadError());
    return new Promise((resolve, reject) => {
      const waiter = {
        type,
        resolve: (l: AgentLine) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = timeoutMs
        ? setTimeout(() => {
            this.waiters = this.waiters.filter((w) => w !== waiter);
            reject(new Error(`${this.label} (netns ${this.netns}): no "${type}" line within ${timeoutMs} ms; stderr: ${this.stderrTail.trim() || '(none)'}`));
          }, timeoutMs)
        : undefined;
      this.waiters.push(waiter);
    });
  }

  /** Writes one command line to the agent's stdin. */
  send(command: string): void {
    if (this.exitInfo) throw this.deadError();
    this.child.stdin?.write(`${command}\n`);
  }

  /** Sends `command` and waits for the reply line of `type`. */
  async request(command: string, type: string, timeoutMs = 10_000): Promise<AgentLine> {
    const reply = this.next(type, timeoutMs);
    this.send(command);
    return reply;
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.exitInfo) this.child.kill(sig);
  }

  /** Resolves when the process has exited; after timeoutMs (0: never) it is SIGKILLed. */
  waitExit(timeoutMs = 10_000): Promise<void> {
    if (this.exitInfo) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = timeoutMs ? setTimeout(() => this.kill(), timeoutMs) : undefined;
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends the process at once (SIGKILL, by its own PID). */
  kill(): void {
    if (!this.exitInfo) {
      this.child.stdin?.end();
      this.child.kill('SIGKILL');
    }
  }
}
