/** lab/sh.ts: the lab's conventions over the product's LocalRunner (no lab, no root). */
import { RemoteCommandError } from '../../../providers/exec';
import { sh } from '../../../lab/sh';

describe('lab sh over LocalRunner', () => {
  test('stdout, stderr and exit 0; input goes to stdin; env is merged', async () => {
    expect(await sh(['sh', '-c', 'cat; echo $VPM_T >&2'], { input: 'in', env: { VPM_T: 'x' } })).toEqual({ stdout: 'in', stderr: 'x\n', code: 0 });
  });

  test('a non-ok exit throws RemoteCommandError naming where it ran', async () => {
    const e = await sh(['sh', '-c', 'echo bad >&2; exit 4'], { where: 'netns hv1' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteCommandError);
    expect((e as RemoteCommandError).exitCode).toBe(4);
    expect((e as RemoteCommandError).host).toBe('netns hv1');
    expect((e as RemoteCommandError).stderr).toBe('bad\n');
  });

  test("okCodes lists accepted exits; 'any' accepts every exit", async () => {
    expect((await sh(['sh', '-c', 'exit 1'], { okCodes: [0, 1] })).code).toBe(1);
    expect(await sh(['sh', '-c', 'echo o; exit 7'], { okCodes: 'any' })).toEqual({ stdout: 'o\n', stderr: '', code: 7 });
  });

  test('a timeout throws with no exit code, even with okCodes any', async () => {
    const e = await sh(['sleep', '5'], { timeoutMs: 100, okCodes: 'any' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteCommandError);
    expect((e as RemoteCommandError).exitCode).toBeNull();
  });

  test('a missing program is a RemoteCommandError too', async () => {
    const e = await sh(['vpm-no-such-program-y']).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RemoteCommandError);
    expect((e as Error).message).toMatch(/vpm-no-such-program-y not found/);
  });
});
