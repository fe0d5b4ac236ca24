/** Scripted runners for unit tests, on the product's RecordingRunner (providers/exec/recording.ts). */
import { RecordingRunner, type ScriptedResponse } from '../../providers/exec/recording';

export { RecordingRunner };

/**
 * A runner that answers `answers` in order, then empty output and exit 0; every call (argv,
 * stdin, options) is in `.calls`.
 */
export function scriptedRunner(...answers: ScriptedResponse[]): RecordingRunner {
  return new RecordingRunner({ host: 'fake', responses: answers, handler: () => ({}) });
}

/** The calls as `{argv, options}` (stdin stays inside options), for exact comparison with toEqual. */
export function callsOf(r: RecordingRunner): Array<{ argv: readonly string[]; options?: RecordingRunner['calls'][number]['options'] }> {
  return r.calls.map(({ argv, options }) => ({ argv, options }));
}

/** A provider's `check` of `args` from nothing (a create): the inputs it returns; fails the test on any failure. */
export async function checkedInputs<T = any>(p: { check?: (olds: any, news: any) => Promise<unknown> }, args: Record<string, unknown>): Promise<T> {
  const r = (await p.check!({}, args)) as { inputs?: T; failures?: unknown[] };
  expect(r.failures ?? []).toEqual([]);
  return r.inputs!;
}
