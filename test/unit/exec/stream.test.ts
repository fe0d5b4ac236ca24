/**
 * CommandRunner.stream on the local and recording runners (no lab, no root): output arrives
 * while the command runs, lines are split and bounded, stop() ends the whole process group,
 * exit is reported, a missing program fails to start. The SSH runner's stream is proven on
 * the lab (`vpm watch`: test/integration/monitor.test.ts).
 */
import { LocalRunner, MAX_STREAM_LINE, RecordingRunner, ToolMissingError, lifelineArgv, type StreamExit } from '../../../providers/exec';
import { RemoteStream, type StreamState } from '../../../monitor/events/ssh-stream';

const local = new LocalRunner();

function collector() {
  const out: string[] = [];
  const lines: string[] = [];
  const err: string[] = [];
  return {
    out,
    lines,
    err,
    handlers: { onStdout: (t: string) => void out.push(t), onLine: (l: string) => void lines.push(l), onStderr: (t: string) => void err.push(t) },
  };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('LocalRunner.stream', () => {
  test('delivers lines and chunks as they come and reports the exit code', async () => {
    const c = collector();
    const s = await local.stream(['sh', '-c', 'echo one; echo two >&2; printf "thr"; printf "ee\\nlast"; exit 3'], c.handlers);
    const exit = await s.exited;
    expect(exit).toEqual({ exitCode: 3, stopped: false });
    expect(c.lines).toEqual(['one', 'three', 'last']); // the last line, without newline, at exit
    expect(c.out.join('')).toBe('one\nthree\nlast');
    expect(c.err.join('')).toBe('two\n');
  });

  test('output arrives before the command ends; stop() ends it and its children', async () => {
    const c = collector();
    const s = await local.stream(['sh', '-c', 'echo ready; sleep 30 & wait'], c.handlers);
    await until(() => c.lines.includes('ready'));
    const t0 = Date.now();
    const exit: StreamExit = await s.stop();
    expect(Date.now() - t0).toBeLessThan(1500); // SIGTERM to the group, not the 2 s SIGKILL fallback
    expect(exit.stopped).toBe(true);
    expect(exit.exitCode).toBeNull();
    expect(exit.signal).toBe('SIGTERM');
    expect(await s.stop()).toBe(exit); // idempotent
  });

  test('a command that ignores SIGTERM is killed after the grace period', async () => {
    const c = collector();
    const s = await local.stream(['sh', '-c', "trap '' TERM; echo up; while :; do sleep 0.1; done"], c.handlers);
    await until(() => c.lines.includes('up'));
    const exit = await s.stop();
    expect(exit.stopped).toBe(true);
    expect(exit.exitCode).toBeNull();
  });

  test('the command reads no input', async () => {
    const c = collector();
    const s = await local.stream(['sh', '-c', 'cat; echo eof'], c.handlers);
    expect((await s.exited).exitCode).toBe(0);
    expect(c.lines).toEqual(['eof']);
  });

  test('a multi-byte character split between chunks is decoded whole', async () => {
    const c = collector();
    // "é" is 0xc3 0xa9: written in two writes with a pause between them.
    const s = await local.stream(['sh', '-c', "printf '\\303'; sleep 0.1; printf '\\251\\n'"], c.handlers);
    await s.exited;
    expect(c.lines).toEqual(['é']);
  });

  test('a line over MAX_STREAM_LINE is dropped, the next ones still come', async () => {
    const c = collector();
    const s = await local.stream(['sh', '-c', `head -c ${MAX_STREAM_LINE + 10} /dev/zero | tr '\\0' x; echo; echo after`], { onLine: c.handlers.onLine });
    await s.exited;
    expect(c.lines).toEqual(['after']);
  });

  test('a missing program fails to start with ToolMissingError', async () => {
    await expect(local.stream(['vpm-no-such-program-x'], {})).rejects.toBeInstanceOf(ToolMissingError);
  });

  test('argv is validated like run()', async () => {
    await expect(local.stream([], {})).rejects.toThrow(/must not be empty/);
    await expect(local.stream(['echo', 'a\0b'], {})).rejects.toThrow(/NUL/);
  });

  test('the prefix is applied', async () => {
    const c = collector();
    const r = new LocalRunner({ prefix: ['env', 'VPM_X=1'] });
    const s = await r.stream(['sh', '-c', 'echo $VPM_X'], c.handlers);
    await s.exited;
    expect(c.lines).toEqual(['1']);
  });
});

describe('RecordingRunner.stream', () => {
  test('records the call and replays the scripted output, then the exit', async () => {
    const r = new RecordingRunner({ responses: [{ stdout: 'a\nb\n', stderr: 'e', exitCode: 2 }] });
    const c = collector();
    const s = await r.stream(['virsh', 'event', '--loop'], c.handlers);
    expect(await s.exited).toEqual({ exitCode: 2, stopped: false });
    expect(c.lines).toEqual(['a', 'b']);
    expect(c.err).toEqual(['e']);
    expect(r.calls).toEqual([{ argv: ['virsh', 'event', '--loop'], stream: true }]);
  });

  test('an Error answer fails the start', async () => {
    const r = new RecordingRunner({ responses: [new Error('unreachable')] });
    await expect(r.stream(['x'], {})).rejects.toThrow('unreachable');
  });
});

describe('the lifeline', () => {
  test('keeps the argv intact after a fixed sh prologue', () => {
    const a = lifelineArgv(['virsh', 'event', '--loop']);
    expect(a.slice(0, 2)).toEqual(['sh', '-c']);
    expect(a.slice(3)).toEqual(['sh', 'virsh', 'event', '--loop']);
  });

  test('run locally, it ends the command when its standard input closes', async () => {
    // The same script the SSH stream runs; locally, closing stdin plays the channel's EOF.
    const { spawn } = await import('node:child_process');
    const child = spawn(lifelineArgv(['sh', '-c', 'echo started; sleep 30'])[0], lifelineArgv(['sh', '-c', 'echo started; sleep 30']).slice(1), {
      stdio: ['pipe', 'pipe', 'ignore'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('started'));
    const closed = new Promise<unknown>((r) => child.on('exit', (code, signal) => r(signal ?? code)));
    child.stdin!.end();
    expect(await closed).toBe('SIGTERM');
  });
});

describe('RemoteStream over a runner', () => {
  test('reports running, delivers data, restarts after the command ends, stops', async () => {
    const r = new RecordingRunner({ handler: () => ({ stdout: 'event\n' }) });
    const states: StreamState[] = [];
    const data: string[] = [];
    const s = new RemoteStream({ runner: r, argv: ['virsh', 'event', '--loop'], onData: (t) => void data.push(t), onState: (st) => void states.push(st), maxBackoffMs: 1000 });
    s.start();
    await until(() => states.filter((x) => x === 'down').length >= 1);
    expect(states.slice(0, 3)).toEqual(['connecting', 'running', 'down']);
    expect(data[0]).toBe('event\n');
    await s.stop();
    expect(states[states.length - 1]).toBe('stopped');
    expect(r.closed).toBe(false); // a runner given in is the caller's to close
  });

  test('stop() ends a running local command at once', async () => {
    const data: string[] = [];
    let state: StreamState = 'down';
    const s = new RemoteStream({ runner: local, argv: ['sh', '-c', 'echo hi; sleep 30'], onData: (t) => void data.push(t), onState: (st) => (state = st) });
    s.start();
    await until(() => state === 'running' && data.join('') === 'hi\n');
    const t0 = Date.now();
    await s.stop();
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(state).toBe('stopped');
  });

  test('a failed start is reported down with the first line of the error, then retried', async () => {
    const r = new RecordingRunner({ responses: [new Error('cannot connect\nlong advice')], handler: () => ({ stdout: '' }) });
    const details: Array<string | undefined> = [];
    const s = new RemoteStream({ runner: r, argv: ['x'], onData: () => undefined, onState: (st, d) => void (st === 'down' && details.push(d)), maxBackoffMs: 1000 });
    s.start();
    await until(() => details.length >= 1);
    expect(details[0]).toBe('cannot connect');
    await s.stop();
  });
});
