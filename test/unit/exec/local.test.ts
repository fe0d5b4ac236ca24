/** LocalRunner: no shell, exact argv, stdin, exit codes, timeouts that kill the whole group. */
import { RemoteCommandError, ToolMissingError } from '../../../providers/exec/errors';
import { LocalRunner } from '../../../providers/exec/local';

const local = new LocalRunner();

describe('LocalRunner', () => {
  it('passes argv without a shell', async () => {
    const hostile = ['$(id)', '`id`', "'", '"', 'a b', '', ';', '\n'];
    const r = await local.run(['printf', '%s\\0', ...hostile]);
    expect(r.stdout.split('\0').slice(0, -1)).toEqual(hostile);
    expect(r.exitCode).toBe(0);
  });

  it('feeds stdin and closes it', async () => {
    const input = 'line 1\nzwei ✓\n';
    expect((await local.run(['cat'], { stdin: input })).stdout).toBe(input);
    // Without stdin the command sees EOF at once instead of hanging.
    expect((await local.run(['cat'], { timeoutMs: 5000 })).stdout).toBe('');
  });

  it('throws RemoteCommandError with exit code, stderr and stdout', async () => {
    const err = await local.run(['sh', '-c', 'echo out; echo oops >&2; exit 3']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ host: 'local', exitCode: 3, stderr: 'oops\n', stdout: 'out\n' });
    await expect(local.run(['sh', '-c', 'exit 3'], { okExitCodes: [3] })).resolves.toMatchObject({ exitCode: 3 });
  });

  it('kills a command and its children on timeout', async () => {
    const started = Date.now();
    const err = await local.run(['sh', '-c', 'sleep 30; echo never'], { timeoutMs: 300 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect((err as Error).message).toMatch(/timed out after 300 ms/);
    expect((err as RemoteCommandError).exitCode).toBeNull();
  });

  it('reports a missing program as ToolMissingError', async () => {
    await expect(local.run(['vpm-no-such-program-xyz'])).rejects.toBeInstanceOf(ToolMissingError);
  });

  it('runs through a prefix and names it in messages', async () => {
    const r = new LocalRunner({ prefix: ['env', 'VPM_TEST=1'] });
    expect(r.host).toBe('local (env VPM_TEST=1)');
    expect((await r.run(['sh', '-c', 'echo $VPM_TEST'])).stdout).toBe('1\n');
  });

  it('rejects bad argv and timeouts before spawning', async () => {
    await expect(local.run(['echo', 'a\0'])).rejects.toThrow(/NUL/);
    await expect(local.run(['true'], { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be a positive number/);
  });
});
