/** RecordingRunner: records argv and stdin exactly, answers as scripted, fails like a real runner. */
import { RemoteCommandError } from '../../../providers/exec/errors';
import { RecordingRunner } from '../../../providers/exec/recording';

describe('RecordingRunner', () => {
  it('records argv, stdin and options of every call in order', async () => {
    const r = new RecordingRunner({ handler: () => ({}) });
    await r.run(['ovs-vsctl', '--may-exist', 'add-br', 'br0']);
    await r.run(['ovs-ofctl', 'add-flows', 'br1', '-'], { stdin: 'priority=1,actions=drop\n', timeoutMs: 5000 });
    expect(r.calls).toEqual([
      { argv: ['ovs-vsctl', '--may-exist', 'add-br', 'br0'] },
      {
        argv: ['ovs-ofctl', 'add-flows', 'br1', '-'],
        stdin: 'priority=1,actions=drop\n',
        options: { stdin: 'priority=1,actions=drop\n', timeoutMs: 5000 },
      },
    ]);
    expect(r.argvs).toEqual([
      ['ovs-vsctl', '--may-exist', 'add-br', 'br0'],
      ['ovs-ofctl', 'add-flows', 'br1', '-'],
    ]);
  });

  it('copies argv, so later mutation by the caller does not rewrite history', async () => {
    const r = new RecordingRunner({ handler: () => ({}) });
    const argv = ['echo', 'a'];
    await r.run(argv);
    argv.push('b');
    expect(r.calls[0].argv).toEqual(['echo', 'a']);
  });

  it('answers from the scripted list in order, then from the handler', async () => {
    const r = new RecordingRunner({
      responses: [{ stdout: 'first\n' }, { stdout: 'second\n', stderr: 'warn' }],
      handler: (call, i) => ({ stdout: `handled ${i} ${call.argv[0]}` }),
    });
    expect(await r.run(['a'])).toEqual({ stdout: 'first\n', stderr: '', exitCode: 0 });
    expect(await r.run(['b'])).toEqual({ stdout: 'second\n', stderr: 'warn', exitCode: 0 });
    expect(await r.run(['c'])).toEqual({ stdout: 'handled 2 c', stderr: '', exitCode: 0 });
  });

  it('supports async handlers', async () => {
    const r = new RecordingRunner({ handler: async (call) => ({ stdout: call.stdin?.toUpperCase() }) });
    expect((await r.run(['cat'], { stdin: 'abc' })).stdout).toBe('ABC');
  });

  it('throws RemoteCommandError for a non-zero exit unless it is allowed', async () => {
    const r = new RecordingRunner({
      host: 'hv1',
      responses: [
        { exitCode: 1, stderr: 'ovs-vsctl: no bridge named br9\n', stdout: 'partial' },
        { exitCode: 1 },
      ],
    });
    const err = await r.run(['ovs-vsctl', 'br-exists', 'br9']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ host: 'hv1', argv: ['ovs-vsctl', 'br-exists', 'br9'], exitCode: 1, stdout: 'partial' });
    expect((err as Error).message).toContain('no bridge named br9');
    await expect(r.run(['ovs-vsctl', 'br-exists', 'br9'], { okExitCodes: [0, 1] })).resolves.toMatchObject({ exitCode: 1 });
    expect(r.calls).toHaveLength(2); // failed calls are recorded too
  });

  it('throws a scripted Error as a transport failure', async () => {
    const r = new RecordingRunner({ responses: [new Error('connection reset')] });
    await expect(r.run(['true'])).rejects.toThrow('connection reset');
  });

  it('says which call had no scripted response', async () => {
    const r = new RecordingRunner({ responses: [{}] });
    await r.run(['true']);
    await expect(r.run(['ovs-vsctl', 'show'])).rejects.toThrow(/no scripted response for call #2: \["ovs-vsctl","show"\]/);
  });

  it('applies the real argv rules', async () => {
    const r = new RecordingRunner({ handler: () => ({}) });
    await expect(r.run([])).rejects.toThrow(/must not be empty/);
    await expect(r.run(['echo', 'a\0b'])).rejects.toThrow(/NUL/);
    expect(r.calls).toHaveLength(0);
  });

  it('records close()', async () => {
    const r = new RecordingRunner();
    await r.close();
    expect(r.closed).toBe(true);
  });
});
