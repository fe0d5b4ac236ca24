/**
 * SharedReads: overlapping reads share a run that started after each of them was asked for.
 */
import { runnerKey, SharedReads } from '../../../providers/exec/shared-reads';

/** A run whose end the test decides; `started` counts runs. */
function controlledRuns() {
  const pending: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  let started = 0;
  const run = () =>
    new Promise<number>((resolve, reject) => {
      started++;
      pending.push({ resolve, reject });
    });
  return { run, pending, started: () => started };
}
const flush = () => new Promise((r) => setImmediate(r));

describe('SharedReads', () => {
  it('a read alone runs at once; reads during a run wait for it and then share ONE new run', async () => {
    const shared = new SharedReads<number>();
    const c = controlledRuns();
    const a = shared.read('k', c.run);
    expect(c.started()).toBe(1);
    const b = shared.read('k', c.run);
    const d = shared.read('k', c.run);
    await flush();
    expect(c.started()).toBe(1); // b and d must not take a's result: a may have read before them
    c.pending[0].resolve(1);
    expect(await a).toBe(1);
    await flush();
    expect(c.started()).toBe(2);
    c.pending[1].resolve(2);
    expect([await b, await d]).toEqual([2, 2]);
  });

  it('a read that comes while the shared run goes on waits for a third run', async () => {
    const shared = new SharedReads<number>();
    const c = controlledRuns();
    void shared.read('k', c.run);
    const b = shared.read('k', c.run);
    c.pending[0].resolve(1);
    await flush();
    const late = shared.read('k', c.run); // run 2 (b's) is going on
    c.pending[1].resolve(2);
    expect(await b).toBe(2);
    await flush();
    expect(c.started()).toBe(3);
    c.pending[2].resolve(3);
    expect(await late).toBe(3);
  });

  it('a failed run fails only the reads it serves; keys do not share', async () => {
    const shared = new SharedReads<number>();
    const c = controlledRuns();
    const a = shared.read('k', c.run);
    const other = shared.read('j', c.run);
    expect(c.started()).toBe(2);
    const b = shared.read('k', c.run);
    c.pending[0].reject(new Error('ssh: connection refused'));
    await expect(a).rejects.toThrow('connection refused');
    await flush();
    c.pending[2].resolve(7);
    expect(await b).toBe(7);
    c.pending[1].resolve(9);
    expect(await other).toBe(9);
    // Nothing is kept: the next read runs again.
    const next = shared.read('k', c.run);
    expect(c.started()).toBe(4);
    c.pending[3].resolve(8);
    expect(await next).toBe(8);
  });

  it('runnerKey: handles of one pooled connection share a key; other credentials, or bare runners, do not', () => {
    const r1 = {};
    const r2 = {};
    expect(runnerKey(r1)).toBe(runnerKey(r1));
    expect(runnerKey(r1)).not.toBe(runnerKey(r2));
    expect(runnerKey({ identity: 'root@h2|key-a' })).toBe(runnerKey({ identity: 'root@h2|key-a' }));
    expect(runnerKey({ identity: 'root@h2|key-a' })).not.toBe(runnerKey({ identity: 'root@h2|key-b' }));
  });

  it('getRunner: two handles of one connection have one identity; another key file another', () => {
    const pool = require('../../../providers/exec/pool') as typeof import('../../../providers/exec/pool');
    const spec = (keyPath: string) => ({ host: '192.0.2.7', hostKey: 'SHA256:' + 'A'.repeat(43), privateKeyPath: keyPath });
    const a = pool.getRunner(spec('/nonexistent/a'));
    const b = pool.getRunner(spec('/nonexistent/a'));
    const c = pool.getRunner(spec('/nonexistent/c'));
    expect(a).not.toBe(b);
    expect(runnerKey(a)).toBe(runnerKey(b));
    expect(runnerKey(a)).not.toBe(runnerKey(c));
  });
});
